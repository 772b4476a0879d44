"""HTTP/1.1 on the wire, with raw sockets: framing, keep-alive, pipelining, limits, bad input."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest

from tests.conftest import raw_exchange, split_responses

GET_HELLO = b"GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from tests import conftest

    gen = conftest.serve_app.__wrapped__(tmp_path_factory.mktemp("wire"))  # type: ignore[attr-defined]
    start = next(gen)
    yield start("tests.apps.basic", max_head_bytes=4096, max_headers=20, max_body_bytes=1000,
                keep_alive_timeout=1.0, header_timeout=1.0)
    with __import__("contextlib").suppress(StopIteration):
        next(gen)


def still_serving(port: int) -> bool:
    responses = split_responses(raw_exchange(port, GET_HELLO, expect_responses=1))
    return len(responses) == 1 and responses[0].body == b'{"Hello":"World"}'


def test_keep_alive_serves_several_requests_on_one_connection(server) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(3):
            sock.sendall(GET_HELLO)
            data = b""
            while not split_responses(data):
                data += sock.recv(65536)
            (response,) = split_responses(data)
            assert response.status == 200
            assert "connection" not in response.headers


def test_pipelined_requests_answered_in_order(server) -> None:  # type: ignore[no-untyped-def]
    payload = (
        b"GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /sleep?t=0.05 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /items/2 HTTP/1.1\r\nHost: t\r\n\r\n"
        b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"a\": 1}"
        b"GET /items/3 HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    responses = split_responses(raw_exchange(server.port, payload, expect_responses=5))
    bodies = [json.loads(r.body) for r in responses]
    assert bodies == [
        {"item_id": 1, "q": None},
        {"slept": 0.05},
        {"item_id": 2, "q": None},
        {"a": 1},
        {"item_id": 3, "q": None},
    ]


def test_http10_closes_by_default_and_keeps_alive_on_request(server) -> None:  # type: ignore[no-untyped-def]
    data = raw_exchange(server.port, b"GET /hello HTTP/1.0\r\n\r\n", read_until_close=True)
    (response,) = split_responses(data)
    assert response.status == 200 and response.headers["connection"] == "close"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(2):
            sock.sendall(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            data = b""
            while not split_responses(data):
                data += sock.recv(65536)
            assert split_responses(data)[0].headers["connection"] == "keep-alive"


def test_connection_close_is_honoured(server) -> None:  # type: ignore[no-untyped-def]
    data = raw_exchange(server.port, b"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n" + GET_HELLO,
                        read_until_close=True)
    responses = split_responses(data)
    assert len(responses) == 1 and responses[0].headers["connection"] == "close"


def test_chunked_request_body_in_pieces(server) -> None:  # type: ignore[no-untyped-def]
    head = (b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    pieces = [head, b"5\r\n{\"a\":\r\n", b"3;ext=1\r\n 42\r\n", b"1\r\n}\r\n0\r\n", b"\r\n"]
    (response,) = split_responses(raw_exchange(server.port, pieces, expect_responses=1))
    assert response.status == 200 and json.loads(response.body) == {"a": 42}


def test_content_length_body_arriving_late(server) -> None:  # type: ignore[no-untyped-def]
    head = b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"
    (response,) = split_responses(raw_exchange(server.port, [head, b'{"b": ', b"2}  "], expect_responses=1))
    assert json.loads(response.body) == {"b": 2}


def test_expect_100_continue(server) -> None:  # type: ignore[no-untyped-def]
    head = (b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
            b"Content-Length: 8\r\nExpect: 100-continue\r\n\r\n")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        interim = sock.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b'{"c": 3}')
        data = b""
        while not split_responses(data):
            data += sock.recv(65536)
    assert json.loads(split_responses(data)[0].body) == {"c": 3}


def test_head_has_length_but_no_body(server) -> None:  # type: ignore[no-untyped-def]
    payload = b"HEAD /get-or-head HTTP/1.1\r\nHost: t\r\n\r\n" + GET_HELLO
    data = raw_exchange(server.port, payload, expect_responses=2)
    head_end = data.index(b"\r\n\r\n") + 4
    assert data[:head_end].startswith(b"HTTP/1.1 200 OK")
    assert b"content-length: 7\r\n" in data[:head_end]
    assert data[head_end:].startswith(b"HTTP/1.1 200 OK"), "HEAD response must not carry a body"


def test_date_header_and_no_server_header(server) -> None:  # type: ignore[no-untyped-def]
    (response,) = split_responses(raw_exchange(server.port, GET_HELLO, expect_responses=1))
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", response.headers["date"])
    assert "server" not in response.headers


@pytest.mark.parametrize(
    "payload",
    [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n",
        b"GET /hello HTTP/1.1\r\n\r\n",  # no Host
        b"GET /hello HTTP/9.9\r\nHost: t\r\n\r\n",
        b"GET http://evil/ HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n",
        b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    ],
    ids=["tls", "no-host", "version", "absolute-form", "bad-header", "cl-and-te", "two-cl", "negative-cl",
         "bad-chunk", "two-hosts"],
)
def test_malformed_requests_get_400_and_close(server, payload: bytes) -> None:  # type: ignore[no-untyped-def]
    data = raw_exchange(server.port, payload + GET_HELLO, read_until_close=True)
    responses = split_responses(data)
    assert [r.status for r in responses] == [400], data[:200]
    assert responses[0].headers["connection"] == "close"
    assert still_serving(server.port)


def test_unknown_transfer_encoding_is_501(server) -> None:  # type: ignore[no-untyped-def]
    payload = b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n"
    (response,) = split_responses(raw_exchange(server.port, payload, read_until_close=True))
    assert response.status == 501


def test_oversized_head_is_431(server) -> None:  # type: ignore[no-untyped-def]
    payload = b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
    (response,) = split_responses(raw_exchange(server.port, payload, read_until_close=True))
    assert response.status == 431
    endless = b"GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 8000
    (response,) = split_responses(raw_exchange(server.port, endless, read_until_close=True))
    assert response.status == 431
    assert still_serving(server.port)


def test_too_many_headers_is_431(server) -> None:  # type: ignore[no-untyped-def]
    headers = b"".join(b"X-%d: 1\r\n" % i for i in range(30))
    payload = b"GET /hello HTTP/1.1\r\nHost: t\r\n" + headers + b"\r\n"
    (response,) = split_responses(raw_exchange(server.port, payload, read_until_close=True))
    assert response.status == 431


def test_oversized_body_is_413(server) -> None:  # type: ignore[no-untyped-def]
    payload = b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n"
    (response,) = split_responses(raw_exchange(server.port, payload, read_until_close=True))
    assert response.status == 413
    chunked = (b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               + b"3e8\r\n" + b"a" * 1000 + b"\r\n" + b"1\r\na\r\n0\r\n\r\n")
    (response,) = split_responses(raw_exchange(server.port, chunked, read_until_close=True))
    assert response.status == 413
    assert still_serving(server.port)


def test_slow_head_is_cut_off_by_header_timeout(server) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        started = time.monotonic()
        assert sock.recv(65536) == b""  # closed by the server, not answered
        assert time.monotonic() - started < 4
    assert still_serving(server.port)


def test_idle_keep_alive_connection_is_closed(server) -> None:  # type: ignore[no-untyped-def]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(GET_HELLO)
        data = b""
        while not split_responses(data):
            data += sock.recv(65536)
        started = time.monotonic()
        assert sock.recv(65536) == b""
        assert 0.5 < time.monotonic() - started < 4


def test_many_slow_clients_do_not_block_others(server) -> None:  # type: ignore[no-untyped-def]
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(50)]
    try:
        for sock in slow:
            sock.sendall(b"GET /hello HTTP/1.1\r\nHo")
        assert still_serving(server.port)
    finally:
        for sock in slow:
            sock.close()


def test_client_disconnect_mid_request_leaves_server_healthy(server) -> None:  # type: ignore[no-untyped-def]
    for payload in (b"POST /echo-dict HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n{\"a\"",
                    b"GET /sleep?t=0.2 HTTP/1.1\r\nHost: t\r\n\r\n"):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        sock.sendall(payload)
        sock.close()
    time.sleep(0.3)
    assert still_serving(server.port)
