"""url_path_for / url_for, route names and listings, routers included twice, compared with FastAPI."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.test_differential import _body, _pair
from tests.test_openapi import load_app_module


@pytest.fixture(scope="module")
def extras_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.routing_extras")


@pytest.fixture(scope="module")
def rooted_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.routing_extras", "rooted")


def _normalized(response: httpx.Response, base: str) -> object:
    """The body with the server's own address replaced (each server has its own port)."""
    return json.loads(response.text.replace(base, "http://SERVER")) if response.headers.get(
        "content-type") == "application/json" else _body(response)


REQUESTS = ["/links", "/missing", "/r/items/3", "/v2/r/items/4", "/r/named", "/v2/r/named", "/files/a/b",
            "/typed/3/00000000-0000-0000-0000-000000000001", "/v2/r/items/x"]


@pytest.mark.parametrize("path", REQUESTS)
def test_routing_extras_same_as_fastapi(extras_servers, path: str) -> None:  # type: ignore[no-untyped-def]
    theirs, mine = extras_servers
    a = httpx.get(theirs.url + path, timeout=10)
    b = httpx.get(mine.url + path, timeout=10)
    assert (b.status_code, _normalized(b, mine.url)) == (a.status_code, _normalized(a, theirs.url))


def test_url_for_with_root_path_same_as_fastapi(rooted_servers) -> None:  # type: ignore[no-untyped-def]
    theirs, mine = rooted_servers
    a = httpx.get(theirs.url + "/links", timeout=10)
    b = httpx.get(mine.url + "/links", timeout=10)
    assert (b.status_code, _normalized(b, mine.url)) == (a.status_code, _normalized(a, theirs.url))
    assert b.json()["item"].endswith("/prefix/r/items/1")


def _describe(routes: list) -> list[tuple]:  # type: ignore[type-arg]
    return [(r.path, r.name, sorted(r.methods or []), getattr(r, "include_in_schema", None),
             getattr(r, "tags", None), getattr(r, "unique_id", None)) for r in routes]


def _flatten(routes: list) -> list:  # type: ignore[type-arg]
    """FastAPI 0.165 keeps an included router as one entry; fastrapi copies its routes in."""
    from fastapi.routing import iter_route_contexts

    return list(iter_route_contexts(routes))


def test_routes_listing_like_fastapi() -> None:
    theirs = load_app_module("routing_extras", "fastapi")
    mine = load_app_module("routing_extras", "fastrapi")
    assert _describe(_flatten(mine.app.routes)) == _describe(_flatten(theirs.app.routes))
    assert _describe(mine.router.routes) == _describe(theirs.router.routes)


def test_url_path_for_like_fastapi() -> None:
    theirs = load_app_module("routing_extras", "fastapi").app
    mine = load_app_module("routing_extras", "fastrapi").app
    cases = [("read_item", {"item_id": 1}), ("custom-name", {}), ("files", {"file_path": "/a/b"}),
             ("typed", {"n": 2, "u": "00000000-0000-0000-0000-000000000002"}), ("openapi", {}),
             ("redoc_html", {}), ("swagger_ui_redirect", {})]
    for name, params in cases:
        a, b = theirs.url_path_for(name, **params), mine.url_path_for(name, **params)
        assert (str(b), b.protocol) == (str(a), a.protocol), name
    from fastrapi.routing import NoMatchFound

    for name, params in [("read_item", {}), ("nope", {}), ("read_item", {"item_id": 1, "x": 2})]:
        with pytest.raises(NoMatchFound) as excinfo:
            mine.url_path_for(name, **params)
        assert str(excinfo.value) == f'No route exists for name "{name}" and params "{", ".join(params)}".'
    with pytest.raises(AssertionError):
        mine.url_path_for("typed", n=-1, u="x")


def test_include_router_options_apply_like_fastapi() -> None:
    theirs = load_app_module("openapi_routers", "fastapi").app
    mine = load_app_module("openapi_routers", "fastrapi").app
    def described(app):  # type: ignore[no-untyped-def]
        return [(c.path, c.name, sorted(c.methods or []), c.tags, c.deprecated, c.include_in_schema,
                 sorted(map(str, c.responses)), getattr(c.response_class, "value", c.response_class).__name__,
                 type(c.original_route).__name__, c.unique_id, len(c.dependencies))
                for c in _flatten(app.routes) if hasattr(c, "unique_id")]

    assert described(mine) == described(theirs)


@pytest.fixture(scope="module")
def routers_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.openapi_routers")


TOKEN = {"X-Token": "fake-super-secret-token"}
ROUTER_REQUESTS: list[tuple[str, dict]] = [
    ("/", {}),
    ("/users/", {}),
    ("/users/rick", {}),
    ("/items/", {}),
    ("/items/", {"headers": {"X-Token": "wrong"}}),
    ("/items/", {"headers": TOKEN}),
    ("/items/foo", {"headers": TOKEN}),
    ("/admin/legacy/old", {}),
    ("/admin/legacy/old", {"headers": TOKEN}),
    ("/admin/legacy/html", {"headers": TOKEN}),
    ("/html-default/legacy/old", {}),
    ("/html-default/legacy/not-deprecated", {}),
    ("/hidden", {}),
    ("/v1/outer/inner/leaf/3", {}),
    ("/v1/outer/own", {}),
    ("/v1/things/1", {}),
    ("/v2/things/2", {}),
    ("/v2/things/x", {}),
    ("/custom-ids/a", {}),
    ("/routed/x", {}),
    ("/not-in-schema/users/", {}),
    ("/?token=other", {}),
]


@pytest.mark.parametrize(("path", "kwargs"), ROUTER_REQUESTS, ids=[f"{p} {i}" for i, (p, _) in
                                                                  enumerate(ROUTER_REQUESTS)])
def test_included_routers_serve_like_fastapi(routers_servers, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    theirs, mine = routers_servers
    a = httpx.get(theirs.url + path, timeout=10, **kwargs)
    b = httpx.get(mine.url + path, timeout=10, **kwargs)
    assert (b.status_code, b.headers.get("content-type"), _body(b)) == (
        a.status_code, a.headers.get("content-type"), _body(a))
