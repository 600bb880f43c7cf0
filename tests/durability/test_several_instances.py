"""Several `polku serve` instances on one PostgreSQL, with models from an `mlflow server`.

The layout of docs/deploy.md ("Several instances") built on one machine: an
`mlflow server` whose backend store is a fresh PostgreSQL database and whose
artifacts it serves itself, a version logged and promoted through it, and
two `polku serve` processes on different ports sharing one PostgreSQL
database and serving the registry's `champion`. The same decisions sent to
both at once give one row each; a promotion followed by a reload of each
instance serves the new version everywhere.
"""

from __future__ import annotations

import copy
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from api.auth import create_key
from tests.support.api_requests import request_body
from tests.support.database_checks import stored_decisions
from tests.support.decision_writers import (
    TIMEOUT,
    Answer,
    PlannedDecision,
    plan,
    post_decision,
    recommend_many,
)
from tests.support.mlflow_server import mlflow_server
from tests.support.prepared_database import fresh_database, prepare
from tests.support.servers import ServerProcess
from tests.support.trained_model import TrainedModel

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

MODEL = "polku-router-fleet-test"
RECOMMENDATIONS = 8
DECISIONS_EACH = 3


def _log_version(trained_model: TrainedModel) -> str:
    """Log the session's trained model as a new version of MODEL (to MLFLOW_TRACKING_URI)."""
    from training.registry.runs import log_training

    result = trained_model.result
    fresh = replace(
        result,
        test=copy.deepcopy(result.test),
        model_card=copy.deepcopy(result.model_card),
        fairness_report=None,
    )
    return log_training(fresh, name=MODEL).version


def _served_version(server: ServerProcess, headers: dict[str, str]) -> str:
    body = request_body()
    body["client"]["client_id"] = f"FLEET-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
        answer = http.post("/v1/recommendations", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["model"]["version"])


def _to_both(servers: list[ServerProcess], decisions: list[PlannedDecision]) -> list[Answer]:
    """Every decision to every instance, the copies of one decision side by side."""
    clients = [httpx.Client(base_url=s.url, timeout=TIMEOUT) for s in servers]
    try:
        jobs = [(client, d) for d in decisions for client in clients]
        with ThreadPoolExecutor(max_workers=2 * len(servers)) as pool:
            return list(pool.map(lambda job: post_decision(*job), jobs))
    finally:
        for client in clients:
            client.close()


@pytest.fixture
def mlflow_uris_restored() -> Iterator[None]:
    """MLflow's process-wide tracking and registry addresses as they were before the test:
    later tests in this worker must not reach the stopped server."""
    import mlflow

    tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
    yield
    mlflow.set_tracking_uri(tracking)
    mlflow.set_registry_uri(registry)


def test_two_instances_share_one_database_and_one_registry(
    trained_model: TrainedModel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    mlflow_uris_restored: None,
) -> None:
    from training.promotion import guarded_promotion
    from training.registry.versions import promote

    with mlflow_server(tmp_path) as registry:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", registry)
        # mlflow.set_registry_uri writes this variable; through monkeypatch it is undone
        monkeypatch.setenv("MLFLOW_REGISTRY_URI", registry)
        first = _log_version(trained_model)
        promote(first, name=MODEL)
        with fresh_database("postgresql", tmp_path) as url:
            prepared = prepare(url)
            admin = {
                "Authorization": f"Bearer {create_key(prepared.engine, role='admin', unit='ops').key}"
            }
            env = {
                **os.environ,
                "POLKU_ENV": "development",
                "POLKU_DATA_DIR": str(tmp_path),
                "POLKU_DATABASE_URL": url,
                "POLKU_MODEL_NAME": MODEL,
                "POLKU_MODEL_ALIAS": "champion",
                "MLFLOW_TRACKING_URI": registry,
                "POLKU_MODEL_RETRY_SECONDS": "0",
                "OMP_NUM_THREADS": "1",
                "PYTHONUNBUFFERED": "1",
            }
            env.pop("POLKU_MODEL_VERSION", None)
            servers = [
                ServerProcess(database_url=url, env=env, log_path=tmp_path / f"instance-{i}.log")
                for i in range(2)
            ]
            try:
                for server in servers:
                    server.start(wait="")
                for server in servers:
                    server.wait_for("/health/ready")
                assert len({server.port for server in servers}) == 2
                caseworker = prepared.headers[0]
                assert [_served_version(s, caseworker) for s in servers] == [first, first]

                # the same decisions to both instances at once: one row each
                recommendations = recommend_many(
                    servers[0].url, prepared.headers, prepared.units, RECOMMENDATIONS
                )
                tag = uuid.uuid4().hex[:8]
                decisions = [d for r in recommendations for d in plan(r, DECISIONS_EACH, tag=tag)]
                answers = _to_both(servers, decisions)
                by_key: dict[str, list[Answer]] = defaultdict(list)
                for answer in answers:
                    by_key[answer.key].append(answer)
                assert len(by_key) == len(decisions)
                for key, pair in by_key.items():
                    assert [a.status for a in pair] == [201, 201], key
                    assert len({a.decision_id for a in pair}) == 1, key
                    assert sum(a.replayed for a in pair) == 1, key
                stored = Counter(d.idempotency_key for d in stored_decisions(prepared.engine))
                assert stored == Counter({d.key: 1 for d in decisions})

                # a promotion through the registry, then a reload of each instance
                second = _log_version(trained_model)
                done = guarded_promotion(second, name=MODEL, data=trained_model.data_dir)
                assert done.decision == "promoted" and done.comparison is not None
                for server in servers:
                    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as http:
                        reloaded = http.post("/v1/admin/reload", headers=admin).json()
                    assert reloaded["outcome"] == "loaded", reloaded
                    assert reloaded["serving"] == {"name": MODEL, "version": second}
                assert [_served_version(s, caseworker) for s in servers] == [second, second]
                assert not [line for s in servers for line in s.log_leaks()]
            finally:
                for server in servers:
                    server.stop()
                prepared.engine.dispose()
