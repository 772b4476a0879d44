"""What `fastrapi.testclient` observes of its private worker, keyed by the worker's thread.

A test client runs the app on a worker thread of the test process. While it does, the app
reports to that worker's observer: unhandled exceptions (so the client can re-raise them, as
Starlette's TestClient does; WebSocket endpoints' too), background tasks still to finish (so the
client returns only once they ran, as in Starlette), the close code and reason of a WebSocket the
app closed before accepting it (the wire only carries a 403; Starlette's client raises
``WebSocketDisconnect(code, reason)``), and the ``client``/``root_path`` the test asked the app to see.
When no test client runs, ``observers`` is empty and every check here is one dict truth test.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

observers: dict[int, WorkerObserver] = {}


class WorkerObserver:
    def __init__(self, client: tuple[str, int] | None = None, root_path: str = "") -> None:
        self.client = client
        self.root_path = root_path
        self._cond = threading.Condition()
        self._exceptions: list[BaseException] = []
        self._background: dict[int, Any] = {}
        self._websocket_refusal: tuple[int, str] | None = None

    # -- called on the worker thread ------------------------------------------------------
    def server_exception(self, exc: BaseException) -> None:
        _release_frames(exc)
        with self._cond:
            self._exceptions.append(exc)

    def background_expected(self, task: Any) -> None:
        with self._cond:
            self._background[id(task)] = task

    def background_done(self, task: Any) -> None:
        with self._cond:
            if self._background.pop(id(task), None) is not None:
                self._cond.notify_all()

    def websocket_refused(self, code: int, reason: str) -> None:
        with self._cond:
            self._websocket_refusal = (code, reason)

    # -- called by the test client --------------------------------------------------------
    def wait_background(self, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: not self._background, timeout):
                self._background.clear()  # never started (its response was not written): stop waiting

    def take_exception(self) -> BaseException | None:
        with self._cond:
            exceptions, self._exceptions = self._exceptions, []
        return exceptions[0] if exceptions else None

    def take_websocket_refusal(self) -> tuple[int, str] | None:
        with self._cond:
            refusal, self._websocket_refusal = self._websocket_refusal, None
        return refusal


def _release_frames(exc: BaseException) -> None:
    """Clears the locals of the finished frames an exception (and those it chains) went through, here
    on the worker thread: they hold the runtime's per-request objects (ASGI ``send``), which must not
    be dropped on the test's thread, where the client re-raises the exception."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current_exc = pending.pop()
        if current_exc is None or id(current_exc) in seen:
            continue
        seen.add(id(current_exc))
        traceback.clear_frames(current_exc.__traceback__)  # leaves frames still running alone
        pending += [current_exc.__cause__, current_exc.__context__]
        pending += getattr(current_exc, "exceptions", ())  # an ExceptionGroup's


def current() -> WorkerObserver | None:
    """The observer of the worker running on this thread, if a test client started it."""
    if not observers:
        return None
    return observers.get(threading.get_ident())


def server_exception(exc: BaseException) -> None:
    if observers:
        observer = observers.get(threading.get_ident())
        if observer is not None:
            observer.server_exception(exc)


def background_expected(task: Any) -> None:
    if observers:
        observer = observers.get(threading.get_ident())
        if observer is not None:
            observer.background_expected(task)


def background_done(task: Any) -> None:
    if observers:
        observer = observers.get(threading.get_ident())
        if observer is not None:
            observer.background_done(task)


def websocket_refused(code: int, reason: str) -> None:
    """The app closed a WebSocket before accepting it (the server answers the handshake with 403)."""
    if observers:
        observer = observers.get(threading.get_ident())
        if observer is not None:
            observer.websocket_refused(code, reason)
