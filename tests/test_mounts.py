"""Mounted applications (a Starlette app, a raw ASGI callable, a sub-FastAPI app) under FastAPI +
uvicorn and under fastrapi: status, content type, body and the headers named must match."""

from __future__ import annotations

import httpx
import pytest

from tests.test_differential import _compare, _pair

_TOKEN = {"X-Token": "secret"}
MOUNT_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/top", {}),
    # Starlette, through the ASGI bridge
    ("GET", "/star/", {}),
    ("GET", "/star/?a=1&b=%20", {}),
    ("HEAD", "/star/", {}),
    ("POST", "/star/echo", {"content": b"hello mounted world"}),
    ("PUT", "/star/echo", {"content": b"x" * 300_000}),
    ("PUT", "/star/echo", {"content": bytes(range(256)) * 6000}),  # > 1 MiB: spooled by the server
    ("GET", "/star/echo", {}),
    ("GET", "/star/json/ann?q=1&q=2", {"headers": {"User-Agent": "ua", "Cookie": "c=cv"}}),
    ("POST", "/star/form", {"data": {"name": "n"}, "files": {"file": ("a.txt", b"file body")}}),
    ("POST", "/star/form", {"data": {"name": "only"}}),
    ("GET", "/star/stream", {}),
    ("GET", "/star/stream", {"headers": {"Accept-Encoding": "gzip"}}),
    ("HEAD", "/star/stream", {}),
    ("GET", "/star/cookies", {}),
    ("GET", "/star/redirect", {}),
    ("GET", "/star/boom", {}),
    ("GET", "/star/empty", {}),
    ("GET", "/star/missing", {}),
    ("GET", "/star/caf%C3%A9", {}),
    # a raw ASGI callable
    ("GET", "/raw/x/y?z=1", {}),
    ("POST", "/raw/", {"content": b"abc"}),
    ("DELETE", "/raw/anything", {}),
    ("PATCH", "/raw/big", {"content": b"z" * 1_200_000}),
    # a sub-FastAPI app
    ("GET", "/v1/", {}),
    ("GET", "/v1/items/5?q=x", {}),
    ("GET", "/v1/items/five", {}),
    ("POST", "/v1/items", {"json": {"name": "n", "price": 2.5}, "headers": _TOKEN}),
    ("POST", "/v1/items", {"json": {"name": "n"}, "headers": _TOKEN}),
    ("POST", "/v1/items", {"json": {"name": "n", "price": 1}, "headers": {"X-Token": "wrong"}}),
    ("PUT", "/v1/items/5", {}),
    ("GET", "/v1/teapot", {}),
    ("GET", "/v1/boom", {}),
    ("GET", "/v1/nested/deep", {}),
    ("GET", "/v1/missing", {}),
    ("GET", "/v1/openapi.json", {}),
]


@pytest.fixture(scope="module")
def mount_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.mounts")


@pytest.fixture(scope="module")
def plain_mount_servers(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    yield from _pair(tmp_path_factory, "tests.apps.mounts", "plain")


@pytest.mark.parametrize(("method", "path", "kwargs"), MOUNT_REQUESTS, ids=[f"{m} {p}" for m, p, _ in MOUNT_REQUESTS])
def test_mounts_same_as_fastapi(mount_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*mount_servers, method, path, kwargs,
             extra_headers=("x-outer", "x-sub", "x-raw", "x-length", "content-encoding"))


PLAIN_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/sub/items/3", {}),
    ("GET", "/sub/items/x", {}),
    ("POST", "/sub/items/3", {}),
    ("GET", "/sub/items/3/", {}),
    ("GET", "/sub/nothing", {}),
    ("GET", "/star/", {}),
    ("GET", "/star", {}),
    ("GET", "/sub", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), PLAIN_REQUESTS, ids=[f"{m} {p}" for m, p, _ in PLAIN_REQUESTS])
def test_fast_path_mounts_same_as_fastapi(plain_mount_servers, method: str, path: str, kwargs: dict) -> None:  # type: ignore[no-untyped-def]
    _compare(*plain_mount_servers, method, path, kwargs)


def test_background_of_a_mounted_starlette_app_runs(mount_servers) -> None:  # type: ignore[no-untyped-def]
    for server in mount_servers:
        with httpx.Client(base_url=server.url) as client:
            assert client.get("/star/cookies").status_code == 200
            events = []
            for _ in range(200):  # the task runs after the response: poll for it
                events = client.get("/events").json()
                if "star-background" in events:
                    break
            assert "star-background" in events
