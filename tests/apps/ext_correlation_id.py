"""asgi-correlation-id on an unchanged FastAPI app: a pure ASGI middleware that rewrites the request headers in
the scope and sets a ContextVar the endpoints (async, and sync in the thread pool) read."""

import logging

from asgi_correlation_id import CorrelationIdFilter, CorrelationIdMiddleware, correlation_id
from fastapi import FastAPI, Request

logging.getLogger("ext_correlation_id").addFilter(CorrelationIdFilter())
app = FastAPI()
app.add_middleware(CorrelationIdMiddleware)  # header X-Request-ID


@app.get("/async")
async def read_async(request: Request):
    return {"cid": correlation_id.get(), "header": request.headers.get("x-request-id")}


@app.get("/sync")
def read_sync(request: Request):  # the ContextVar must reach the worker thread
    return {"cid": correlation_id.get(), "header": request.headers.get("x-request-id")}
