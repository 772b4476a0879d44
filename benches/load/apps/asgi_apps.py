"""ASGI apps for the ASGI-path benchmark, served unchanged by fastrapi, uvicorn and Granian.

``bare``: a bare ASGI callable answering ``{"Hello":"World"}``; ``starlette``: the same answer
from a Starlette ``JSONResponse`` route (routing, Request, Response objects)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BODY = b'{"Hello":"World"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def bare(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


async def hello(request: Request) -> JSONResponse:
    return JSONResponse({"Hello": "World"})


starlette = Starlette(routes=[Route("/hello", hello)])


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """One app for both endpoints (one server start): `/bare` is the bare callable's."""
    if scope.get("path") == "/bare":
        await bare(scope, receive, send)
    else:
        await starlette(scope, receive, send)
