"""Generator endpoints stream as FastAPI 0.165 streams them (JSON Lines, typed items, raw
streaming with an explicit response class), compared with FastAPI + uvicorn."""

from __future__ import annotations

import httpx
import pytest

from tests.test_differential import _pair


@pytest.fixture(scope="module")
def jsonl_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.jsonl")


CASES = ["/plain", "/async-plain", "/typed", "/typed-sync", "/typed-sync?limit=x", "/raw", "/with-dep?q=z"]


@pytest.mark.parametrize("path", CASES)
def test_generator_endpoints_stream_like_fastapi(jsonl_servers, path: str) -> None:  # type: ignore[no-untyped-def]
    fastapi_server, fastrapi_server = jsonl_servers
    expected = httpx.get(fastapi_server.url + path)
    actual = httpx.get(fastrapi_server.url + path)
    assert actual.status_code == expected.status_code
    assert actual.headers.get("content-type") == expected.headers.get("content-type")
    assert actual.content == expected.content


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
