"""The analysed shape of an endpoint or dependency (FastAPI's ``Dependant``)."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import Any


@dataclasses.dataclass
class Dependant:
    call: Callable[..., Any] | None
    name: str | None = None
    params: list[Any] = dataclasses.field(default_factory=list)
    body_fields: list[Any] = dataclasses.field(default_factory=list)
    dependencies: list[Dependant] = dataclasses.field(default_factory=list)
    request_param_name: str | None = None
    response_param_name: str | None = None
    background_tasks_param_name: str | None = None
    security_scopes_param_name: str | None = None
    security_scopes: list[str] = dataclasses.field(default_factory=list)
    # The scopes of this dependency's own ``Security(..., scopes=[...])`` (``security_scopes``
    # also holds those of the dependencies above it).
    own_security_scopes: list[str] = dataclasses.field(default_factory=list)
    use_cache: bool = True
    path: str = ""
    # `Depends(scope=...)`: "function" exits right after the endpoint, else after the response.
    scope: str | None = None

    @functools.cached_property
    def call_kind(self) -> str:
        """Looked up once, not per request (see :func:`call_kind`)."""
        return call_kind(self.call)

    @property
    def cache_key(self) -> tuple[Any, tuple[str, ...]]:
        return (self.call, tuple(sorted(set(self.security_scopes))))

    def needs_python_solver(self) -> bool:
        return bool(
            any(getattr(p, "model_fields", None) for p in self.params)
            or any(getattr(f, "is_form", False) for f in self.flat_body_fields())
            or self.dependencies
            or self.request_param_name
            or self.response_param_name
            or self.background_tasks_param_name
            or self.security_scopes_param_name
        )

    def flat_body_fields(self) -> list[Any]:
        fields = list(self.body_fields)
        for dep in self.dependencies:
            for field in dep.flat_body_fields():
                if all(f.alias != field.alias for f in fields):
                    fields.append(field)
        return fields


def call_kind(call: Any) -> str:
    """``"async_generator"``, ``"generator"`` (``yield`` dependencies), ``"coroutine"`` or
    ``"plain"`` (a sync callable, which may block)."""
    if inspect.isasyncgenfunction(call):
        return "async_generator"
    if inspect.isgeneratorfunction(call):
        return "generator"
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None)):  # noqa: B004
        return "coroutine"
    return "plain"
