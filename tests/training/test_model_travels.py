"""The registered model works outside Polku's checkout and environment (docs/mlflow.md).

An environment is built with uv from the model's own `requirements.txt` (the
package index must be reachable; uv's cache makes a second build take
seconds), Polku is not installed in it, and the champion is loaded there from
the session's store and asked the same requests as in the test process. Then
`mlflow models serve --env-manager uv` builds its own environment the same
way and answers over HTTP.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pandas as pd
import pytest

from tests.support.servers import free_port
from tests.support.trained_model import TrainedModel
from tests.support.world_requests import assert_close, world_requests

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
N_REQUESTS = 30
SERVE_TIMEOUT_S = 600


def _uv() -> str:
    """The project's uv (bootstrapped by the Makefile), else one on PATH."""
    found = REPO / ".tools" / "bin" / "uv"
    if found.is_file():
        return str(found)
    on_path = shutil.which("uv")
    if on_path is None:
        pytest.fail("uv is needed to build the model's environment: run `make setup`")
    return on_path


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without Polku's venv on PATH, anything on PYTHONPATH
    or a tracking or registry address another test in this process left behind
    (`mlflow.set_registry_uri` sets the variable); the registry is the tracking store."""
    venv_bin = str(Path(sys.executable).parent)
    path = [Path(_uv()).parent.as_posix()]
    path += [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p != venv_bin]
    dropped = ("PYTHONPATH", "VIRTUAL_ENV", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    if "MLFLOW_TRACKING_URI" in extra:
        env["MLFLOW_REGISTRY_URI"] = extra["MLFLOW_TRACKING_URI"]
    return {**env, "PATH": os.pathsep.join(path), **extra}


def _requests(tiny_world_dir: Path) -> list[dict[str, Any]]:
    return world_requests(tiny_world_dir, N_REQUESTS, seed=29)


def _expected(trained_model: TrainedModel, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    model = mlflow.pyfunc.load_model(trained_model.champion_uri)
    answers: list[dict[str, Any]] = model.predict(pd.DataFrame(requests)).to_dict(orient="records")
    return answers


def test_the_model_loads_and_answers_in_an_environment_built_from_its_requirements(
    trained_model: TrainedModel, tiny_world_dir: Path, tmp_path: Path
) -> None:
    local = Path(mlflow.artifacts.download_artifacts(trained_model.model_uri, dst_path=tmp_path))
    requirements = local / "requirements.txt"
    assert not (local / "uv.lock").exists()  # else `--env-manager uv` would try to build Polku
    assert (local / "code" / "model").is_dir() and (local / "code" / "training").is_dir()
    env = tmp_path / "env"
    clean = _clean_env()
    python = Path(sys.executable).resolve()
    for command in (
        [_uv(), "venv", "--quiet", "--python", str(python), str(env)],
        [
            _uv(),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(env / "bin" / "python"),
            "-r",
            str(requirements),
        ],
    ):
        done = subprocess.run(
            command, env=clean, capture_output=True, text=True, timeout=900, check=False
        )
        assert done.returncode == 0, done.stderr[-3000:]

    requests = _requests(tiny_world_dir)
    (tmp_path / "requests.json").write_text(json.dumps(requests), "utf-8")
    script = textwrap.dedent(
        f"""
        import importlib.util, json
        # Polku is not installed here: only the model's own copy of its code is.
        assert importlib.util.find_spec("training") is None, "Polku is importable"
        assert importlib.util.find_spec("api") is None
        import mlflow, pandas as pd
        model = mlflow.pyfunc.load_model({trained_model.champion_uri!r})
        requests = json.loads(open("requests.json", encoding="utf-8").read())
        answers = model.predict(pd.DataFrame(requests)).to_dict(orient="records")
        open("answers.json", "w", encoding="utf-8").write(json.dumps(answers))
        """
    )
    done = subprocess.run(
        [str(env / "bin" / "python"), "-c", script],
        env=_clean_env(MLFLOW_TRACKING_URI=trained_model.tracking_uri),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads((tmp_path / "answers.json").read_text("utf-8"))
    assert_close(_expected(trained_model, requests), answers, "answers")


@pytest.fixture
def served_by_mlflow(trained_model: TrainedModel, tmp_path: Path) -> Iterator[str]:
    """`mlflow models serve -m models:/polku-router@champion --env-manager uv` on a free port."""
    port = free_port()
    log = (tmp_path / "serve.log").open("w", encoding="utf-8")
    env = _clean_env(
        MLFLOW_TRACKING_URI=trained_model.tracking_uri,
        MLFLOW_ENV_ROOT=str(tmp_path / "envs"),
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
    )
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "models",
            "serve",
            "-m",
            trained_model.champion_uri,
            "--env-manager",
            "uv",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVE_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    "mlflow models serve exited: " + (tmp_path / "serve.log").read_text()[-3000:]
                )
            try:
                if httpx.get(f"{url}/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    "mlflow models serve never answered: "
                    + (tmp_path / "serve.log").read_text()[-3000:]
                )
            time.sleep(1)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=20)
        log.close()


@pytest.mark.server
def test_mlflow_models_serve_with_uv_answers_requests(
    served_by_mlflow: str, trained_model: TrainedModel, tiny_world_dir: Path
) -> None:
    requests = _requests(tiny_world_dir)[:5]
    response = httpx.post(
        f"{served_by_mlflow}/invocations",
        json={"dataframe_records": requests},
        timeout=120,
    )
    assert response.status_code == 200, response.text[-2000:]
    assert_close(_expected(trained_model, requests), response.json()["predictions"], "answers")
    # a bad request: 400 naming the row and the field
    bad = [{**requests[0], "as_of": "not a date"}]
    response = httpx.post(
        f"{served_by_mlflow}/invocations", json={"dataframe_records": bad}, timeout=60
    )
    assert response.status_code == 400
    assert "request row 0: as_of: not a date" in response.json()["message"]
