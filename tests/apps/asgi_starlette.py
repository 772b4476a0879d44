"""A plain Starlette app (no fastrapi import at all), served unchanged by uvicorn and by fastrapi's
ASGI path: routing, lifespan state, streamed bodies both ways, files, errors, middleware,
WebSockets, and a bare ASGI callable mounted inside."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

# The same files, with the same modification time, for every server: the same ETag.
FILES = os.path.join(tempfile.gettempdir(), f"fastrapi-asgi-files-{os.getuid()}")
os.makedirs(FILES, exist_ok=True)
SMALL = os.path.join(FILES, "small.txt")
LARGE = os.path.join(FILES, "large.bin")
for path, content in ((SMALL, b"small file\n"), (LARGE, bytes(range(256)) * 1024)):  # 256 KiB: several chunks
    with open(path, "wb") as f:
        f.write(content)
    os.utime(path, (1_700_000_000, 1_700_000_000))


class RawEndpoint:
    """A plain ASGI callable as a route endpoint (Starlette calls non-functions as ASGI apps)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
    yield {"greeting": "hello from the lifespan"}


async def home(request: Request) -> Response:
    return JSONResponse({"path": request.url.path, "root_path": request.scope.get("root_path")})


async def item(request: Request) -> Response:
    value = request.path_params["id"]
    return JSONResponse({"id": value, "type": type(value).__name__})


async def converters(request: Request) -> Response:
    return JSONResponse({k: str(v) for k, v in request.path_params.items()})


async def url_for(request: Request) -> Response:
    return PlainTextResponse(str(request.url_for("item", id=3)))


async def state(request: Request) -> Response:
    return PlainTextResponse(request.state.greeting)


async def echo(request: Request) -> Response:
    body = await request.body()
    return Response(body, media_type=request.headers.get("content-type", "application/octet-stream"))


async def stream_in(request: Request) -> Response:
    digest = hashlib.sha256()
    size = 0
    async for chunk in request.stream():
        digest.update(chunk)
        size += len(chunk)
    return JSONResponse({"bytes": size, "sha256": digest.hexdigest()})


async def stream_out(request: Request) -> Response:
    async def numbers() -> AsyncIterator[str]:
        for i in range(5):
            yield f"line {i}\n"

    return StreamingResponse(numbers(), media_type="text/plain")


def sync_stream_out(request: Request) -> Response:
    return StreamingResponse(iter([b"a", b"b", b"c"]), media_type="application/octet-stream")


async def small_file(request: Request) -> Response:
    return FileResponse(SMALL)


async def large_file(request: Request) -> Response:
    return FileResponse(LARGE, filename="large.bin")


async def raise_before(request: Request) -> Response:
    raise RuntimeError("failed before the response started")


async def raise_after(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})
    raise RuntimeError("failed after the response started")


async def teapot(request: Request) -> Response:
    raise HTTPException(status_code=418, detail="short and stout")


async def counter(request: Request) -> Response:
    request.session["count"] = request.session.get("count", 0) + 1
    return JSONResponse({"count": request.session["count"]})


async def big_text(request: Request) -> Response:
    return PlainTextResponse("compress me " * 500)


async def large_text(request: Request) -> Response:
    # Above the server's 64 KiB send high-water mark in one final message; its background must run.
    return PlainTextResponse("x" * 100_000, background=BackgroundTask(EVENTS.append, "large background ran"))


async def no_length(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 201, "headers": [(b"x-kind", b"raw")]})
    await send({"type": "http.response.body", "body": b"no content-length given"})


async def bare(scope: Any, receive: Any, send: Any) -> None:
    """A bare ASGI callable (mounted at /bare)."""
    assert scope["type"] == "http"
    text = f"{scope['method']} {scope['path']} {scope['root_path']} {scope['query_string'].decode()}"
    headers = [(b"content-length", str(len(text)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": text.encode()})


async def ws_echo(websocket: WebSocket) -> None:
    await websocket.accept(subprotocol=(websocket.scope["subprotocols"] or [None])[0])
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text("echo: " + message["text"])
            else:
                await websocket.send_bytes(message["bytes"][::-1])
    except WebSocketDisconnect:
        return


async def ws_close(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("bye")
    await websocket.close(code=4001, reason="done here")


async def ws_deny(websocket: WebSocket) -> None:
    await websocket.send_denial_response(PlainTextResponse("not allowed", status_code=403))


async def ws_reject(websocket: WebSocket) -> None:
    await websocket.close(code=1008)


app = Starlette(
    routes=[
        Route("/", home),
        Route("/items/{id:int}", item, name="item"),
        Route("/conv/{x:float}/{rest:path}", converters),
        Route("/url-for", url_for),
        Route("/state", state),
        Route("/echo", echo, methods=["POST", "PUT"]),
        Route("/stream-in", stream_in, methods=["POST"]),
        Route("/stream-out", stream_out),
        Route("/sync-stream-out", sync_stream_out),
        Route("/small-file", small_file),
        Route("/large-file", large_file),
        Route("/raise-before", raise_before),
        Route("/raise-after", RawEndpoint(raise_after)),
        Route("/teapot", teapot),
        Route("/counter", counter),
        Route("/big-text", big_text),
        Route("/large-text", large_text),
        Route("/no-length", RawEndpoint(no_length)),
        Mount("/bare", app=bare),
        WebSocketRoute("/ws", ws_echo),
        WebSocketRoute("/ws-close", ws_close),
        WebSocketRoute("/ws-deny", ws_deny),
        WebSocketRoute("/ws-reject", ws_reject),
    ],
    middleware=[
        Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"]),
        Middleware(CORSMiddleware, allow_origins=["https://allowed.example"], allow_methods=["GET", "POST"]),
        Middleware(SessionMiddleware, secret_key="not-a-secret"),
        Middleware(GZipMiddleware, minimum_size=500),
    ],
    lifespan=lifespan,
)


# -- client disconnects, observed from a second request --------------------------------------
EVENTS: list[str] = []


async def stream_forever(request: Request) -> Response:
    async def forever() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"x" * 1024
                await asyncio.sleep(0.001)
        finally:
            EVENTS.append("stream stopped")

    return StreamingResponse(forever())


async def wait_disconnect(request: Request) -> Response:
    while not await request.is_disconnected():
        await asyncio.sleep(0.01)
    EVENTS.append("disconnect seen")
    return PlainTextResponse("gone")


async def events(request: Request) -> Response:
    return JSONResponse(EVENTS)


app.router.routes.extend(
    [Route("/stream-forever", stream_forever), Route("/wait-disconnect", wait_disconnect), Route("/events", events)]
)


def create_app() -> Starlette:
    """For `fastrapi run ... --factory`."""
    return Starlette(routes=[Route("/", home)])
