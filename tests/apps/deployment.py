"""An app for the deployment options (proxy headers, Unix sockets, root path, limits, recycling),
served unchanged by fastrapi and by FastAPI + uvicorn (APP_FRAMEWORK picks which)."""

import asyncio
import importlib
import os

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")

app = fw.FastAPI()
BIG = b"x" * (32 * 1024 * 1024)  # more than any socket buffers hold


@app.get("/whoami")
def whoami(request: fw.Request):
    """What the scope says about the client, the server and the URLs the app builds."""
    scope = request.scope
    return {
        "client": list(request.client) if request.client else None,
        "server": list(scope["server"]) if scope.get("server") else None,
        "scheme": request.url.scheme,
        "url": str(request.url),
        "base_url": str(request.base_url),
        "url_for": str(request.url_for("whoami")),
        "root_path": scope.get("root_path"),
        "path": scope["path"],
    }


@app.get("/native/")
def native():
    """Compiled natively; ``/native`` gets the slash redirect built in Rust."""
    return {"native": True}


@app.get("/pid")
def pid():
    return {"pid": os.getpid()}


@app.get("/big")
def big():
    return responses.Response(BIG, media_type="application/octet-stream")


@app.get("/big-stream")
def big_stream():
    def pieces():
        for start in range(0, len(BIG), 1024 * 1024):
            yield BIG[start:start + 1024 * 1024]

    return responses.StreamingResponse(pieces(), media_type="application/octet-stream")


@app.post("/echo-size")
async def echo_size(request: fw.Request):
    return {"size": len(await request.body())}


@app.get("/sleep")
async def sleep(seconds: float):
    await asyncio.sleep(seconds)
    return {"slept": seconds}


@app.get("/env/{name}")
def env(name: str):
    return {"value": os.environ.get(name)}


# Behind a TLS-terminating proxy: HTTPSRedirectMiddleware must believe X-Forwarded-Proto.
https_app = fw.FastAPI()
https_app.add_middleware(importlib.import_module(f"{fw.__name__}.middleware.httpsredirect").HTTPSRedirectMiddleware)


@https_app.get("/secure/")
def secure():
    return {"secure": True}


@app.websocket("/ws-whoami")
async def ws_whoami(websocket: fw.WebSocket):
    await websocket.accept()
    await websocket.send_json({
        "client": list(websocket.client) if websocket.client else None,
        "scheme": websocket.url.scheme,
        "url": str(websocket.url),
        "root_path": websocket.scope.get("root_path"),
    })
    await websocket.close()
