"""An unchanged FastAPI app with two popular extensions (issue 12's benchmark): Prometheus metrics
(prometheus-fastapi-instrumentator) and request ids (asgi-correlation-id), both pure ASGI
middleware. Served as is by uvicorn and by `fastrapi.serve`."""

from __future__ import annotations

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

app = FastAPI()
app.add_middleware(CorrelationIdMiddleware)
Instrumentator().instrument(app).expose(app)


@app.get("/hello")
def hello():
    return {"Hello": "World"}
