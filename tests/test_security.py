"""Security schemes under FastAPI + uvicorn and under fastrapi: status, WWW-Authenticate and body must match."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.test_differential import _body, _pair


def _basic(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


BEARER = {"Authorization": "Bearer abc.def"}
REQUESTS: list[tuple[str, str, dict]] = [
    # OAuth2 password flow + the login forms
    ("POST", "/token", {"data": {"username": "alice", "password": "secret"}}),
    ("POST", "/token", {"data": {"username": "alice", "password": "secret", "grant_type": "password",
                                 "scope": "me items"}}),
    ("POST", "/token", {"data": {"username": "alice", "password": "secret", "grant_type": "nope"}}),
    ("POST", "/token", {"data": {"username": "alice"}}),
    ("POST", "/token", {}),
    ("POST", "/token-strict", {"data": {"username": "a", "password": "b"}}),
    ("POST", "/token-strict", {"data": {"username": "a", "password": "b", "grant_type": "password", "scope": "x y"}}),
    ("GET", "/oauth2", {}),
    ("GET", "/oauth2", {"headers": BEARER}),
    ("GET", "/oauth2", {"headers": {"Authorization": "bearer lower"}}),
    ("GET", "/oauth2", {"headers": {"Authorization": "Basic abc"}}),
    ("GET", "/oauth2", {"headers": {"Authorization": "Bearer"}}),
    ("GET", "/oauth2", {"headers": {"Authorization": ""}}),
    ("GET", "/oauth2-optional", {}),
    ("GET", "/oauth2-optional", {"headers": {"Authorization": "Token x"}}),
    ("GET", "/oauth2-optional", {"headers": BEARER}),
    ("GET", "/users/me", {}),
    ("GET", "/users/me", {"headers": BEARER}),
    ("GET", "/users/me/items", {"headers": BEARER}),
    ("GET", "/scoped-list", {}),
    ("GET", "/scoped-list", {"headers": BEARER}),
    ("GET", "/code", {}),
    ("GET", "/code", {"headers": BEARER}),
    ("GET", "/oauth2-raw", {}),
    ("GET", "/oauth2-raw", {"headers": {"Authorization": "Anything goes"}}),
    # HTTP Basic
    ("GET", "/basic", {}),
    ("GET", "/basic", {"headers": _basic("user:pa:ss")}),
    ("GET", "/basic", {"headers": _basic("user:")}),
    ("GET", "/basic", {"headers": _basic("no-separator")}),
    ("GET", "/basic", {"headers": {"Authorization": "Basic !!!not-base64"}}),
    ("GET", "/basic", {"headers": {"Authorization": "Basic " + base64.b64encode("é:x".encode()).decode()}}),
    ("GET", "/basic", {"headers": {"Authorization": "Basic"}}),
    ("GET", "/basic", {"headers": BEARER}),
    ("GET", "/basic-optional", {}),
    ("GET", "/basic-optional", {"headers": BEARER}),
    ("GET", "/basic-optional", {"headers": {"Authorization": "Basic !!!"}}),
    ("GET", "/basic-optional", {"headers": _basic("u:p")}),
    # HTTP Bearer / Digest
    ("GET", "/bearer", {}),
    ("GET", "/bearer", {"headers": BEARER}),
    ("GET", "/bearer", {"headers": {"Authorization": "Bearer"}}),
    ("GET", "/bearer", {"headers": {"Authorization": "Basic abc"}}),
    ("GET", "/bearer", {"headers": {"Authorization": "BEARER  spaced  x"}}),
    ("GET", "/bearer-optional", {}),
    ("GET", "/bearer-optional", {"headers": {"Authorization": "Basic abc"}}),
    ("GET", "/bearer-optional", {"headers": BEARER}),
    ("GET", "/digest", {}),
    ("GET", "/digest", {"headers": {"Authorization": 'Digest username="a", realm="r"'}}),
    ("GET", "/digest", {"headers": BEARER}),
    ("GET", "/digest-optional", {}),
    ("GET", "/digest-optional", {"headers": BEARER}),
    # API keys
    ("GET", "/key-header", {}),
    ("GET", "/key-header", {"headers": {"X-API-Key": "k1"}}),
    ("GET", "/key-header", {"headers": {"x-api-key": ""}}),
    ("GET", "/key-header-optional", {}),
    ("GET", "/key-header-optional", {"headers": {"X-Optional-Key": "k"}}),
    ("GET", "/key-query", {}),
    ("GET", "/key-query?api_key=", {}),
    ("GET", "/key-query?api_key=q1", {}),
    ("GET", "/key-cookie", {}),
    ("GET", "/key-cookie", {"headers": {"Cookie": "session=c1"}}),
    # OpenID Connect
    ("GET", "/openid", {}),
    ("GET", "/openid", {"headers": {"Authorization": "Bearer oidc"}}),
    ("GET", "/openid-optional", {}),
    ("GET", "/openid-optional", {"headers": {"Authorization": "whatever"}}),
    # combinations
    ("GET", "/any-of", {}),
    ("GET", "/any-of", {"headers": {"X-Optional-Key": "k"}}),
    ("GET", "/any-of", {"headers": BEARER}),
    ("GET", "/combined", {}),
    ("GET", "/combined?api_key=k", {}),
    ("GET", "/combined?api_key=k", {"headers": BEARER}),
]


@pytest.fixture(scope="module")
def security_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.openapi_security")


@pytest.mark.parametrize(("method", "path", "kwargs"), REQUESTS, ids=[f"{m} {p} {i}" for i, (m, p, _) in
                                                                       enumerate(REQUESTS)])
def test_security_same_as_fastapi(security_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = security_servers
    with httpx.Client(base_url=fastapi_server.url, timeout=10) as a, \
            httpx.Client(base_url=fastrapi_server.url, timeout=10) as b:
        expected = a.request(method, path, **kwargs)
        actual = b.request(method, path, **kwargs)
    assert actual.status_code == expected.status_code, actual.text
    assert actual.headers.get("www-authenticate") == expected.headers.get("www-authenticate")
    assert actual.headers.get("content-type") == expected.headers.get("content-type")
    assert _body(actual) == _body(expected)


def test_security_openapi_served(security_servers) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = security_servers
    expected = httpx.get(fastapi_server.url + "/openapi.json", timeout=10).json()
    actual = httpx.get(fastrapi_server.url + "/openapi.json", timeout=10).json()
    assert actual == expected
    schemes = actual["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["scopes"] == {
        "me": "Read information about the current user.", "items": "Read items."}
    assert actual["paths"]["/users/me/items"]["get"]["security"] == [{"OAuth2PasswordBearer": ["items", "me"]}]
    assert actual["paths"]["/combined"]["get"]["security"] == [
        {"APIKeyQuery": []}, {"OAuth2PasswordBearer": ["me", "items"]}]


def test_security_classes_match_fastapi_surface() -> None:
    """Every public name of ``fastapi.security`` exists in ``fastrapi.security``, with the same
    constructor parameters and OpenAPI model."""
    import inspect

    import fastapi.security as theirs

    import fastrapi.security as mine

    for name in theirs.__all__ if hasattr(theirs, "__all__") else [n for n in dir(theirs) if not n.startswith("_")]:
        if not name[0].isupper():
            continue
        assert hasattr(mine, name), name
        a, b = getattr(theirs, name), getattr(mine, name)
        if isinstance(a, type) and "__init__" in a.__dict__:
            params_a = list(inspect.signature(a.__init__).parameters)
            params_b = list(inspect.signature(b.__init__).parameters)
            assert params_b == params_a, name
    assert mine.OAuth2PasswordBearer("t").model.model_dump(by_alias=True, exclude_none=True, mode="json") == \
        theirs.OAuth2PasswordBearer("t").model.model_dump(by_alias=True, exclude_none=True, mode="json")
