"""OpenAPI of parameters and bodies that come from dependencies (shared, nested, class based)."""

import importlib
import os
from typing import Annotated

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Depends, Query, Header, Body, Cookie = fw.FastAPI, fw.Depends, fw.Query, fw.Header, fw.Body, fw.Cookie


class Item(BaseModel):
    name: str


def pagination(skip: int = 0, limit: Annotated[int, Query(le=100)] = 10):
    return {"skip": skip, "limit": limit}


class Filter:
    def __init__(self, q: str | None = None, tag: Annotated[list[str] | None, Query()] = None):
        self.q = q
        self.tag = tag


def token(x_token: Annotated[str, Header()]):
    return x_token


def user(tok: Annotated[str, Depends(token)], session: Annotated[str | None, Cookie()] = None):
    return tok


def optional_q(q: str | None = None):
    return q


def required_q(q: str):
    return q


def body_dep(extra: Annotated[int, Body()]):
    return extra


app = FastAPI(dependencies=[Depends(token)])


@app.get("/items")
def items(page: Annotated[dict, Depends(pagination)], flt: Annotated[Filter, Depends()]):
    return {}


@app.get("/shared")
def shared(a: Annotated[dict, Depends(pagination)], b: Annotated[dict, Depends(pagination, use_cache=False)],
           u: Annotated[str, Depends(user)]):
    return {}


@app.get("/precedence")
def precedence(opt: Annotated[str | None, Depends(optional_q)], req: Annotated[str, Depends(required_q)]):
    return {}


@app.post("/body-from-dep/{item_id}")
def body_from_dep(item_id: int, item: Item, extra: Annotated[int, Depends(body_dep)]):
    return {}


@app.get("/route-deps", dependencies=[Depends(pagination), Depends(user)])
def route_deps():
    return {}
