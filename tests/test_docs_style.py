"""Runs tests/docs_style_tests.py (an app and its TestClient tests, FastAPI tutorial style) twice:
as written, against FastAPI and Starlette's TestClient, and with its ``fastapi`` imports swapped
for ``fastrapi`` — the migration's one-line change — against fastrapi and its TestClient."""

from __future__ import annotations

import ast
import re
import sys
import types
from pathlib import Path

import pytest

SOURCE_PATH = Path(__file__).with_name("docs_style_tests.py")
SOURCE = SOURCE_PATH.read_text()
NAMES = [
    node.name for node in ast.parse(SOURCE).body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
]
_modules: dict[str, types.ModuleType] = {}


def swap_imports(source: str) -> str:
    """``from fastapi...``/``import fastapi`` → fastrapi; nothing else changes."""
    return re.sub(r"^(\s*)(from|import) fastapi\b", r"\1\2 fastrapi", source, flags=re.MULTILINE)


def load(framework: str) -> types.ModuleType:
    if framework not in _modules:
        source = SOURCE if framework == "fastapi" else swap_imports(SOURCE)
        name = f"tests._docs_style_{framework}"
        module = types.ModuleType(name)
        module.__file__ = str(SOURCE_PATH)
        sys.modules[name] = module
        exec(compile(source, str(SOURCE_PATH), "exec"), module.__dict__)
        _modules[framework] = module
    return _modules[framework]


def test_only_the_imports_differ() -> None:
    swapped = swap_imports(SOURCE)
    changed = [(a, b) for a, b in zip(SOURCE.splitlines(), swapped.splitlines(), strict=True) if a != b]
    assert changed and all(a.startswith("from fastapi") and b.startswith("from fastrapi") for a, b in changed)
    assert load("fastrapi").TestClient.__module__ == "fastrapi.testclient"
    assert load("fastapi").TestClient.__module__ == "fastapi.testclient" or "starlette" in load(
        "fastapi"
    ).TestClient.__module__


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("framework", ["fastapi", "fastrapi"])
@pytest.mark.parametrize("name", NAMES)
def test_docs_style(framework: str, name: str) -> None:
    getattr(load(framework), name)()
