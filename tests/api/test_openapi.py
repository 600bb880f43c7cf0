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
