"""Large uploads on form/file routes are streamed to a temporary file, not held in memory."""

from __future__ import annotations

import hashlib
import json
import os
import socket

import pytest

from tests.conftest import split_responses

SIZE = 12 * 1024 * 1024




def _multipart(payload: bytes) -> tuple[bytes, bytes]:
    boundary = b"----fastrapi-test-boundary"
    body = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="note"\r\n\r\nbig one\r\n'
        + b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        + b"Content-Type: application/octet-stream\r\n\r\n" + payload + b"\r\n--" + boundary + b"--\r\n"
    )
    return body, b"multipart/form-data; boundary=" + boundary


def _peak_rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("streamed", [True, False])
def test_large_upload_is_streamed_and_pipelining_still_works(serve_app, streamed: bool) -> None:  # type: ignore[no-untyped-def]
    """A file upload reaches the app as it arrives (the server never holds the body): peak memory
    hardly grows. The control reads the same body whole (`request.body()`), which shows that the
    memory measure can tell."""
    server = serve_app("tests.apps.forms", max_body_bytes=64 * 1024 * 1024)
    payload = os.urandom(SIZE)
    body, content_type = _multipart(payload)
    path = b"/upload-hash" if streamed else b"/body-hash"
    head = (b"POST " + path + b" HTTP/1.1\r\nHost: t\r\nContent-Type: " + content_type
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    follow_up = b"POST /raw-form HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\n" \
                b"Content-Length: 3\r\n\r\na=1"
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(follow_up)  # warm the route up with a small form
        data = b""
        while not split_responses(data):
            data += sock.recv(65536)
    before = _peak_rss_kib(server.proc.pid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body + follow_up)  # the next request rides right behind the upload
        data = b""
        while len(split_responses(data)) < 2:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    first, second = split_responses(data)
    if streamed:
        expected = {"sha256": hashlib.sha256(payload).hexdigest(), "size": SIZE, "note": "big one"}
        assert json.loads(first.body) == expected
    else:
        assert json.loads(first.body) == {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
    assert json.loads(second.body) == {"a": "1"}
    growth_mib = (_peak_rss_kib(server.proc.pid) - before) / 1024
    if streamed:
        assert growth_mib < 4, f"peak memory grew {growth_mib:.1f} MiB for a 12 MiB upload"
    else:
        assert growth_mib > 12, f"in memory, a 12 MiB upload grew peak memory by only {growth_mib:.1f} MiB"
