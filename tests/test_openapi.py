"""The OpenAPI document and the docs pages, compared with FastAPI 0.165 for the same app modules.

Each app module is imported twice in this process, once per framework (``APP_FRAMEWORK``), and
``app.openapi()`` must be equal as JSON data; the served ``/openapi.json`` (a real fastrapi
server) must be the same document too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

APPS_DIR = Path(__file__).parent / "apps"

OPENAPI_APPS = [
    "openapi_params",
    "openapi_bodies",
    "openapi_responses",
    "openapi_routers",
    "openapi_security",
    "openapi_metadata",
    "openapi_shared_schemas",
    "openapi_split_schemas",
    "openapi_deps",
    "openapi_docs",
]
# The other test apps describe themselves the same way too.
OTHER_APPS = ["basic", "deps", "params", "forms", "handlers", "surface", "streaming", "sessions", "middleware"]

_loaded: dict[tuple[str, str], ModuleType] = {}


def load_app_module(name: str, framework: str) -> ModuleType:
    """``tests/apps/<name>.py`` imported afresh with ``APP_FRAMEWORK=framework`` (cached)."""
    key = (name, framework)
    if key not in _loaded:
        previous = os.environ.get("APP_FRAMEWORK")
        os.environ["APP_FRAMEWORK"] = framework
        try:
            spec = importlib.util.spec_from_file_location(f"_openapi_{framework}_{name}", APPS_DIR / f"{name}.py")
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                spec.loader.exec_module(module)
        finally:
            if previous is None:
                os.environ.pop("APP_FRAMEWORK", None)
            else:
                os.environ["APP_FRAMEWORK"] = previous
        _loaded[key] = module
    return _loaded[key]


def documents(name: str, attr: str = "app") -> tuple[dict[str, Any], dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate operation ids, email-validator, deprecations
        expected = getattr(load_app_module(name, "fastapi"), attr).openapi()
        actual = getattr(load_app_module(name, "fastrapi"), attr).openapi()
    return expected, actual


def _drop_multi_method_ids(*docs: dict[str, Any]) -> None:
    """FastAPI names a multi-method route's operations after ``list(set(methods))[0]`` (hash
    order); fastrapi after the first declared method. Those ids are left out of the comparison."""
    for path, item in docs[0].get("paths", {}).items():
        ids = [op.get("operationId") for op in item.values()]
        if len(set(ids)) < len(ids):
            for doc in docs:
                for op in doc["paths"].get(path, {}).values():
                    op.pop("operationId", None)


def assert_same_document(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    if expected != actual:
        # A readable failure: the first differing lines of the two documents.
        a = json.dumps(expected, indent=1, sort_keys=True).splitlines()
        b = json.dumps(actual, indent=1, sort_keys=True).splitlines()
        import difflib

        diff = "\n".join(list(difflib.unified_diff(a, b, "fastapi", "fastrapi", lineterm=""))[:80])
        pytest.fail(f"OpenAPI documents differ:\n{diff}")


@pytest.mark.parametrize("name", OPENAPI_APPS)
def test_openapi_same_as_fastapi(name: str) -> None:
    expected, actual = documents(name)
    assert_same_document(expected, actual)


@pytest.mark.parametrize("name", OTHER_APPS)
def test_other_apps_openapi_same_as_fastapi(name: str) -> None:
    expected, actual = documents(name)
    _drop_multi_method_ids(expected, actual)
    assert_same_document(expected, actual)


@pytest.mark.parametrize("attr", ["no_pages", "custom"])
def test_openapi_variants_same_as_fastapi(attr: str) -> None:
    expected, actual = documents("openapi_docs", attr)
    assert_same_document(expected, actual)


def test_openapi_is_cached_and_regenerated_for_new_routes() -> None:
    app = load_app_module("openapi_params", "fastrapi").app
    first = app.openapi()
    assert app.openapi() is first
    assert app.openapi_schema is first


def test_openapi_regenerated_when_routes_are_added() -> None:
    import fastrapi

    app = fastrapi.FastAPI()

    @app.get("/a")
    def a() -> dict[str, int]:
        return {}

    assert list(app.openapi()["paths"]) == ["/a"]

    @app.get("/b")
    def b() -> dict[str, int]:
        return {}

    assert list(app.openapi()["paths"]) == ["/a", "/b"]


def test_docs_routes_listed_like_fastapi() -> None:
    for attr in ("app", "disabled", "no_pages"):
        expected = getattr(load_app_module("openapi_docs", "fastapi"), attr).routes
        actual = getattr(load_app_module("openapi_docs", "fastrapi"), attr).routes
        assert [(r.path, r.name, sorted(r.methods or [])) for r in actual] == [
            (r.path, r.name, sorted(r.methods or [])) for r in expected
        ]
        assert all(not r.include_in_schema for r in actual if r.name in ("openapi", "swagger_ui_html", "redoc_html"))


# -- over HTTP ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``served(module, attr="app") -> Server``: one fastrapi server per app, for the whole module."""
    from tests import conftest

    fixture = conftest.serve_app.__wrapped__(tmp_path_factory.mktemp("openapi"))  # type: ignore[attr-defined]
    start = next(fixture)
    servers: dict[tuple[str, str], Any] = {}

    def get(module: str, attr: str = "app") -> Any:
        if (module, attr) not in servers:
            servers[(module, attr)] = start(f"tests.apps.{module}", attr)
        return servers[(module, attr)]

    yield get
    with contextlib.suppress(StopIteration):
        next(fixture)


@pytest.mark.parametrize("name", [n for n in OPENAPI_APPS if n not in ("openapi_metadata", "openapi_docs")])
def test_served_openapi_json(served, name: str) -> None:  # type: ignore[no-untyped-def]
    expected, _ = documents(name)
    response = httpx.get(f"{served(name).url}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert_same_document(expected, response.json())


def test_served_with_root_path_like_fastapi(served, serve_fastapi) -> None:  # type: ignore[no-untyped-def]
    """With ``root_path``, the served document lists it as the first server and the pages load
    the document from under it, as under FastAPI + uvicorn."""
    mine = served("openapi_metadata")
    theirs = serve_fastapi("tests.apps.openapi_metadata")
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
        a = httpx.get(theirs.url + path, timeout=10)
        b = httpx.get(mine.url + path, timeout=10)
        assert (b.status_code, b.headers["content-type"]) == (a.status_code, a.headers["content-type"]), path
        if path == "/openapi.json":
            assert_same_document(a.json(), b.json())
            assert b.json()["servers"][0] == {"url": "/api/v1"}
    docs = httpx.get(mine.url + "/docs", timeout=10).text
    assert "url: '/api/v1/openapi.json'" in docs
    assert "oauth2RedirectUrl: window.location.origin + '/api/v1/docs/oauth2-redirect'" in docs
    assert 'spec-url="/api/v1/openapi.json"' in httpx.get(mine.url + "/redoc", timeout=10).text


def test_served_docs_pages(served) -> None:  # type: ignore[no-untyped-def]
    server = served("openapi_docs")
    expected, _ = documents("openapi_docs")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        schema = client.get("/api/schema.json")
        assert schema.status_code == 200
        assert_same_document(expected, schema.json())
        assert client.head("/api/schema.json").status_code == 200
        docs = client.get("/api/docs")
        assert docs.status_code == 200
        assert docs.headers["content-type"] == "text/html; charset=utf-8"
        assert "url: '/api/schema.json'" in docs.text
        assert '"syntaxHighlight": false' in docs.text and '"deepLinking": false' in docs.text
        assert "oauth2RedirectUrl: window.location.origin + '/api/docs/redirect'" in docs.text
        # init_oauth is JSON, with <, > and & escaped inside the script element
        assert 'ui.initOAuth({"clientId": "my-client", "appName": "\\u003cDocs \\u0026 co\\u003e"})' in docs.text
        redirect = client.get("/api/docs/redirect")
        assert redirect.status_code == 200 and "swaggerUIRedirectOauth2" in redirect.text
        redoc = client.get("/api/redoc")
        assert redoc.status_code == 200 and redoc.headers["content-type"] == "text/html; charset=utf-8"
        assert 'spec-url="/api/schema.json"' in redoc.text
        for default in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            assert client.get(default).status_code == 404, default
        assert client.get("/items/3").json() == {"item_id": 3}


def test_served_docs_default_urls(served) -> None:  # type: ignore[no-untyped-def]
    server = served("openapi_params")
    with httpx.Client(base_url=server.url, timeout=10) as client:
        docs = client.get("/docs")
        assert docs.status_code == 200 and docs.headers["content-type"] == "text/html; charset=utf-8"
        assert "url: '/openapi.json'" in docs.text
        assert "oauth2RedirectUrl: window.location.origin + '/docs/oauth2-redirect'" in docs.text
        assert "initOAuth" not in docs.text
        assert "<title>Params - Swagger UI</title>" in docs.text
        redoc = client.get("/redoc")
        assert redoc.status_code == 200 and 'spec-url="/openapi.json"' in redoc.text
        assert "<title>Params - ReDoc</title>" in redoc.text
        assert client.get("/docs/oauth2-redirect").status_code == 200


@pytest.mark.parametrize(("attr", "gone", "present"), [
    ("disabled", ["/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"], []),
    ("no_pages", ["/docs", "/redoc", "/docs/oauth2-redirect"], ["/openapi.json"]),
])
def test_served_disabled_urls(served, attr: str, gone: list[str], present: list[str]) -> None:  # type: ignore[no-untyped-def]
    server = served("openapi_docs", attr)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for path in gone:
            assert client.get(path).status_code == 404, path
        for path in present:
            assert client.get(path).status_code == 200, path
        assert client.get("/ping").json() == {"ok": True}


def test_served_custom_openapi(served) -> None:  # type: ignore[no-untyped-def]
    expected, _ = documents("openapi_docs", "custom")
    response = httpx.get(served("openapi_docs", "custom").url + "/openapi.json", timeout=10)
    assert response.status_code == 200
    assert_same_document(expected, response.json())
    assert response.json()["info"]["x-logo"]["url"].endswith("logo-teal.png")


def test_docs_functions_like_fastapi() -> None:
    """The page builders take FastAPI's arguments and produce the same page contents."""
    from fastapi.openapi import docs as theirs

    from fastrapi.openapi import docs as mine

    def squash(html: str) -> str:
        return "".join(html.split())

    kwargs = {"openapi_url": "/o.json", "title": "T", "oauth2_redirect_url": "/r",
              "init_oauth": {"a": 1}, "swagger_ui_parameters": {"x": [1, 2]}}
    page_a = squash(theirs.get_swagger_ui_html(**kwargs).body.decode())  # type: ignore[arg-type]
    page_b = squash(mine.get_swagger_ui_html(**kwargs).body.decode())  # type: ignore[arg-type]
    for fragment in ("url:'/o.json'", '"x":[1,2]', "oauth2RedirectUrl:window.location.origin+'/r'",
                     'ui.initOAuth({"a":1})', "SwaggerUIBundle.presets.apis"):
        assert fragment in page_a and fragment in page_b
    redoc_a = squash(theirs.get_redoc_html(openapi_url="/o.json", title="T", with_google_fonts=False).body.decode())
    redoc_b = squash(mine.get_redoc_html(openapi_url="/o.json", title="T", with_google_fonts=False).body.decode())
    assert 'spec-url="/o.json"' in redoc_a and 'spec-url="/o.json"' in redoc_b
    assert "fonts.googleapis" not in redoc_b
    assert squash(theirs.get_swagger_ui_oauth2_redirect_html().body.decode()) == squash(
        mine.get_swagger_ui_oauth2_redirect_html().body.decode()
    )
