"""Schemathesis against the app in-process, from its own OpenAPI document.

Every operation of `/openapi.json`, every built-in check (schemathesis 4.x:
not_a_server_error, status_code/content_type/response_headers/response_schema
conformance, positive_data_acceptance, negative_data_rejection,
missing_required_header, unsupported_method, allow_header_conformance,
ignored_auth, use_after_free, ensure_resource_availability, ...), positive and
negative data, with a key of a role the operation allows (its
`x-polku-roles`), on a real SQLite file and the session's trained model.

What is configured, and why:

- `positive_data_acceptance` also expects 422 on the three POST operations
  and the three lists filtered by time: the API applies rules that JSON
  Schema cannot state (end before start, a record before intake, `as_of`
  before intake, a service the served model does not know, a reason
  required when the choice differs from rank 1, a request id that must
  exist, a time whose UTC falls outside the years 1 to 9999). To keep that from hiding real rejections of
  schema-valid data, `business_rules_only` fails any 422 on positive data
  whose errors are not all such rules (an `extra_forbidden`, `missing` or a
  type error there would be a bug in the schema or the app).
- Hypothesis: no deadline (SHAP on two shared cores varies), derandomised and
  a fixed schemathesis seed, so a run is reproducible; at least `EXAMPLES`
  per operation in the fuzzing phase, on top of the examples and coverage phases.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings

from api.deps import PUBLIC, ROLES_KEY
from tests.support.api_requests import Keys

pytestmark = pytest.mark.slow

EXAMPLES: Final = 100

# Codes of rules the OpenAPI document cannot express; a 422 for these on
# schema-valid data is the API doing its job. `value_error` is raised by the
# validators of dates (calendar, 1900..2100), free text (no control
# characters, no identity codes).
BUSINESS_RULES: Final = frozenset(
    {
        # POST /v1/recommendations (api.recommendations.service.check_request)
        "arrival_after_intake",
        "out_of_range",
        "before_intake",
        "after_as_of",
        "undeclared_extra",
        "wrong_type",
        "unknown_service",
        "end_before_start",
        "ongoing_with_end_date",
        "missing_end_date",
        "unknown_feature",
        # POST /v1/decisions (api.decisions.service)
        "reason_required",
        "unknown_decision",
        "idempotency-key-reused",
        # POST /v1/plans (api.plans.service; each client's request as above)
        "month_in_past",
        "duplicate_client",
        "duplicate_service",
        # pydantic validators JSON Schema cannot express
        "value_error",
    }
)

CALLS: Counter[str] = Counter()


@schemathesis.check
def business_rules_only(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
    """A 422 on schema-valid data must name only rules the schema cannot express."""
    meta = case.meta
    if response.status_code != 422 or meta is None:
        return None
    if meta.generation.mode != schemathesis.GenerationMode.POSITIVE:
        return None
    problem = response.json()
    codes = {error.get("code") for error in problem.get("errors", [])}
    kind = problem.get("type", "")
    if kind.endswith("idempotency-key-reused"):
        return None
    assert codes, f"a 422 without field errors on schema-valid data: {problem}"
    assert codes <= BUSINESS_RULES, (
        f"schema-valid data refused for {sorted(codes - BUSINESS_RULES)}"
    )
    return None


def _requests_only(app: FastAPI) -> Any:
    """The app without its lifespan: the test's TestClient (`keys`) already runs it once."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await app(scope, receive, send)

    return asgi


BUSINESS_422 = ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]


@pytest.fixture
def api_schema(app: FastAPI, keys: Keys) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": 7,
            # The key is sent by the test (a role each operation allows); generated
            # or negated Authorization headers would be overridden by it and then
            # misread as accepted negative data. ignored_auth still removes and
            # spoils the key on every operation to prove authentication is enforced.
            "generation": {
                "max-examples": EXAMPLES,
                "mode": "all",
                "with-security-parameters": False,
            },
            "operations": [
                {
                    "include-method": method,
                    "include-path": path,
                    "checks": {"positive_data_acceptance": {"expected-statuses": BUSINESS_422}},
                }
                for method, path in (
                    ("POST", "/v1/recommendations"),
                    ("POST", "/v1/decisions"),
                    ("POST", "/v1/plans"),
                    # since/until: a time whose UTC lies outside years 1..9999
                    # is schema-valid text the validators refuse (value_error)
                    ("GET", "/v1/decisions"),
                    ("GET", "/v1/audit"),
                    ("GET", "/v1/audit/plans"),
                )
            ],
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", _requests_only(app), config=config)


@pytest.fixture(autouse=True)
def _node_id_for_schemathesis(request: pytest.FixtureRequest) -> None:
    # schemathesis 4.32 reads and writes `item._nodeid`, which pytest 9.2 no
    # longer has (`item._id`); the attribute only labels its sub-test reports.
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_operation(case: schemathesis.Case, keys: Keys) -> None:
    roles = case.operation.definition.raw.get(ROLES_KEY, [])
    headers: dict[str, str] = {}
    if PUBLIC not in roles:
        role = "caseworker" if "caseworker" in roles else roles[0]
        headers = dict(keys.by_role()[role])
    CALLS[case.operation.label] += 1
    case.call_and_validate(headers=headers, additional_checks=[business_rules_only])


def test_every_operation_was_tried_enough(app: FastAPI) -> None:
    """Runs after `test_every_operation` (file order): each operation with inputs got EXAMPLES+.

    An operation without parameters or body (GET /v1/model, the health
    checks, ...) has one possible request; Hypothesis stops once it has
    tried it, so those need only to have been called.
    """
    if not CALLS:
        pytest.skip("test_every_operation did not run in this session")
    document = app.openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            label = f"{method.upper()} {path}"
            has_inputs = bool(operation.get("parameters")) or "requestBody" in operation
            assert CALLS[label] >= (EXAMPLES if has_inputs else 1), (label, CALLS[label])
    print(f"schemathesis examples: {dict(CALLS)}; total {sum(CALLS.values())}")
