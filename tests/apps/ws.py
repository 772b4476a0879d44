"""WebSocket endpoints, under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os
from typing import Annotated

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")
WebSocket, WebSocketDisconnect = fw.WebSocket, fw.WebSocketDisconnect
Depends, Query, Header, Cookie = fw.Depends, fw.Query, fw.Header, fw.Cookie

app = fw.FastAPI()
router = fw.APIRouter(prefix="/r")
EVENTS: dict[str, object] = {}


@app.websocket("/echo")
async def echo(websocket: WebSocket):
    await websocket.accept()
    async for text in websocket.iter_text():
        await websocket.send_text(f"echo: {text}")


@app.websocket("/json")
async def json_echo(websocket: WebSocket):
    await websocket.accept()
    while True:
        try:
            data = await websocket.receive_json()
        except WebSocketDisconnect:
            break
        await websocket.send_json({"got": data, "type": type(data).__name__})


@app.websocket("/bytes")
async def bytes_echo(websocket: WebSocket):
    await websocket.accept()
    async for data in websocket.iter_bytes():
        await websocket.send_bytes(data[::-1])


def token_dep(token: Annotated[str | None, Query()] = None):
    if token != "secret":
        raise fw.WebSocketException(code=1008, reason="bad token")
    return token


@app.websocket("/items/{item_id}")
async def items(
    websocket: WebSocket,
    item_id: int,
    q: str | None = None,
    x_user: Annotated[str | None, Header()] = None,
    session: Annotated[str | None, Cookie()] = None,
    token: Annotated[str, Depends(token_dep)] = "",
):
    await websocket.accept()
    await websocket.send_json({"item_id": item_id, "q": q, "x_user": x_user, "session": session, "token": token})
    await websocket.close()


@app.websocket("/server-close")
async def server_close(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("bye")
    await websocket.close(code=4000, reason="done here")


@app.websocket("/reject")
async def reject(websocket: WebSocket):
    await websocket.close(code=1008)


@app.websocket("/no-accept")
async def no_accept(websocket: WebSocket):
    return None


@app.websocket("/boom")
async def boom(websocket: WebSocket):
    await websocket.accept()
    await websocket.receive_text()
    raise RuntimeError("boom")


@app.websocket("/returns")
async def returns(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_text("one message, then return")


@app.websocket("/subprotocol")
async def subprotocol(websocket: WebSocket):
    offered = websocket.headers.get("sec-websocket-protocol", "")
    chosen = "chat" if "chat" in offered else None
    await websocket.accept(subprotocol=chosen, headers=[(b"x-custom", b"yes")])
    await websocket.send_json({"offered": offered, "path": websocket.url.path, "query": str(websocket.query_params)})
    await websocket.close()


@app.websocket("/disconnect")
async def disconnect(websocket: WebSocket):
    await websocket.accept()
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect as exc:
        EVENTS["disconnect"] = exc.code


@app.websocket("/flood")
async def flood(websocket: WebSocket):
    await websocket.accept()
    while True:
        await websocket.send_text("z" * 10000)


@app.get("/events")
def events():
    return EVENTS


@router.websocket("/nested")
async def nested(websocket: WebSocket, n: int = 1):
    await websocket.accept()
    for i in range(n):
        await websocket.send_text(f"nested {i}")
    await websocket.close()


app.include_router(router)

sub = fw.FastAPI()


@sub.websocket("/inner/{name}")
async def inner(websocket: WebSocket, name: str):
    await websocket.accept()
    await websocket.send_text(f"inner {name} at {websocket.url.path}")
    await websocket.close()


app.mount("/sub", sub)


@app.get("/http-only")
def http_only():
    return {"http": True}


secure = fw.FastAPI()
_sessions = importlib.import_module(f"{'starlette' if fw.__name__ == 'fastapi' else 'fastrapi'}.middleware.sessions")
_trusted = importlib.import_module(f"{fw.__name__}.middleware.trustedhost")
_cors = importlib.import_module(f"{fw.__name__}.middleware.cors")
secure.add_middleware(_sessions.SessionMiddleware, secret_key="ws-secret")
secure.add_middleware(_trusted.TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost"])
secure.add_middleware(_cors.CORSMiddleware, allow_origins=["https://allowed.example"])


@secure.get("/login")
def login(request: fw.Request):
    request.session["user"] = "ann"
    return {"ok": True}


@secure.websocket("/whoami")
async def whoami(websocket: WebSocket):
    await websocket.accept()
    await websocket.send_json({"user": websocket.session.get("user")})
    await websocket.close()
