"""fastapi-cache2 on an unchanged FastAPI app: ``@cache`` rewrites the endpoint's ``__signature__`` to have FastAPI
inject a ``Request`` and a ``Response``, and may return that ``Response`` itself (304); the in-memory backend is set
up in the lifespan."""

import itertools
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_cache import FastAPICache
from fastapi_cache.backends.inmemory import InMemoryBackend
from fastapi_cache.decorator import cache

calls = itertools.count(1)


@asynccontextmanager
async def lifespan(_: FastAPI):
    FastAPICache.init(InMemoryBackend(), prefix="fastapi-cache")
    yield


app = FastAPI(lifespan=lifespan)


@app.get("/counter/{name}")
@cache(expire=60)
async def counter(name: str):
    return {"name": name, "call": next(calls)}  # "call" grows on cache misses only
