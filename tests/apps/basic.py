"""An app that runs unchanged under FastAPI and fastrapi (APP_FRAMEWORK picks which)."""

import asyncio
import importlib
import os
from typing import Any

from pydantic import BaseModel

fw = importlib.import_module(os.environ.get("APP_FRAMEWORK", "fastrapi"))
FastAPI = fw.FastAPI
HTTPException = fw.HTTPException
Query = fw.Query
Body = fw.Body

app = FastAPI()


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/hello")
def hello():
    return {"Hello": "World"}


@app.get("/items/{item_id}")
async def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.get("/typed/{f}")
def typed(f: float, flag: bool = False, n: int = 3, name: str = "x", maybe: int | None = None):
    return {"f": f, "flag": flag, "n": n, "name": name, "maybe": maybe}


@app.get("/required")
def required(a: int, b: str):
    return {"a": a, "b": b}


@app.get("/constrained")
def constrained(q: str = Query(..., max_length=3), n: int = Query(0, ge=0, le=10)):
    return {"q": q, "n": n}


@app.post("/echo-dict")
def echo_dict(payload: dict):
    return payload


@app.post("/echo-list")
def echo_list(payload: list[Any]):
    return {"count": len(payload), "payload": payload}


@app.post("/items")
def create_item(item: Item):
    return item


@app.post("/items-model", response_model=Item)
def create_item_model(item: Item):
    return item


@app.get("/values")
def values():
    return {
        "floats": [1.0, 0.1, 1e16, 1e-05, 123456.789, -0.0, 3.141592653589793, 1e22],
        "ints": [0, -1, 2**63, -(2**70)],
        "text": "héllo \"quoted\" \\ \n\t\u0001 € 😀",
        "nested": {"a": [True, False, None], "b": {"c": []}},
        "tuple": (1, 2),
    }


@app.get("/http-error")
def http_error():
    raise HTTPException(status_code=418, detail={"why": "teapot"}, headers={"X-Reason": "tea"})


@app.get("/http-error-default")
async def http_error_default():
    raise HTTPException(status_code=404)


@app.get("/boom")
def boom():
    raise RuntimeError("boom on purpose")


@app.get("/boom-async")
async def boom_async():
    await asyncio.sleep(0.01)
    raise ValueError("async boom on purpose")


@app.get("/sleep")
async def sleep(t: float = 0.2):
    await asyncio.sleep(t)
    return {"slept": t}


@app.get("/nan")
def nan():
    return {"x": float("nan")}


@app.get("/slash/")
def slash():
    return {"slash": True}


@app.get("/noslash")
def noslash():
    return {"slash": False}


@app.api_route("/multi", methods=["GET", "POST", "PUT"])
def multi():
    return {"multi": True}


@app.head("/head")
def head_only():
    return {"head": "body that must not be sent"}


@app.api_route("/get-or-head", methods=["GET", "HEAD"])
def get_or_head():
    return {"x": 1}


@app.get("/conv/{n:int}")
def conv_int(n: int):
    return {"n": n}


@app.get("/files/{p:path}")
def files(p: str):
    return {"p": p}


@app.get("/users/me")
def users_me():
    return {"user": "me"}


@app.get("/users/{user_id}")
def users(user_id: str):
    return {"user": user_id}


@app.put("/methods")
def put_method():
    return {"method": "PUT"}


@app.patch("/methods")
def patch_method():
    return {"method": "PATCH"}


@app.delete("/methods")
def delete_method():
    return {"method": "DELETE"}


@app.options("/methods")
def options_method():
    return {"method": "OPTIONS"}


@app.get("/header")
def header(user_agent: str | None = fw.Header(None), x_token: list[str] | None = fw.Header(None)):
    return {"ua": user_agent, "tokens": x_token}


@app.get("/cookie")
def cookie(session: str | None = fw.Cookie(None)):
    return {"session": session}


@app.get("/list-query")
def list_query(q: list[int] = Query([])):
    return {"q": q}


@app.post("/status", status_code=201)
def created():
    return {"created": True}


@app.get("/unicode/{name}")
def unicode_name(name: str):
    return {"name": name}


@app.get("/threadpool")
async def threadpool():
    import time as _time

    concurrency = importlib.import_module(f"{fw.__name__}.concurrency")
    value = await concurrency.run_in_threadpool(lambda: (_time.sleep(0.01), 42)[1])
    items = [i async for i in concurrency.iterate_in_threadpool(iter([1, 2, 3]))]
    return {"value": value, "items": items}


@app.get("/echo-header")
def echo_header(value: str):
    # User input put in a header: a CR/LF in it must fail the response, never reach the wire.
    responses = importlib.import_module(f"{fw.__name__}.responses")
    return responses.PlainTextResponse("ok", headers={"X-Echo": value})
