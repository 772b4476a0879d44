"""Custom exception handlers, under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os

from starlette.exceptions import HTTPException as StarletteHTTPException

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
exceptions = importlib.import_module(f"{fw.__name__}.exceptions")
responses = importlib.import_module(f"{fw.__name__}.responses")
handlers = importlib.import_module(f"{fw.__name__}.exception_handlers")


class UnicornException(Exception):
    def __init__(self, name: str) -> None:
        self.name = name


app = fw.FastAPI()


@app.exception_handler(UnicornException)
async def unicorn_handler(request, exc: UnicornException):
    return responses.JSONResponse(status_code=418, content={"message": f"Oops! {exc.name} did something."})


@app.exception_handler(StarletteHTTPException)
async def http_handler(request, exc):
    return responses.PlainTextResponse(f"custom: {exc.detail} at {request.url.path}", status_code=exc.status_code)


@app.exception_handler(exceptions.RequestValidationError)
async def validation_handler(request, exc):
    return responses.JSONResponse(status_code=400, content={"errors": len(exc.errors()), "body": exc.body})


@app.exception_handler(ZeroDivisionError)
def sync_handler(request, exc):
    return responses.JSONResponse(status_code=500, content={"zero": True})


@app.get("/unicorns/{name}")
async def read_unicorn(name: str):
    if name == "yolo":
        raise UnicornException(name=name)
    return {"unicorn_name": name}


@app.get("/teapot")
def teapot():
    raise fw.HTTPException(status_code=418, detail="short and stout")


@app.get("/number")
def number(n: int):
    return {"n": n}


@app.post("/body")
def body(payload: dict):
    return payload


@app.get("/divide")
def divide(d: int = 0):
    return {"x": 1 / d}


@app.get("/default-handler")
async def default_handler():
    raise fw.HTTPException(status_code=409, detail="conflict")


@app.get("/later/{name}")
async def later(name: str):
    """Raises after the task suspended (the request is kept for the handler)."""
    import asyncio

    await asyncio.sleep(0.001)
    if name == "yolo":
        raise UnicornException(name=name)
    if name == "teapot":
        raise fw.HTTPException(status_code=418, detail="later")
    return {"name": name}


def guard(token: str | None = None):
    if token != "ok":
        raise UnicornException(name="guard")
    return token


@app.get("/guarded")
def guarded(token: str = fw.Depends(guard), n: int = 0):
    return {"token": token, "n": n}


class Out(importlib.import_module("pydantic").BaseModel):
    id: int


@app.get("/bad-response", response_model=Out)
def bad_response():
    return {"nope": 1}


@app.exception_handler(exceptions.ResponseValidationError)
async def response_validation_handler(request, exc):
    return responses.JSONResponse(status_code=502, content={"path": request.url.path, "errors": len(exc.errors())})


# An app whose 500 handler answers what nothing else handles (Starlette's ServerErrorMiddleware).
server_error_app = fw.FastAPI()


@server_error_app.exception_handler(Exception)
async def server_error(request, exc):
    return responses.JSONResponse(status_code=500, content={"server_error": type(exc).__name__})


@server_error_app.get("/boom")
def boom():
    raise RuntimeError("boom")


@server_error_app.get("/boom-later")
async def boom_later():
    import asyncio

    await asyncio.sleep(0.001)
    raise KeyError("later")


@server_error_app.get("/fine")
def fine():
    return {"fine": True}


# What the route's code left for the handler (request.state, a context variable), and a handler
# that raises what another handler answers.
import contextvars  # noqa: E402

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


class Forbidden(Exception):
    pass


@app.exception_handler(Forbidden)
async def forbidden_handler(request, exc):
    if request.query_params.get("escalate"):
        raise fw.HTTPException(status_code=403, detail="escalated")
    return responses.JSONResponse(
        status_code=403, content={"rid": request_id.get(), "user": getattr(request.state, "user", None)}
    )


async def identify(request: fw.Request):
    request_id.set("rid-1")
    request.state.user = "bob"


@app.get("/forbidden", dependencies=[fw.Depends(identify)])
async def forbidden(escalate: str | None = None):
    raise Forbidden()


@app.get("/forbidden-plain")
async def forbidden_plain(escalate: str | None = None):
    request_id.set("rid-2")
    raise Forbidden()
