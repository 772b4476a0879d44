"""OpenAPI of routers: prefixes, tags, dependencies, responses, deprecation, response classes, a router
included twice, nested routers, custom operation ids and route classes, for both frameworks."""

import importlib
import os
from typing import Annotated

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, APIRouter, Depends, Header, HTTPException = fw.FastAPI, fw.APIRouter, fw.Depends, fw.Header, fw.HTTPException
responses_mod = importlib.import_module(f"{fw.__name__}.responses")
routing = importlib.import_module(f"{fw.__name__}.routing")
HTMLResponse, PlainTextResponse = responses_mod.HTMLResponse, responses_mod.PlainTextResponse


class Message(BaseModel):
    detail: str


async def get_token_header(x_token: Annotated[str, Header()]):
    if x_token != "fake-super-secret-token":
        raise HTTPException(status_code=400, detail="X-Token header invalid")


async def get_query_token(token: str = "jessica"):
    return token


class CustomRoute(routing.APIRoute):
    pass


def custom_unique_id(route) -> str:  # type: ignore[no-untyped-def]
    return f"{route.tags[0] if route.tags else 'none'}-{route.name}"


users = APIRouter()


@users.get("/users/", tags=["users"])
async def read_users():
    return [{"username": "Rick"}]


@users.get("/users/{username}", tags=["users"])
async def read_user(username: str):
    return {"username": username}


items = APIRouter(
    prefix="/items",
    tags=["items"],
    dependencies=[Depends(get_token_header)],
    responses={404: {"description": "Not found"}},
)


@items.get("/")
async def read_items():
    return {}


@items.get("/{item_id}", responses={403: {"description": "Operation forbidden"}})
async def read_item(item_id: str):
    return {}


@items.put("/{item_id}", tags=["custom"], responses={404: {"model": Message}})
async def update_item(item_id: str):
    return {}


legacy = APIRouter(prefix="/legacy", deprecated=True, default_response_class=PlainTextResponse)


@legacy.get("/old")
def old():
    return "old"


@legacy.get("/not-deprecated", deprecated=False)
def not_deprecated():
    return "x"


@legacy.get("/html", response_class=HTMLResponse)
def legacy_html():
    return "<p/>"


hidden = APIRouter(include_in_schema=False)


@hidden.get("/hidden")
def hidden_route():
    return {}


inner = APIRouter(prefix="/inner", tags=["inner"])


@inner.get("/leaf/{n}")
def leaf(n: int):
    return {"n": n}


outer = APIRouter(prefix="/outer", tags=["outer"], responses={418: {"description": "Teapot"}})
outer.include_router(inner, tags=["included"])


@outer.get("/own")
def own():
    return {}


versioned = APIRouter()


@versioned.get("/things/{thing_id}")
def get_thing(thing_id: int):
    return {}


custom_ids = APIRouter(prefix="/custom-ids", tags=["ids"], generate_unique_id_function=custom_unique_id)


@custom_ids.get("/a")
def custom_a():
    return {}


routed = APIRouter(prefix="/routed", route_class=CustomRoute)


@routed.get("/x")
def routed_x():
    return {}


app = FastAPI(dependencies=[Depends(get_query_token)], responses={500: {"description": "Boom"}})
app.include_router(users)
app.include_router(items)
app.include_router(
    legacy,
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(get_token_header)],
    responses={418: {"description": "I'm a teapot"}},
)
app.include_router(hidden)
app.include_router(outer, prefix="/v1")
app.include_router(versioned, prefix="/v1")
app.include_router(versioned, prefix="/v2", deprecated=True)
app.include_router(custom_ids)
app.include_router(routed)
app.include_router(users, prefix="/not-in-schema", include_in_schema=False)
app.include_router(legacy, prefix="/html-default", default_response_class=HTMLResponse)


@app.get("/")
async def root():
    return {"message": "Hello Bigger Applications!"}
