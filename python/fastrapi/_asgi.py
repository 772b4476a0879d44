"""The ASGI bridge: a mounted ASGI application (Starlette, a raw ``async def app(scope, receive,
send)``, ...) served from a fastrapi worker.

Each request becomes an HTTP scope built from the raw request (``path`` is the full path and
``root_path`` the mount prefix, as Starlette's ``Mount`` passes them). The application runs as a
task on the worker's event loop; its ``http.response.start`` and ``http.response.body``
messages become a fastrapi ``Response`` (or a ``StreamingResponse`` once a body message says
``more_body``, sent as produced, with back-pressure). Whatever the application still does after
its last body message (Starlette runs background tasks there) runs after the response is sent.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastrapi import _testing
from fastrapi.responses import Response, StreamingResponse

error_logger = logging.getLogger("fastrapi.error")

_ASGI = {"version": "3.0", "spec_version": "2.4"}
# Lifespan tasks of wrapped ASGI apps: they outlive the worker until the shutdown has run.
lifespan_tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
_BODY_CHUNK = 65536


def _status_allows_body(status: int) -> bool:
    return not (status < 200 or status in (204, 304))


class _Channel:
    """Body chunks from the application to the server, one at a time (back-pressure)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: collections.deque[bytes] = collections.deque()
        self._closed = False
        self._error: BaseException | None = None
        self._gone = False
        self._wakeup: asyncio.Future[None] | None = None
        self._space: asyncio.Future[None] | None = None

    def _wake(self, attr: str) -> None:
        future = getattr(self, attr)
        if future is not None and not future.done():
            future.set_result(None)
        setattr(self, attr, None)

    async def put(self, chunk: bytes) -> None:
        if self._gone:
            raise OSError("the client is gone")
        self._items.append(chunk)
        self._wake("_wakeup")
        while self._items and not self._gone:
            self._space = self._loop.create_future()
            await self._space
        if self._gone and self._items:
            raise OSError("the client is gone")

    def close(self, error: BaseException | None = None) -> None:
        if not self._closed:
            self._closed = True
            self._error = error
            self._wake("_wakeup")

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            while True:
                if self._items:
                    chunk = self._items.popleft()
                    self._wake("_space")
                    if chunk:
                        yield chunk
                    continue
                if self._closed:
                    if self._error is not None:
                        raise self._error
                    return
                self._wakeup = self._loop.create_future()
                await self._wakeup
        finally:
            self._gone = True
            self._wake("_space")


class _AppTask:
    """The application's task, awaited as the response's background work."""

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task

    async def __call__(self) -> None:
        try:
            await self.task
        except Exception as exc:
            _report(exc)


def _report(exc: BaseException) -> None:
    error_logger.error("Exception in ASGI application", exc_info=exc)
    _testing.server_exception(exc)


class _MountRouter:
    """``scope["router"]`` for the mounted app: ``request.url_for`` finds its routes under the
    prefix (as through Starlette's outer router and ``Mount``), then the outer app's."""

    def __init__(self, app: Any, prefix: str, name: str | None, parent: Any) -> None:
        self.app = app
        self.prefix = prefix
        self.name = name
        self.parent = parent

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        inner = getattr(self.app, "url_path_for", None)
        error: Exception = LookupError(f"no route named {name!r}")
        if inner is not None and (self.name is None or name.startswith(self.name + ":")):
            remaining = name if self.name is None else name[len(self.name) + 1 :]
            try:
                url = inner(remaining, **path_params)
            except Exception as exc:
                error = exc  # Starlette's NoMatchFound
            else:
                return type(url)(path=self.prefix + str(url), protocol=getattr(url, "protocol", "http"))
        outer = getattr(self.parent, "url_path_for", None)
        if outer is None:
            raise error
        return outer(name, **path_params)


class ASGIBridge:
    """Runs ``app`` for requests under the mount ``prefix``."""

    def __init__(self, app: Any, prefix: str, name: str | None = None, parent: Any = None) -> None:
        self.app = app
        self.prefix = prefix
        self.router = _MountRouter(app, prefix, name, parent)

    def scope(self, request: Any) -> dict[str, Any]:
        base = request.scope
        root_path = base["root_path"]
        app_state = getattr(getattr(request.app, "state", None), "_state", None)
        return {
            "type": "http",
            "asgi": dict(_ASGI),
            "http_version": base["http_version"],
            "method": base["method"],
            "scheme": base["scheme"],
            "path": base["path"],
            "raw_path": base["raw_path"],
            "query_string": base["query_string"],
            "root_path": root_path + self.prefix,
            "app_root_path": root_path,
            "headers": base["headers"],
            "client": base["client"],
            "server": base["server"],
            "path_params": {},
            "router": self.router,
            "state": dict(app_state or {}),
            "extensions": {},
        }

    async def __call__(self, request: Any) -> Response:
        loop = asyncio.get_running_loop()
        scope = self.scope(request)
        source = request.body_source
        size = len(source) if isinstance(source, bytes) else os.fstat(source.fileno()).st_size
        request_done = False
        response_complete = asyncio.Event()
        head: asyncio.Future[Response] = loop.create_future()
        status = 0
        headers: list[tuple[bytes, bytes]] = []
        channel: _Channel | None = None
        # The server sends no body for these, so nothing would read a stream: keep it whole.
        no_body = scope["method"] == "HEAD"

        async def receive() -> dict[str, Any]:
            nonlocal request_done
            if not request_done:
                if isinstance(source, bytes):
                    request_done = True
                    return {"type": "http.request", "body": source, "more_body": False}
                chunk = source.read(_BODY_CHUNK)
                more = source.tell() < size
                request_done = not more
                return {"type": "http.request", "body": chunk, "more_body": more}
            await response_complete.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, headers, channel
            kind = message["type"]
            if kind == "http.response.start":
                if status:
                    raise RuntimeError('Received multiple "http.response.start" messages.')
                status = int(message["status"])
                headers = [(bytes(name).lower(), bytes(value)) for name, value in message.get("headers", [])]
                headers = [h for h in headers if h[0] != b"transfer-encoding"]
            elif kind == "http.response.body":
                if not status:
                    raise RuntimeError('Received "http.response.body" without "http.response.start".')
                if response_complete.is_set():
                    raise RuntimeError('Received "http.response.body" after the response completed.')
                body = bytes(message.get("body", b""))
                more = bool(message.get("more_body", False))
                if no_body or not _status_allows_body(status):
                    if not head.done():
                        head.set_result(self._full_response(status, headers, b"" if no_body else body, no_body))
                    if not more:
                        response_complete.set()
                    return
                if channel is None and not more:
                    response_complete.set()
                    head.set_result(self._full_response(status, headers, body))
                    return
                if channel is None:
                    channel = _Channel(loop)
                    streaming = StreamingResponse(channel.chunks(), status_code=status)
                    streaming.raw_headers = headers
                    if not head.done():
                        head.set_result(streaming)
                await channel.put(body)
                if not more:
                    channel.close()
                    response_complete.set()
            # Other messages (debug, trailers) are not part of what the server sends.

        task = loop.create_task(self.app(scope, receive, send))

        def finished(task: asyncio.Task[Any]) -> None:
            error: BaseException | None = asyncio.CancelledError() if task.cancelled() else task.exception()
            if not head.done():
                head.set_exception(error or RuntimeError("the ASGI application returned without a complete response"))
            elif channel is not None:
                channel.close(error or (None if response_complete.is_set() else RuntimeError("incomplete body")))
            response_complete.set()

        task.add_done_callback(finished)
        try:
            response = await asyncio.shield(head)
        except asyncio.CancelledError:
            task.cancel()
            raise
        if task.done():
            if not task.cancelled() and (error := task.exception()) is not None:
                _report(error)  # raised after its response started (Starlette's error middleware re-raises)
        else:
            response.background = _AppTask(task)
        return response

    @staticmethod
    def _full_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes, head: bool = False) -> Response:
        response = Response(status_code=status)
        response.body = body
        needs_length = _status_allows_body(status) and not head
        if needs_length and not any(name == b"content-length" for name, _ in headers):
            headers.append((b"content-length", str(len(body)).encode("latin-1")))
        response.raw_headers = headers
        return response


async def websocket_session(app: Any, scope: dict[str, Any], channel: Any) -> None:
    """Runs an ASGI app's WebSocket session over the server's channel: ``websocket.connect``
    first, then the frames the server received; the app's messages become accept, frames, close
    or an HTTP denial (the ``websocket.http.response`` extension)."""
    connected = False

    async def receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        message = channel.receive()
        return message if isinstance(message, dict) else await message  # type: ignore[no-any-return]

    async def send(message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.send":
            data = message.get("bytes")
            full = channel.send_bytes(data) if data is not None else channel.send_text(message["text"])
            if full:
                await channel.drained()
        elif kind == "websocket.accept":
            channel.accept(message.get("subprotocol"), [(bytes(n), bytes(v)) for n, v in message.get("headers", [])])
        elif kind == "websocket.close":
            channel.close(message.get("code", 1000), message.get("reason") or "")
        elif kind == "websocket.http.response.start":
            channel.respond(message["status"], [(bytes(n), bytes(v)) for n, v in message.get("headers", [])])
        elif kind == "websocket.http.response.body":
            channel.respond_body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message '{kind}' on a WebSocket.")

    await app(scope, receive, send)


class _NoNativeRoutes:
    """The hooks of a core that has no native route: a plain ASGI app serves every request."""

    response_class = type("NoResponse", (), {})
    expect_background = None
    routing_error = None

    @staticmethod
    def _unused(*args: Any) -> Any:
        raise RuntimeError("no native route is served by this app")

    handle_exception = validation_error = jsonable_encoder = run_background = _unused


NO_NATIVE_ROUTES = _NoNativeRoutes()


def lifespan_of(app: Any) -> Callable[[Any], Any]:
    """A fastrapi ``lifespan`` that drives ``app``'s ASGI lifespan protocol (for TestClient on a
    plain ASGI app). An app that does not speak it is run without one, as uvicorn's "auto"."""
    import contextlib

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        from_app: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        state: dict[str, Any] = {}

        async def run() -> None:
            try:
                await app({"type": "lifespan", "asgi": dict(_ASGI), "state": state}, to_app.get, from_app.put)
            finally:
                await from_app.put(None)

        task = loop.create_task(run())
        lifespan_tasks.add(task)
        await to_app.put({"type": "lifespan.startup"})
        message = await from_app.get()
        if message is None:  # the app does not support lifespan
            with contextlib.suppress(Exception):
                task.result()
            yield state
            return
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(message.get("message") or "ASGI lifespan startup failed")
        yield state
        await to_app.put({"type": "lifespan.shutdown"})
        message = await from_app.get()
        if message is not None and message["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(message.get("message") or "ASGI lifespan shutdown failed")
        await task

    return lifespan
