"""Streaming responses respect back-pressure: a client that stops reading stops the producer."""

from __future__ import annotations

import socket
import time

import httpx


def test_slow_reader_pauses_the_producer(serve_app) -> None:  # type: ignore[no-untyped-def]
    server = serve_app("tests.apps.streaming")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        time.sleep(1.0)  # stop reading; the server must stop producing, not buffer 640 MiB
        produced = httpx.get(f"{server.url}/progress", timeout=5).json()["produced"]
        assert 0 < produced < 1000, produced  # other requests are served meanwhile, too
    # The abandoned stream does not hurt the worker.
    assert httpx.get(f"{server.url}/sync", timeout=5).text.startswith("chunk 0")


def test_is_disconnected_tells_a_waiting_endpoint_that_the_client_left(tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    """Same app under FastAPI + uvicorn and fastrapi: a long poll ends when its client goes."""
    import socket
    import time

    import httpx

    from tests.test_differential import _pair

    pairs = _pair(tmp_path_factory, "tests.apps.streaming")
    servers = next(pairs)
    try:
        for server in servers:
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(b"GET /long-poll HTTP/1.1\r\nHost: x\r\n\r\n")
                for _ in range(100):
                    if httpx.get(server.url + "/long-poll-state").json().get("state") == "waiting":
                        break
                    time.sleep(0.02)
                assert httpx.get(server.url + "/long-poll-state").json() == {"state": "waiting"}
            state = None
            for _ in range(200):
                state = httpx.get(server.url + "/long-poll-state").json().get("state")
                if state == "client left":
                    break
                time.sleep(0.02)
            assert state == "client left", server
    finally:
        for _ in pairs:
            pass


def test_a_client_leaving_a_stream_releases_the_routes_yield_dependencies(serve_app) -> None:  # type: ignore[no-untyped-def]
    """The request's `yield` dependencies exit (with the disconnect) when the client leaves a
    streamed response, as in Starlette, instead of waiting for a background that never runs."""
    import socket
    import time

    import httpx

    server = serve_app("tests.apps.deps_tree")
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(65536)
    log: list[str] = []
    for _ in range(100):
        log = httpx.get(f"{server.url}/log").json()
        if any(entry.startswith("released") for entry in log):
            break
        time.sleep(0.05)
    assert "released-after-ClientDisconnect" in log
