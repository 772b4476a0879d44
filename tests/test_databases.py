"""Real databases over real HTTP, each app served by fastrapi and by FastAPI + uvicorn and compared.

SQLite through sqlite3 and SQLAlchemy (files made by each server); PostgreSQL (from
scripts/postgres.sh, see the ``postgres_dsn`` fixture) through psycopg's pool, asyncpg and
SQLAlchemy's asyncio extension; and ``httpx.AsyncClient`` calls to a second local server. The
apps are in tests/apps/db_*.py and tests/apps/http_client.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.test_differential import _compare, _pair

pytestmark = pytest.mark.timeout(300)

# backend -> (module, app attribute)
BACKENDS: dict[str, tuple[str, str]] = {
    "sqlite3": ("tests.apps.db_sqlite", "sqlite3_app"),
    "sqlalchemy-sqlite": ("tests.apps.db_sqlite", "sqlalchemy_app"),
    "psycopg-pool": ("tests.apps.db_postgres", "psycopg_app"),
    "asyncpg": ("tests.apps.db_postgres", "asyncpg_app"),
    "sqlalchemy-asyncpg": ("tests.apps.db_postgres", "sqlalchemy_app"),
}

_BAD_JSON = {"content": b'{"name": ', "headers": {"content-type": "application/json"}}
# Sent in this order to both servers of a pair: their databases go through the same states.
CRUD_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/items", {}),
    ("POST", "/items", {"json": {"name": "widget", "price": 9.5, "quantity": 3}}),
    ("POST", "/items", {"json": {"name": "gadget", "price": 20}}),
    ("POST", "/items", {"json": {"name": "widget", "price": 1}}),
    ("POST", "/items", {"json": {"name": "", "price": -1, "quantity": 1.5}}),
    ("POST", "/items", {"json": {"price": 1}}),
    ("POST", "/items", _BAD_JSON),
    ("GET", "/items/1", {}),
    ("GET", "/items/999", {}),
    ("GET", "/items/abc", {}),
    ("GET", "/items", {}),
    ("GET", "/items?limit=1&offset=1", {}),
    ("GET", "/items?limit=0&offset=-1", {}),
    ("PATCH", "/items/1", {"json": {"price": 10.25}}),
    ("PATCH", "/items/1", {"json": {"name": "gadget"}}),
    ("PATCH", "/items/1", {"json": {"quantity": -5}}),
    ("PATCH", "/items/1", {"json": {"name": None, "quantity": 7}}),
    ("PATCH", "/items/999", {"json": {"quantity": 1}}),
    ("GET", "/items/1", {}),
    ("DELETE", "/items/2", {}),
    ("DELETE", "/items/2", {}),
    ("GET", "/items/2", {}),
    ("POST", "/items", {"json": {"name": "gadget", "price": 3.75, "quantity": 2}}),
    ("GET", "/items", {}),
]


def _ids(requests: list[tuple[str, str, dict]]) -> list[str]:
    return [f"{i:02} {method} {path}" for i, (method, path, _) in enumerate(requests)]


def _needs_postgres(request: pytest.FixtureRequest, module: str) -> None:
    if module.endswith("postgres"):
        request.getfixturevalue("postgres_dsn")  # starts it and exports POSTGRES_DSN to the servers


@pytest.fixture(scope="module", params=list(BACKENDS))
def item_servers(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    module, attr = BACKENDS[request.param]
    _needs_postgres(request, module)
    yield from _pair(tmp_path_factory, module, attr)


@pytest.mark.parametrize(("method", "path", "kwargs"), CRUD_REQUESTS, ids=_ids(CRUD_REQUESTS))
def test_crud_same_as_fastapi(item_servers: Any, method: str, path: str, kwargs: dict) -> None:
    _compare(*item_servers, method, path, kwargs, extra_headers=("location",))


def _run_concurrently(base_url: str, requests: list[tuple[str, str, dict]], timeout: float = 120,
                      ) -> list[httpx.Response]:
    """All of ``requests`` at once, over up to 64 connections."""

    async def send_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=timeout) as client:
            return await asyncio.gather(*(client.request(m, p, **kw) for m, p, kw in requests))

    return asyncio.run(send_all())


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_many_concurrent_requests_on_one_worker(backend: str, serve_app: Any, request: pytest.FixtureRequest) -> None:
    module, attr = BACKENDS[backend]
    _needs_postgres(request, module)
    server = serve_app(module, attr, workers=1)
    count = 200
    wanted = {f"item-{i}": {"name": f"item-{i}", "price": i + 0.5, "quantity": i} for i in range(count)}

    created = _run_concurrently(server.url, [("POST", "/items", {"json": body}) for body in wanted.values()])
    assert [r.status_code for r in created] == [201] * count
    items = {r.json()["name"]: r.json() for r in created}
    assert {name: {k: v for k, v in item.items() if k != "id"} for name, item in items.items()} == wanted
    assert len({item["id"] for item in items.values()}) == count
    assert all(r.headers["location"] == f"/items/{r.json()['id']}" for r in created)

    # Twenty clients race for one name: the unique constraint lets exactly one in.
    racing = _run_concurrently(server.url, [("POST", "/items", {"json": {"name": "contested", "price": 1}})] * 20)
    assert sorted(r.status_code for r in racing) == [201] + [409] * 19
    assert {r.json()["detail"] for r in racing if r.status_code == 409} == {"An item with this name already exists"}

    reads = _run_concurrently(server.url, [("GET", f"/items/{item['id']}", {}) for item in items.values()])
    assert [r.json() for r in reads] == list(items.values())

    updates = _run_concurrently(
        server.url, [("PATCH", f"/items/{item['id']}", {"json": {"quantity": item["quantity"] + 1}}) for item in
                     items.values()]
    )
    assert [r.json() for r in updates] == [{**item, "quantity": item["quantity"] + 1} for item in items.values()]

    doomed = [item["id"] for item in items.values()][::2]
    deletes = _run_concurrently(server.url, [("DELETE", f"/items/{item_id}", {}) for item_id in doomed])
    assert [r.status_code for r in deletes] == [204] * len(doomed)
    pages = _run_concurrently(server.url, [("GET", f"/items?limit=100&offset={o}", {}) for o in (0, 100)])
    listed = [item["id"] for page in pages for item in page.json()]
    assert listed == sorted(item["id"] for item in items.values() if item["id"] not in doomed) + [
        r.json()["id"] for r in racing if r.status_code == 201
    ]


@pytest.mark.parametrize(("framework", "backend"), [
    ("fastapi", "sqlalchemy-sqlite"),
    # A `def` request waiting for a connection waits in the thread pool, where the earlier requests'
    # `yield` dependencies can still return theirs: the core never stalls on the wait.
    ("fastrapi", "sqlalchemy-sqlite"),
    ("fastapi", "psycopg-pool"),
    ("fastrapi", "psycopg-pool"),
    ("fastapi", "asyncpg"),
    ("fastrapi", "asyncpg"),
    ("fastapi", "sqlalchemy-asyncpg"),
    ("fastrapi", "sqlalchemy-asyncpg"),
])
def test_requests_wait_for_a_pool_connection(framework: str, backend: str, serve_app: Any, serve_fastapi: Any,
                                             monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Four pool connections, sixteen concurrent requests: they queue for a connection, none fails."""
    module, attr = BACKENDS[backend]
    _needs_postgres(request, module)
    monkeypatch.setenv("DB_POOL_SIZE", "4")
    monkeypatch.setenv("DB_POOL_TIMEOUT", "3")
    server = (serve_app if framework == "fastrapi" else serve_fastapi)(module, attr)
    bodies = [{"name": f"queued-{i}", "price": 1.5} for i in range(16)]
    responses = _run_concurrently(server.url, [("POST", "/items", {"json": body}) for body in bodies], timeout=10)
    assert [r.status_code for r in responses] == [201] * len(bodies)
    assert [r.json()["name"] for r in responses] == [body["name"] for body in bodies]


# -- httpx.AsyncClient to a second local server -------------------------------------------------------


class _UpstreamHandler(BaseHTTPRequestHandler):
    """The second server: ``GET /users/{id}`` (ids 1-100 exist), ``POST /echo``."""

    protocol_version = "HTTP/1.1"
    served = 0
    lock = threading.Lock()

    def _reply(self, status: int, payload: Any) -> None:
        with self.lock:
            type(self).served += 1
            number = type(self).served
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("x-request-id", f"req-{number}")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - the handler API's name
        user_id = self.path.removeprefix("/users/")
        if user_id.isdigit() and 1 <= int(user_id) <= 100:
            self._reply(200, {"id": int(user_id), "name": f"user {user_id}"})
        else:
            self._reply(404, {"detail": "no such user"})

    def do_POST(self) -> None:  # noqa: N802
        payload = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self._reply(200, {"received": payload, "forwarded": self.headers.get("x-forwarded")})

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


class _UpstreamServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the apps open a few hundred connections at once


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    """The second server, on a free loopback port, exported to the apps as ``UPSTREAM_URL``."""
    server = _UpstreamServer(("127.0.0.1", 0), _UpstreamHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UPSTREAM_URL", url)
        yield url
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def client_servers(upstream_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    yield from _pair(tmp_path_factory, "tests.apps.http_client")


# Both servers call the same upstream, whose x-request-id counts its requests: send each request to
# both before the next, and compare bodies with the counter masked.
CLIENT_REQUESTS: list[tuple[str, str, dict]] = [
    ("GET", "/users/7", {}),
    ("GET", "/users/404", {}),
    ("GET", "/users/x", {}),
    ("GET", "/users?ids=3&ids=500&ids=1", {}),
    ("GET", "/users", {}),
    ("POST", "/echo", {"json": {"a": [1, 2], "b": "ü"}}),
    ("POST", "/echo", {"json": [1]}),
    ("GET", "/unreachable", {}),
]


def _masked(response: httpx.Response) -> Any:
    def mask(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "req-N" if k == "request_id" else mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        return value

    return mask(response.json())


@pytest.mark.parametrize(("method", "path", "kwargs"), CLIENT_REQUESTS, ids=_ids(CLIENT_REQUESTS))
def test_http_client_same_as_fastapi(client_servers: Any, method: str, path: str, kwargs: dict) -> None:
    fastapi_server, fastrapi_server = client_servers
    expected = httpx.request(method, fastapi_server.url + path, **kwargs)
    actual = httpx.request(method, fastrapi_server.url + path, **kwargs)
    assert actual.status_code == expected.status_code
    assert actual.headers.get("content-type") == expected.headers.get("content-type")
    assert _masked(actual) == _masked(expected)


def test_http_client_many_concurrent_requests_on_one_worker(upstream_url: str, serve_app: Any) -> None:
    server = serve_app("tests.apps.http_client", workers=1)
    requests = [("GET", f"/users?ids={i % 100 + 1}&ids={(i + 50) % 100 + 1}&ids=999", {}) for i in range(200)]
    responses = _run_concurrently(server.url, requests)
    assert [r.status_code for r in responses] == [200] * len(requests)
    for i, response in enumerate(responses):
        assert [user["id"] for user in response.json()] == [i % 100 + 1, (i + 50) % 100 + 1]
    request_ids = [user["request_id"] for r in responses for user in r.json()]
    assert len(set(request_ids)) == len(request_ids)  # every call reached the upstream


def test_postgres_is_real(postgres_dsn: str) -> None:
    """The database tests talk to a PostgreSQL server, not a stand-in."""
    import psycopg

    with psycopg.connect(postgres_dsn) as connection:
        version = connection.execute("SHOW server_version").fetchone()
    assert version is not None and int(version[0].split(".")[0]) >= 13
    assert os.environ["POSTGRES_DSN"] == postgres_dsn
