"""The same app under FastAPI + uvicorn and under fastrapi: status, content-type and body must match."""

from __future__ import annotations

import json
import os

import httpx
import pytest

from tests.conftest import raw_exchange

REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/hello", {}),
    ("GET", "/items/42", {}),
    ("GET", "/items/42?q=x", {}),
    ("GET", "/items/abc", {}),
    ("GET", "/items/1.5", {}),
    ("GET", "/items/-3", {}),
    ("GET", "/items/007", {}),
    ("GET", "/items/%20", {}),
    ("GET", "/typed/2.5?flag=yes&n=4&name=z", {}),
    ("GET", "/typed/1e3?flag=TRUE", {}),
    ("GET", "/typed/nan", {}),
    ("GET", "/typed/x?flag=maybe&n=q&maybe=w", {}),
    ("GET", "/typed/1?maybe=", {}),
    ("GET", "/typed/1?n=+5", {}),
    ("GET", "/typed/1?n=5.0", {}),
    ("GET", "/typed/1?n=1_000", {}),
    ("GET", "/required", {}),
    ("GET", "/required?a=1", {}),
    ("GET", "/constrained?q=toolong&n=11", {}),
    ("GET", "/constrained?q=ok", {}),
    ("POST", "/echo-dict", {"json": {"a": 1, "b": [1, 2.5, "x"]}}),
    ("POST", "/echo-dict", {"json": [1, 2]}),
    ("POST", "/echo-dict", {"content": b'{"a": ', "headers": {"content-type": "application/json"}}),
    ("POST", "/echo-dict", {"content": b"", "headers": {"content-type": "application/json"}}),
    ("POST", "/echo-dict", {"content": b'{"a": 1}'}),
    ("POST", "/echo-dict", {"content": b'{"a": 1}', "headers": {"content-type": "text/plain"}}),
    ("POST", "/echo-dict", {"content": b'{"a": 1}', "headers": {"content-type": "application/vnd.api+json"}}),
    ("POST", "/echo-list", {"json": [1, "two", None]}),
    ("POST", "/items", {"json": {"name": "x", "price": 1.5, "tags": ["a"]}}),
    ("POST", "/items", {"json": {"name": "x"}}),
    ("POST", "/items", {"json": {"name": 1, "price": "abc", "tags": "no"}}),
    ("POST", "/items-model", {"json": {"name": "x", "price": 1e16}}),
    ("GET", "/values", {}),
    ("GET", "/http-error", {}),
    ("GET", "/http-error-default", {}),
    ("GET", "/boom", {}),
    ("GET", "/nope", {}),
    ("POST", "/hello", {}),
    ("DELETE", "/multi", {}),
    ("GET", "/multi", {}),
    ("PUT", "/multi", {}),
    ("HEAD", "/hello", {}),
    ("GET", "/head", {}),
    ("GET", "/conv/12", {}),
    ("GET", "/conv/x", {}),
    ("GET", "/files/a/b/c.txt", {}),
    ("GET", "/users/me", {}),
    ("GET", "/users/7", {}),
    ("PUT", "/methods", {}),
    ("PATCH", "/methods", {}),
    ("DELETE", "/methods", {}),
    ("OPTIONS", "/methods", {}),
    ("GET", "/methods", {}),
    ("GET", "/header", {"headers": {"User-Agent": "tester", "X-Token": "a"}}),
    ("GET", "/cookie", {"headers": {"Cookie": "session=abc; other=1"}}),
    ("GET", "/cookie", {}),
    ("GET", "/list-query?q=1&q=2", {}),
    ("GET", "/list-query?q=1&q=x", {}),
    ("POST", "/status", {}),
    ("GET", "/unicode/caf%C3%A9", {}),
    ("GET", "/slash", {}),
    ("GET", "/noslash/", {}),
    ("GET", "/noslash/?a=1", {}),
    ("GET", "/threadpool", {}),
    ("GET", "/echo-header?value=plain", {}),
]


def _request(client: httpx.Client, method: str, path: str, kwargs: dict) -> httpx.Response:
    return client.request(method, path, **kwargs)


def _body(response: httpx.Response) -> object:
    if response.headers.get("content-type", "").startswith("application/json"):
        return json.loads(response.content)
    return response.content


def _pair(tmp_path_factory: pytest.TempPathFactory, module: str, attr: str = "app"):  # type: ignore[no-untyped-def]
    from tests import conftest

    tmp = tmp_path_factory.mktemp("diff")
    fastapi_fixture = conftest.serve_fastapi.__wrapped__(tmp)  # type: ignore[attr-defined]
    fastrapi_fixture = conftest.serve_app.__wrapped__(tmp)  # type: ignore[attr-defined]
    start_fastapi = next(fastapi_fixture)
    start_fastrapi = next(fastrapi_fixture)
    yield start_fastapi(module, attr), start_fastrapi(module, attr)
    for gen in (fastapi_fixture, fastrapi_fixture):
        with __import__("contextlib").suppress(StopIteration):
            next(gen)


@pytest.fixture(scope="module")
def both_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.basic")


@pytest.fixture(scope="module")
def deps_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.deps")


DEPS_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/common", {}),
    ("GET", "/common?q=x&skip=2&limit=5", {}),
    ("GET", "/common?skip=a&limit=b", {}),
    ("GET", "/class?q=y&limit=7", {}),
    ("GET", "/class?limit=5000", {}),
    ("GET", "/cached", {}),
    ("GET", "/async-dep?n=4&own=1", {}),
    ("GET", "/async-dep?n=x&own=y", {}),
    ("GET", "/protected", {}),
    ("GET", "/protected", {"headers": {"X-Token": "wrong"}}),
    ("GET", "/protected", {"headers": {"X-Token": "secret"}}),
    ("GET", "/yield", {}),
    ("GET", "/events", {}),
    ("GET", "/request/abc?q=1", {"headers": {"User-Agent": "ua", "X-Multi": "1", "Cookie": "c=v"}}),
    ("POST", "/request-body", {"json": {"a": [1, 2]}}),
    ("GET", "/set-response", {}),
    ("POST", "/item-with-dep?q=z", {"json": {"name": "n", "price": 3}}),
    ("POST", "/item-with-dep?skip=x", {"json": {"price": "p"}}),
    ("POST", "/background?value=w", {}),
    ("GET", "/events", {}),
    ("GET", "/scopes", {}),
    ("GET", "/dep-error?skip=bad", {}),
    ("GET", "/response-model", {}),
    ("GET", "/yield-error", {}),
    ("GET", "/events", {}),
    ("GET", "/overridden?flag=true", {}),
    ("PUT", "/dep-injected", {}),
    ("GET", "/events", {}),
    ("GET", "/exclude-defaults", {}),
    ("GET", "/stream-resources", {}),
    ("GET", "/events", {}),
    ("GET", "/yield-order", {}),
    ("GET", "/events", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), DEPS_REQUESTS, ids=[f"{m} {p}" for m, p, _ in DEPS_REQUESTS])
def test_dependencies_same_as_fastapi(deps_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*deps_servers, method, path, kwargs)
    if path == "/set-response":
        with httpx.Client(base_url=deps_servers[1].url) as client:
            response = client.get(path)
        assert response.headers["x-custom"] == "yes"
        assert response.headers["set-cookie"] == "session=abc; HttpOnly; Path=/; SameSite=lax"


@pytest.fixture(scope="module")
def tree_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.deps_tree")


_BEARER = {"headers": {"Authorization": "Bearer good"}}
TREE_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/auth-then-query", {}),
    ("GET", "/auth-then-query?n=x", {}),
    ("GET", "/auth-then-query?n=x", _BEARER),
    ("GET", "/auth-then-query?n=3", _BEARER),
    ("GET", "/log", {}),
    ("GET", "/same-name?q=4", {}),
    ("GET", "/same-name?q=", {}),
    ("GET", "/same-name?q=x", {}),
    ("GET", "/oauth", {}),
    ("GET", "/oauth", {"headers": {"Authorization": "Bearer t0k", "X-Key": "k"}}),
    ("GET", "/oauth", {"headers": {"Authorization": "Basic t0k"}}),
    ("GET", "/bearer", {"headers": {"Authorization": "Bearer abc"}}),
    ("GET", "/bearer", {}),
    ("GET", "/row", {}),
    ("GET", "/row-async", {}),
    ("GET", "/log", {}),
    ("GET", "/context", {"headers": {"X-User": "carol"}}),
    ("GET", "/context", {}),
    ("GET", "/html", {}),
    ("GET", "/plain?n=3", {}),
    ("GET", "/plain?n=x", {}),
    ("GET", "/diamond?n=2", {}),
    ("GET", "/log", {}),
    ("GET", "/page?limit=5&offset=2&n=7", {}),
    ("GET", "/page?limit=500", {}),
    ("GET", "/log", {}),
    ("POST", "/token", {"data": {"username": "u", "password": "p", "scope": "a b", "remember": "true"}}),
    ("POST", "/token", {"data": {"username": "u"}}),
    ("POST", "/token", {"content": b"username=u&password=p", "headers": {"content-type": "text/plain"}}),
    ("POST", "/token", {"files": {"username": (None, "u"), "password": (None, "p")}}),
    ("POST", "/token", {}),
    ("POST", "/noted", {"json": {"note": "hi", "count": 3}}),
    ("POST", "/noted", {"json": {"count": "x"}}),
    ("POST", "/noted", {"content": b"{", "headers": {"content-type": "application/json"}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), TREE_REQUESTS, ids=[f"{m} {p}" for m, p, _ in TREE_REQUESTS])
def test_dependency_trees_same_as_fastapi(tree_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*tree_servers, method, path, kwargs, extra_headers=("www-authenticate",))


def test_dependency_trees_are_native() -> None:
    """Every route of the tree app is on the Rust fast path (dependencies called by the compiled
    runner, not by FastAPI's handler)."""
    os.environ.setdefault("APP_FRAMEWORK", "fastrapi")
    from fastrapi import _compiler
    from tests.apps import deps_tree

    _compiler.compile_app(deps_tree.app)
    assert _compiler.describe(deps_tree.app).startswith("15 of 15 path operations native: 15 on the Rust fast path")


@pytest.fixture(scope="module")
def params_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.params")


_ITEM = {"name": "abc", "price": 2.5}
PARAMS_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/enum/red", {}),
    ("GET", "/enum/blue", {}),
    ("GET", "/enum/green?level=2", {}),
    ("GET", "/enum/green?level=3", {}),
    ("GET", "/uuid/12345678-1234-5678-1234-567812345678", {}),
    ("GET", "/uuid/not-a-uuid", {}),
    ("GET", "/dates?d=2024-02-30", {}),
    ("GET", "/dates?d=2024-02-03&dt=2024-02-03T04:05:06Z&delta=PT1H", {}),
    ("GET", "/dates?d=2024-02-03&dt=1700000000", {}),
    ("GET", "/dates", {}),
    ("GET", "/decimal?x=123.45", {}),
    ("GET", "/decimal?x=1234.5", {}),
    ("GET", "/decimal?x=abc", {}),
    ("GET", "/literal?mode=b", {}),
    ("GET", "/literal?mode=c", {}),
    ("GET", "/bounds/5?f=0.25&m=9", {}),
    ("GET", "/bounds/0?f=1&m=4", {}),
    ("GET", "/bounds/11?f=-1", {}),
    ("GET", "/strings?s=abc", {}),
    ("GET", "/strings?s=a", {}),
    ("GET", "/strings?s=abcde", {}),
    ("GET", "/strings?s=AB", {}),
    ("GET", "/alias?item-query=x&vee=y", {}),
    ("GET", "/alias?item_query=x", {}),
    ("GET", "/alias?item-query=x&v=y", {}),
    ("GET", "/headers", {"headers": {"User-Agent": "ua/1", "x_plain": "p", "X-Num": "5"}}),
    ("GET", "/headers", {"headers": {"X-Num": "five"}}),
    ("GET", "/cookies", {"headers": {"Cookie": "ads_id=abc; n=3"}}),
    ("GET", "/cookies", {"headers": {"Cookie": "n=x"}}),
    ("GET", "/query-list?q=a&q=b&n=1&n=2", {}),
    ("GET", "/query-list", {}),
    ("GET", "/query-list?n=1&n=x", {}),
    ("GET", "/query-model?limit=5&order_by=updated_at&tags=a&tags=b", {}),
    ("GET", "/query-model?limit=500&order_by=x", {}),
    ("GET", "/query-model", {}),
    ("GET", "/bools?b=true", {}),
    ("GET", "/bools?b=FALSE", {}),
    ("GET", "/bools?b=On", {}),
    ("GET", "/bools?b=2", {}),
    ("GET", "/bools?b=", {}),
    ("POST", "/item", {"json": _ITEM}),
    ("POST", "/item", {"json": {"name": "abc", "price": 1, "tags": ["a", "a"], "images": [{"url": "u", "name": "n"}]}}),
    ("POST", "/item", {"json": {"name": "a", "price": 0}}),
    ("POST", "/item", {"json": {"name": "bad", "price": 1}}),
    ("POST", "/item", {"json": {"name": "abc", "price": 1, "images": [{"url": 1}]}}),
    ("POST", "/item", {"json": "just a string"}),
    ("POST", "/item", {"json": None}),
    ("POST", "/item", {"content": b"{bad json", "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "abc", "price": NaN}', "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b"", "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b"{\"name\": \"\xff\xfe\"}", "headers": {"content-type": "application/json"}}),
    ("POST", "/item", {"content": b'{"name": "abc", "price": 2}', "headers": {"content-type": "text/plain"}}),
    ("POST", "/item", {"content": b'{"name": "abc", "price": 2}'}),
    ("POST", "/item-embed", {"json": {"item": _ITEM}}),
    ("POST", "/item-embed", {"json": _ITEM}),
    ("POST", "/multi", {"json": {"item": _ITEM, "user": {"username": "u"}, "importance": 5}}),
    ("POST", "/multi", {"json": {"item": _ITEM}}),
    ("POST", "/multi", {"json": [1]}),
    ("POST", "/singular", {"json": {"importance": 3, "note": "n"}}),
    ("POST", "/singular", {"json": {"importance": 0}}),
    ("POST", "/images", {"json": [{"url": "a", "name": "b"}, {"url": "c", "name": "d"}]}),
    ("POST", "/images", {"json": [{"url": "a"}, 3]}),
    ("POST", "/strict", {"json": {"a": 1}}),
    ("POST", "/strict", {"json": {"a": 1, "b": 2}}),
    ("POST", "/pet", {"json": {"pet": {"kind": "cat", "meows": 3}}}),
    ("POST", "/pet", {"json": {"pet": {"kind": "dog", "barks": "x"}}}),
    ("POST", "/pet", {"json": {"pet": {"kind": "cow"}}}),
    ("POST", "/dict-int", {"json": {"1": 1.5, "2": 3}}),
    ("POST", "/dict-int", {"json": {"a": 1}}),
    ("POST", "/user", {"json": {"username": "u", "password": "p", "full_name": "F"}}),
    ("POST", "/user-ret", {"json": {"username": "u", "password": "p"}}),
    ("GET", "/exclude-unset", {}),
    ("GET", "/exclude-none", {}),
    ("GET", "/include", {}),
    ("GET", "/invalid-response", {}),
    ("GET", "/orm", {}),
    ("DELETE", "/no-content", {}),
    ("GET", "/encoders", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), PARAMS_REQUESTS,
                         ids=[f"{m} {p}" for m, p, _ in PARAMS_REQUESTS])
def test_params_same_as_fastapi(params_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*params_servers, method, path, kwargs)


@pytest.fixture(scope="module")
def forms_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.forms")


_FILE = {"file": ("a.txt", b"hello world", "text/plain")}
FORMS_REQUESTS: list[tuple[str, str, dict]] = [
    ("POST", "/login", {"data": {"username": "u", "password": "secret"}}),
    ("POST", "/login", {"data": {"username": "u", "password": "no"}}),
    ("POST", "/login", {"data": {"username": ""}}),
    ("POST", "/login", {"json": {"username": "u", "password": "secret"}}),
    ("POST", "/login", {"files": {"username": (None, "u"), "password": (None, "secret")}}),
    ("POST", "/optional-form", {"data": {}}),
    ("POST", "/optional-form", {"data": {"note": "", "count": ""}}),
    ("POST", "/optional-form", {"data": {"note": "n", "count": "x"}}),
    ("POST", "/form-model", {"data": {"username": "u", "password": "p", "remember": "yes"}}),
    ("POST", "/form-model", {"data": {"username": "u"}}),
    ("POST", "/form-list", {"data": {"tags": ["a", "b"]}}),
    ("POST", "/form-list", {"data": {}}),
    ("POST", "/file-bytes", {"files": _FILE}),
    ("POST", "/file-bytes", {"data": {"other": "x"}}),
    ("POST", "/upload", {"files": _FILE}),
    ("POST", "/upload", {"files": {"file": ("big.bin", b"x" * 2_000_000, "application/octet-stream")}}),
    ("POST", "/upload", {"data": {"file": "not a file"}}),
    ("POST", "/uploads", {"files": [("files", ("a", b"1")), ("files", ("b", b"2"))], "data": {"label": "L"}}),
    ("POST", "/uploads", {}),
    ("POST", "/raw-form", {"data": {"a": "1", "b": "two words"}}),
    ("POST", "/raw-form", {"files": _FILE, "data": {"k": "v"}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), FORMS_REQUESTS, ids=[f"{m} {p}" for m, p, _ in FORMS_REQUESTS])
def test_forms_same_as_fastapi(forms_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*forms_servers, method, path, kwargs)


@pytest.fixture(scope="module")
def handlers_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.handlers")


HANDLERS_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/unicorns/yolo", {}),
    ("GET", "/unicorns/ok", {}),
    ("GET", "/teapot", {}),
    ("GET", "/number?n=x", {}),
    ("POST", "/body", {"content": b"{oops", "headers": {"content-type": "application/json"}}),
    ("GET", "/divide", {}),
    ("GET", "/default-handler", {}),
    ("GET", "/missing", {}),
    ("POST", "/teapot", {}),
    ("GET", "/later/yolo", {}),
    ("GET", "/later/teapot", {}),
    ("GET", "/later/fine", {}),
    ("GET", "/guarded", {}),
    ("GET", "/guarded?token=ok&n=x", {}),
    ("GET", "/guarded?token=no&n=x", {}),
    ("GET", "/guarded?token=ok&n=2", {}),
    ("GET", "/bad-response", {}),
    ("GET", "/forbidden", {}),
    ("GET", "/forbidden?escalate=1", {}),
    ("GET", "/forbidden-plain", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), HANDLERS_REQUESTS,
                         ids=[f"{m} {p}" for m, p, _ in HANDLERS_REQUESTS])
def test_handlers_same_as_fastapi(handlers_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*handlers_servers, method, path, kwargs)


@pytest.fixture(scope="module")
def server_error_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.handlers", "server_error_app")


@pytest.mark.parametrize("path", ["/boom", "/boom-later", "/fine", "/missing"])
def test_server_error_handler_same_as_fastapi(server_error_servers, path: str) -> None:  # type: ignore[no-untyped-def]
    _compare(*server_error_servers, "GET", path, {})


def test_routes_stay_native_with_exception_handlers() -> None:
    """An app with handlers of its own keeps its routes on the Rust fast path."""
    os.environ.setdefault("APP_FRAMEWORK", "fastrapi")
    from fastrapi import _compiler
    from tests.apps import handlers

    _compiler.compile_app(handlers.app)
    assert _compiler.describe(handlers.app).startswith("11 of 11 path operations native: 11 on the Rust fast path")


@pytest.fixture(scope="module", params=["specific", "wildcard", "credentials", "regex"])
def cors_servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.cors", request.param)


_PREFLIGHT = {"Access-Control-Request-Method": "POST"}
CORS_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/data", {}),
    ("GET", "/data", {"headers": {"Origin": "https://a.example"}}),
    ("GET", "/data", {"headers": {"Origin": "https://evil.example"}}),
    ("GET", "/data", {"headers": {"Origin": "https://x.example.org"}}),
    ("POST", "/data", {"json": {"a": 1}, "headers": {"Origin": "https://a.example"}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://a.example", **_PREFLIGHT}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://evil.example", **_PREFLIGHT}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://x.example.org", **_PREFLIGHT}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://a.example", "Access-Control-Request-Method": "DELETE"}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://a.example", **_PREFLIGHT,
                                      "Access-Control-Request-Headers": "X-Token, Content-Type"}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://a.example", **_PREFLIGHT,
                                      "Access-Control-Request-Headers": "X-Other"}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://x.example.org", **_PREFLIGHT,
                                      "Access-Control-Request-Private-Network": "true"}}),
    ("OPTIONS", "/data", {"headers": {"Origin": "https://a.example"}}),
    ("GET", "/vary", {"headers": {"Origin": "https://a.example"}}),
    ("GET", "/vary", {}),
    ("GET", "/boom", {"headers": {"Origin": "https://a.example"}}),
    ("GET", "/missing", {"headers": {"Origin": "https://a.example"}}),
    ("GET", "/nowhere", {"headers": {"Origin": "https://a.example"}}),
    ("DELETE", "/data", {"headers": {"Origin": "https://a.example"}}),
]
_CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-methods",
                 "access-control-allow-headers", "access-control-max-age", "access-control-expose-headers",
                 "access-control-allow-private-network", "vary")


@pytest.mark.parametrize(("method", "path", "kwargs"), CORS_REQUESTS, ids=[f"{m} {p}" for m, p, _ in CORS_REQUESTS])
def test_cors_same_as_starlette(cors_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*cors_servers, method, path, kwargs, extra_headers=_CORS_HEADERS)


@pytest.fixture(scope="module")
def middleware_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.middleware")


MIDDLEWARE_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/hello", {}),
    ("GET", "/state", {}),
    ("GET", "/items/3", {}),
    ("GET", "/items/x", {}),
    ("GET", "/teapot", {}),
    ("GET", "/blocked", {}),
    ("GET", "/nowhere", {}),
    ("POST", "/hello", {}),
    ("GET", "/boom", {}),
    ("GET", "/hello/", {}),
    ("GET", "/items/3/?q=1", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), MIDDLEWARE_REQUESTS,
                         ids=[f"{m} {p}" for m, p, _ in MIDDLEWARE_REQUESTS])
def test_http_middleware_same_as_fastapi(middleware_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*middleware_servers, method, path, kwargs, extra_headers=("x-order", "x-method"))


@pytest.fixture(scope="module")
def trusted_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.cors", "trusted")


_O = {"Origin": "https://a.example"}
TRUSTED_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/data", {"headers": {"Host": "example.com"}}),
    ("GET", "/data", {"headers": {"Host": "EXAMPLE.com:8080", **_O}}),
    ("GET", "/data", {"headers": {"Host": "api.example.org", **_O}}),
    ("GET", "/data", {"headers": {"Host": "example.org"}}),
    ("GET", "/data", {"headers": {"Host": "evil.com", **_O}}),
    ("GET", "/data?x=1", {"headers": {"Host": "redirect.com"}}),
    ("GET", "/data", {"headers": {"Host": "bad host"}}),
    ("GET", "/data", {"headers": {"Host": "[::1]:80"}}),
    ("OPTIONS", "/data", {"headers": {"Host": "evil.com", **_O, "Access-Control-Request-Method": "GET"}}),
    ("OPTIONS", "/data", {"headers": {"Host": "example.com", **_O, "Access-Control-Request-Method": "GET"}}),
    ("GET", "/nowhere", {"headers": {"Host": "example.com", **_O}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), TRUSTED_REQUESTS,
                         ids=[f"{m} {p} {k['headers']['Host']}" for m, p, k in TRUSTED_REQUESTS])
def test_trusted_host_same_as_starlette(trusted_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*trusted_servers, method, path, kwargs, extra_headers=("location", *_CORS_HEADERS))


@pytest.fixture(scope="module")
def gzip_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.cors", "gzipped")


_GZ = {"Accept-Encoding": "gzip, deflate"}
_ID = {"Accept-Encoding": "identity"}
GZIP_REQUESTS: list[tuple[str, str, dict]] = [
    (m, p, {"headers": h})
    for p in ("/big", "/small", "/png", "/encoded", "/vary", "/boom", "/missing")
    for m, h in (("GET", _GZ), ("GET", _ID), ("GET", {**_GZ, "Origin": "https://x"}), ("HEAD", _ID))
]


@pytest.mark.parametrize(("method", "path", "kwargs"), GZIP_REQUESTS,
                         ids=[f"{m} {p} {k['headers']}" for m, p, k in GZIP_REQUESTS])
def test_gzip_same_as_starlette(gzip_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    # Compressed bytes depend on the deflate implementation: compare the decoded body and the
    # headers that matter, not the raw length.
    fastapi_server, fastrapi_server = gzip_servers
    with httpx.Client(base_url=fastapi_server.url) as a, httpx.Client(base_url=fastrapi_server.url) as b:
        expected = a.request(method, path, **kwargs)
        actual = b.request(method, path, **kwargs)
    assert actual.status_code == expected.status_code
    assert actual.content == expected.content  # httpx decodes gzip
    for header in ("content-encoding", "vary", "content-type", "access-control-allow-origin"):
        assert actual.headers.get(header) == expected.headers.get(header), header
    if expected.headers.get("content-encoding") != "gzip":
        assert actual.headers.get("content-length") == expected.headers.get("content-length")


@pytest.fixture(scope="module")
def https_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.cors", "https")


HTTPS_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/data?x=1", {"headers": {"Host": "Example.COM:80"}}),
    ("GET", "/data", {"headers": {"Host": "example.com:8080"}}),
    ("POST", "/a%20b", {"headers": {"Host": "example.com"}}),
    ("GET", "/data", {"headers": {"Host": ""}}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), HTTPS_REQUESTS,
                         ids=[f"{m} {p} {k['headers']['Host']}" for m, p, k in HTTPS_REQUESTS])
def test_https_redirect_same_as_starlette(https_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*https_servers, method, path, kwargs)


@pytest.fixture(scope="module")
def streaming_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.streaming")


STREAMING_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/sync", {}),
    ("GET", "/async", {}),
    ("GET", "/empty", {}),
    ("GET", "/file", {}),
    ("HEAD", "/file", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), STREAMING_REQUESTS,
                         ids=[f"{m} {p}" for m, p, _ in STREAMING_REQUESTS])
def test_streaming_same_as_fastapi(streaming_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*streaming_servers, method, path, kwargs,
             extra_headers=("transfer-encoding", "x-stream", "content-disposition"))


@pytest.fixture(scope="module")
def static_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.static")


STATIC_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/static/style.css", {}),
    ("GET", "/static/data.json", {}),
    ("HEAD", "/static/style.css", {}),
    ("GET", "/static/missing.txt", {}),
    ("GET", "/static/../outside/secret.txt", {}),
    ("GET", "/static/%2e%2e/outside/secret.txt", {}),
    ("GET", "/static/sub/%2E%2E/%2E%2E/outside/secret.txt", {}),
    ("GET", "/static/escape.txt", {}),
    ("GET", "/static/", {}),
    ("GET", "/static", {}),
    ("POST", "/static/style.css", {}),
    ("GET", "/site/", {}),
    ("GET", "/site/sub", {}),
    ("GET", "/site/sub/", {}),
    ("GET", "/site/nothing-here", {}),
    ("GET", "/static/style.css", {"headers": {"If-None-Match": "*"}}),
    ("GET", "/api", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), STATIC_REQUESTS,
                         ids=[f"{m} {p} {k}" for m, p, k in STATIC_REQUESTS])
def test_static_files_same_as_starlette(static_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*static_servers, method, path, kwargs, extra_headers=("allow",))


@pytest.mark.parametrize(("method", "path", "kwargs"), REQUESTS, ids=[f"{m} {p}" for m, p, _ in REQUESTS])
def test_same_as_fastapi(both_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*both_servers, method, path, kwargs)


@pytest.mark.parametrize("value", ["a%0d%0aset-cookie:%20injected=1", "a%0ab", "a%00b", "a%7fb"])
def test_header_injection_is_an_application_error(both_servers, value: str) -> None:  # type: ignore[no-untyped-def]
    """A header value with a control character fails the response (500, logged) and never reaches
    the wire. uvicorn refuses it too ("Invalid HTTP header value."), but then closes the
    connection without an answer; fastrapi answers 500 and keeps the connection."""
    fastrapi_server = both_servers[1]
    raw = raw_exchange(fastrapi_server.port, f"GET /echo-header?value={value} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert raw.startswith(b"HTTP/1.1 500 "), raw
    assert b"injected" not in raw and b"x-echo" not in raw.lower()
    assert "Invalid HTTP header value." in fastrapi_server.log()
    with httpx.Client(base_url=fastrapi_server.url) as client:
        assert client.get("/hello").status_code == 200


def _compare(fastapi_server, fastrapi_server, method: str, path: str, kwargs: dict,  # type: ignore[no-untyped-def]
             extra_headers: tuple[str, ...] = ()) -> None:
    with httpx.Client(base_url=fastapi_server.url, follow_redirects=False) as a, \
            httpx.Client(base_url=fastrapi_server.url, follow_redirects=False) as b:
        expected = _request(a, method, path, kwargs)
        actual = _request(b, method, path, kwargs)
    assert actual.status_code == expected.status_code
    assert actual.headers.get("content-type") == expected.headers.get("content-type")
    assert actual.content == expected.content or _body(actual) == _body(expected)
    assert actual.content == expected.content, "same JSON value but different bytes"
    for header in ("x-reason", "content-length", "x-from-dep", "x-custom", "set-cookie", *extra_headers):
        assert actual.headers.get(header) == expected.headers.get(header), header
    # FastAPI joins a set of methods, so its order varies between runs; compare the members.
    assert _tokens(actual.headers.get("allow")) == _tokens(expected.headers.get("allow"))
    # Absolute redirect URLs name each server's own port.
    assert _same_port(actual.headers.get("location"), fastrapi_server.port) == _same_port(
        expected.headers.get("location"), fastapi_server.port
    )


def _tokens(value: str | None) -> set[str] | None:
    return None if value is None else {t.strip() for t in value.split(",")}


def _same_port(location: str | None, port: int) -> str | None:
    return None if location is None else location.replace(f":{port}/", ":PORT/")
