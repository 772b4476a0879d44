"""Runs examples/todo's own tests (examples/todo/test_app.py) twice: as written, against fastrapi
and its TestClient, and with every ``fastrapi`` import turned into ``fastapi`` — the migration's
one-line change, backwards — against FastAPI and Starlette's TestClient.

Each run loads the whole example package afresh under its own name (``_todo_fastrapi``,
``_todo_fastapi``) from the files, so the two runs share no module and no store.
"""

from __future__ import annotations

import ast
import contextlib
import http.client
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path
from typing import Any

import pytest
import websockets.sync.client

from tests.conftest import ROOT, free_port, wait_for_port

PACKAGE = ROOT / "examples" / "todo"
TEST_SOURCE = (PACKAGE / "test_app.py").read_text()
NAMES = [
    node.name
    for node in ast.parse(TEST_SOURCE).body
    if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
]
_modules: dict[str, types.ModuleType] = {}
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient` is deprecated"),
]


def to_fastapi(source: str) -> str:
    """``from fastrapi...``/``import fastrapi`` → fastapi; nothing else changes."""
    return re.sub(r"^(\s*)(from|import) fastrapi\b", r"\1\2 fastapi", source, flags=re.MULTILINE)


class _ExampleLoader(importlib.abc.Loader):
    def __init__(self, path: Path, framework: str) -> None:
        self.path = path
        self.framework = framework

    def exec_module(self, module: types.ModuleType) -> None:
        source = self.path.read_text()
        if self.framework == "fastapi":
            source = to_fastapi(source)
        exec(compile(source, str(self.path), "exec", dont_inherit=True), module.__dict__)


class _ExampleFinder(importlib.abc.MetaPathFinder):
    """Imports ``_todo_<framework>[.sub.module]`` from examples/todo (no bytecode cache: the
    FastAPI variant is not the file's code)."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        root, _, rest = fullname.partition(".")
        framework = root.removeprefix("_todo_")
        if root == framework or framework not in ("fastrapi", "fastapi"):
            return None
        base = PACKAGE.joinpath(*rest.split(".")) if rest else PACKAGE
        is_package = base.is_dir()
        file = base / "__init__.py" if is_package else base.with_suffix(".py")
        if not file.is_file():
            return None
        return importlib.util.spec_from_file_location(
            fullname,
            file,
            loader=_ExampleLoader(file, framework),
            submodule_search_locations=[str(base)] if is_package else None,
        )


sys.meta_path.insert(0, _ExampleFinder())  # before PathFinder, which would find the submodules in __path__


def load(framework: str) -> types.ModuleType:
    """examples/todo/test_app.py, with the example package it imports, for ``framework``."""
    if framework not in _modules:
        _modules[framework] = importlib.import_module(f"_todo_{framework}.test_app")
    return _modules[framework]


def test_only_the_imports_differ() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        changed = [(a, b) for a, b in zip(source.splitlines(), to_fastapi(source).splitlines(), strict=True) if a != b]
        assert all(a.startswith("from fastrapi") and b.startswith("from fastapi") for a, b in changed), path
    assert type(load("fastrapi").app).__module__ == "fastrapi.applications"
    assert type(load("fastapi").app).__module__ == "fastapi.applications"


@pytest.mark.parametrize("framework", ["fastrapi", "fastapi"])
@pytest.mark.parametrize("name", NAMES)
def test_example_todo(framework: str, name: str) -> None:
    test = getattr(load(framework), name)
    marks = getattr(test, "pytestmark", [])
    params = [mark.args for mark in marks if mark.name == "parametrize"]
    if not params:
        test()
        return
    ((argnames, values),) = params
    assert "," not in argnames
    for value in values:
        test(value)


def test_openapi_same_as_fastapi() -> None:
    documents = [load(framework).client.get("/openapi.json").json() for framework in ("fastrapi", "fastapi")]
    assert documents[0] == documents[1]


@pytest.mark.parametrize("framework", ["fastrapi", "fastapi"])
def test_websocket_handler_ends_when_the_client_leaves(framework: str) -> None:
    load(framework).test_websocket_notifications()
    watchers = sys.modules[f"_todo_{framework}.store"].watchers
    deadline = time.monotonic() + 5
    while watchers.waiting and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not watchers.waiting


def _serving_process(server: subprocess.Popen[bytes], port: int, client_port: int) -> int:
    """The pid, in the server's process tree, of the worker holding the connection from ``client_port``."""
    inode = next(
        cols[9]
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
        if (cols := line.split())[3] == "01"  # ESTABLISHED
        and int(cols[1].rsplit(":", 1)[1], 16) == port
        and int(cols[2].rsplit(":", 1)[1], 16) == client_port
    )
    parents = {int(d.name): int(d.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1])
               for d in Path("/proc").iterdir() if d.name.isdigit() and d.joinpath("stat").exists()}
    tree, todo = set(), [server.pid]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo += [child for child, parent in parents.items() if parent == pid]
    for pid in tree:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == f"socket:[{inode}]" for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
    raise AssertionError(f"no process of the server holds the connection from port {client_port}")


class _Connection:
    """One keep-alive HTTP connection to the server, and the worker process that accepted it."""

    def __init__(self, server: subprocess.Popen[bytes], port: int, token: str | None = None) -> None:
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.token = token
        assert self.request("GET", "/health")[0] == 200
        self.worker = _serving_process(server, port, self.http.sock.getsockname()[1])

    def request(self, method: str, path: str, payload: object = None, form: str | None = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        body: str | None = None
        if form is not None:
            body, headers["Content-Type"] = form, "application/x-www-form-urlencoded"
        elif payload is not None:
            body, headers["Content-Type"] = json.dumps(payload), "application/json"
        self.http.request(method, path, body=body, headers=headers)
        response = self.http.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_workers_share_one_database(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """``fastrapi run examples/todo/app.py --workers 2``: what one worker writes, the other reads,
    and a WebSocket on one worker hears about changes made through the other."""
    if database == "postgres":
        url = request.getfixturevalue("postgres_dsn")
    else:
        url = f"sqlite:///{tmp_path / 'todo.db'}"
    port = free_port()
    log = tmp_path / "server.log"
    env = dict(os.environ, DATABASE_URL=url, PYTHONUNBUFFERED="1")
    server = subprocess.Popen(
        [sys.executable, "-m", "fastrapi", "run", "examples/todo/app.py", "--workers", "2", "--port", str(port),
         "--no-access-log"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, server)
        first = _Connection(server, port)
        # A new connection lands on either worker (SO_REUSEPORT): open them until one is on the other.
        second = next(c for c in (_Connection(server, port) for _ in range(64)) if c.worker != first.worker)

        username = f"shared_{uuid.uuid4().hex[:12]}"
        assert first.request("POST", "/users", {"username": username, "password": "correct horse"})[0] == 201
        assert second.request("POST", "/users", {"username": username, "password": "other pass"})[0] == 409
        status, token = second.request("POST", "/auth/token", form=f"username={username}&password=correct+horse")
        assert status == 200
        first.token = second.token = token["access_token"]

        status, todo = first.request("POST", "/todos", {"title": "Written by one worker"})
        assert status == 201
        assert second.request("GET", "/todos") == (200, [todo])
        status, done = second.request("PATCH", f"/todos/{todo['id']}", {"done": True})
        assert (status, done) == (200, {**todo, "done": True})
        assert first.request("GET", f"/todos/{todo['id']}") == (200, done)

        with websockets.sync.client.connect(f"ws://127.0.0.1:{port}/todos/ws?token={first.token}") as websocket:
            watcher = _serving_process(server, port, websocket.socket.getsockname()[1])
            writer = second if watcher == first.worker else first
            assert writer.worker != watcher
            status, created = writer.request("POST", "/todos", {"title": "Heard by the other worker"})
            assert status == 201
            assert json.loads(websocket.recv(timeout=10)) == {"event": "created", "todo": created}
            assert writer.request("DELETE", f"/todos/{todo['id']}")[0] == 204
            assert json.loads(websocket.recv(timeout=10)) == {"event": "deleted", "todo": done}
        assert first.request("GET", "/todos") == second.request("GET", "/todos") == (200, [created])
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)
    assert server.returncode == 0, log.read_text()
