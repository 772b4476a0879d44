"""The per-core asyncio event loop, stepped by the Rust worker instead of ``run_forever``.

The worker thread marks this loop as running for its whole life, so endpoints see it from
``asyncio.get_running_loop()``. Rust calls :meth:`CoreLoop.fastrapi_step` whenever the loop's
epoll fd is readable, a timer is due or a task was started; the selector never blocks while the
loop is in that mode (the worker's monoio reactor does the waiting).
"""

from __future__ import annotations

import asyncio
import selectors
import sys
import threading
from asyncio import events
from collections.abc import Coroutine
from typing import Any

_EAGER_TASKS = sys.version_info >= (3, 12)


class _StepSelector(selectors.EpollSelector):
    nonblocking = False

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        return super().select(0 if self.nonblocking else timeout)


class CoreLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._fastrapi_selector = _StepSelector()
        super().__init__(self._fastrapi_selector)
        self._fastrapi_old_hooks: Any = None
        # Set just before a task is made on Python 3.11: its first step runs at once (see call_soon).
        self._fastrapi_eager = False

    def call_soon(self, callback: Any, *args: Any, context: Any = None) -> Any:  # type: ignore[override]
        if self._fastrapi_eager:
            # The first step of the task being created by `fastrapi_spawn`: run it now, as
            # Python 3.12's eager tasks do, instead of a round trip through the ready queue.
            self._fastrapi_eager = False
            context.run(callback, *args)
            return None
        if self._debug:  # type: ignore[attr-defined]
            return super().call_soon(callback, *args, context=context)
        self._check_closed()  # type: ignore[attr-defined]
        return self._call_soon(callback, args, context)  # type: ignore[attr-defined]

    # -- entering and leaving worker mode -------------------------------------------------
    def fastrapi_enter(self) -> None:
        """Mark the loop as running on this thread (what ``run_forever`` does before looping)."""
        self._check_closed()  # type: ignore[attr-defined]
        if self.is_running():
            raise RuntimeError("This event loop is already running")
        self._fastrapi_selector.nonblocking = True
        self._thread_id = threading.get_ident()  # type: ignore[attr-defined]
        self._fastrapi_old_hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook,  # type: ignore[attr-defined]
            finalizer=self._asyncgen_finalizer_hook,  # type: ignore[attr-defined]
        )
        events._set_running_loop(self)

    def fastrapi_exit(self) -> None:
        self._fastrapi_selector.nonblocking = False
        self._thread_id = None  # type: ignore[attr-defined,assignment]
        events._set_running_loop(None)
        if self._fastrapi_old_hooks is not None:
            sys.set_asyncgen_hooks(*self._fastrapi_old_hooks)
            self._fastrapi_old_hooks = None

    # -- called by the Rust worker ----------------------------------------------------------
    def fastrapi_fd(self) -> int:
        return self._fastrapi_selector.fileno()

    def fastrapi_step(self, poll_io: bool = True) -> float | None:
        """Run what is ready; return seconds until the next timer (0.0: more is ready now).

        ``poll_io=False`` (the worker was woken by Rust resolving a future, not by the loop's fd)
        runs the ready callbacks without asking epoll, which would cost a system call per step,
        unless a timer is due.
        """
        scheduled = self._scheduled  # type: ignore[attr-defined]
        if poll_io or (scheduled and scheduled[0]._when <= self.time()):
            self._run_once()  # type: ignore[attr-defined]
        else:
            ready = self._ready  # type: ignore[attr-defined]
            for _ in range(len(ready)):
                handle = ready.popleft()
                if not handle._cancelled:
                    handle._run()
        if self._ready:  # type: ignore[attr-defined]
            return 0.0
        scheduled = self._scheduled  # type: ignore[attr-defined]
        if scheduled:
            return max(0.0, scheduled[0]._when - self.time())
        return None

    def fastrapi_spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Start a coroutine as a task, running it now up to its first suspension (the Rust
        bridge does the same without this Python frame)."""
        if _EAGER_TASKS:
            return asyncio.Task(coro, loop=self, eager_start=True)  # type: ignore[call-arg]
        self._fastrapi_eager = True
        try:
            return asyncio.Task(coro, loop=self)
        finally:
            self._fastrapi_eager = False

    def run_until_complete(self, future: Any) -> Any:
        if self._fastrapi_selector.nonblocking:
            raise RuntimeError(
                "asyncio.run()/run_until_complete() cannot be used inside a fastrapi worker: "
                "make the endpoint `async def` and await instead"
            )
        return super().run_until_complete(future)
