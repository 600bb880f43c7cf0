"""Serving speed: `POST /v1/recommendations` under load, beside `mlflow models serve`.

One command builds everything in a temporary folder: the built-in world
(`polku simulate`), a model trained on it into an MLflow store of its own
(`polku train`, `polku promote`), a caseworker key, then `polku serve` with
two workers on 127.0.0.1. A load generator in a separate process (raw
asyncio HTTP/1.1 over keep-alive connections, one coroutine per connection,
so that the generator costs little CPU) sends realistic requests: clients of
the world at a decision date chosen so that 0 to 15 of their episodes came
before it, k=3, explanations in Finnish. Each concurrency level runs for a
bounded time after a short warm-up; p50, p95, p99, requests/s and errors
are recorded, with the CPU seconds each worker spent (does load spread
across the workers?).

In the same run, the same registered version behind `mlflow models serve`
(two workers, predict only) gets an equivalent request: the client's
decision-point features as one row, for which the pyfunc scores every
candidate action. The throughput ratio compares the two in one run.

    .venv/bin/python bench/serve.py            # 10 000-client world, 20 s per level
    .venv/bin/python bench/serve.py --quick    # 5 s per level
    .venv/bin/python bench/serve.py --config small.toml --label small   # a smaller model

Writes bench/out/serve[-label].json and prints a table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    POLKU,
    ROOT,
    evaluate_json,
    log,
    machine,
    run,
    simulate,
    store_env,
    table,
    train_and_promote,
    which,
    write_json,
)
from bench.load import free_port, load, start, stop, wait_until, workers_of
from bench.serve_requests import MODEL_NAME, build_requests, mlflow_rows


def stage_costs(
    bodies: list[dict[str, Any]], store: Path, version: str, work: Path
) -> dict[str, float]:
    """Median microseconds of each step of one request, in this process (no HTTP)."""
    import statistics

    import orjson

    from api.auth import Caller, Role
    from api.capacity import availability
    from api.recommendations import service
    from api.recommendations.schemas import RecommendationRequest
    from api.serving import prepare
    from api.storage import migrate
    from api.storage.engine import make_engine
    from training.registry.served import load_served

    served = load_served(
        MODEL_NAME, version=version, tracking_uri=store_env(store)["MLFLOW_TRACKING_URI"]
    )
    model = prepare(served, generation=0)
    router = model.router
    texts = [json.dumps(b).encode() for b in bodies[:300]]
    requests = [RecommendationRequest.model_validate_json(t) for t in texts]
    features = [service.features_of(r, model, r.as_of) for r in requests]  # type: ignore[arg-type]
    answers = [router.recommend(f, k=3, language="fi") for f in features]
    db = work / "stage-costs.db"
    db.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{db}")
    migrate.upgrade(engine)
    caller = Caller(key_id="k000000000000", role=Role.caseworker, unit="bench")
    counter = iter(range(10**9))

    def timed(fn: Any) -> float:
        spent = []
        for i in range(len(texts)):
            started = time.perf_counter()
            fn(i)
            spent.append(time.perf_counter() - started)
        return round(statistics.median(spent) * 1e6, 1)

    def whole(i: int) -> None:
        request = RecommendationRequest.model_validate_json(texts[i])
        errors = service.check_request(request, model, request.as_of)  # type: ignore[arg-type]
        assert not errors
        body = service.recommend(
            request,
            model=model,
            as_of=request.as_of,
            request_id=f"r{next(counter)}",  # type: ignore[arg-type]
            caller=caller,
            engine=engine,
        )
        orjson.dumps(body)

    costs = {
        "parse and validate the body (pydantic)": timed(
            lambda i: RecommendationRequest.model_validate_json(texts[i])
        ),
        "contract checks": timed(
            lambda i: service.check_request(requests[i], model, requests[i].as_of)
        ),  # type: ignore[arg-type]
        "features (client_features + check)": timed(
            lambda i: service.features_of(requests[i], model, requests[i].as_of)
        ),  # type: ignore[arg-type]
        "eligibility (rules evaluated)": timed(
            lambda i: router.catalogue.eligibility(
                {
                    k: np.asarray([v], dtype=object if isinstance(v, str) or v is None else None)
                    for k, v in features[i].items()
                },
                1,
            )
        ),
        "eligibility (as served: remembered rule answers)": timed(
            lambda i: router.eligibility_row(features[i])
        ),
        "score: predict, intervals, support, rank": timed(
            lambda i: router.score_encoded(
                router.encoder.encode_row(features[i])[None, :],
                np.ones((1, len(router.actions)), dtype=bool),
            )
        ),
        "recommend without explanations": timed(
            lambda i: router.recommend(features[i], k=3, explain=False)
        ),
        "recommend with explanations": timed(lambda i: router.recommend(features[i], k=3)),
        "TreeSHAP rows of one request (one call)": timed(
            lambda i: router.learner.contributions(
                np.repeat(router.encoder.encode_row(features[i])[None, :], 3, axis=0),
                np.array([0, 1, router.reference_index]),
            )
        ),
        "seats (the month's counts as kept)": timed(
            lambda i: availability(engine, service.now()).of_catalogue(router.catalogue)
        ),
        "answer body + input hash + JSON": timed(
            lambda i: (
                orjson.dumps(
                    service.answer_body(
                        answers[i],
                        request_id="x",
                        model=model,
                        as_of=requests[i].as_of,
                        seats=availability(engine, service.now()),
                    )
                )
                and service.input_hash(requests[i], requests[i].as_of)
            )
        ),  # type: ignore[arg-type]
        "audit write (SQLite, synchronous=FULL)": timed(
            lambda i: service.audit_writer(engine).write(_event(requests[i], next(counter)))
        ),
        "whole request without HTTP": timed(whole),
    }
    engine.dispose()
    return costs


def _event(request: Any, n: int) -> Any:
    from datetime import UTC, datetime

    from api.storage.audit import AuditEvent

    return AuditEvent(
        request_id=f"e{n}",
        created_at=datetime.now(UTC),
        client_id=request.client.client_id,
        unit="bench",
        role="caseworker",
        key_id="k000000000000",
        model_name=MODEL_NAME,
        model_version="1",
        model_run_id=None,
        as_of=request.as_of,
        language="fi",
        k=3,
        input_hash="0" * 64,
        features={"a": 1.0},
        output={"recommendations": []},
    )


# --------------------------------------------------------------------------- main


def server_command(name: str, options: argparse.Namespace, port: int) -> list[str]:
    """How the API is started: Polku's own command, or a standard process manager."""
    if name == "gunicorn":
        return [
            which("gunicorn"),
            "api.main:create_app()",
            "--worker-class",
            "uvicorn_worker.UvicornWorker",
            "--workers",
            str(options.workers),
            "--bind",
            f"127.0.0.1:{port}",
            *(["--reuse-port"] if options.reuse_port else []),
        ]
    return [
        POLKU,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(options.workers),
        *(["--reuse-port"] if options.reuse_port else []),
    ]


def measure_api(
    name: str,
    options: argparse.Namespace,
    api_env: dict[str, str],
    work: Path,
    headers: dict[str, str],
    encoded: list[bytes],
    levels: list[int],
    warmup: float,
    seconds: float,
) -> list[dict[str, Any]]:
    """Start the API under `name`'s process manager and drive every concurrency level."""
    figures_by_level = []
    port = free_port()
    server = start(server_command(name, options, port), api_env, ROOT, work / f"{name}.log")
    try:
        wait_until(f"http://127.0.0.1:{port}/health/ready", 180)
        time.sleep(2)  # every worker ready, not just the first to answer
        check = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/recommendations", data=encoded[0], headers=headers
        )
        with urllib.request.urlopen(check, timeout=30) as answer:
            sample = json.loads(answer.read())
        assert sample["recommendations"] and sample["recommendations"][0]["explanation"], sample
        pids = workers_of(server.pid)
        log(f"{name} on port {port}, worker pids {pids}")
        for c in levels:
            figures = load(
                port,
                "/v1/recommendations",
                headers,
                encoded,
                c,
                warmup=warmup,
                seconds=seconds,
                server_pids=pids,
            )
            log(
                f"{name} c={c}: {figures['rps']} req/s p50 {figures['p50_ms']} ms "
                f"p99 {figures['p99_ms']} ms errors {figures['errors']}"
            )
            figures_by_level.append(figures)
    finally:
        stop(server)
    return figures_by_level


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="5 s per level, 2 s warm-up")
    parser.add_argument("--clients", type=int, default=10_000, help="size of the simulated world")
    parser.add_argument("--seconds", type=float, default=None, help="measured seconds per level")
    parser.add_argument("--concurrency", default="1,8,64")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--config", type=Path, default=None, help="run configuration for training (a smaller model)"
    )
    parser.add_argument("--label", default="", help="suffix of the output file")
    parser.add_argument(
        "--work", type=Path, default=None, help="reuse this folder (world, store) between runs"
    )
    parser.add_argument(
        "--server",
        default="polku",
        help="polku (`polku serve`) and/or gunicorn (with uvicorn workers; make bench-setup"
        " installs it), comma-separated, each measured in turn",
    )
    parser.add_argument("--no-mlflow", action="store_true", help="skip `mlflow models serve`")
    parser.add_argument("--no-evaluate", action="store_true", help="skip `polku evaluate`")
    parser.add_argument("--requests", type=int, default=2000, help="distinct request bodies")
    parser.add_argument(
        "--reuse-port", action="store_true", help="polku serve --reuse-port (a socket per worker)"
    )
    options = parser.parse_args()
    seconds = options.seconds or (5.0 if options.quick else 20.0)
    warmup = 2.0 if options.quick else 3.0
    levels = [int(x) for x in options.concurrency.split(",")]

    work = options.work or Path(tempfile.mkdtemp(prefix="polku-bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    world = simulate(work / f"world-{options.clients}", options.clients)
    store = work / (f"store-{options.config.stem}" if options.config else "store")
    store.mkdir(exist_ok=True)
    env = store_env(store)
    version_file = store / "version.txt"
    if version_file.is_file():
        version = version_file.read_text().strip()
    else:
        version = train_and_promote(world, store, config=options.config)
        version_file.write_text(version)
    quality = None if options.no_evaluate else evaluate_json(world, store, version)
    api_env = {
        **env,
        "POLKU_DATA_DIR": str(store / "api"),
        "POLKU_LOG_LEVEL": "WARNING",
        "POLKU_MODEL_START_WAIT_SECONDS": "120",
    }
    key = run(
        [POLKU, "keys", "create", "--role", "caseworker", "--unit", "bench"], env=api_env, cwd=ROOT
    ).strip()

    bodies = build_requests(world, options.requests)
    encoded = [json.dumps(b).encode() for b in bodies]
    n_episodes = [len(b["episodes"]) for b in bodies]
    log(
        f"{len(bodies)} requests, episodes per request: median {sorted(n_episodes)[len(n_episodes) // 2]}, max {max(n_episodes)}"
    )

    costs = stage_costs(bodies, store, version, work)
    log("in-process costs (median µs): " + "; ".join(f"{k} {v}" for k, v in costs.items()))

    servers = [name.strip() for name in options.server.split(",")]
    results: dict[str, Any] = {name: [] for name in servers}
    results["mlflow"] = []
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    for name in servers:
        results[name] = measure_api(
            name, options, api_env, work, headers, encoded, levels, warmup, seconds
        )

    if not options.no_mlflow:
        rows = mlflow_rows(bodies, store, version)
        port = free_port()
        server = start(
            [
                which("mlflow"),
                "models",
                "serve",
                "-m",
                f"models:/{MODEL_NAME}/{version}",
                "--env-manager",
                "local",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(options.workers),
            ],
            {
                **env,
                "OMP_NUM_THREADS": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            },
            store,
            work / "mlflow-serve.log",
        )
        try:
            headers = {"Content-Type": "application/json"}
            wait_until(f"http://127.0.0.1:{port}/invocations", 240, headers, rows[0])
            time.sleep(2)
            pids = workers_of(server.pid)
            log(f"mlflow models serve on port {port}, pids {pids}")
            for c in levels:
                figures = load(
                    port,
                    "/invocations",
                    headers,
                    rows,
                    c,
                    warmup=warmup,
                    seconds=seconds,
                    server_pids=pids,
                )
                log(
                    f"mlflow c={c}: {figures['rps']} req/s p50 {figures['p50_ms']} ms p99 {figures['p99_ms']} ms errors {figures['errors']}"
                )
                results["mlflow"].append(figures)
        finally:
            stop(server)

    by_c = {r["concurrency"]: r for r in results["mlflow"]}
    for r in (r for name in servers for r in results[name]):
        m = by_c.get(r["concurrency"])
        r["throughput_ratio_vs_mlflow"] = round(r["rps"] / m["rps"], 2) if m and m["rps"] else None
    document = {
        "benchmark": "serve",
        "command": " ".join(sys.argv),
        "machine": machine(),
        "world_clients": options.clients,
        "config": options.config.read_text() if options.config else None,
        "model_version": version,
        "quality": quality,
        "workers": options.workers,
        "reuse_port": options.reuse_port,
        "server": options.server,
        "seconds_per_level": seconds,
        "episodes_per_request": {
            "median": sorted(n_episodes)[len(n_episodes) // 2],
            "max": max(n_episodes),
        },
        "results": results,
        "in_process_median_us": costs,
        "work": str(work),
    }
    path = write_json(f"serve{('-' + options.label) if options.label else ''}", document)
    rows_out = []
    for server_name in (*servers, "mlflow"):
        for r in results[server_name]:
            rows_out.append(
                [
                    server_name,
                    r["concurrency"],
                    r["rps"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["p99_ms"],
                    r["errors"],
                    r.get("throughput_ratio_vs_mlflow"),
                    "/".join(str(v) for v in r["worker_cpu_seconds"].values()),
                    f"{r['load_average_before'][0]}",
                ]
            )
    print(
        table(
            [
                "server",
                "conc.",
                "req/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "errors",
                "× mlflow",
                "worker CPU s",
                "load",
            ],
            rows_out,
        )
    )
    if quality:
        print(
            f"model version {version} ({quality.get('learner')}): capture ratio "
            f"{quality.get('capture_ratio')}, DR value {quality.get('dr_value')}"
        )
    print(table(["step of one request (in process)", "median µs"], list(costs.items())))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
