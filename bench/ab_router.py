"""A/B in one process: `Router.recommend` of an older commit against this checkout's.

Both routers are built from the same saved model; calls alternate request by
request, so machine load affects both alike and the ratio holds on a busy
machine. Also the audit write: one transaction per event against the group
commit of `AuditWriter`, with 1 and 8 threads writing.

    .venv/bin/python bench/ab_router.py --store STORE --version 1 --world WORLD [--old-commit 33dff39]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, load_average, machine, store_env, table, write_json


def old_router_class(commit: str) -> type:
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{commit}:model/router.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_router.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("old_router", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_router"] = module
    spec.loader.exec_module(module)
    return module.Router  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--version", default="1")
    parser.add_argument("--world", type=Path, required=True)
    parser.add_argument("--old-commit", default="33dff39")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    from api.recommendations import service
    from api.recommendations.schemas import RecommendationRequest
    from api.serving import prepare
    from bench.serve import _event
    from bench.serve_requests import build_requests
    from training.registry.served import load_served

    served = load_served(
        "polku-router",
        version=options.version,
        tracking_uri=store_env(options.store)["MLFLOW_TRACKING_URI"],
    )
    model = prepare(served, generation=0)
    new = model.router
    old = old_router_class(options.old_commit).from_dict(new.to_dict())
    bodies = build_requests(options.world, 300)
    requests = [RecommendationRequest.model_validate_json(json.dumps(b)) for b in bodies]
    features = [service.features_of(r, model, r.as_of) for r in requests]  # type: ignore[arg-type]
    spent: dict[str, list[float]] = {"old": [], "new": []}
    load_before = load_average()
    for _ in range(options.rounds):
        for f in features:
            for name, router in (("old", old), ("new", new)):
                started = time.perf_counter()
                router.recommend(f, k=3, language="fi")
                spent[name].append(time.perf_counter() - started)
    rec = {name: round(statistics.median(v) * 1e6, 1) for name, v in spent.items()}

    # The audit write: one transaction per event, or group commit, 1 and 8 threads.
    from api.storage import migrate
    from api.storage.audit import AuditWriter, insert_audit_event
    from api.storage.engine import make_engine, write_transaction

    folder = Path(tempfile.mkdtemp(prefix="polku-ab-"))
    engine = make_engine(f"sqlite:///{folder / 'ab.db'}")
    migrate.upgrade(engine)
    counter = iter(range(10**9))
    lock = threading.Lock()

    def event() -> object:
        with lock:
            n = next(counter)
        return _event(requests[n % len(requests)], n)

    def one_transaction() -> None:
        with write_transaction(engine) as connection:
            insert_audit_event(connection, event=event())  # type: ignore[arg-type]

    writer = AuditWriter(engine)

    def grouped() -> None:
        writer.write(event())  # type: ignore[arg-type]

    audit = {}
    for threads in (1, 8):
        for name, fn in (("one transaction each", one_transaction), ("group commit", grouped)):
            stop_at = time.perf_counter() + 5
            done = [0] * threads

            def work(i: int, fn=fn, stop_at=stop_at, done=done) -> None:
                while time.perf_counter() < stop_at:
                    fn()
                    done[i] += 1

            pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
            for t in pool:
                t.start()
            for t in pool:
                t.join()
            audit[f"{name}, {threads} thread(s)"] = round(sum(done) / 5, 1)
    engine.dispose()
    document = {
        "benchmark": "ab_router",
        "machine": machine(),
        "old_commit": options.old_commit,
        "recommend_median_us": rec,
        "speedup": round(rec["old"] / rec["new"], 2),
        "audit_writes_per_second": audit,
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }
    path = write_json("ab_router", document)
    print(
        table(
            ["Router.recommend (k=3, fi, explained)", "median µs"],
            [
                [f"before ({options.old_commit})", rec["old"]],
                ["now", rec["new"]],
                ["speed-up ×", document["speedup"]],
            ],
        )
    )
    print(table(["audit writes (SQLite, synchronous=FULL)", "per second"], list(audit.items())))
    print(f"load average {load_before} -> {load_average()}; wrote {path}")


if __name__ == "__main__":
    main()
