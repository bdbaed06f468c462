"""The OpenAPI document: valid, served without a token, and describing exactly the routes the app has under /api."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from openapi_spec_validator import validate

from webapp.api.openapi import openapi_document

AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}


def _openapi_path(rule: str) -> str:
    """/api/v1/tasks/<int(min=1):task_id> → /api/v1/tasks/{task_id}"""
    return re.sub(r"<(?:[^<>:]+:)?([^<>:]+)>", r"{\1}", rule)


def test_the_document_is_valid_openapi(client) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_the_app_serves_the_document_the_fuzz_test_loads(client) -> None:
    assert client.get("/api/openapi.json").get_json() == json.loads(json.dumps(openapi_document()))


def test_every_api_route_is_described_and_nothing_else(app: Flask, client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    routes = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - AUTOMATIC_METHODS
    }
    described = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    assert routes == described


def test_operations_are_named_after_their_endpoints(app: Flask, client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    endpoints = {
        (_openapi_path(rule.rule), method.lower()): rule.endpoint.removeprefix("api.")
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in (rule.methods or set()) - AUTOMATIC_METHODS
    }
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation["operationId"] == endpoints[(path, method)]


def test_every_protected_operation_documents_401_and_its_path_parameters(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue
            assert "401" in operation["responses"], (method, path)
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_the_readme_lists_every_api_endpoint() -> None:
    """The README's REST API table names each path the document describes (a row may shorten a path's start
    to "…/" after the path it extends)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## REST API", 1)[1].split("\n## ", 1)[0]
    for path in openapi_document()["paths"]:
        if path == "/api/openapi.json":
            assert path in section
            continue
        named = re.sub(r"{\w+}", "<id>", path)
        assert named in section or f"…/{named.rsplit('/', 1)[1]}" in section, path
