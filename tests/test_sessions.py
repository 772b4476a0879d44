"""Session cookies are Starlette's, byte for byte: a session signed by one server is read by the other."""

from __future__ import annotations

import json
import time
from base64 import b64encode

import httpx
import itsdangerous
import pytest

from fastrapi import _fastrapi


def test_signer_is_itsdangerous_timestamp_signer() -> None:
    value = b64encode(json.dumps({"user": "ann"}).encode())
    ours = _fastrapi.timestamp_sign("k", value)
    assert itsdangerous.TimestampSigner("k").unsign(ours, max_age=60) == value
    theirs = itsdangerous.TimestampSigner("k").sign(value)
    if ours.split(b".")[1] == theirs.split(b".")[1]:  # signed within the same second: identical bytes
        assert ours == theirs
    assert _fastrapi.timestamp_unsign("k", theirs, 60) == value
    assert _fastrapi.timestamp_unsign("other", theirs, 60) is None
    assert _fastrapi.timestamp_unsign("k", theirs[:-1] + b"x", 60) is None
    old = itsdangerous.TimestampSigner("k")
    old.get_timestamp = lambda: int(time.time()) - 120  # type: ignore[method-assign]
    assert _fastrapi.timestamp_unsign("k", old.sign(value), 60) is None


@pytest.fixture(scope="module")
def session_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.test_differential import _pair

    yield from _pair(tmp_path_factory, "tests.apps.sessions")


def _flow(url: str) -> list[tuple[int, object, str | None, str | None]]:
    seen = []
    with httpx.Client(base_url=url) as client:
        for method, path in (("GET", "/me"), ("POST", "/login/ann"), ("GET", "/me"), ("GET", "/untouched"),
                             ("POST", "/logout"), ("GET", "/me")):
            response = client.request(method, path)
            cookie = response.headers.get("set-cookie")
            # The signature part changes with the second it was made: keep the rest.
            shape = None if cookie is None else cookie.split("=", 1)[0] + "; " + cookie.split("; ", 1)[1]
            seen.append((response.status_code, response.json(), shape, response.headers.get("vary")))
    return seen


def test_same_flow_as_starlette(session_servers) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = session_servers
    assert _flow(fastrapi_server.url) == _flow(fastapi_server.url)


def test_sessions_move_between_fastapi_and_fastrapi(session_servers) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = session_servers
    for origin, target in ((fastapi_server, fastrapi_server), (fastrapi_server, fastapi_server)):
        with httpx.Client(base_url=origin.url) as client:
            client.post("/login/bob")
            cookie = client.cookies["session"]
        with httpx.Client(base_url=target.url, cookies={"session": cookie}) as client:
            assert client.get("/me").json() == {"session": {"user": "bob", "items": [1, "two", {"n": None}]}}
        tampered = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
        with httpx.Client(base_url=target.url, cookies={"session": tampered}) as client:
            assert client.get("/me").json() == {"session": {}}
