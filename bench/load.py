"""Driving a server under load, for the benchmarks: a load generator and server processes.

The generator runs in a separate process (raw asyncio HTTP/1.1 over
keep-alive connections, one coroutine per connection, so that it costs
little CPU) and records latencies, statuses and each server worker's CPU
seconds; `start`/`stop` run a server in its own process group.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import load_average, percentile

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
