"""Dependencies and injected objects, runnable under FastAPI and fastrapi (APP_FRAMEWORK)."""

import importlib
import os
from typing import Annotated

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI, Depends, HTTPException, Query, Header = fw.FastAPI, fw.Depends, fw.HTTPException, fw.Query, fw.Header
Request = importlib.import_module(f"{fw.__name__}.requests").Request
Response = importlib.import_module(f"{fw.__name__}.responses").Response
StreamingResponse = importlib.import_module(f"{fw.__name__}.responses").StreamingResponse
BackgroundTasks = importlib.import_module(f"{fw.__name__}.background").BackgroundTasks
SecurityScopes = importlib.import_module(f"{fw.__name__}.security").SecurityScopes
Security = fw.Security

EVENTS: list[str] = []
CALLS = {"count": 0}


def verify_token(x_token: Annotated[str, Header()]):
    if x_token != "secret":
        raise HTTPException(status_code=400, detail="X-Token header invalid")
    return x_token


app = FastAPI(dependencies=[Depends(lambda: EVENTS.append("app-dep"))])


class Item(BaseModel):
    name: str
    price: float = 0.0


def common(q: str | None = None, skip: int = 0, limit: int = 100):
    return {"q": q, "skip": skip, "limit": limit}


class CommonQuery:
    def __init__(self, q: str | None = None, skip: int = 0, limit: int = Query(100, le=1000)):
        self.q, self.skip, self.limit = q, skip, limit


def counted():
    CALLS["count"] += 1
    return CALLS["count"]


def sub_dep(value: Annotated[int, Depends(counted)], again: Annotated[int, Depends(counted)]):
    return {"value": value, "again": again}


def uncached(a: Annotated[int, Depends(counted)], b: Annotated[int, Depends(counted, use_cache=False)]):
    return b - a


async def async_dep(n: int = 1):
    return n * 2


def yield_dep():
    EVENTS.append("enter")
    try:
        yield "resource"
    finally:
        EVENTS.append("exit")


async def async_yield_dep():
    EVENTS.append("async-enter")
    yield "async-resource"
    EVENTS.append("async-exit")


def scoped(security_scopes: SecurityScopes):
    return security_scopes.scopes


@app.get("/common")
def read_common(commons: Annotated[dict, Depends(common)]):
    return commons


@app.get("/class")
def read_class(commons: CommonQuery = Depends()):
    return {"q": commons.q, "skip": commons.skip, "limit": commons.limit}


@app.get("/cached")
def read_cached(sub: Annotated[dict, Depends(sub_dep)], diff: Annotated[int, Depends(uncached)]):
    return {"sub_same": sub["value"] == sub["again"], "diff": diff}


@app.get("/async-dep")
async def read_async(n2: Annotated[int, Depends(async_dep)], own: int = 0):
    return {"n2": n2, "own": own}


@app.get("/protected", dependencies=[Depends(verify_token)])
def protected():
    return {"ok": True}


@app.get("/yield")
def read_yield(r: Annotated[str, Depends(yield_dep)], ar: Annotated[str, Depends(async_yield_dep)]):
    return {"r": r, "ar": ar}


class Resource:
    def __init__(self, name: str) -> None:
        self.name = name
        self.open = True


def request_resource():
    resource = Resource("request")
    EVENTS.append("request-enter")
    yield resource
    resource.open = False
    EVENTS.append("request-exit")


def function_resource():
    resource = Resource("function")
    EVENTS.append("function-enter")
    yield resource
    resource.open = False
    EVENTS.append("function-exit")


@app.get("/stream-resources")
def stream_resources(
    r: Annotated[Resource, Depends(request_resource)],
    f: Annotated[Resource, Depends(function_resource, scope="function")],
):
    def lines():
        EVENTS.append("streaming")
        yield f"{r.name} open: {r.open}\n"
        yield f"{f.name} open: {f.open}\n"

    return StreamingResponse(lines(), media_type="text/plain")


@app.get("/yield-order")
def yield_order(r: Annotated[Resource, Depends(request_resource)], tasks: BackgroundTasks):
    tasks.add_task(EVENTS.append, "background")
    EVENTS.append("endpoint")
    return {"open": r.open}


@app.get("/events")
def events():
    out = [e for e in EVENTS if e != "app-dep"]
    EVENTS.clear()
    return out


@app.get("/request/{name}")
async def read_request(name: str, request: Request):
    return {
        "method": request.method,
        "path": request.url.path,
        "query": request.url.query,
        "name": request.path_params["name"],
        "q": request.query_params.get("q"),
        "ua": request.headers.get("user-agent"),
        "x": request.headers.getlist("x-multi"),
        "cookie": request.cookies.get("c"),
        "client_is_loopback": request.client.host == "127.0.0.1",
    }


@app.post("/request-body")
async def read_body(request: Request):
    raw = await request.body()
    data = await request.json()
    return {"len": len(raw), "data": data}


@app.get("/set-response")
def set_response(response: Response):
    response.headers["X-Custom"] = "yes"
    response.set_cookie("session", "abc", httponly=True)
    response.status_code = 202
    return {"set": True}


@app.post("/item-with-dep", status_code=201)
def item_with_dep(item: Item, commons: Annotated[dict, Depends(common)]):
    return {"item": item, "commons": commons}


@app.post("/background")
def background(tasks: BackgroundTasks, value: str = "v"):
    tasks.add_task(EVENTS.append, f"bg-{value}")
    return {"scheduled": value}


@app.get("/scopes")
def read_scopes(scopes: Annotated[list, Security(scoped, scopes=["items:read", "me"])]):
    return scopes


@app.get("/dep-error")
def dep_error(commons: Annotated[dict, Depends(common)], x: int):
    return {"x": x}


@app.get("/response-model", response_model=Item)
def response_model(commons: Annotated[dict, Depends(common)]):
    return {"name": "thing", "price": 2, "extra": "dropped"}


def yield_catch():
    try:
        yield "r"
    except HTTPException as exc:
        EVENTS.append(f"caught-{exc.status_code}")
        raise
    finally:
        EVENTS.append("finally")


@app.get("/yield-error")
def yield_error(r: Annotated[str, Depends(yield_catch)]):
    raise HTTPException(status_code=409, detail="conflict")


def real_db():
    return "real"


def fake_db(flag: bool = False):
    return f"fake-{flag}"


app.dependency_overrides[real_db] = fake_db


@app.get("/overridden")
def overridden(db: Annotated[str, Depends(real_db)]):
    return {"db": db}


def needs_request(request: Request, response: Response, tasks: BackgroundTasks):
    response.headers["X-From-Dep"] = request.url.path
    tasks.add_task(EVENTS.append, "dep-bg")
    return request.method


@app.put("/dep-injected")
def dep_injected(method: Annotated[str, Depends(needs_request)]):
    return {"method": method}


@app.get("/exclude-defaults", response_model=Item, response_model_exclude_defaults=True)
def exclude_defaults():
    return {"name": "n", "price": 0.0}
