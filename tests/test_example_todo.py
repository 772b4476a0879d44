"""Runs examples/todo's own tests (examples/todo/test_app.py) twice: as written, against fastrapi
and its TestClient, and with every ``fastrapi`` import turned into ``fastapi`` — the migration's
one-line change, backwards — against FastAPI and Starlette's TestClient.

Each run loads the whole example package afresh under its own name (``_todo_fastrapi``,
``_todo_fastapi``) from the files, so the two runs share no module and no store.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.machinery
import importlib.util
import re
import sys
import time
import types
from pathlib import Path

import pytest

from tests.conftest import ROOT

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
    store = sys.modules[f"_todo_{framework}.store"].store
    deadline = time.monotonic() + 5
    while store._subscribers and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not store._subscribers
