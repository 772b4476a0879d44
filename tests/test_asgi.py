"""Unchanged ASGI apps (Starlette, a bare callable) served by fastrapi's ASGI path and by uvicorn:
the same requests must get the same status, headers and body."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import raw_exchange

MODULE = "tests.apps.asgi_starlette"
LARGE_BODY = bytes(range(256)) * 4096  # 1 MiB
# Headers each server sets for itself.
OWN_HEADERS = {"date", "server"}


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests.test_differential import _pair

    yield from _pair(tmp_path_factory, MODULE)


def _chunks() -> Iterator[bytes]:
    for i in range(20):
        yield f"chunk {i:02d} ".encode() * 100


CASES: list[tuple[str, str, dict]] = [
    ("GET", "/", {}),
    ("GET", "/items/42", {}),
    ("GET", "/items/x", {}),
    ("GET", "/conv/1.5/a/b/c", {}),
    ("GET", "/state", {}),
    ("POST", "/echo", {"content": b"hello", "headers": {"content-type": "text/plain"}}),
    ("PUT", "/echo", {"content": LARGE_BODY}),
    ("DELETE", "/echo", {}),
    ("POST", "/stream-in", {"content": LARGE_BODY}),
    ("POST", "/stream-in", {"content": b""}),
    ("GET", "/stream-out", {}),
    ("GET", "/sync-stream-out", {}),
    ("GET", "/small-file", {}),
    ("GET", "/large-file", {}),
    ("GET", "/large-file", {"headers": {"Accept-Encoding": "identity"}}),
    ("GET", "/large-file", {"headers": {"Range": "bytes=100-1099"}}),
    ("GET", "/large-file", {"headers": {"Range": "bytes=999999999-"}}),
    ("HEAD", "/large-file", {"headers": {"Accept-Encoding": "identity"}}),
    ("HEAD", "/stream-out", {}),
    ("HEAD", "/", {}),
    ("GET", "/raise-before", {}),
    ("GET", "/teapot", {}),
    ("GET", "/big-text", {"headers": {"Accept-Encoding": "gzip"}}),
    ("GET", "/big-text", {"headers": {"Accept-Encoding": "identity"}}),
    ("GET", "/large-text", {}),
    ("OPTIONS", "/", {"headers": {"Origin": "https://allowed.example", "Access-Control-Request-Method": "GET"}}),
    ("OPTIONS", "/", {"headers": {"Origin": "https://other.example", "Access-Control-Request-Method": "GET"}}),
    ("GET", "/", {"headers": {"Origin": "https://allowed.example"}}),
    ("GET", "/", {"headers": {"Host": "evil.example"}}),
    ("GET", "/no-length", {}),
    ("GET", "/bare/x/y?q=1", {}),
    ("GET", "/nowhere", {}),
]


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    headers = [(k.lower(), v) for k, v in response.headers.multi_items() if k.lower() not in OWN_HEADERS]
    # Starlette joins a set of methods: its order changes from process to process.
    return [(k, ", ".join(sorted(v.split(", "))) if k == "allow" else v) for k, v in headers]


def _exchange(server, method: str, path: str, kwargs: dict) -> httpx.Response:  # type: ignore[no-untyped-def]
    with httpx.Client(base_url=server.url, follow_redirects=False) as client:
        return client.request(method, path, **kwargs)


@pytest.mark.parametrize(("method", "path", "kwargs"), CASES, ids=[f"{m} {p} {sorted(k)}" for m, p, k in CASES])
def test_same_as_uvicorn(servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    uvicorn, fastrapi = servers
    expected = _exchange(uvicorn, method, path, kwargs)
    actual = _exchange(fastrapi, method, path, kwargs)
    assert actual.status_code == expected.status_code
    assert _headers(actual) == _headers(expected)
    assert actual.content == expected.content


def test_chunked_upload_streamed_to_the_app(servers) -> None:  # type: ignore[no-untyped-def]
    uvicorn, fastrapi = servers
    results = [_exchange(server, "POST", "/stream-in", {"content": _chunks()}) for server in servers]
    assert results[0].json() == results[1].json()
    assert results[1].json()["sha256"] == hashlib.sha256(b"".join(_chunks())).hexdigest()


def test_body_arrives_in_pieces(servers) -> None:  # type: ignore[no-untyped-def]
    """The body is sent slowly, in pieces: the app reads it as it comes (several receive() calls)."""
    body = b"0123456789" * 3000
    head = f"POST /stream-in HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    pieces = [head] + [body[i : i + 7000] for i in range(0, len(body), 7000)]
    for server in servers:
        raw = raw_exchange(server.port, pieces, pause=0.02, expect_responses=1)
        assert b"200 OK" in raw.split(b"\r\n", 1)[0]
        assert json.loads(raw.split(b"\r\n\r\n", 1)[1])["sha256"] == hashlib.sha256(body).hexdigest()


def test_pathsend_when_offered(serve_app) -> None:  # type: ignore[no-untyped-def]
    """With `asgi_pathsend=True` FileResponse hands the path to the server, which sends the file
    itself (Starlette's GZip then leaves it uncompressed: why it is not offered by default)."""
    server = serve_app(MODULE, asgi_pathsend=True)
    from tests.apps.asgi_starlette import LARGE, SMALL

    for path, file in (("/large-file", LARGE), ("/small-file", SMALL)):
        with open(file, "rb") as f:
            expected = f.read()
        answer = _exchange(server, "GET", path, {"headers": {"Accept-Encoding": "identity"}})
        assert (answer.status_code, answer.content) == (200, expected)
        assert answer.headers["content-length"] == str(len(expected))
        head = _exchange(server, "HEAD", path, {})
        assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", str(len(expected)))


def test_url_for_and_lifespan_state(servers) -> None:  # type: ignore[no-untyped-def]
    for server in servers:
        assert _exchange(server, "GET", "/url-for", {}).text == f"{server.url}/items/3"
        assert _exchange(server, "GET", "/state", {}).text == "hello from the lifespan"


def test_session_middleware_round_trip(servers) -> None:  # type: ignore[no-untyped-def]
    for server in servers:
        with httpx.Client(base_url=server.url) as client:
            counts = [client.get("/counter").json()["count"] for _ in range(3)]
        assert counts == [1, 2, 3]


def test_error_after_response_start_closes_the_connection(servers) -> None:  # type: ignore[no-untyped-def]
    request = b"GET /raise-after HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    answers = [raw_exchange(server.port, request, read_until_close=True) for server in servers]
    for raw in answers:
        assert raw.startswith(b"HTTP/1.1 200 OK") and b"partial" in raw
        assert not raw.endswith(b"0\r\n\r\n"), "the body must not look complete"
    assert "failed after the response started" in servers[1].log()


def test_error_before_response_start_is_logged(servers) -> None:  # type: ignore[no-untyped-def]
    _exchange(servers[1], "GET", "/raise-before", {})
    assert "failed before the response started" in servers[1].log()


def test_client_disconnects_reach_the_app(servers) -> None:  # type: ignore[no-untyped-def]
    for server in servers:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /stream-forever HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sock.recv(4096)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /wait-disconnect HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            time.sleep(0.2)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            events = _exchange(server, "GET", "/events", {}).json()
            if "stream stopped" in events and "disconnect seen" in events:
                break
            time.sleep(0.05)
        assert "stream stopped" in events and "disconnect seen" in events, (server.url, events)
    # A client that leaves a streaming response is not an application error (uvicorn logs nothing).
    assert "the client disconnected" not in servers[1].log()


def test_a_large_final_body_lets_the_app_finish(servers) -> None:  # type: ignore[no-untyped-def]
    for server in servers:
        assert len(_exchange(server, "GET", "/large-text", {}).content) == 100_000
        deadline = time.monotonic() + 5
        while "large background ran" not in (events := _exchange(server, "GET", "/events", {}).json()):
            assert time.monotonic() < deadline, (server.url, events)
            time.sleep(0.05)


def test_pipelined_requests(servers) -> None:  # type: ignore[no-untyped-def]
    requests = b"".join(
        f"GET /items/{i} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode() for i in range(5)
    ) + b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"
    for server in servers:
        raw = raw_exchange(server.port, requests, expect_responses=6)
        assert raw.count(b"HTTP/1.1 200 OK") == 6
        assert raw.endswith(b"abc")


def test_bare_asgi_callable(serve_app, serve_fastapi) -> None:  # type: ignore[no-untyped-def]
    fastrapi = serve_app(MODULE, "bare")
    uvicorn = serve_fastapi(MODULE, "bare")
    for path in ("/", "/a%20b?x=1"):
        expected, actual = (_exchange(s, "GET", path, {}) for s in (uvicorn, fastrapi))
        assert (actual.status_code, _headers(actual), actual.content) == (
            expected.status_code,
            _headers(expected),
            expected.content,
        )


WS_CASES: list[tuple[str, list[str | bytes], dict[str, object]]] = [
    ("/ws", ["hello", "wörld", "x" * 70000, b"\x00\x01\x02"], {}),
    ("/ws", ["pick one"], {"subprotocols": ["chat", "superchat"]}),
    ("/ws-close", [], {}),
    ("/ws-deny", [], {}),
    ("/ws-reject", [], {}),
    ("/ws-nowhere", [], {}),
]


@pytest.mark.parametrize(("path", "sends", "kwargs"), WS_CASES, ids=[f"{p} {sorted(k)}" for p, _, k in WS_CASES])
def test_websocket_same_as_uvicorn(servers, path: str, sends: list[str | bytes], kwargs: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    from tests.test_websockets import _session

    uvicorn, fastrapi = servers
    assert _session(fastrapi.url, path, sends, **kwargs) == _session(uvicorn.url, path, sends, **kwargs)


@pytest.mark.parametrize("target", [["tests.apps.asgi_starlette:app"], ["tests.apps.asgi_starlette", "--factory"]])
def test_fastrapi_run_serves_any_asgi_app(tmp_path, target: list[str]) -> None:  # type: ignore[no-untyped-def]
    import os
    import sys

    from tests.conftest import _start, free_port

    port = free_port()
    cmd = [sys.executable, "-m", "fastrapi", "run", *target, "--port", str(port), "--workers", "1"]
    server = _start(cmd, port, tmp_path / "run.log", dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        assert _exchange(server, "GET", "/", {}).json() == {"path": "/", "root_path": ""}
    finally:
        assert server.stop() == 0
