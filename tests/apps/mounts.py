"""Mounted applications, under FastAPI and fastrapi (APP_FRAMEWORK picks which): a Starlette app,
a raw ASGI callable and a sub-FastAPI app, each under a prefix of one outer app."""

import importlib
import os

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse as StarletteJSON
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.responses import StreamingResponse as StarletteStreaming
from starlette.routing import Route

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
responses = importlib.import_module(f"{fw.__name__}.responses")
FastAPI, APIRouter, Depends, HTTPException, Request = fw.FastAPI, fw.APIRouter, fw.Depends, fw.HTTPException, fw.Request
EVENTS: list[str] = []


# -- a Starlette application -----------------------------------------------------------------
async def star_home(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse(f"path={request.url.path} root={request.scope['root_path']} query={request.url.query}")


async def star_echo(request: StarletteRequest) -> PlainTextResponse:
    body = await request.body()
    return PlainTextResponse(body[::-1], headers={"x-length": str(len(body))})


async def star_json(request: StarletteRequest) -> StarletteJSON:
    return StarletteJSON({
        "q": request.query_params.getlist("q"),
        "user": request.path_params.get("user"),
        "agent": request.headers.get("user-agent"),
        "cookie": request.cookies.get("c"),
    })


async def star_form(request: StarletteRequest) -> StarletteJSON:
    form = await request.form()
    upload = form.get("file")
    return StarletteJSON({
        "name": form.get("name"),
        "file": None if isinstance(upload, str | None) else (upload.filename, (await upload.read()).decode()),
    })


async def star_stream(request: StarletteRequest) -> StarletteStreaming:
    async def numbers():
        for i in range(5):
            yield f"{i}\n"

    return StarletteStreaming(numbers(), media_type="text/plain")


async def star_cookies(request: StarletteRequest) -> PlainTextResponse:
    response = PlainTextResponse("cookies", background=BackgroundTask(EVENTS.append, "star-background"))
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", httponly=True)
    return response


async def star_redirect(request: StarletteRequest) -> RedirectResponse:
    return RedirectResponse(url=str(request.url_for("star_home")))


async def star_boom(request: StarletteRequest) -> PlainTextResponse:
    raise RuntimeError("starlette endpoint failed")


async def star_empty(request: StarletteRequest) -> PlainTextResponse:
    return PlainTextResponse("", status_code=204)


star = Starlette(
    routes=[
        Route("/", star_home, name="star_home"),
        Route("/echo", star_echo, methods=["POST", "PUT"]),
        Route("/json/{user}", star_json),
        Route("/form", star_form, methods=["POST"]),
        Route("/stream", star_stream),
        Route("/cookies", star_cookies),
        Route("/redirect", star_redirect),
        Route("/boom", star_boom),
        Route("/empty", star_empty),
    ],
    middleware=[Middleware(GZipMiddleware, minimum_size=100)],
)


# -- a raw ASGI callable ---------------------------------------------------------------------
async def raw_app(scope, receive, send):  # type: ignore[no-untyped-def]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    query = scope["query_string"].decode()
    text = f"{scope['method']} {scope['path']} root={scope['root_path']} qs={query} body={len(body)}"
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(text)).encode()),
                            (b"x-raw", b"1")]})
    await send({"type": "http.response.body", "body": text.encode()})


# -- a sub-application -----------------------------------------------------------------------
sub = FastAPI(title="Sub API")


class Item(BaseModel):
    name: str
    price: float


class Teapot(Exception):
    pass


@sub.exception_handler(Teapot)
async def teapot_handler(request, exc):  # type: ignore[no-untyped-def]
    return responses.JSONResponse({"handled_by": "sub"}, status_code=418)


@sub.middleware("http")
async def sub_header(request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    response.headers["x-sub"] = "yes"
    return response


def token(x_token: str = fw.Header()) -> str:
    if x_token != "secret":
        raise HTTPException(status_code=403, detail="bad token")
    return x_token


@sub.get("/")
def sub_root(request: Request):
    return {"root_path": request.scope["root_path"], "path": request.url.path, "app": request.app.title}


@sub.get("/items/{item_id}")
def sub_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@sub.post("/items", status_code=201)
def sub_create(item: Item, user: str = Depends(token)):
    return {"item": item, "user": user}


@sub.get("/teapot")
def sub_teapot():
    raise Teapot()


@sub.get("/boom")
def sub_boom():
    raise RuntimeError("sub endpoint failed")


router = APIRouter(prefix="/nested")


@router.get("/{name}")
async def nested(name: str):
    return {"nested": name}


sub.include_router(router)


# -- the outer app ---------------------------------------------------------------------------
app = FastAPI()


@app.middleware("http")
async def outer_header(request, call_next):  # type: ignore[no-untyped-def]
    response = await call_next(request)
    response.headers["x-outer"] = "yes"
    return response


@app.get("/top")
def top():
    return {"top": True}


@app.get("/events")
def events():
    return EVENTS


app.mount("/star", star)
app.mount("/raw", raw_app)
app.mount("/v1", sub)

# Without any Python middleware: the sub-app's routes are served on the Rust fast path.
plain_sub = FastAPI()


@plain_sub.get("/items/{item_id}")
def plain_item(item_id: int):
    return {"item_id": item_id}


plain = FastAPI()
plain.mount("/sub", plain_sub)
plain.mount("/star", star)
