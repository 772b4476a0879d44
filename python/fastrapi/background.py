"""Background tasks: run after the response has been sent, in order."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any


class BackgroundTask:
    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.func = func
        self.args = args
        self.kwargs = kwargs
        self.is_async = inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
            getattr(type(func), "__call__", None)  # noqa: B004 - an async callable instance
        )

    async def __call__(self) -> None:
        if self.is_async:
            await self.func(*self.args, **self.kwargs)
        else:
            # As Starlette does: a sync task runs in the thread pool, never on the core's thread.
            from fastrapi.concurrency import run_in_threadpool

            result = await run_in_threadpool(self.func, *self.args, **self.kwargs)
            if inspect.isawaitable(result):
                await result


class BackgroundTasks(BackgroundTask):
    """A list of tasks; FastAPI injects one per request when an endpoint asks for it."""

    def __init__(self, tasks: list[BackgroundTask] | None = None) -> None:
        self.tasks = list(tasks) if tasks else []

    def add_task(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.tasks.append(BackgroundTask(func, *args, **kwargs))

    async def __call__(self) -> None:
        for task in self.tasks:
            await task()
