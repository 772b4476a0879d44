"""An app that records its lifecycle in files named by environment variables."""

import asyncio
import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastrapi import APIRouter, FastAPI, Request

MARKERS = Path(os.environ.get("MARKER_DIR", "/tmp"))


@asynccontextmanager
async def lifespan(app):
    (MARKERS / f"lifespan-start-{os.getpid()}").write_text("1")
    yield {"greeting": "hi"}
    (MARKERS / f"lifespan-stop-{os.getpid()}").write_text("1")


# The router's own lifespan: FastAPI runs `on_startup`/`on_shutdown` handlers inside it.
router = APIRouter(lifespan=lifespan)
app = FastAPI()


@app.on_event("startup")
async def startup():
    (MARKERS / f"startup-{os.getpid()}").write_text("1")


@app.on_event("shutdown")
def shutdown():
    (MARKERS / f"shutdown-{os.getpid()}").write_text("1")


@router.get("/pid")
def pid(request: Request):
    return {"pid": os.getpid(), "greeting": request.state.greeting}


@router.get("/slow")
async def slow(t: float = 1.0):
    (MARKERS / f"slow-started-{os.getpid()}").write_text("1")
    await asyncio.sleep(t)
    return {"done": True}


app.include_router(router)


broken = FastAPI()


@broken.on_event("startup")
def fail():
    raise RuntimeError("startup failed on purpose")
