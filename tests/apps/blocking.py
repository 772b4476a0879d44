"""Sync code that blocks (time.sleep stands in for a database round trip or a slow API), beside
quick endpoints, for the thread-pool tests. Runs under FastAPI and fastrapi (APP_FRAMEWORK)."""

import contextvars
import importlib
import os
import threading
import time
from collections.abc import Iterator

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")
concurrency = importlib.import_module(f"{fw.__name__}.concurrency")

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_lock = threading.Lock()
_active = 0
_most = 0
_threads: set[str] = set()


def _enter() -> None:
    global _active, _most
    with _lock:
        _active += 1
        _most = max(_most, _active)
        _threads.add(threading.current_thread().name)


def _leave() -> None:
    global _active
    with _lock:
        _active -= 1




def build(with_middleware: bool):  # type: ignore[no-untyped-def]
    app = fw.FastAPI()

    if with_middleware:

        @app.middleware("http")
        async def tag_request(request, call_next):  # type: ignore[no-untyped-def]
            request_id.set(request.headers.get("x-request-id", "-"))
            return await call_next(request)


    @app.get("/hello")
    def hello():
        return {"Hello": "World"}


    @app.get("/block")
    def block(seconds: float = 0.2):
        _enter()
        try:
            time.sleep(seconds)
        finally:
            _leave()
        on_core = threading.current_thread() is threading.main_thread()
        return {"slept": seconds, "request_id": request_id.get(), "on_core": on_core}


    @app.get("/fail")
    def fail():
        time.sleep(0.01)
        raise RuntimeError("failed in a sync endpoint")


    def slow_session() -> Iterator[str]:
        time.sleep(0.05)
        yield "session"
        time.sleep(0.01)


    @app.get("/with-dependency")
    def with_dependency(session: str = fw.Depends(slow_session)):
        return {"session": session, "request_id": request_id.get()}


    @app.get("/stream")
    def stream(seconds: float = 0.05):
        def slow_chunks() -> Iterator[bytes]:
            for i in range(3):
                time.sleep(seconds)
                yield f"chunk {i}\n".encode()

        return responses.StreamingResponse(slow_chunks(), media_type="text/plain")


    @app.get("/helper")
    async def helper():
        value = await concurrency.run_in_threadpool(lambda: (time.sleep(0.05), request_id.get())[1])
        return {"value": value}


    @app.get("/stats")
    async def stats():
        return {"most_at_once": _most, "threads": len(_threads)}

    return app


# `app` runs every route through the Python solver (it has `http` middleware); `plain` lets the
# quick and blocking `def` endpoints take the Rust path.
app = build(with_middleware=True)
plain = build(with_middleware=False)
