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
