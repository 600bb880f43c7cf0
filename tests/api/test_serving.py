"""Model serving: golden cases at every load, last good model on failure, 503 without a model."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.serving import FolderModel, GoldenCaseError, ModelHolder, prepare
from api.settings import Settings
from model.golden import GOLDEN_CASES, METADATA_KEY, check_golden, expected_top_services
from model.router import Router
from tests.api.conftest import request_body


@dataclass
class MovableSource:
    """A real folder source whose folder (like a registry alias) can be moved."""

    path: Path
    version: str

    def load(self) -> FolderModel:
        return FolderModel(router=Router.load(self.path), name="polku-router", version=self.version)

    def describe(self) -> str:
        return f"polku-router version {self.version}"

    def fairness_report(self, served: Any) -> Mapping[str, Any] | None:
        return None

    def move(self, path: Path, version: str) -> None:
        self.path, self.version = path, version


def _copy_with_golden(router_folder: Path, target: Path, golden: Mapping[str, str] | None) -> Path:
    shutil.copytree(router_folder, target)
    file = target / "router.json"
    data = json.loads(file.read_text())
    if golden is None:
        data["metadata"].pop(METADATA_KEY, None)
    else:
        data["metadata"][METADATA_KEY] = dict(golden)
    file.write_text(json.dumps(data))
    return target


def test_the_golden_cases_pass_on_a_sound_model_and_agree_with_the_batch_path(
    router_folder: Path,
) -> None:
    router = Router.load(router_folder)
    stored = router.metadata[METADATA_KEY]
    assert set(stored) == {case.name for case in GOLDEN_CASES}
    assert expected_top_services(router) == stored
    assert check_golden(router) == []
    assert check_golden(router, expected=None) == []


def test_a_model_whose_golden_cases_fail_is_not_prepared(
    router_folder: Path, tmp_path: Path
) -> None:
    wrong = {case.name: "pay_subsidy" for case in GOLDEN_CASES}
    folder = _copy_with_golden(router_folder, tmp_path / "bad", wrong)
    served = FolderModel(router=Router.load(folder), name="polku-router", version="2")
    with pytest.raises(GoldenCaseError, match="fails its golden cases"):
        prepare(served, generation=0)


def test_reload_to_a_failing_version_keeps_the_last_good_model(
    router_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    source = MovableSource(router_folder, "1")
    app = create_app(settings, model_source=source)
    with TestClient(app) as client:
        from api.auth import create_key

        admin = {
            "Authorization": f"Bearer {create_key(app.state.engine, role='admin', unit='hq').key}"
        }
        worker = {
            "Authorization": f"Bearer {create_key(app.state.engine, role='caseworker', unit='a').key}"
        }
        wrong = {case.name: "pay_subsidy" for case in GOLDEN_CASES}
        source.move(_copy_with_golden(router_folder, tmp_path / "v2", wrong), "2")
        outcome = client.post("/v1/admin/reload", headers=admin).json()
        assert outcome["outcome"] == "kept"
        assert outcome["serving"] == {"name": "polku-router", "version": "1"}
        assert "golden" in outcome["error"]
        ready = client.get("/health/ready")
        assert ready.status_code == 200
        assert "newest attempt failed" in ready.json()["reasons"][0]
        answer = client.post("/v1/recommendations", json=request_body(), headers=worker).json()
        assert answer["model"]["version"] == "1"
        source.move(tmp_path / "missing", "3")
        assert client.post("/v1/admin/reload", headers=admin).json()["outcome"] == "kept"
        source.move(_copy_with_golden(router_folder, tmp_path / "v4", None), "4")
        assert client.post("/v1/admin/reload", headers=admin).json() == {
            "outcome": "loaded",
            "serving": {"name": "polku-router", "version": "4"},
            "error": None,
        }
        assert client.get("/health/ready").json()["reasons"] == []
        assert (
            client.post("/v1/recommendations", json=request_body(), headers=worker).json()["model"][
                "version"
            ]
            == "4"
        )


def test_no_model_at_start_is_live_not_ready_and_never_ranks(
    router_folder: Path, tmp_path: Path, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    source = MovableSource(tmp_path / "not-there", "1")
    app = create_app(settings, model_source=source)
    with TestClient(app) as client:
        from api.auth import create_key

        admin = {
            "Authorization": f"Bearer {create_key(app.state.engine, role='admin', unit='hq').key}"
        }
        worker = {
            "Authorization": f"Bearer {create_key(app.state.engine, role='caseworker', unit='a').key}"
        }
        assert client.get("/health/live").status_code == 200
        ready = client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert ready.json()["database"] == "ok"
        assert "could not be served" in ready.json()["reasons"][0]
        assert str(tmp_path) not in ready.text  # no file paths on a public endpoint
        refused = client.post("/v1/recommendations", json=request_body(), headers=worker)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.json()["type"] == "urn:polku:problem:model-unavailable"
        assert client.get("/v1/services", headers=worker).status_code == 503
        assert "model load failed" in caplog.text
        source.move(router_folder, "1")
        assert client.post("/v1/admin/reload", headers=admin).json()["outcome"] == "loaded"
        assert client.get("/health/ready").status_code == 200
        assert (
            client.post("/v1/recommendations", json=request_body(), headers=worker).status_code
            == 200
        )


def test_a_reload_asked_of_one_worker_reaches_the_others(
    router_folder: Path, tmp_path: Path, settings: Settings
) -> None:
    """Two apps on one database stand for two worker processes."""
    first_source, second_source = (
        MovableSource(router_folder, "1"),
        MovableSource(router_folder, "1"),
    )
    first, second = (
        create_app(settings, model_source=first_source),
        create_app(settings, model_source=second_source),
    )
    with TestClient(first) as one, TestClient(second) as two:
        from api.auth import create_key

        admin = {
            "Authorization": f"Bearer {create_key(first.state.engine, role='admin', unit='hq').key}"
        }
        worker = {
            "Authorization": f"Bearer {create_key(first.state.engine, role='caseworker', unit='a').key}"
        }
        v2 = _copy_with_golden(router_folder, tmp_path / "v2", None)
        first_source.move(v2, "2")
        second_source.move(v2, "2")
        assert one.post("/v1/admin/reload", headers=admin).json()["serving"]["version"] == "2"
        # the other worker still serves version 1 and notices the reload on its next request
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).json()["model"][
                "version"
            ]
            == "1"
        )
        deadline = time.monotonic() + 30
        while second.state.holder.current.version != "2" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).json()["model"][
                "version"
            ]
            == "2"
        )


def test_pause_reaches_every_worker(router_folder: Path, settings: Settings) -> None:
    first, second = (
        create_app(settings, model_source=MovableSource(router_folder, "1")) for _ in range(2)
    )
    with TestClient(first) as one, TestClient(second) as two:
        from api.auth import create_key

        admin = {
            "Authorization": f"Bearer {create_key(first.state.engine, role='admin', unit='hq').key}"
        }
        worker = {
            "Authorization": f"Bearer {create_key(first.state.engine, role='caseworker', unit='a').key}"
        }
        one.post("/v1/admin/pause", headers=admin)
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).status_code == 503
        )
        assert two.get("/health/ready").json()["paused"] is True
        one.post("/v1/admin/resume", headers=admin)
        assert (
            two.post("/v1/recommendations", json=request_body(), headers=worker).status_code == 200
        )


def test_holder_swaps_only_checked_models(router_folder: Path, tmp_path: Path) -> None:
    source = MovableSource(router_folder, "1")
    holder = ModelHolder(source, retry_seconds=0)
    assert holder.load().loaded
    good = holder.current
    source.move(
        _copy_with_golden(
            router_folder, tmp_path / "bad", {c.name: "work_trial" for c in GOLDEN_CASES}
        ),
        "2",
    )
    outcome = holder.load(generation=5)
    assert not outcome.loaded
    assert holder.current is not None and holder.current.router is good.router
    assert holder.current.generation == 5  # the failed generation is not asked again
