"""Streaming and file responses, under FastAPI and fastrapi (APP_FRAMEWORK)."""

import asyncio
import importlib
import os
import tempfile

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")

app = fw.FastAPI()
PROGRESS = {"produced": 0}
FILE = os.path.join(tempfile.gettempdir(), f"fastrapi-stream-test-{os.getpid()}.txt")
with open(FILE, "w") as f:
    f.write("line\n" * 50_000)


@app.get("/sync")
def sync_stream():
    def chunks():
        for i in range(5):
            yield f"chunk {i}\n"

    return responses.StreamingResponse(chunks(), media_type="text/plain")


@app.get("/async")
async def async_stream():
    async def chunks():
        for i in range(5):
            await asyncio.sleep(0.01)
            yield f"async {i}\n".encode()

    return responses.StreamingResponse(chunks(), media_type="application/x-ndjson", headers={"X-Stream": "yes"})


@app.get("/empty")
def empty_stream():
    return responses.StreamingResponse(iter([]), status_code=202)


@app.get("/file")
def file():
    return responses.FileResponse(FILE, filename="data.txt")


@app.get("/endless")
async def endless():
    PROGRESS["produced"] = 0
    chunk = b"x" * 65536

    async def chunks():
        for _ in range(10_000):
            PROGRESS["produced"] += 1
            yield chunk

    return responses.StreamingResponse(chunks())


@app.get("/progress")
def progress():
    return PROGRESS


WATCH: dict[str, object] = {}


@app.get("/long-poll")
async def long_poll(request: fw.Request):
    """Waits for news that never comes, until the client leaves (as long-polling endpoints do)."""
    WATCH["state"] = "waiting"
    while not await request.is_disconnected():
        await asyncio.sleep(0.02)
    WATCH["state"] = "client left"
    return {"never": "seen"}


@app.get("/long-poll-state")
def long_poll_state():
    return WATCH
