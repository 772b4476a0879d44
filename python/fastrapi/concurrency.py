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
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar

import anyio.to_thread

from fastrapi._fastrapi import SyncPolicy

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

SYNC_MODES = ("auto", "inline", "threadpool")
# The app-wide mode of this worker (set by `serve`); a callable's own `sync_mode` wins.
default_mode = "auto"
_policies: dict[int, tuple[Any, SyncPolicy]] = {}


async def run_in_threadpool(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await anyio.to_thread.run_sync(functools.partial(func, *args, **kwargs))


class _StopIteration(Exception):
    pass


def _next(iterator: Iterator[T]) -> T:
    try:
        return next(iterator)
    except StopIteration:
        raise _StopIteration from None


async def iterate_in_threadpool(iterator: Iterable[T]) -> AsyncIterator[T]:
    as_iterator = iter(iterator)
    while True:
        try:
            yield await run_in_threadpool(_next, as_iterator)
        except _StopIteration:
            break


@contextlib.asynccontextmanager
async def contextmanager_in_threadpool(cm: Any) -> AsyncIterator[Any]:
    value = await run_in_threadpool(cm.__enter__)
    try:
        yield value
    except Exception as exc:
        ok = bool(await run_in_threadpool(cm.__exit__, type(exc), exc, exc.__traceback__))
        if not ok:
            raise
    else:
        await run_in_threadpool(cm.__exit__, None, None, None)


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
