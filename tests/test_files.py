"""File responses, Range requests, StaticFiles served from Rust and streaming GZip, each compared
with FastAPI + uvicorn serving the same module (tests/apps/files.py)."""

from __future__ import annotations

import gzip
import os
import re
import socket

import httpx
import pytest

from tests.test_differential import _pair

HEADERS = (
    "content-type",
    "content-length",
    "content-range",
    "content-encoding",
    "content-disposition",
    "accept-ranges",
    "etag",
    "last-modified",
    "vary",
    "transfer-encoding",
)


@pytest.fixture(scope="module")
def file_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.files")


@pytest.fixture(scope="module")
def gzip_file_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    os.environ["FILES_GZIP"] = "1"
    try:
        pairs = _pair(tmp_path_factory, "tests.apps.files")
        servers = next(pairs)
    finally:
        del os.environ["FILES_GZIP"]
    yield servers
    for _ in pairs:
        pass


def _boundary(response: httpx.Response) -> str | None:
    match = re.search(r"boundary=(\w+)", response.headers.get("content-type", ""))
    return match.group(1) if match else None


def _fetch(client: httpx.Client, method: str, path: str, headers: dict[str, str]) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would otherwise decompress it)."""
    with client.stream(method, path, headers=headers) as response:
        return response, b"".join(response.iter_raw())


def _normalised(fetched: tuple[httpx.Response, bytes]) -> tuple[int, dict[str, str | None], bytes]:
    """Status, the headers that matter and the body, with a multipart boundary made neutral."""
    response, body = fetched
    headers = {name: response.headers.get(name) for name in HEADERS}
    if response.headers.get("content-encoding") == "gzip" and body:
        body = gzip.decompress(body)
        # Compressed sizes depend on zlib's flush points, not on behaviour.
        headers["content-length"] = "compressed" if headers["content-length"] else None
    boundary = _boundary(response)
    if boundary:
        headers["content-type"] = (headers["content-type"] or "").replace(boundary, "BOUNDARY")
        body = body.replace(boundary.encode(), b"BOUNDARY")
    return response.status_code, headers, body


def _compare(servers, method: str, path: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = servers
    # No automatic decompression: the raw encoding and framing are what is compared.
    with httpx.Client(base_url=fastapi_server.url, headers={"accept-encoding": "identity"}) as a, httpx.Client(
        base_url=fastrapi_server.url, headers={"accept-encoding": "identity"}
    ) as b:
        expected = _fetch(a, method, path, headers)
        actual = _fetch(b, method, path, headers)
    assert _normalised(actual) == _normalised(expected)


RANGE_CASES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/file/small.txt", {}),
    ("GET", "/file/big.txt", {}),
    ("GET", "/file/exact.bin", {}),
    ("GET", "/file/tiny.txt", {}),
    ("GET", "/file/empty.txt", {}),
    ("GET", "/file/data.unknownext", {}),
    ("GET", "/file/archive.tar.gz", {}),
    ("GET", "/file/page.HTML", {}),
    ("HEAD", "/file/big.txt", {}),
    ("GET", "/download", {}),
    ("GET", "/file-stat", {}),
    ("GET", "/file-stat", {"range": "bytes=100-199"}),
    ("GET", "/file/small.txt", {"range": "bytes=0-9"}),
    ("GET", "/file/small.txt", {"range": "bytes=1000-"}),
    ("GET", "/file/small.txt", {"range": "bytes=-7"}),
    ("GET", "/file/small.txt", {"range": "bytes=-100000"}),
    ("GET", "/file/small.txt", {"range": "bytes=0-0"}),
    ("GET", "/file/small.txt", {"range": "bytes=10-999999"}),
    ("GET", "/file/big.txt", {"range": "bytes=70000-140000"}),
    ("HEAD", "/file/small.txt", {"range": "bytes=0-9"}),
    ("GET", "/file/small.txt", {"range": "bytes=0-9, 20-29, 25-40"}),
    ("GET", "/file/big.txt", {"range": "bytes=0-1,100000-100001,-3"}),
    ("HEAD", "/file/small.txt", {"range": "bytes=0-1,5-6"}),
    ("GET", "/file/small.txt", {"range": "bytes=0-5,3-9"}),
    ("GET", "/file/small.txt", {"range": "bytes=5-2"}),
    ("GET", "/file/small.txt", {"range": "bytes=99999-"}),
    ("GET", "/file/small.txt", {"range": "bytes=99999-100000, 0-1"}),
    ("GET", "/file/empty.txt", {"range": "bytes=0-"}),
    ("GET", "/file/small.txt", {"range": "items=0-1"}),
    ("GET", "/file/small.txt", {"range": "bytes"}),
    ("GET", "/file/small.txt", {"range": "bytes=x-y"}),
    ("GET", "/file/small.txt", {"range": "bytes=" + ",".join(["0-1"] * 101)}),
    ("GET", "/file/small.txt", {"range": "bytes=0-9", "if-range": "Wed, 01 Jan 2020 00:00:00 GMT"}),
    ("GET", "/file/small.txt", {"range": "bytes=0-9", "if-range": "Tue, 14 Nov 2023 22:13:20 GMT"}),
    ("GET", "/file/small.txt", {"range": "bytes=0-9", "if-range": 'W/"abc"'}),
    ("GET", "/download", {"range": "bytes=3-5"}),
    ("GET", "/file-created", {"range": "bytes=0-9"}),
    ("POST", "/file-post", {"range": "bytes=0-9"}),
    ("GET", "/file-missing", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), RANGE_CASES, ids=[f"{m} {p} {h}" for m, p, h in RANGE_CASES])
def test_file_responses_same_as_fastapi(file_servers, method: str, path: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    _compare(file_servers, method, path, headers)


def test_if_range_with_the_current_etag_is_honoured(file_servers) -> None:  # type: ignore[no-untyped-def]
    etag = httpx.get(file_servers[1].url + "/file/small.txt").headers["etag"]
    _compare(file_servers, "GET", "/file/small.txt", {"range": "bytes=0-9", "if-range": etag})
    response = httpx.get(file_servers[1].url + "/file/small.txt", headers={"range": "bytes=0-9", "if-range": etag})
    assert response.status_code == 206 and response.content == b"0123456789"


STATIC_CASES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/static/small.txt", {}),
    ("GET", "/static/big.txt", {}),
    ("GET", "/static/exact.bin", {}),
    ("GET", "/static/empty.txt", {}),
    ("GET", "/static/data.unknownext", {}),
    ("GET", "/static/archive.tar.gz", {}),
    ("GET", "/static/page.HTML", {}),
    ("GET", "/static/sub/nested.css", {}),
    ("GET", "/static/sub/../small.txt", {}),
    ("GET", "/static//sub//nested.css", {}),
    ("GET", "/static/sub/%2e%2e/tiny.txt", {}),
    ("GET", "/static/sub/%2e%2e/%2e%2e/fastrapi-files-test/tiny.txt", {}),
    ("HEAD", "/static/big.txt", {}),
    ("GET", "/static/small.txt", {"range": "bytes=5-9"}),
    ("GET", "/static/big.txt", {"range": "bytes=-100, 0-99"}),
    ("GET", "/static/big.txt", {"range": "bytes=300000-"}),
    ("GET", "/static/small.txt", {"if-none-match": "*"}),
    ("GET", "/static/small.txt", {"if-none-match": '"nope", W/"other"'}),
    ("GET", "/static/small.txt", {"if-modified-since": "Tue, 14 Nov 2023 22:13:20 GMT"}),
    ("GET", "/static/small.txt", {"if-modified-since": "Tue, 14 Nov 2023 22:13:19 GMT"}),
    ("GET", "/static/small.txt", {"if-modified-since": "Tuesday, 14-Nov-23 22:13:20 GMT"}),
    ("GET", "/static/small.txt", {"if-modified-since": "garbage"}),
    ("GET", "/static/nope.txt", {}),
    ("GET", "/static/sub", {}),
    ("POST", "/static/small.txt", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), STATIC_CASES, ids=[f"{m} {p} {h}" for m, p, h in STATIC_CASES])
def test_static_files_same_as_starlette(file_servers, method: str, path: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    _compare(file_servers, method, path, headers)


def test_static_etag_revalidation(file_servers) -> None:  # type: ignore[no-untyped-def]
    for server in file_servers:
        first = httpx.get(server.url + "/static/small.txt")
        again = httpx.get(server.url + "/static/small.txt", headers={"if-none-match": f'W/{first.headers["etag"]}'})
        assert again.status_code == 304 and again.content == b""
        assert again.headers["etag"] == first.headers["etag"]


GZIP_CASES: list[tuple[str, str, dict[str, str]]] = [
    ("GET", "/json", {"accept-encoding": "gzip"}),
    ("HEAD", "/json", {"accept-encoding": "gzip"}),
    ("HEAD", "/json", {}),
    ("GET", "/stream", {"accept-encoding": "gzip"}),
    ("GET", "/stream", {}),
    ("GET", "/stream-image", {"accept-encoding": "gzip"}),
    ("GET", "/file/small.txt", {"accept-encoding": "gzip"}),
    ("GET", "/file/tiny.txt", {"accept-encoding": "gzip"}),
    ("GET", "/file/big.txt", {"accept-encoding": "gzip"}),
    ("GET", "/file/big.txt", {}),
    ("HEAD", "/file/big.txt", {"accept-encoding": "gzip"}),
    ("HEAD", "/file/small.txt", {"accept-encoding": "gzip"}),
    ("GET", "/file/big.txt", {"accept-encoding": "gzip", "range": "bytes=0-99"}),
    ("GET", "/static/big.txt", {"accept-encoding": "gzip"}),
    ("GET", "/static/small.txt", {"accept-encoding": "gzip"}),
    ("GET", "/static/sub/nested.css", {"accept-encoding": "gzip, br"}),
    ("GET", "/file/exact.bin", {"accept-encoding": "gzip"}),
]


@pytest.mark.parametrize(("method", "path", "headers"), GZIP_CASES, ids=[f"{m} {p} {h}" for m, p, h in GZIP_CASES])
def test_gzip_same_as_starlette(gzip_file_servers, method: str, path: str, headers: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    _compare(gzip_file_servers, method, path, headers)


def test_streamed_gzip_is_flushed_as_it_goes(gzip_file_servers) -> None:  # type: ignore[no-untyped-def]
    """Each chunk of a compressed stream is decodable on arrival (sync flush), not held back."""
    server = gzip_file_servers[1]
    with httpx.Client(base_url=server.url) as client, client.stream(
        "GET", "/stream", headers={"accept-encoding": "gzip"}
    ) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["transfer-encoding"] == "chunked"
        text = b"".join(response.iter_bytes()).decode()  # httpx decompresses
    assert text.count("chunk 049") == 20


def test_gzip_stream_to_http10_client_ends_with_the_connection(gzip_file_servers) -> None:  # type: ignore[no-untyped-def]
    server = gzip_file_servers[1]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GET /file/big.txt HTTP/1.0\r\nConnection: keep-alive\r\nAccept-Encoding: gzip\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-encoding: gzip" in head.lower() and b"transfer-encoding" not in head.lower()
    assert gzip.decompress(body) == b"".join(b"line %06d\n" % i for i in range(20_000))


def test_a_big_file_arrives_whole_through_a_small_receive_window(file_servers) -> None:  # type: ignore[no-untyped-def]
    """Files are read chunk by chunk as the socket drains (one read per completed write)."""
    server = file_servers[1]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"GET /static/big.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(1024)
        assert first.startswith(b"HTTP/1.1 200 OK")
        data = first
        while not data.endswith(b"line 019999\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.endswith(b"line 019999\n")
