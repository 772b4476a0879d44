"""Running sync code off the core's thread, in the one thread pool every part of the app shares.

The pool is AnyIO's (``anyio.to_thread``): the threads and the limit (40 by default,
``serve(threadpool_size=...)``) Starlette's own ``run_in_threadpool`` uses, so FastAPI's code,
extensions and fastrapi's native routes all queue for the same workers. Context variables are
copied into the thread, as AnyIO does.

``def`` endpoints and dependencies run on the core's thread while their calls stay short and move
to the pool once a call is seen to block (``"auto"``); :func:`sync_mode` fixes the choice for one
callable, ``serve(sync_mode=...)`` for the whole app.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from fastapi.concurrency import *  # noqa: F403  (this module stands for FastAPI's)
from fastapi.concurrency import contextmanager_in_threadpool

from fastrapi._fastrapi import SyncPolicy

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

SYNC_MODES = ("auto", "inline", "threadpool")
# The app-wide mode of this worker (set by `serve`); a callable's own `sync_mode` wins.
default_mode = "auto"
_policies: dict[int, tuple[Any, SyncPolicy]] = {}


def sync_mode(mode: str) -> Callable[[F], F]:
    """Where a ``def`` endpoint or dependency runs: ``"inline"`` (always on the core's thread:
    for code known to be quick), ``"threadpool"`` (always in the pool: for code known to block) or
    ``"auto"``. Put it above (or below) the route decorator::

        @app.get("/report")
        @sync_mode("threadpool")
        def report(): ...
    """
    if mode not in SYNC_MODES:
        raise ValueError(f"sync_mode must be one of {', '.join(SYNC_MODES)}, not {mode!r}")

    def decorate(func: F) -> F:
        func.__fastrapi_sync_mode__ = mode  # type: ignore[attr-defined]
        return func

    return decorate


def policy_for(func: Any) -> SyncPolicy:
    """The policy of one sync callable in this worker (what "auto" has learnt of it)."""
    entry = _policies.get(id(func))
    if entry is None or entry[0] is not func:
        entry = (func, SyncPolicy(getattr(func, "__fastrapi_sync_mode__", default_mode)))
        _policies[id(func)] = entry
    return entry[1]


async def call_sync(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Calls a sync callable inline or in the pool, as its policy says."""
    policy = policy_for(func)
    if policy.offload:
        return await policy.pooled(func, *args, **kwargs)  # type: ignore[no-any-return]
    return policy.inline(func, *args, **kwargs)  # type: ignore[no-any-return]


async def enter_sync_context(stack: contextlib.AsyncExitStack, func: Any, cm: Any) -> Any:
    """Enters a ``yield`` dependency's context manager: in the pool (enter and exit) when its
    function blocks, else inline with the enter timed."""
    policy = policy_for(func)
    if policy.offload:
        return await stack.enter_async_context(contextmanager_in_threadpool(cm))
    return policy.inline(stack.enter_context, cm)


async def configure(threadpool_size: int) -> None:
    """Sets this worker's pool size (AnyIO's default limiter belongs to the running loop)."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = threadpool_size
