"""Shared helpers of the speed benchmarks (bench/serve.py, bench/train.py, bench/batch.py).

Every benchmark writes one JSON file to bench/out/ (git-ignored) and prints a
table. Machines are shared and noisy: each figure carries the load average
read when it was measured, medians are used, and what is compared is
compared within one run (ratios).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
VENV_BIN = Path(sys.executable).parent
POLKU = str(VENV_BIN / "polku")
PACKAGES = (
    "lightgbm",
    "shap",
    "numpy",
    "pandas",
    "scikit-learn",
    "fastapi",
    "uvicorn",
    "uvloop",
    "httptools",
    "starlette",
    "pydantic",
    "sqlalchemy",
    "mlflow",
    "orjson",
)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """Cores, memory, Python and library versions, and the load now."""
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit,
        "load_average": load_average(),
    }


def write_json(name: str, document: Mapping[str, Any], out: Path | None = None) -> Path:
    path = out or OUT / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table (pastes into bench/RESULTS.md as it is)."""

    def cell(value: Any) -> str:
        if value is None:
            return "–"
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def run(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> str:
    """Run a command; its standard output, or exit with its standard error."""
    started = time.perf_counter()
    done = subprocess.run(
        list(args), capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"failed ({done.returncode}): {' '.join(args)}")
    log(
        f"{' '.join(Path(a).name if i == 0 else a for i, a in enumerate(args))} "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return done.stdout


def log(message: str) -> None:
    print(
        f"[{datetime.now():%H:%M:%S} load {os.getloadavg()[0]:.2f}] {message}",
        file=sys.stderr,
        flush=True,
    )


def store_env(folder: Path) -> dict[str, str]:
    """Environment for an MLflow store of its own in `folder`."""
    return {
        "MLFLOW_TRACKING_URI": f"sqlite:///{(folder / 'mlflow.db').resolve()}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }


def simulate(
    folder: Path, clients: int, seed: int = 1, *, hidden_selection: float | None = None
) -> Path:
    """The built-in world in `folder` (kept when it is already there)."""
    if not (folder / "clients.csv").is_file():
        extra = [] if hidden_selection is None else ["--hidden-selection", str(hidden_selection)]
        run(
            [
                POLKU,
                "simulate",
                "--clients",
                str(clients),
                "--seed",
                str(seed),
                "--out",
                str(folder),
                *extra,
            ]
        )
    return folder


def train_and_promote(
    data: Path, store: Path, *, config: Path | None = None, model_name: str = "polku-router"
) -> str:
    """`polku train` into `store`, then `polku promote`; the new version's number."""
    env = store_env(store)
    args = [POLKU, "train", "--data", str(data), "--model-name", model_name]
    if config is not None:
        args += ["--config", str(config)]
    text = run(args, env=env, cwd=store)
    version = None
    for line in text.splitlines():
        if line.startswith("Registered") and " version " in line:
            version = line.split(" version ", 1)[1].split()[0]
    if version is None:
        raise SystemExit("could not read the registered version from `polku train`")
    run([POLKU, "promote", version, "--model-name", model_name], env=env, cwd=store)
    return version


def evaluate_json(
    data: Path, store: Path, version: str, model_name: str = "polku-router"
) -> dict[str, Any]:
    """`polku evaluate --json` of a version (with the world's truth)."""
    text = run(
        [
            POLKU,
            "evaluate",
            "--data",
            str(data),
            "--version",
            version,
            "--json",
            "--truth",
            str(data / "truth.csv"),
            "--model-name",
            model_name,
        ],
        env=store_env(store),
        cwd=store,
    )
    return json.loads(text.strip().splitlines()[-1])


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def which(name: str) -> str:
    found = VENV_BIN / name
    return str(found) if found.exists() else (shutil.which(name) or name)


class PeakRss:
    """Sample a process's resident memory (from /proc) in a thread: the peak, and marks."""

    def __init__(self, pid: int | None = None, interval: float = 0.05) -> None:
        import threading

        self.pid = pid or os.getpid()
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> int:
        """VmRSS in bytes (0 once the process is gone)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._read())
            self._stop.wait(self.interval)

    def start(self) -> PeakRss:
        self._thread.start()
        return self

    def take(self) -> int:
        """The peak since the last `take`, and start a new window."""
        peak = max(self.peak, self._read())
        self.peak = 0
        return peak

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def measure(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> dict[str, Any]:
    """Run a command: wall seconds, peak RSS (sampled), CPU seconds, load average before and after."""
    load_before = load_average()
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(
        list(args),
        env={**os.environ, **(env or {})},
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampler = PeakRss(process.pid).start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    peak = sampler.stop()
    after = os.times()
    if process.returncode != 0:
        sys.stderr.write(stdout[-4000:] + stderr[-4000:])
        raise SystemExit(f"failed ({process.returncode}): {' '.join(args)}")
    log(
        f"{Path(args[0]).name} {' '.join(args[1:3])} ... {wall:.1f} s, peak RSS {peak / 2**30:.2f} GiB"
    )
    return {
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(
            (after.children_user - before.children_user)
            + (after.children_system - before.children_system),
            2,
        ),
        "peak_rss_gib": round(peak / 2**30, 3),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "stdout": stdout[-2000:],
    }
