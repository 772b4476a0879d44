"""@app.middleware("http"), under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")

app = fw.FastAPI()


@app.middleware("http")
async def inner(request, call_next):
    response = await call_next(request)
    response.headers["X-Order"] = response.headers.get("X-Order", "") + "inner,"
    return response


@app.middleware("http")
async def outer(request, call_next):
    if request.url.path == "/blocked":
        return responses.JSONResponse({"blocked": True}, status_code=403)
    request.state.seen = "outer"
    response = await call_next(request)
    response.headers["X-Order"] = response.headers.get("X-Order", "") + "outer"
    response.headers["X-Method"] = request.method
    return response


@app.get("/hello")
def hello():
    return {"hello": "world"}


@app.get("/state")
def state(request: fw.Request):
    return {"seen": request.state.seen}


@app.get("/items/{n}")
async def item(n: int):
    return {"n": n}


@app.get("/teapot")
def teapot():
    raise fw.HTTPException(status_code=418, detail="tea")


@app.get("/boom")
def boom():
    raise RuntimeError("boom")
