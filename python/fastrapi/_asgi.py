"""The Python side of the ASGI path: the lifespan protocol run on a worker's loop, and WebSocket
sessions of ASGI apps over the server's WebSocket channel. (Scopes, ``receive`` and ``send`` of
HTTP requests are built in Rust: ``src/asgi``.)"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastrapi import _testing

_ASGI = {"version": "3.0", "spec_version": "2.0"}
# Lifespan tasks: they outlive the worker's requests until the shutdown has run.
lifespan_tasks: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()


async def websocket_session(app: Any, scope: dict[str, Any], channel: Any) -> None:
    """Runs an ASGI app's WebSocket session over the server's channel: ``websocket.connect``
    first, then the frames the server received; the app's messages become accept, frames, close
    or an HTTP denial (the ``websocket.http.response`` extension). What the app raises is also
    handed to a test client (Starlette's raises it when the session ends)."""
    # The channel belongs to this worker thread and must be dropped on it: the session's frames and
    # exceptions may outlive it in reference cycles, which the garbage collector frees on any thread
    # (a test client re-raises the exception on the test's). So only `held` refers to it.
    held = [channel]
    del channel
    receive, send = _channel_callables(held)
    try:
        await app(scope, receive, send)
    except BaseException as exc:
        _testing.server_exception(exc)
        raise
    finally:
        held.clear()


def _channel_callables(held: list[Any]) -> tuple[Callable[[], Any], Callable[[dict[str, Any]], Any]]:
    """The session's ``receive`` and ``send`` over the server's channel (``held[0]``)."""
    connected = accepted = False

    async def receive() -> dict[str, Any]:
        nonlocal connected
        if not connected:
            connected = True
            return {"type": "websocket.connect"}
        message = held[0].receive()
        return message if isinstance(message, dict) else await message  # type: ignore[no-any-return]

    async def send(message: dict[str, Any]) -> None:
        nonlocal accepted
        kind = message["type"]
        if kind == "websocket.send":
            data = message.get("bytes")
            full = held[0].send_bytes(data) if data is not None else held[0].send_text(message["text"])
            if full:
                await held[0].drained()
        elif kind == "websocket.accept":
            accepted = True
            held[0].accept(message.get("subprotocol"), [(bytes(n), bytes(v)) for n, v in message.get("headers", [])])
        elif kind == "websocket.close":
            # FastAPI closes a handshake that failed validation with the errors list as reason.
            reason = message.get("reason")
            code, reason = message.get("code", 1000), reason if isinstance(reason, str) else ""
            if not accepted:  # the handshake gets a 403: a test client still reports the code and reason
                _testing.websocket_refused(code, reason)
            held[0].close(code, reason)
        elif kind == "websocket.http.response.start":
            held[0].respond(message["status"], [(bytes(n), bytes(v)) for n, v in message.get("headers", [])])
        elif kind == "websocket.http.response.body":
            held[0].respond_body(message.get("body", b""), message.get("more_body", False))
        else:
            raise RuntimeError(f"Unexpected ASGI message '{kind}' on a WebSocket.")

    return receive, send


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
                # No coroutine here: a task the worker abandons at its stop is closed in this
                # `finally`, where an awaited put would be "never awaited" (a warning in a finaliser).
                from_app.put_nowait(None)

        task = loop.create_task(run())
        lifespan_tasks.add(task)
        to_app.put_nowait({"type": "lifespan.startup"})
        message = await from_app.get()
        if message is None:  # the app does not support lifespan
            with contextlib.suppress(Exception):
                task.result()
            yield state
            return
        if message["type"] == "lifespan.startup.failed":
            raise RuntimeError(message.get("message") or "ASGI lifespan startup failed")
        yield state
        to_app.put_nowait({"type": "lifespan.shutdown"})
        message = await from_app.get()
        if message is not None and message["type"] == "lifespan.shutdown.failed":
            raise RuntimeError(message.get("message") or "ASGI lifespan shutdown failed")
        await task

    return lifespan
