"""``/schema/openapi.json`` says what a client must send and what comes back: the multipart
upload bodies, the rendition names, how to sign in (and which routes need it), the redirects of
the download routes, and the source import's body."""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.exceptions import LitestarDeprecationWarning
from litestar.handlers import HTTPRouteHandler
from litestar.params import BodyKwarg, PathParameter, QueryParameter
from litestar.testing import TestClient
from salon.app import create_app
from salon.db.migrate import upgrade
from salon.testing.fixtures import base_environ


def _app(tmp_path_factory: pytest.TempPathFactory, **settings: str) -> Litestar:
    data = tmp_path_factory.mktemp("openapi") / "data"
    data.mkdir()
    environ = base_environ(data, f"sqlite+aiosqlite:///{data / 'salon.db'}")
    environ["SALON_INPROCESS_WORKER"] = "false"
    environ.update(settings)
    upgrade(environ["SALON_DATABASE_URL"])
    return create_app(environ=environ)


def _document(app: Litestar) -> dict[str, Any]:
    with TestClient(app=app) as client:
        response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return _app(tmp_path_factory)


@pytest.fixture(scope="module")
def document(app: Litestar) -> dict[str, Any]:
    return _document(app)


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "patch", "delete"}:
                yield method.upper(), path, operation


def _operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    found = [op for _, _, op in _operations(document) if op.get("operationId") == operation_id]
    assert len(found) == 1, operation_id
    return found[0]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return resolved


@pytest.mark.parametrize("operation_id", ["upload_image", "upload_file"])
def test_uploads_document_their_multipart_body(document: dict[str, Any], operation_id: str) -> None:
    body = _operation(document, operation_id)["requestBody"]
    assert body["required"] is True
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"] == {**form["properties"]["file"], "format": "binary"}
    if operation_id == "upload_image":
        assert form["properties"]["title"]["type"] == "string"
        assert form["properties"]["album_id"]["format"] == "uuid"


RENDITION_ROUTES = [
    "download_rendition",
    "shared_rendition",
    "shared_album_rendition",
    "album_share_rendition",
]


@pytest.mark.parametrize("operation_id", RENDITION_ROUTES)
def test_rendition_names_are_an_enum(document: dict[str, Any], operation_id: str) -> None:
    parameters = {p["name"]: p for p in _operation(document, operation_id)["parameters"]}
    assert parameters["name"]["schema"]["enum"] == ["sm", "md", "lg"]
    assert "`lg` webp 2048 px" in parameters["name"]["description"]


def test_rendition_enum_follows_the_setting(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The rendition list is configuration: the document of a server configured with more
    renditions lists them, with their sizes, on every rendition route."""
    app = _app(tmp_path_factory, SALON_RENDITIONS="sm:256,md:1024,lg:2048:avif:60,xl:4096")
    document = _document(app)
    for operation_id in RENDITION_ROUTES:
        parameters = {p["name"]: p for p in _operation(document, operation_id)["parameters"]}
        assert parameters["name"]["schema"]["enum"] == ["sm", "md", "lg", "xl"]
        assert "`lg` avif 2048 px" in parameters["name"]["description"]
        assert "`sm` webp 256 px" in parameters["name"]["description"]


def test_placeholder_format_is_documented(document: dict[str, Any]) -> None:
    image = _resolve(document, _response_schema(document, "get_image"))
    placeholder = image["properties"]["placeholder"]
    assert "ThumbHash" in json.dumps(placeholder) and "base64" in json.dumps(placeholder)
    urls = _resolve(document, image["properties"]["urls"])
    assert "SALON_RENDITIONS" in urls["properties"]["renditions"]["description"]


def _response_schema(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    response = _operation(document, operation_id)["responses"]["200"]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def test_security_schemes_are_bearer_and_cookie(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"]["type"] == "http" and schemes["bearer"]["scheme"] == "bearer"
    assert schemes["cookie"] == {**schemes["cookie"], "type": "apiKey", "in": "cookie"}
    assert schemes["cookie"]["name"] == "salon_access"


def _needs_user(handler: HTTPRouteHandler) -> bool:
    """Whether the handler function takes the signed-in user (and so answers 401 without)."""
    return "current_user" in inspect.signature(handler.fn).parameters


def test_every_route_that_needs_a_user_declares_security(
    app: Litestar, document: dict[str, Any]
) -> None:
    declared = {
        operation["operationId"]: operation.get("security")
        for _, _, operation in _operations(document)
    }
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not handler.include_in_schema or handler.operation_id not in declared:
                continue
            checked += 1
            security = declared[handler.operation_id]
            # logout reads the token itself rather than through current_user.
            if _needs_user(handler) or handler.operation_id == "logout":
                assert security == [{"bearer": []}, {"cookie": []}], handler.operation_id
            else:
                assert security is None, handler.operation_id
    assert checked >= 38
    assert declared["login"] is None and declared["view_share"] is None


@pytest.mark.parametrize(
    "operation_id", ["download_original", "download_rendition", "shared_rendition"]
)
def test_download_routes_document_the_redirect_and_the_bytes(
    document: dict[str, Any], operation_id: str
) -> None:
    responses = _operation(document, operation_id)["responses"]
    assert "Location" in responses["307"]["headers"]
    assert "Redirect" in responses["307"]["description"]
    assert responses["200"]["content"]["image/*"]["schema"]["format"] == "binary"
    assert "304" in responses


def test_video_download_documents_ranges(document: dict[str, Any]) -> None:
    responses = _operation(document, "download_video")["responses"]
    assert "video/mp4" in responses["206"]["content"]
    assert "416" in responses


def test_source_import_body_is_a_query_not_any_object(document: dict[str, Any]) -> None:
    body = _operation(document, "import_from_source")["requestBody"]
    schema = _resolve(document, body["content"]["application/json"]["schema"])
    # Ten query keys, and the import's own `favorite` (the APOD star).
    assert schema["type"] == "object" and schema["maxProperties"] == 11
    assert schema["properties"]["favorite"]["type"] == "boolean"
    values = schema["additionalProperties"]
    assert values, "the values must be typed, not any"
    assert {v["type"] for v in values["oneOf"]} == {"string", "integer", "boolean"}
    assert "apod" in schema["description"] and "start_date" in schema["description"]


def test_building_the_app_uses_nothing_litestar_deprecates(tmp_path: Path) -> None:
    """Handlers declare their dependencies, parameters and bodies (NamedDependency, FromPath,
    FromQuery, JSONBody): what Litestar 2 infers and warns about stops working in Litestar 3."""
    data = tmp_path / "data"
    data.mkdir()
    environ = base_environ(data, f"sqlite+aiosqlite:///{data / 'salon.db'}")
    environ["SALON_INPROCESS_WORKER"] = "false"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        app = create_app(environ=environ)
    deprecated = [str(w.message) for w in caught if w.category is LitestarDeprecationWarning]
    assert deprecated == []
    assert len(app.routes) >= 50  # the whole app was built, bundled plugins' routes included


def test_every_declared_parameter_is_in_the_document(
    app: Litestar, document: dict[str, Any]
) -> None:
    """Each path and query parameter a handler declares is in its operation's parameters, and
    each JSON body it declares is its requestBody."""
    operations = {(method, path): op for method, path, op in _operations(document)}
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            # Static files and the document itself are not operations; the rest must be listed.
            if not handler.include_in_schema or route.path.startswith(("/static/", "/schema")):
                continue
            method = min(handler.http_methods)
            operation = operations[(method, route.path_format)]
            listed = {(p["in"], p["name"]) for p in operation.get("parameters", ())}
            for name, field in handler.parsed_fn_signature.parameters.items():
                kwarg = field.kwarg_definition
                if isinstance(kwarg, PathParameter | QueryParameter):
                    where = "path" if isinstance(kwarg, PathParameter) else "query"
                    assert (where, kwarg.query or name) in listed, (handler.operation_id, name)
                    checked += 1
                elif isinstance(kwarg, BodyKwarg):
                    assert "requestBody" in operation, handler.operation_id
                    checked += 1
    assert checked >= 65  # 68 when written
