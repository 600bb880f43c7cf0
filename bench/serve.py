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
import asyncio
import csv
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    POLKU,
    ROOT,
    evaluate_json,
    load_average,
    log,
    machine,
    percentile,
    run,
    simulate,
    store_env,
    table,
    train_and_promote,
    which,
    write_json,
)

MODEL_NAME = "polku-router"
MAX_EPISODES = 15


# --------------------------------------------------------------------------- requests


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _none(value: str) -> str | None:
    return value if value != "" else None


def _bool(value: str) -> bool | None:
    return None if value == "" else value.lower() in ("true", "1", "yes")


def build_requests(world: Path, n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """`n` request bodies from the world's clients, each with 0..15 prior episodes."""
    rng = random.Random(seed)
    clients = _read(world / "clients.csv")
    episodes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read(world / "episodes.csv"):
        episodes[row["client_id"]].append(row)
    outcomes: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in _read(world / "outcomes.csv"):
        outcomes[row["client_id"]].append(row)
    bodies = []
    for client in rng.sample(clients, min(n, len(clients))):
        cid = client["client_id"]
        history = sorted(episodes[cid], key=lambda e: e["start_date"])
        starts = sorted({e["start_date"] for e in history})
        want = rng.randint(0, MAX_EPISODES)
        intake = date.fromisoformat(client["intake_date"])
        if want < len(starts):
            as_of = max(date.fromisoformat(starts[want]), intake)
        else:
            last = date.fromisoformat(starts[-1]) if starts else intake
            as_of = last + timedelta(days=30)
        day = as_of.isoformat()
        body_episodes = []
        for e in history:
            if e["start_date"] >= day:
                continue
            ended = e["end_date"] != "" and e["end_date"] < day
            item: dict[str, Any] = {
                "service": e["service"],
                "start_date": e["start_date"],
                "end_date": e["end_date"] if ended else None,
                "status": e["status"] if ended else "ongoing",
            }
            if ended and e.get("language_level_after"):
                item["language_level_after"] = e["language_level_after"]
            if e.get("planned_service"):
                item["planned_service"] = e["planned_service"]
            body_episodes.append(item)
        body_outcomes = [
            {
                "status": o["status"],
                "start_date": o["start_date"],
                "end_date": o["end_date"] if o["end_date"] and o["end_date"] < day else None,
            }
            for o in outcomes[cid]
            if o["start_date"] < day
        ]
        profile: dict[str, Any] = {
            "client_id": cid,
            "intake_date": client["intake_date"],
            "arrival_date": client["arrival_date"],
            "birth_year": int(client["birth_year"]),
            "gender": client["gender"],
            "mother_tongue": client["mother_tongue"],
            "citizenship_region": client["citizenship_region"],
            "residence_basis": client["residence_basis"],
            "education_level": client["education_level"],
            "prior_work_years": float(client["prior_work_years"])
            if client["prior_work_years"]
            else None,
            "literacy_needs": _bool(client["literacy_needs"]),
            "finnish_level": client["finnish_level"],
            "health_limitation": _bool(client.get("health_limitation", "")),
            "children_under_school_age": int(client["children_under_school_age"])
            if client.get("children_under_school_age")
            else None,
        }
        bodies.append(
            {
                "client": profile,
                "episodes": body_episodes,
                "outcomes": body_outcomes,
                "as_of": day,
                "k": 3,
                "language": "fi",
            }
        )
    return bodies


def mlflow_rows(bodies: list[dict[str, Any]], store: Path, version: str) -> list[bytes]:
    """The same clients as `dataframe_split` bodies of their decision-point features."""
    from model.client_features import client_features
    from model.json_values import json_value
    from training.registry.served import load_served

    router = load_served(
        MODEL_NAME, version=version, tracking_uri=store_env(store)["MLFLOW_TRACKING_URI"]
    ).router
    services = router.catalogue.service_codes
    extras = dict(router.config.extra_features)
    out = []
    for body in bodies:
        client = {
            **body["client"],
            "intake_date": date.fromisoformat(body["client"]["intake_date"]),
            "arrival_date": date.fromisoformat(body["client"]["arrival_date"]),
        }

        def dated(record: dict[str, Any]) -> dict[str, Any]:
            return {
                **record,
                "start_date": date.fromisoformat(record["start_date"]),
                "end_date": date.fromisoformat(record["end_date"])
                if record.get("end_date")
                else None,
            }

        features = client_features(
            client,
            [dated(e) for e in body["episodes"]],
            [dated(o) for o in body["outcomes"]],
            date.fromisoformat(body["as_of"]),
            services=services,
            extras=extras,
        )
        columns = list(features)
        row = [json_value(v) for v in features.values()]
        out.append(json.dumps({"dataframe_split": {"columns": columns, "data": [row]}}).encode())
    return out


def stage_costs(
    bodies: list[dict[str, Any]], store: Path, version: str, work: Path
) -> dict[str, float]:
    """Median microseconds of each step of one request, in this process (no HTTP)."""
    import statistics

    import orjson

    from api.auth import Caller, Role
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
        "answer body + input hash + JSON": timed(
            lambda i: (
                orjson.dumps(
                    service.answer_body(
                        answers[i], request_id="x", model=model, as_of=requests[i].as_of
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


# --------------------------------------------------------------------------- load generator


async def _connection(
    host: str,
    port: int,
    path: str,
    headers: bytes,
    bodies: list[bytes],
    offset: int,
    warmup_until: float,
    stop_at: float,
    latencies: list[float],
    statuses: dict[int, int],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    i = offset
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            body = bodies[i % len(bodies)]
            i += 1
            request = (
                b"POST "
                + path.encode()
                + b" HTTP/1.1\r\nHost: "
                + host.encode()
                + b"\r\n"
                + headers
                + b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            started = time.perf_counter()
            writer.write(request)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = None
                close = False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value)
                    elif lowered == b"connection" and value.strip().lower() == b"close":
                        close = True
                if length is None:
                    raise ValueError("answer without Content-Length")
                await reader.readexactly(length)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError) as exc:
                if started >= warmup_until:
                    errors.append(type(exc).__name__)
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
                continue
            elapsed = time.perf_counter() - started
            if started >= warmup_until:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _drive(
    host: str,
    port: int,
    path: str,
    headers: bytes,
    bodies: list[bytes],
    concurrency: int,
    warmup: float,
    seconds: float,
) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    start = time.perf_counter()
    warmup_until = start + warmup
    stop_at = warmup_until + seconds
    step = max(1, len(bodies) // concurrency)
    await asyncio.gather(
        *[
            _connection(
                host,
                port,
                path,
                headers,
                bodies,
                c * step,
                warmup_until,
                stop_at,
                latencies,
                statuses,
                errors,
            )
            for c in range(concurrency)
        ]
    )
    measured = time.perf_counter() - warmup_until
    return {"latencies": latencies, "statuses": statuses, "errors": errors, "seconds": measured}


def _generator(args: tuple[Any, ...], queue: Any) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass
    cpu0 = time.process_time()
    result = asyncio.run(_drive(*args))
    result["generator_cpu_seconds"] = time.process_time() - cpu0
    queue.put(result)


def load(
    port: int,
    path: str,
    headers: dict[str, str],
    bodies: list[bytes],
    concurrency: int,
    *,
    warmup: float,
    seconds: float,
    server_pids: list[int],
) -> dict[str, Any]:
    """Drive one concurrency level from a separate process; the figures."""
    head = b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
    context = mp.get_context("spawn")
    queue = context.Queue()
    cpu_before = {pid: _cpu_seconds(pid) for pid in server_pids}
    load_before = load_average()
    process = context.Process(
        target=_generator,
        args=(("127.0.0.1", port, path, head, bodies, concurrency, warmup, seconds), queue),
    )
    process.start()
    result = queue.get(timeout=warmup + seconds + 120)
    process.join()
    cpu = {str(pid): round(_cpu_seconds(pid) - cpu_before[pid], 2) for pid in server_pids}
    lat = [x * 1000 for x in result["latencies"]]
    ok = sum(n for s, n in result["statuses"].items() if 200 <= s < 300)
    bad = sum(n for s, n in result["statuses"].items() if not 200 <= s < 300)
    return {
        "concurrency": concurrency,
        "requests": len(lat),
        "ok": ok,
        "errors": bad + len(result["errors"]),
        "error_kinds": {
            **{str(s): n for s, n in result["statuses"].items() if not 200 <= s < 300},
            **{k: result["errors"].count(k) for k in set(result["errors"])},
        },
        "seconds": round(result["seconds"], 2),
        "rps": round(ok / result["seconds"], 1),
        "p50_ms": _round(percentile(lat, 50)),
        "p95_ms": _round(percentile(lat, 95)),
        "p99_ms": _round(percentile(lat, 99)),
        "max_ms": _round(max(lat) if lat else None),
        "worker_cpu_seconds": cpu,
        "generator_cpu_seconds": round(result["generator_cpu_seconds"], 2),
        "load_average_before": load_before,
        "load_average_after": load_average(),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(x) for x in text]
    return out


def workers_of(pid: int) -> list[int]:
    """The server's worker processes (every descendant that is a Python process with a cmdline)."""
    found = []
    pending = [pid]
    while pending:
        current = pending.pop()
        for child in _children(current):
            pending.append(child)
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
            if b"resource_tracker" not in cmd:
                found.append(child)
    return found or [pid]


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    url: str, timeout: float, headers: dict[str, str] | None = None, data: bytes | None = None
) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, data=data, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s ({last})")


def start(
    args: list[str], env: dict[str, str], cwd: Path, log_file: Path
) -> subprocess.Popen[bytes]:
    handle = log_file.open("wb")
    return subprocess.Popen(
        args,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- main


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

    results: dict[str, Any] = {"polku": [], "mlflow": []}
    port = free_port()
    server = start(
        [
            POLKU,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(options.workers),
            *(["--reuse-port"] if options.reuse_port else []),
        ],
        api_env,
        ROOT,
        work / "polku-serve.log",
    )
    try:
        wait_until(f"http://127.0.0.1:{port}/health/ready", 180)
        time.sleep(2)  # every worker ready, not just the first to answer
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        check = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/recommendations", data=encoded[0], headers=headers
        )
        with urllib.request.urlopen(check, timeout=30) as answer:
            sample = json.loads(answer.read())
        assert sample["recommendations"] and sample["recommendations"][0]["explanation"], sample
        pids = workers_of(server.pid)
        log(f"polku serve on port {port}, worker pids {pids}")
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
                f"polku c={c}: {figures['rps']} req/s p50 {figures['p50_ms']} ms p99 {figures['p99_ms']} ms errors {figures['errors']}"
            )
            results["polku"].append(figures)
    finally:
        stop(server)

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
    for r in results["polku"]:
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
    for server_name in ("polku", "mlflow"):
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
