"""Generator endpoints stream as FastAPI 0.165 streams them (JSON Lines, typed items, raw
streaming with an explicit response class), compared with FastAPI + uvicorn."""

from __future__ import annotations

import httpx
import pytest

from tests.test_differential import _pair


@pytest.fixture(scope="module")
def jsonl_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.jsonl")


CASES = [
    ("GET", "/plain"),
    ("GET", "/async-plain"),
    ("GET", "/typed"),
    ("GET", "/typed-sync"),
    ("GET", "/typed-sync?limit=x"),
    ("GET", "/raw"),
    ("GET", "/with-dep?q=z"),
    ("GET", "/events"),
    ("POST", "/typed-events"),
]


@pytest.mark.parametrize(("method", "path"), CASES)
def test_generator_endpoints_stream_like_fastapi(jsonl_servers, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = jsonl_servers
    expected = httpx.request(method, fastapi_server.url + path)
    actual = httpx.request(method, fastrapi_server.url + path)
    assert actual.status_code == expected.status_code
    for header in ("content-type", "cache-control", "x-accel-buffering"):
        assert actual.headers.get(header) == expected.headers.get(header), header
    assert actual.content == expected.content


def test_idle_event_streams_get_keepalive_comments(jsonl_servers) -> None:  # type: ignore[no-untyped-def]
    """Both servers send `: ping` while the generator is idle (interval set to 0.2 s by the app)."""
    for server in jsonl_servers:
        body = httpx.get(server.url + "/slow-events").content
        first, _, rest = body.partition(b"\n\n")
        assert first == b'data: {"first": true}'
        assert rest.count(b": ping\n\n") >= 1
        assert rest.endswith(b'data: {"second": true}\n\n')


def test_an_invalid_item_ends_the_stream_after_the_valid_ones(jsonl_servers) -> None:  # type: ignore[no-untyped-def]
    """The head is sent already: both servers cut the stream after the last valid line."""
    received = []
    for server in jsonl_servers:
        with httpx.stream("GET", server.url + "/invalid-item") as response:
            lines = []
            try:
                for line in response.iter_lines():
                    lines.append(line)
            except httpx.HTTPError:
                pass
        received.append((response.status_code, lines))
    assert received[1] == received[0]


def test_openapi_documents_streams_as_fastapi() -> None:
    """JSON Lines and SSE responses carry FastAPI 0.165's `itemSchema` entries."""
    import importlib
    import os
    import sys

    import fastapi.routing

    from fastrapi import sse

    intervals = (fastapi.routing._PING_INTERVAL, sse._PING_INTERVAL)  # the app module changes them
    docs = []
    for framework in ("fastapi", "fastrapi"):
        os.environ["APP_FRAMEWORK"] = framework
        sys.modules.pop("tests.apps.jsonl", None)
        try:
            docs.append(importlib.import_module("tests.apps.jsonl").app.openapi())
        finally:
            del os.environ["APP_FRAMEWORK"]
            sys.modules.pop("tests.apps.jsonl", None)
    fastapi.routing._PING_INTERVAL, sse._PING_INTERVAL = intervals
    assert docs[1] == docs[0]
