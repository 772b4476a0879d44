"""A FastAPI app and its tests, written the way FastAPI's tutorial tests are.

This file is not collected by itself: tests/test_docs_style.py runs it twice, once as it is
(FastAPI + Starlette's TestClient) and once with every ``from fastapi`` import turned into
``from fastrapi`` (fastrapi + its TestClient). Nothing else changes between the two runs.
"""

from contextlib import asynccontextmanager
from typing import Annotated

import pytest
from fastapi import BackgroundTasks, Cookie, Depends, FastAPI, File, Form, Header, HTTPException, Request, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

fake_secret_token = "coneofsilence"

fake_db = {
    "foo": {"id": "foo", "title": "Foo", "description": "There goes my hero"},
    "bar": {"id": "bar", "title": "Bar", "description": "The bartenders"},
}

notifications: list[str] = []
lifecycle: list[str] = []


@asynccontextmanager
async def lifespan(app: FastAPI):
    lifecycle.append("startup")
    yield {"model": "loaded"}
    lifecycle.append("shutdown")


app = FastAPI(lifespan=lifespan)


class Item(BaseModel):
    id: str
    title: str
    description: str | None = None


class UnicornException(Exception):
    def __init__(self, name: str):
        self.name = name


@app.exception_handler(UnicornException)
async def unicorn_exception_handler(request: Request, exc: UnicornException):
    return JSONResponse(
        status_code=418,
        content={"message": f"Oops! {exc.name} did something. There goes a rainbow..."},
    )


async def common_parameters(q: str | None = None, skip: int = 0, limit: int = 100):
    return {"q": q, "skip": skip, "limit": limit}


@app.get("/")
async def read_main():
    return {"msg": "Hello World"}


@app.get("/items/{item_id}", response_model=Item)
async def read_item(item_id: str, x_token: Annotated[str, Header()]):
    if x_token != fake_secret_token:
        raise HTTPException(status_code=400, detail="Invalid X-Token header")
    if item_id not in fake_db:
        raise HTTPException(status_code=404, detail="Item not found")
    return fake_db[item_id]


@app.post("/items/", response_model=Item)
async def create_item(item: Item, x_token: Annotated[str, Header()]):
    if x_token != fake_secret_token:
        raise HTTPException(status_code=400, detail="Invalid X-Token header")
    if item.id in fake_db:
        raise HTTPException(status_code=409, detail="Item already exists")
    fake_db[item.id] = item.model_dump()
    return item


@app.get("/users/")
async def read_users(commons: Annotated[dict, Depends(common_parameters)]):
    return {"message": "Hello Users!", "params": commons}


@app.get("/unicorns/{name}")
async def read_unicorn(name: str):
    if name == "yolo":
        raise UnicornException(name=name)
    return {"unicorn_name": name}


@app.post("/login/")
async def login(username: Annotated[str, Form()], password: Annotated[str, Form()]):
    return {"username": username}


@app.post("/files/")
async def create_file(file: Annotated[bytes, File()], token: Annotated[str, Form()]):
    return {"file_size": len(file), "token": token}


@app.post("/uploadfiles/")
async def create_upload_files(files: list[UploadFile]):
    return {"filenames": [file.filename for file in files], "sizes": [len(await file.read()) for file in files]}


def write_notification(email: str, message=""):
    notifications.append(f"notification for {email}: {message}")


@app.post("/send-notification/{email}")
async def send_notification(email: str, background_tasks: BackgroundTasks):
    background_tasks.add_task(write_notification, email, message="some notification")
    return {"message": "Notification sent in the background"}


@app.get("/cookie-set")
def cookie_set():
    response = JSONResponse({"set": True})
    response.set_cookie("session", "abc123")
    return response


@app.get("/cookie-read")
def cookie_read(session: Annotated[str | None, Cookie()] = None):
    return {"session": session}


@app.get("/old")
def old():
    return RedirectResponse("/new")


@app.get("/new")
def new(request: Request):
    return {"url": str(request.url), "client": request.client.host}


@app.get("/model")
def model(request: Request):
    return {"model": request.state.model}


@app.get("/plain")
def plain():
    return PlainTextResponse("just text")


@app.get("/crash")
def crash():
    raise RuntimeError("the endpoint crashed")


client = TestClient(app)


def test_read_main():
    response = client.get("/")
    assert response.status_code == 200
    assert response.json() == {"msg": "Hello World"}


def test_read_item():
    response = client.get("/items/foo", headers={"X-Token": "coneofsilence"})
    assert response.status_code == 200
    assert response.json() == {"id": "foo", "title": "Foo", "description": "There goes my hero"}


def test_read_item_bad_token():
    response = client.get("/items/foo", headers={"X-Token": "hailhydra"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid X-Token header"}


def test_read_nonexistent_item():
    response = client.get("/items/baz", headers={"X-Token": "coneofsilence"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Item not found"}


def test_read_item_missing_header():
    response = client.get("/items/foo")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [{"type": "missing", "loc": ["header", "x-token"], "msg": "Field required", "input": None}]
    }


def test_create_item():
    response = client.post(
        "/items/",
        headers={"X-Token": "coneofsilence"},
        json={"id": "foobar", "title": "Foo Bar", "description": "The Foo Barters"},
    )
    assert response.status_code == 200
    assert response.json() == {"id": "foobar", "title": "Foo Bar", "description": "The Foo Barters"}


def test_create_item_bad_token():
    response = client.post("/items/", headers={"X-Token": "hailhydra"}, json={"id": "bazz", "title": "Bazz"})
    assert response.status_code == 400
    assert response.json() == {"detail": "Invalid X-Token header"}


def test_create_existing_item():
    response = client.post(
        "/items/",
        headers={"X-Token": "coneofsilence"},
        json={"id": "foo", "title": "The Foo ID Stealers", "description": "There goes my stealer"},
    )
    assert response.status_code == 409
    assert response.json() == {"detail": "Item already exists"}


def test_create_item_invalid_body():
    response = client.post("/items/", headers={"X-Token": "coneofsilence"}, json={"title": 3})
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {"type": "missing", "loc": ["body", "id"], "msg": "Field required", "input": {"title": 3}},
            {"type": "string_type", "loc": ["body", "title"], "msg": "Input should be a valid string", "input": 3},
        ]
    }


def test_redirect_slashes():
    response = client.post("/items", headers={"X-Token": "coneofsilence"}, json={"id": "slash", "title": "S"})
    assert response.status_code == 200
    assert response.url == "http://testserver/items/"
    assert [r.status_code for r in response.history] == [307]


def test_dependency():
    response = client.get("/users/?q=foo&skip=5")
    assert response.json() == {"message": "Hello Users!", "params": {"q": "foo", "skip": 5, "limit": 100}}


async def override_dependency(q: str | None = None):
    return {"q": q, "skip": 5, "limit": 10}


def test_dependency_override():
    app.dependency_overrides[common_parameters] = override_dependency
    try:
        response = client.get("/users/?q=bar")
        assert response.json() == {"message": "Hello Users!", "params": {"q": "bar", "skip": 5, "limit": 10}}
    finally:
        app.dependency_overrides = {}


def test_custom_exception_handler():
    response = client.get("/unicorns/yolo")
    assert response.status_code == 418
    assert response.json() == {"message": "Oops! yolo did something. There goes a rainbow..."}


def test_form():
    response = client.post("/login/", data={"username": "johndoe", "password": "secret"})
    assert response.status_code == 200
    assert response.json() == {"username": "johndoe"}


def test_form_missing_field():
    response = client.post("/login/", data={"username": "johndoe"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


def test_file_and_form():
    response = client.post("/files/", files={"file": ("a.bin", b"\x00\x01\x02")}, data={"token": "t"})
    assert response.json() == {"file_size": 3, "token": "t"}


def test_upload_files():
    files = [("files", ("one.txt", b"first file")), ("files", ("two.txt", b"2nd"))]
    response = client.post("/uploadfiles/", files=files)
    assert response.json() == {"filenames": ["one.txt", "two.txt"], "sizes": [10, 3]}


def test_background_task_has_run():
    notifications.clear()
    response = client.post("/send-notification/foo@example.com")
    assert response.json() == {"message": "Notification sent in the background"}
    assert notifications == ["notification for foo@example.com: some notification"]


def test_cookie_jar():
    local = TestClient(app)
    assert local.get("/cookie-read").json() == {"session": None}
    response = local.get("/cookie-set")
    assert response.cookies["session"] == "abc123"
    assert local.cookies.get("session") == "abc123"
    assert local.get("/cookie-read").json() == {"session": "abc123"}
    local.cookies.clear()
    assert local.get("/cookie-read").json() == {"session": None}


def test_client_cookies_argument():
    local = TestClient(app, cookies={"session": "from-init"})
    assert local.get("/cookie-read").json() == {"session": "from-init"}


def test_follow_redirect():
    response = client.get("/old")
    assert response.status_code == 200
    assert response.json() == {"url": "http://testserver/new", "client": "testclient"}
    assert response.history[0].status_code == 307
    assert response.history[0].headers["location"] == "/new"


def test_no_follow_redirect():
    response = client.get("/old", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/new"
    assert response.is_redirect


def test_base_url():
    local = TestClient(app, base_url="http://example.org")
    assert local.get("/new").json()["url"] == "http://example.org/new"


def test_lifespan():
    lifecycle.clear()
    with TestClient(app) as local:
        assert lifecycle == ["startup"]
        assert local.get("/model").json() == {"model": "loaded"}
    assert lifecycle == ["startup", "shutdown"]


def test_text_and_head():
    response = client.get("/plain")
    assert response.text == "just text"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "9"
    head = client.head("/plain")
    assert head.status_code == 405


def test_not_found_and_method_not_allowed():
    assert client.get("/nowhere").json() == {"detail": "Not Found"}
    response = client.delete("/")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET"


def test_server_exception_is_raised():
    with pytest.raises(RuntimeError, match="the endpoint crashed"):
        client.get("/crash")


def test_server_exception_as_500():
    local = TestClient(app, raise_server_exceptions=False)
    response = local.get("/crash")
    assert response.status_code == 500
    assert response.text == "Internal Server Error"
