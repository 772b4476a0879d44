"""Generator endpoints (FastAPI 0.165 streams them as JSON Lines), under FastAPI and fastrapi."""

import importlib
import os
from collections.abc import AsyncIterable, Iterable

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")

app = fw.FastAPI()


class Item(BaseModel):
    name: str
    price: float
    note: str | None = None


@app.get("/plain")
def plain():
    for i in range(3):
        yield {"i": i, "nan": float("nan"), "text": "ü"}


@app.get("/async-plain")
async def async_plain():
    for i in range(3):
        yield [i, "x"]


@app.get("/typed")
async def typed() -> AsyncIterable[Item]:
    yield Item(name="a", price=1)
    yield {"name": "b", "price": "2.5", "extra": "dropped"}


@app.get("/typed-sync", response_model_exclude_none=True, status_code=201)
def typed_sync(limit: int = 2) -> Iterable[Item]:
    for i in range(limit):
        yield Item(name=f"n{i}", price=i)


@app.get("/invalid-item")
async def invalid_item() -> AsyncIterable[Item]:
    yield {"name": "ok", "price": 1}
    yield {"name": "bad"}


@app.get("/raw", response_class=responses.StreamingResponse)
async def raw():
    yield b"raw "
    yield b"bytes"


@app.get("/with-dep")
def with_dep(q: str = fw.Query("d")):
    yield {"q": q}


sse = importlib.import_module(f"{fw.__name__}.sse")
EventSourceResponse, ServerSentEvent = sse.EventSourceResponse, sse.ServerSentEvent
# FastAPI reads its keep-alive interval from its routing module (also under fastrapi).
importlib.import_module("fastapi.routing")._PING_INTERVAL = 0.2


@app.get("/events", response_class=EventSourceResponse)
async def events():
    yield {"n": 1, "nan": float("inf")}
    yield "plain text"
    yield ServerSentEvent(data={"a": [1, 2]}, event="update", id="7", retry=1500)
    yield ServerSentEvent(raw_data="line one\nline two", comment="two\nlines")
    yield ServerSentEvent(data=Item(name="m", price=2), event="model")
    yield ServerSentEvent(comment="only a comment")


@app.post("/typed-events", response_class=EventSourceResponse, status_code=202)
def typed_events() -> Iterable[Item]:
    yield Item(name="s", price=1)
    yield {"name": "t", "price": "3"}


@app.get("/slow-events", response_class=EventSourceResponse)
async def slow_events():
    import asyncio

    yield {"first": True}
    await asyncio.sleep(0.7)
    yield {"second": True}
