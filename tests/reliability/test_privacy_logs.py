"""No personal data in logs, no raw keys in the database, no small cells in reports.

The API's typical flows run with a marker in every value a caller chooses
(client id, free-text profile fields, comments, the pause reason,
idempotency keys, query values, paths, a wrong bearer token, malformed and
oversized bodies), with every logger at DEBUG and the process's stdout and
stderr captured too. The marker may be stored where the product stores it
(the audit log keeps the pseudonymous client id, decisions keep comments),
but it must not reach any log line or printed output.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Iterator
from typing import Any, Final

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import String, Text, select

from api.storage.tables import metadata
from model.privacy import check_character
from tests.support.api_requests import Keys, request_body
from tests.support.trained_model import TrainedModel

MARKER: Final = "ZZMARKER123"
IDENTITY_CODE: Final = "131052-308" + check_character("131052308")


@pytest.fixture
def every_log_line(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at DEBUG, as verbose as the product can be configured (POLKU_LOG_LEVEL=DEBUG).

    The root logger and every logger without a level of its own log at
    DEBUG; the levels the product's logging configuration pins
    (`api.logs.logging_config`: SQLAlchemy's engine, uvicorn's access log)
    are applied as `polku serve` applies them, since that configuration is
    part of what is tested. Loggers that do not propagate get caplog's
    handler too, so nothing escapes the capture.
    """
    from api.logs import logging_config

    caplog.set_level(logging.DEBUG)
    touched = []
    for name in [*logging.root.manager.loggerDict, *logging_config("DEBUG")["loggers"]]:
        logger = logging.getLogger(name)
        touched.append((logger, logger.level))
    for name, setting in logging_config("DEBUG")["loggers"].items():
        logging.getLogger(name).setLevel(setting["level"])
    attached = [
        logger
        for logger, _ in touched
        if not logger.propagate and caplog.handler not in logger.handlers
    ]
    for logger in attached:
        logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        for logger, level in touched:
            logger.setLevel(level)
        for logger in attached:
            logger.removeHandler(caplog.handler)


def _server_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every formatted record, minus the test's own HTTP client (httpx logs the URLs it calls)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    lines = []
    for record in caplog.records:
        if record.name.startswith(("httpx", "httpcore")):
            continue
        text = formatter.format(record)  # the message, its arguments and any traceback
        lines.append(text)
    return lines


def _flows(client: TestClient, keys: Keys, app: FastAPI) -> dict[str, Any]:
    """The API's typical flows, with the marker in every caller-chosen value; their answers."""
    seen: dict[str, Any] = {}
    body = request_body()
    body["client"]["client_id"] = f"{MARKER}-client"
    body["client"]["citizenship_region"] = f"{MARKER}_region"
    answer = client.post("/v1/recommendations", json=body, headers=keys.caseworker)
    assert answer.status_code == 200, answer.text
    request_id = answer.json()["request_id"]
    seen["recommendation"] = answer.json()

    decision = {
        "request_id": request_id,
        "chosen_service": answer.json()["recommendations"][1]["service"],
        "reason_code": "other",
        "comment": f"{MARKER} asiakas toivoi muuta",
    }
    idem = {**keys.caseworker, "Idempotency-Key": f"{MARKER}-idem"}
    made = client.post("/v1/decisions", json=decision, headers=idem)
    assert made.status_code == 201, made.text
    assert client.post("/v1/decisions", json=decision, headers=idem).status_code == 201
    reused = client.post("/v1/decisions", json={**decision, "comment": f"{MARKER} 2"}, headers=idem)
    assert reused.status_code == 422
    decision_id = made.json()["decision_id"]
    assert client.get(f"/v1/decisions/{decision_id}", headers=keys.caseworker).status_code == 200
    listed = client.get("/v1/decisions", params={"request_id": request_id}, headers=keys.admin)
    assert listed.status_code == 200
    assert client.get("/v1/audit", params={"unit": MARKER}, headers=keys.admin).status_code == 200
    assert client.get("/v1/services", headers=keys.caseworker).status_code == 200
    assert client.get("/v1/model", headers=keys.caseworker).status_code == 200

    paused = client.post(
        "/v1/admin/pause", json={"reason": f"{MARKER} tarkistus"}, headers=keys.admin
    )
    assert paused.status_code == 200, paused.text
    assert client.post("/v1/recommendations", json=body, headers=keys.caseworker).status_code == 503
    assert client.post("/v1/admin/resume", headers=keys.admin).status_code == 200
    assert client.get("/health/live").status_code == 200
    assert client.get("/health/ready").status_code == 200

    # errors, each carrying the marker somewhere
    bad = request_body()
    bad["client"]["client_id"] = f"{MARKER} {IDENTITY_CODE}"
    bad["client"]["gender"] = MARKER
    bad["episodes"][0]["end_date"] = "2023-01-01"  # before its start
    assert client.post("/v1/recommendations", json=bad, headers=keys.caseworker).status_code == 422
    assert (
        client.post(
            "/v1/recommendations",
            content=f'{{"client": "{MARKER}'.encode(),
            headers={**keys.caseworker, "Content-Type": "application/json"},
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/v1/recommendations",
            content=MARKER.encode(),
            headers={**keys.caseworker, "Content-Type": "text/plain"},
        ).status_code
        == 415
    )
    big = request_body()
    big["client"]["citizenship_region"] = MARKER * 30_000
    assert client.post("/v1/recommendations", json=big, headers=keys.caseworker).status_code == 413
    assert (
        client.get(
            "/v1/decisions", params={MARKER: MARKER, "since": MARKER}, headers=keys.admin
        ).status_code
        == 422
    )
    assert client.get(f"/v1/{MARKER}", headers=keys.admin).status_code == 404
    assert client.get(f"/v1/decisions/{MARKER}", headers=keys.admin).status_code == 422
    wrong_key = {"Authorization": f"Bearer plk_k000000000000_{MARKER}"}
    assert client.get("/v1/model", headers=wrong_key).status_code == 401
    assert client.get("/v1/model", headers={"Authorization": MARKER}).status_code == 401
    decision_bad = {**decision, "comment": f"{MARKER}\x07"}
    refused = client.post(
        "/v1/decisions", json=decision_bad, headers={**keys.caseworker, "Idempotency-Key": "x"}
    )
    assert refused.status_code == 422
    return seen


def test_no_marker_in_any_log_line_or_output(
    client: TestClient,
    keys: Keys,
    app: FastAPI,
    every_log_line: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    _flows(client, keys, app)
    lines = _server_lines(every_log_line)
    assert len(lines) > 20  # the flows were logged (one line per request at least)
    assert any("request refused" in line for line in lines)
    leaked = [line for line in lines if MARKER in line or IDENTITY_CODE in line]
    assert leaked == []
    printed = capfd.readouterr()
    for stream in (printed.out, printed.err):
        assert MARKER not in stream
        assert IDENTITY_CODE not in stream


def test_the_database_holds_no_raw_key_and_no_refused_value(
    client: TestClient, keys: Keys, app: FastAPI
) -> None:
    _flows(client, keys, app)
    raw_keys = [
        headers["Authorization"].removeprefix("Bearer ") for headers in keys.by_role().values()
    ]
    raw_keys.append(keys.other_unit["Authorization"].removeprefix("Bearer "))
    # the secret part alone, too; it may itself hold "_" (URL-safe base64)
    secrets = [key.split("_", 2)[2] for key in raw_keys]
    cells: list[str] = []
    with app.state.engine.connect() as connection:
        for table in metadata.sorted_tables:
            text_columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            rows = connection.execute(select(table)).mappings().all()
            for row in rows:
                cells.extend(json.dumps(value, default=str) for value in row.values())
            assert text_columns or table.name not in ("api_keys",)
        hashes = connection.execute(select(metadata.tables["api_keys"].c.key_hash)).scalars().all()
    assert len(hashes) == len(raw_keys)
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in hashes)
    everything = "\n".join(cells)
    for key, secret in zip(raw_keys, secrets, strict=True):
        assert key not in everything and secret not in everything
    # refused values were not stored either: the identity code, the refused comments
    assert IDENTITY_CODE not in everything
    assert f"{MARKER} 2" not in everything and f"{MARKER}\\u0007" not in everything


NOT_COUNTS: Final = frozenset(
    {
        "schema_version",
        "horizon_days",
        "min_cell_size",
        "n_boot",
        "seed",
        "max_languages",
        "age_edges",
        "groups_compared",
        "k",
        "cells_hidden",
    }
)


def _counts(document: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
    """Every integer of a report with its path, except the settings that are not counts."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key not in NOT_COUNTS:
                yield from _counts(value, (*path, str(key)))
    elif isinstance(document, list):
        for i, value in enumerate(document):
            yield from _counts(value, (*path, str(i)))
    elif isinstance(document, int) and not isinstance(document, bool):
        yield ".".join(path), document


def test_no_published_count_is_under_the_threshold(
    client: TestClient, keys: Keys, trained_model: TrainedModel
) -> None:
    """The served fairness report, as JSON and as HTML: every count is 0 or at least k."""
    response = client.get("/v1/reports/fairness", headers=keys.evaluator)
    assert response.status_code == 200
    report = response.json()
    k = report["settings"]["min_cell_size"]
    assert k >= 3
    counts = list(_counts(report))
    assert len(counts) > 100  # the walk reached the tables
    small = [(path, n) for path, n in counts if 0 < n < k]
    assert small == []
    # the tiny world has small groups, so suppression had work to do (the test can fail)
    assert report["suppression"]["cells_hidden"] > 0
    page = client.get("/v1/reports/fairness", headers={**keys.evaluator, "Accept": "text/html"})
    published = [
        (html.unescape(key), int(value))
        for key, value in re.findall(
            r'data-key="([^"]*)" data-value="(\d+)" data-kind="count"', page.text
        )
    ]
    assert len(published) > 100
    small = [
        (key, n) for key, n in published if 0 < n < k and not NOT_COUNTS & set(json.loads(key))
    ]
    assert small == []


@pytest.fixture(scope="module")
def telemetry_exporters() -> tuple[Any, Any, Any]:
    """OpenTelemetry providers with in-memory exporters, as an operator's set-up would install.

    FastAPI's native telemetry turns itself on when a provider is configured:
    its spans carry the raw path and query, its logs the messages of
    validation failures and exceptions, either of which may hold a caller's
    values. Providers are process-wide and set once.
    """
    from opentelemetry import _logs, metrics, trace
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    logs, spans, reader = (
        InMemoryLogRecordExporter(),
        InMemorySpanExporter(),
        InMemoryMetricReader(),
    )
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(logs))
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    _logs.set_logger_provider(logger_provider)
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return logs, spans, reader


def test_no_marker_reaches_opentelemetry(
    telemetry_exporters: tuple[Any, Any, Any], client: TestClient, keys: Keys, app: FastAPI
) -> None:
    logs, spans, reader = telemetry_exporters
    logs.clear()
    spans.clear()
    _flows(client, keys, app)
    exported = [
        *(record.to_json() for record in logs.get_finished_logs()),
        *(span.to_json() for span in spans.get_finished_spans()),
        reader.get_metrics_data().to_json() if reader.get_metrics_data() else "",
    ]
    assert "http.server.request.duration" in exported[-1]  # metrics by route template stay on
    leaked = [text for text in exported if MARKER in text or IDENTITY_CODE in text]
    assert leaked == []
