"""Calling endpoints: sync and async, concurrency of awaiting handlers, errors, serialisation."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from fastrapi import _fastrapi
from tests.conftest import split_responses


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests import conftest

    gen = conftest.serve_app.__wrapped__(tmp_path_factory.mktemp("calling"))  # type: ignore[attr-defined]
    start = next(gen)
    yield start("tests.apps.basic")
    with __import__("contextlib").suppress(StopIteration):
        next(gen)


def test_awaiting_handlers_do_not_block_the_worker(server) -> None:  # type: ignore[no-untyped-def]
    # Raw sockets keep the client cheap: 100 connections, all requests sent before any answer.
    sockets = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(100)]
    try:
        started = time.monotonic()
        for sock in sockets:
            sock.sendall(b"GET /sleep?t=0.2 HTTP/1.1\r\nHost: t\r\n\r\n")
        bodies = []
        for sock in sockets:
            data = b""
            while not split_responses(data):
                data += sock.recv(65536)
            bodies.append(split_responses(data)[0].body)
        elapsed = time.monotonic() - started
    finally:
        for sock in sockets:
            sock.close()
    assert bodies == [b'{"slept":0.2}'] * 100
    assert elapsed < 1.0, f"100 concurrent 0.2 s sleeps took {elapsed:.2f} s on one worker"


def test_unhandled_exception_is_500_logged_and_worker_survives(server) -> None:  # type: ignore[no-untyped-def]
    for path in ("/boom", "/boom-async"):
        response = httpx.get(server.url + path)
        assert response.status_code == 500
        assert response.text == "Internal Server Error"
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
    time.sleep(0.1)
    log = server.log()
    assert "Traceback" in log and "boom on purpose" in log and "async boom on purpose" in log
    assert "ERROR:fastrapi.error: Exception in ASGI application" in log
    assert httpx.get(server.url + "/hello").json() == {"Hello": "World"}


def test_non_finite_float_is_500_like_fastapi(server) -> None:  # type: ignore[no-untyped-def]
    assert httpx.get(server.url + "/nan").status_code == 500


def test_http_exception_with_headers(server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(server.url + "/http-error")
    assert response.status_code == 418
    assert response.json() == {"detail": {"why": "teapot"}}
    assert response.headers["x-reason"] == "tea"


def test_exact_422_body(server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(server.url + "/items/abc")
    assert response.status_code == 422
    assert response.content == (
        b'{"detail":[{"type":"int_parsing","loc":["path","item_id"],'
        b'"msg":"Input should be a valid integer, unable to parse string as an integer","input":"abc"}]}'
    )


def test_all_errors_reported_together_in_order(server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(server.url + "/typed/x?flag=maybe&n=q")
    assert [e["loc"] for e in response.json()["detail"]] == [["path", "f"], ["query", "flag"], ["query", "n"]]


def test_json_encoder_matches_python_json() -> None:
    value = {
        "floats": [1.0, 0.1, 1e16, 1e-05, 123456.789, -0.0, 1e22, 2.5e-300, 1.7976931348623157e308],
        "ints": [0, -1, 2**63, -(2**70), 12345678901234567890],
        "text": "héllo \"q\" \\ \n\r\t\b\f\u0001\u001f \u007f € 😀 \u2028",
        "keys": {3: "int", 2.5: "float", True: "bool", None: "none"},
        "nested": [[[]], {}, (1, "x")],
    }
    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    assert _fastrapi.dumps(value) == expected
    with pytest.raises(ValueError):
        _fastrapi.dumps(float("inf"))
    with pytest.raises(TypeError):
        _fastrapi.dumps(object())
    assert _fastrapi.dumps({"s": {1, 2}}, default=sorted) == b'{"s":[1,2]}'
