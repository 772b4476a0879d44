"""Running blocking code off the worker thread: ``await run_in_threadpool(func, *args)``.

``def`` endpoints run inline on the worker; a slow blocking call inside an ``async def``
endpoint can be moved to a thread with these helpers so the worker keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


async def run_in_threadpool(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))


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
