"""The functions FastAPI apps call in signatures: ``Query(...)``, ``Path()``, ``Depends(dep)``, …"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import PydanticUndefined

from fastrapi import params


def Path(default: Any = ..., **kwargs: Any) -> Any:  # noqa: N802
    return params.Path(default, **kwargs)


def Query(default: Any = PydanticUndefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Query(default, **kwargs)


def Header(default: Any = PydanticUndefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Header(default, **kwargs)


def Cookie(default: Any = PydanticUndefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Cookie(default, **kwargs)


def Body(default: Any = PydanticUndefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Body(default, **kwargs)


def Form(default: Any = PydanticUndefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.Form(default, **kwargs)


def File(default: Any = PydanticUndefined, **kwargs: Any) -> Any:  # noqa: N802
    return params.File(default, **kwargs)


def Depends(dependency: Callable[..., Any] | None = None, *, use_cache: bool = True,  # noqa: N802
            scope: str | None = None) -> Any:
    return params.Depends(dependency=dependency, use_cache=use_cache, scope=scope)


def Security(dependency: Callable[..., Any] | None = None, *, scopes: Sequence[str] | None = None,  # noqa: N802
             use_cache: bool = True) -> Any:
    return params.Security(dependency=dependency, scopes=scopes, use_cache=use_cache)
