"""``fastrapi.X`` is FastAPI's and Starlette's own ``X``.

Every ``fastrapi.<module>`` that fastrapi does not write itself is FastAPI's module of that name,
Starlette's, or — where both exist, as ``responses`` or ``routing`` — one module holding
Starlette's names overlaid with FastAPI's. Objects are never copied: ``fastrapi.Request is
starlette.requests.Request``, so isinstance checks in third-party code pass, and a patch of
``fastrapi.routing.request_response`` is a patch of FastAPI's module when only FastAPI has it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
from typing import Any

PACKAGE = "fastrapi"
SOURCES = ("fastapi", "starlette")


def _import(name: str) -> types.ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # Only "this module does not exist", not a failure inside it.
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return None
        raise


def merged(name: str, modules: Sequence[types.ModuleType]) -> types.ModuleType:
    """One module with the names of ``modules``, later ones winning (FastAPI over Starlette)."""
    module = types.ModuleType(name)
    for source in modules:
        module.__dict__.update({k: v for k, v in vars(source).items() if k not in _OWN_DUNDERS})
    module.__doc__ = modules[-1].__doc__
    module.__fastrapi_sources__ = tuple(m.__name__ for m in modules)  # type: ignore[attr-defined]
    paths = [p for m in modules for p in getattr(m, "__path__", [])]
    if paths:
        module.__path__ = paths
    return module


_OWN_DUNDERS = {"__name__", "__loader__", "__spec__", "__path__", "__file__", "__cached__", "__package__"}


class _Loader(importlib.abc.Loader):
    def __init__(self, modules: list[types.ModuleType]) -> None:
        self.modules = modules

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        if len(self.modules) == 1:
            return self.modules[0]
        return merged(spec.name, self.modules)

    def exec_module(self, module: types.ModuleType) -> None:
        pass


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``fastrapi.<x>`` that has no file of its own in FastAPI and Starlette."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith(PACKAGE + ".") or _has_own_file(fullname):
            return None
        rest = fullname[len(PACKAGE) + 1 :]
        found = [m for m in (_import(f"{source}.{rest}") for source in reversed(SOURCES)) if m is not None]
        if not found:
            return None
        loader = _Loader(found)
        spec = importlib.machinery.ModuleSpec(fullname, loader, is_package=any(hasattr(m, "__path__") for m in found))
        if len(found) == 1:
            # The module itself: keep its own spec, so it is not re-imported under this name.
            spec.loader_state = found[0]
        return spec


def _has_own_file(fullname: str) -> bool:
    """fastrapi's own modules (``applications``, ``testclient``, ...) are regular files."""
    package = sys.modules.get(PACKAGE)
    parent, _, leaf = fullname.rpartition(".")
    if parent != PACKAGE or package is None:
        return False
    return importlib.machinery.PathFinder.find_spec(fullname, package.__path__) is not None


def install() -> None:
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
