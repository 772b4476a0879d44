"""``async def`` endpoints that call a second local server (``UPSTREAM_URL``) with one shared
``httpx.AsyncClient``, made in the lifespan. Runs under FastAPI and fastrapi (APP_FRAMEWORK)."""

import asyncio
import importlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, HTTPException, Query, Body = fw.FastAPI, fw.HTTPException, fw.Query, fw.Body
Request = importlib.import_module(f"{fw.__name__}.requests").Request
JSONResponse = importlib.import_module(f"{fw.__name__}.responses").JSONResponse

UPSTREAM_URL = os.environ.get("UPSTREAM_URL", "http://127.0.0.1:1")
NOTHING_LISTENS = "http://127.0.0.1:1"  # a loopback port no test server uses: the connection is refused


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    async with httpx.AsyncClient(base_url=UPSTREAM_URL, timeout=10) as client:
        app.state.upstream = client
        yield


app = FastAPI(lifespan=lifespan)


@app.exception_handler(httpx.TransportError)
async def upstream_unreachable(request: Request, exc: httpx.TransportError) -> Any:
    return JSONResponse(status_code=502, content={"detail": f"Upstream unreachable: {type(exc).__name__}"})


async def fetch_user(client: httpx.AsyncClient, user_id: int) -> dict[str, Any] | None:
    response = await client.get(f"/users/{user_id}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return {**response.json(), "request_id": response.headers.get("x-request-id")}


@app.get("/users/{user_id}")
async def read_user(user_id: int, request: Request) -> dict[str, Any]:
    user = await fetch_user(request.app.state.upstream, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found upstream")
    return user


@app.get("/users")
async def read_users(request: Request, ids: Annotated[list[int], Query()]) -> list[dict[str, Any]]:
    """The users among ``ids`` that exist, fetched concurrently."""
    users = await asyncio.gather(*(fetch_user(request.app.state.upstream, i) for i in ids))
    return [user for user in users if user is not None]


@app.post("/echo")
async def echo(request: Request, payload: Annotated[dict[str, Any], Body()]) -> Any:
    response = await request.app.state.upstream.post("/echo", json=payload, headers={"x-forwarded": "yes"})
    return {"status": response.status_code, "upstream": response.json()}


@app.get("/unreachable")
async def unreachable() -> Any:
    async with httpx.AsyncClient(base_url=NOTHING_LISTENS, timeout=5) as client:
        return (await client.get("/")).json()
