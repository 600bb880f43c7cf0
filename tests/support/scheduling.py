"""How `make test` shares the tests out between its pytest-xdist processes.

As `--dist loadscope`, the tests of one module run in one process: their
module-scoped fixtures are built once, and a test that reads what an earlier
one of its module left (test_fuzz.py's counts) finds it. Two kinds of module
are split further, so that their long tests run side by side:

- `EACH_TEST_APART`: every test starts servers of its own;
- `EACH_BACKEND_APART`: one server per backend for the module, so the tests
  of one backend stay together (the backend is the test id's parameter).

A module that is listed in neither is never split, which is always safe.
(pytest-xdist's own `--dist loadgroup` reads groups from test ids that pytest
9.2 no longer lets it change, so it would not group at all.)
"""

from __future__ import annotations

from typing import Any

EACH_TEST_APART = frozenset({"tests/durability/test_kill.py", "tests/durability/test_outage.py"})
EACH_BACKEND_APART = frozenset({"tests/durability/test_concurrency.py"})


def process_group(nodeid: str) -> str:
    """The name of the tests that must run in the same process as the test `nodeid`."""
    module, _, test = nodeid.partition("::")
    if module in EACH_TEST_APART:
        return nodeid
    if module in EACH_BACKEND_APART and test.endswith("]"):
        return f"{module}[{test.rpartition('[')[2]}"
    return module


def module_scheduling(config: Any, log: Any) -> Any:
    """`--dist loadscope` with the splits of `process_group` (a pytest-xdist scheduler)."""
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return process_group(nodeid)

    return ModuleScheduling(config, log)
