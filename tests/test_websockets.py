"""WebSockets, compared with FastAPI + uvicorn (websockets) serving the same module
(tests/apps/ws.py), using the `websockets` client library against both."""

from __future__ import annotations

import os
import socket
import struct
import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.test_differential import _pair


@pytest.fixture(scope="module")
def ws_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.ws")


def _session(url: str, path: str, sends: list[str | bytes], **kwargs: object) -> dict[str, object]:
    """Connects, sends each message, receives until the server closes; the transcript."""
    out: dict[str, object] = {"received": []}
    try:
        with connect(url.replace("http://", "ws://") + path, open_timeout=5, close_timeout=5, **kwargs) as ws:
            out["subprotocol"] = ws.subprotocol
            out["x-custom"] = ws.response.headers.get("x-custom")
            for message in sends:
                ws.send(message)
            try:
                while True:
                    out["received"].append(ws.recv(timeout=2))  # type: ignore[attr-defined]
            except TimeoutError:
                out["timeout"] = True
            except ConnectionClosed as exc:
                out["close"] = (exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else None
    except InvalidStatus as exc:
        out["status"] = exc.response.status_code
    return out


CASES: list[tuple[str, list[str | bytes], dict[str, object]]] = [
    ("/echo", ["hello", "wörld", "x" * 70000], {}),
    ("/json", ['{"a": [1, 2]}', "3", '"text"'], {}),
    ("/bytes", [b"\x00\x01\x02", b"abc" * 30000], {}),
    ("/items/7?q=x&token=secret", [], {"additional_headers": {"x-user": "ann", "cookie": "session=s1"}}),
    ("/items/7?token=wrong", [], {}),
    ("/items/notint?token=secret", [], {}),
    ("/server-close", [], {}),
    ("/reject", [], {}),
    ("/no-accept", [], {}),
    ("/boom", ["go"], {}),
    ("/returns", [], {}),
    ("/subprotocol?a=1", [], {"subprotocols": ["chat", "superchat"]}),
    ("/subprotocol", [], {}),
    ("/r/nested?n=3", [], {}),
    ("/r/nested?n=x", [], {}),
    ("/sub/inner/bob", [], {}),
    ("/sub/missing", [], {}),
    ("/missing", [], {}),
    ("/http-only", [], {}),
]


@pytest.mark.parametrize(("path", "sends", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_websocket_same_as_fastapi(ws_servers, path: str, sends: list[str | bytes], kwargs: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = ws_servers
    expected = _session(fastapi_server.url, path, sends, **kwargs)
    actual = _session(fastrapi_server.url, path, sends, **kwargs)
    assert actual == expected


def test_client_disconnect_reaches_the_endpoint(ws_servers) -> None:  # type: ignore[no-untyped-def]
    results = []
    for server in ws_servers:
        with connect(server.url.replace("http://", "ws://") + "/disconnect") as ws:
            ws.send("x")
            ws.close(code=4321)
        for _ in range(100):
            events = httpx.get(server.url + "/events").json()
            if "disconnect" in events:
                break
            time.sleep(0.05)
        results.append(events.get("disconnect"))
    assert results[0] == results[1] == 4321


def _raw_upgrade(port: int, path: str = "/echo", extra: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n".encode() + extra + b"\r\n"
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def _frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bool = True, length: int | None = None) -> bytes:
    n = len(payload) if length is None else length
    first = (0x80 if fin else 0) | opcode
    if n < 126:
        header = struct.pack("!BB", first, (0x80 if mask else 0) | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, n)
    else:
        header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, n)
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _close_code(sock: socket.socket) -> int | None:
    """Reads frames until a close frame; its code (None if the connection just ended)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
        while len(data) >= 2:
            opcode, n = data[0] & 0x0F, data[1] & 0x7F
            offset = 2
            if n == 126:
                n, offset = struct.unpack("!H", data[2:4])[0], 4
            elif n == 127:
                n, offset = struct.unpack("!Q", data[2:10])[0], 10
            if len(data) < offset + n:
                break
            payload, data = data[offset : offset + n], data[offset + n :]
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005


VIOLATIONS: dict[str, bytes] = {
    "unmasked": _frame(0x1, b"hi", mask=False),
    "bad utf-8": _frame(0x1, b"\xff\xfe"),
    "reserved opcode": _frame(0x3, b""),
    "fragmented ping": _frame(0x9, b"", fin=False),
    "continuation first": _frame(0x0, b"x"),
    "too big": _frame(0x2, b"", length=17 * 1024 * 1024),
    "bad close code": _frame(0x8, struct.pack("!H", 1005)),
}


@pytest.mark.parametrize("name", list(VIOLATIONS))
def test_protocol_violations_close_like_uvicorn(ws_servers, name: str) -> None:  # type: ignore[no-untyped-def]
    codes = []
    for server in ws_servers:
        with _raw_upgrade(server.port) as sock:
            sock.sendall(VIOLATIONS[name])
            codes.append(_close_code(sock))
    assert codes[1] == codes[0]


def test_ping_is_answered_and_fragments_are_joined(ws_servers) -> None:  # type: ignore[no-untyped-def]
    server = ws_servers[1]
    with _raw_upgrade(server.port) as sock:
        sock.sendall(_frame(0x9, b"are you there"))
        sock.sendall(_frame(0x1, b"hel", fin=False) + _frame(0x9, b"p2") + _frame(0x0, b"lo", fin=True))
        data = b""
        while data.count(b"echo: hello") == 0:
            data += sock.recv(4096)
    assert b"\x8a\x0dare you there" in data and b"\x8a\x02p2" in data


BAD_HANDSHAKES: dict[str, bytes] = {
    "short key": b"Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n",
    "no key": b"Sec-WebSocket-Version: 13\r\n",
    "two keys": b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n",
    "no version": b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
    "version 8": b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n",
}


@pytest.mark.parametrize("name", list(BAD_HANDSHAKES))
def test_bad_handshakes_get_the_same_http_errors(ws_servers, name: str) -> None:  # type: ignore[no-untyped-def]
    answers = []
    for server in ws_servers:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + BAD_HANDSHAKES[name]
                + b"\r\n"
            )
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        # `websockets` appends Python's own base64 error text to a bad key's message.
        answers.append((head.split(b"\r\n", 1)[0], body.split(b";")[0].rstrip(b".\n")))
    assert answers[1] == answers[0]


def test_a_client_that_stops_reading_stops_the_server_reading(ws_servers) -> None:  # type: ignore[no-untyped-def]
    """Echoes nobody reads fill the socket; the endpoint's sends then wait, so the server stops
    reading too and the client's sends stall instead of piling up in server memory."""
    server = ws_servers[1]
    message = _frame(0x1, b"y" * 60000)
    sent = 0
    with _raw_upgrade(server.port, "/echo") as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        stalled_since = None
        while sent < 40_000_000:
            try:
                sent += sock.send(message)
                stalled_since = None
            except BlockingIOError:
                stalled_since = stalled_since or time.monotonic()
                if time.monotonic() - stalled_since > 1.0:
                    break
                time.sleep(0.01)
        # The server still answers other clients meanwhile.
        assert httpx.get(server.url + "/http-only").json() == {"http": True}
    assert sent < 40_000_000


@pytest.fixture(scope="module")
def secure_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.ws", "secure")


@pytest.mark.parametrize(
    "headers",
    [{}, {"origin": "https://evil.example"}, "session"],
    ids=["plain", "foreign origin (CORS does not apply)", "session cookie"],
)
def test_middleware_applies_as_in_starlette(secure_servers, headers: dict[str, str] | str) -> None:  # type: ignore[no-untyped-def]
    results = []
    for server in secure_servers:
        extra = headers
        if headers == "session":
            cookie = httpx.get(server.url + "/login").headers["set-cookie"].split(";")[0]
            extra = {"cookie": cookie}
        results.append(_session(server.url, "/whoami", [], additional_headers=extra))
    assert results[1] == results[0]


def test_untrusted_host_is_refused_before_the_handshake(secure_servers) -> None:  # type: ignore[no-untyped-def]
    answers = []
    for server in secure_servers:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(
                b"GET /whoami HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            )
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        answers.append((head.split(b"\r\n", 1)[0], body))
    assert answers[1] == answers[0]


@pytest.fixture(scope="module")
def impatient_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests import conftest

    fixture = conftest.serve_app.__wrapped__(tmp_path_factory.mktemp("impatient"))  # type: ignore[attr-defined]
    start = next(fixture)
    yield start("tests.apps.ws", ws_ping_interval=0.3, ws_ping_timeout=0.3)
    with __import__("contextlib").suppress(StopIteration):
        next(fixture)


def test_an_unresponsive_client_is_pinged_then_closed_with_1011(impatient_server) -> None:  # type: ignore[no-untyped-def]
    with _raw_upgrade(impatient_server.port, "/echo") as sock:
        # The client neither sends nor answers pings: the server's ping goes unanswered.
        assert _close_code(sock) == 1011


def test_a_client_that_never_reads_is_cut_off(impatient_server) -> None:  # type: ignore[no-untyped-def]
    """The endpoint floods; the client reads nothing and answers nothing. The server's writes stall,
    its ping and close frame can not go out, and the connection is dropped, not kept forever."""
    with _raw_upgrade(impatient_server.port, "/flood") as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        time.sleep(2.0)
        sock.settimeout(10)
        ended = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if not sock.recv(1 << 20):
                    ended = True
                    break
            except ConnectionResetError:
                ended = True
                break
        assert ended
