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
