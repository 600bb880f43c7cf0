"""OpenAPI at /openapi.json documents every field with a description and an example."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import ROLES_KEY

pytestmark = pytest.mark.one_app_per_module


def _schema(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _has_example(node: dict[str, Any]) -> bool:
    return "examples" in node or "example" in node


def test_every_property_has_a_description_and_an_example(client: TestClient) -> None:
    components = _schema(client)["components"]["schemas"]
    missing = []
    for name, schema in components.items():
        for field, node in schema.get("properties", {}).items():
            if "description" not in node or not _has_example(node):
                missing.append(f"{name}.{field}")
    assert missing == []
    assert {
        "RecommendationRequest",
        "RecommendationResponse",
        "DecisionRequest",
        "DecisionOut",
        "ServiceList",
        "ModelInfo",
        "AuditList",
        "PlanAuditList",
    } <= set(components)
    assert "HTTPValidationError" not in components  # errors are documented as problem details


def test_problem_details_are_documented_field_by_field(client: TestClient) -> None:
    missing = []
    for path, item in _schema(client)["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                problem = response.get("content", {}).get("application/problem+json")
                if problem is None:
                    continue
                assert _has_example(problem), (method, path, status)
                properties = dict(problem["schema"]["properties"])
                properties.update(properties["errors"]["items"]["properties"])
                missing += [
                    f"{method} {path} {status} {name}"
                    for name, node in properties.items()
                    if "description" not in node or not _has_example(node)
                ]
    assert missing == []


def test_every_parameter_has_a_description_and_an_example(client: TestClient) -> None:
    missing = []
    for path, item in _schema(client)["paths"].items():
        for method, operation in item.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if "description" not in parameter or not (
                    _has_example(parameter) or _has_example(schema)
                ):
                    missing.append(f"{method.upper()} {path} {parameter['name']}")
    assert missing == []


def test_every_operation_documents_its_roles_errors_and_security(client: TestClient) -> None:
    document = _schema(client)
    assert document["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    for path, item in document["paths"].items():
        for method, operation in item.items():
            roles = operation[ROLES_KEY]
            if roles == ["public"]:
                continue
            assert operation["security"] == [{"ApiKey": []}], (method, path)
            for status in ("401", "403", "422"):
                response = operation["responses"][status]
                assert "application/problem+json" in response["content"], (method, path, status)


def test_the_request_models_forbid_unknown_fields(client: TestClient) -> None:
    components = _schema(client)["components"]["schemas"]
    for name in (
        "RecommendationRequest",
        "ClientIn",
        "EpisodeIn",
        "OutcomeIn",
        "DecisionRequest",
        "PauseRequest",
    ):
        assert components[name]["additionalProperties"] is False, name


def test_the_documentation_pages_load_their_assets_from_the_app(client: TestClient) -> None:
    """Swagger UI and ReDoc work on a closed network: no asset comes from elsewhere."""
    import re

    for page in ("/docs", "/redoc"):
        response = client.get(page)
        assert response.status_code == 200
        html = response.text
        assert "cdn" not in html.lower() and "fonts.googleapis" not in html
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), (page, asset)
            assert client.get(asset).status_code == 200, asset
    assert '"validatorUrl": null' in client.get("/docs").text  # no third-party validator badge


def test_the_document_states_the_served_codes_and_the_text_rule(
    client: TestClient, app: Any
) -> None:
    """What JSON Schema can state is stated, so schema-valid data is not refused for it."""
    import re

    from api.common import NO_CONTROL_CHARACTERS

    schemas = _schema(client)["components"]["schemas"]
    model = app.state.holder.current
    services = [*model.router.catalogue.service_codes, "review"]
    episode = schemas["EpisodeIn"]["properties"]
    assert episode["service"]["enum"] == services
    planned = next(s for s in episode["planned_service"]["anyOf"] if s.get("type") == "string")
    assert planned["enum"] == list(model.actions)
    decision = schemas["DecisionRequest"]["properties"]
    assert decision["chosen_service"]["enum"] == list(model.actions)
    comment = next(s for s in decision["comment"]["anyOf"] if s.get("type") == "string")
    assert comment["pattern"] == NO_CONTROL_CHARACTERS
    assert schemas["ClientIn"]["properties"]["client_id"]["pattern"] == NO_CONTROL_CHARACTERS
    reason = next(
        s for s in schemas["PauseRequest"]["properties"]["reason"]["anyOf"] if s.get("type")
    )
    assert reason["pattern"] == NO_CONTROL_CHARACTERS
    rule = re.compile(NO_CONTROL_CHARACTERS)
    assert rule.match("Asiakas\taloittaa\r\nensin.") and not rule.match("bad\x07bell")
