"""What `fastrapi.testclient` observes of its private worker, keyed by the worker's thread.

A test client runs the app on a worker thread of the test process. While it does, the app
reports to that worker's observer: unhandled exceptions (so the client can re-raise them, as
Starlette's TestClient does), background tasks still to finish (so the client returns only once
they ran, as in Starlette), and the ``client``/``root_path`` the test asked the app to see.
When no test client runs, ``observers`` is empty and every check here is one dict truth test.
"""

from __future__ import annotations

import threading
from typing import Any

observers: dict[int, WorkerObserver] = {}


class WorkerObserver:
    def __init__(self, client: tuple[str, int] | None = None, root_path: str = "") -> None:
        self.client = client
        self.root_path = root_path
        self._cond = threading.Condition()
        self._exceptions: list[BaseException] = []
        self._background: dict[int, Any] = {}

    # -- called on the worker thread ------------------------------------------------------
    def server_exception(self, exc: BaseException) -> None:
        with self._cond:
            self._exceptions.append(exc)

    def background_expected(self, task: Any) -> None:
        with self._cond:
            self._background[id(task)] = task

    def background_done(self, task: Any) -> None:
        with self._cond:
            if self._background.pop(id(task), None) is not None:
                self._cond.notify_all()

    # -- called by the test client --------------------------------------------------------
    def wait_background(self, timeout: float) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: not self._background, timeout):
                self._background.clear()  # never started (its response was not written): stop waiting

    def take_exception(self) -> BaseException | None:
        with self._cond:
            exceptions, self._exceptions = self._exceptions, []
        return exceptions[0] if exceptions else None


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


def response_ready(response: Any) -> None:
    """A response is about to be handed to the server: expect its background task to run."""
    if observers:
        background = getattr(response, "background", None)
        observer = observers.get(threading.get_ident())
        if background is not None and observer is not None:
            observer.background_expected(background)


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
