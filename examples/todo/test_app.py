"""The service's tests, written as FastAPI's docs write them (``pytest examples/todo``).

tests/test_example_todo.py runs them twice: as they are, and with every ``fastrapi`` import
turned into ``fastapi``, against FastAPI and Starlette's TestClient.

They use a SQLite database of their own, in a temporary directory, in place of the app's
(``app.dependency_overrides[get_session]``).
"""

import gzip
import itertools
import tempfile

import pytest
from sqlalchemy.orm import sessionmaker

from fastrapi import WebSocketDisconnect
from fastrapi.testclient import TestClient

from .app import app
from .database import create_db_engine, create_tables, get_session

_database_dir = tempfile.TemporaryDirectory(prefix="todo-test-")  # removed when the tests exit
test_engine = create_db_engine(f"sqlite:///{_database_dir.name}/todo.db")
create_tables(test_engine)
TestSession = sessionmaker(test_engine)


def get_test_session():
    with TestSession() as session:
        yield session


app.dependency_overrides[get_session] = get_test_session
client = TestClient(app)

_numbers = itertools.count(1)
PASSWORD = "correct horse battery"


def new_username(prefix: str) -> str:
    """Usernames are unique per test: the tests share one database."""
    return f"{prefix}_{next(_numbers)}"


def auth_headers(username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def signup(prefix: str) -> tuple[str, dict[str, str]]:
    username = new_username(prefix)
    response = client.post("/users", json={"username": username, "password": PASSWORD})
    assert response.status_code == 201, response.text
    return username, auth_headers(username)


def test_health():
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_register_login_and_me():
    username = new_username("ann")
    response = client.post("/users", json={"username": username, "password": PASSWORD, "full_name": "Ann Lee"})
    assert response.status_code == 201
    assert response.json() == {"username": username, "full_name": "Ann Lee"}  # no password hash

    response = client.post("/users", json={"username": username, "password": "another password"})
    assert response.status_code == 409
    assert response.json() == {"detail": "Username already registered"}

    response = client.post("/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200
    token = response.json()
    assert token["token_type"] == "bearer"

    response = client.get("/users/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert response.status_code == 200
    assert response.json() == {"username": username, "full_name": "Ann Lee"}


@pytest.mark.parametrize("username", ["dana", "nobody_here"])
def test_login_with_a_wrong_password_or_user(username):
    client.post("/users", json={"username": "dana", "password": PASSWORD})  # 409 the second time: fine
    response = client.post("/auth/token", data={"username": username, "password": "wrong password"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Incorrect username or password"}


def test_login_form_is_required():
    response = client.post("/auth/token", data={"username": "ann"})
    assert response.status_code == 422
    assert [error["loc"] for error in response.json()["detail"]] == [["body", "password"]]


def test_register_validation():
    response = client.post("/users", json={"username": "No Spaces!", "password": "short"})
    assert response.status_code == 422
    errors = {tuple(error["loc"]): error["type"] for error in response.json()["detail"]}
    assert errors == {("body", "username"): "string_pattern_mismatch", ("body", "password"): "string_too_short"}


def test_todos_need_a_token():
    response = client.get("/todos")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Not authenticated"}

    response = client.get("/todos", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "Could not validate credentials"}


def test_todo_crud():
    username, headers = signup("crud")
    response = client.post("/todos", json={"title": "Buy milk", "priority": "high"}, headers=headers)
    assert response.status_code == 201
    todo = response.json()
    assert response.headers["location"] == f"/todos/{todo['id']}"
    assert todo["owner"] == username
    assert (todo["title"], todo["description"], todo["priority"], todo["done"]) == ("Buy milk", None, "high", False)

    response = client.get(f"/todos/{todo['id']}", headers=headers)
    assert response.status_code == 200
    assert response.json() == todo

    response = client.patch(f"/todos/{todo['id']}", json={"done": True, "description": "2 litres"}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {**todo, "done": True, "description": "2 litres"}

    response = client.delete(f"/todos/{todo['id']}", headers=headers)
    assert response.status_code == 204
    assert response.content == b""

    response = client.get(f"/todos/{todo['id']}", headers=headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "Todo not found"}
    assert client.delete(f"/todos/{todo['id']}", headers=headers).status_code == 404


def test_todo_validation():
    _, headers = signup("valid")
    response = client.post("/todos", json={"description": "no title", "priority": "urgent"}, headers=headers)
    assert response.status_code == 422
    errors = {tuple(error["loc"]): error["type"] for error in response.json()["detail"]}
    assert errors == {("body", "title"): "missing", ("body", "priority"): "literal_error"}

    response = client.post("/todos", json={"title": "x" * 201}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "string_too_long"

    response = client.get("/todos/zero", headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "todo_id"]


def test_someone_elses_todo():
    _, alice = signup("alice")
    _, bob = signup("bob")
    todo = client.post("/todos", json={"title": "Alice's"}, headers=alice).json()

    assert client.get(f"/todos/{todo['id']}", headers=bob).status_code == 403
    response = client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=bob)
    assert response.status_code == 403
    assert response.json() == {"detail": "Not your todo"}
    assert client.delete(f"/todos/{todo['id']}", headers=bob).status_code == 403
    assert client.get("/todos", headers=bob).json() == []
    assert client.get(f"/todos/{todo['id']}", headers=alice).json()["done"] is False
    assert client.get("/todos/999999", headers=bob).status_code == 404


def test_filter_and_paginate():
    _, headers = signup("pages")
    ids = [client.post("/todos", json={"title": f"task {i}"}, headers=headers).json()["id"] for i in range(5)]
    for todo_id in ids[:2]:
        client.patch(f"/todos/{todo_id}", json={"done": True}, headers=headers)

    response = client.get("/todos", params={"skip": 1, "limit": 2}, headers=headers)
    assert response.status_code == 200
    assert [todo["id"] for todo in response.json()] == ids[1:3]
    assert response.headers["x-total-count"] == "5"

    response = client.get("/todos", params={"done": True}, headers=headers)
    assert [todo["id"] for todo in response.json()] == ids[:2]
    assert response.headers["x-total-count"] == "2"

    response = client.get("/todos", params={"done": False, "q": "TASK 4"}, headers=headers)
    assert [todo["id"] for todo in response.json()] == ids[4:]

    response = client.get("/todos", params={"limit": 101}, headers=headers)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]
    assert client.get("/todos", params={"skip": -1}, headers=headers).status_code == 422


def test_cors():
    preflight = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }
    response = client.options("/todos", headers=preflight)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-headers"] == "authorization, content-type"

    response = client.options("/todos", headers={**preflight, "Origin": "https://evil.example"})
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers

    _, headers = signup("cors")
    response = client.get("/todos", headers={**headers, "Origin": "http://localhost:3000"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert response.headers["access-control-expose-headers"] == "X-Total-Count, Location"


def test_large_lists_are_gzipped():
    _, headers = signup("gzip")
    for i in range(20):
        client.post("/todos", json={"title": f"todo {i}", "description": "d" * 200}, headers=headers)

    response = client.get("/todos", headers={**headers, "Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()) == 20  # httpx decompressed it
    assert int(response.headers["content-length"]) < len(gzip.compress(response.content)) * 2

    response = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers  # under minimum_size


def test_openapi():
    response = client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Todo API"
    assert [tag["name"] for tag in schema["tags"]] == ["auth", "users", "todos", "meta"]
    assert schema["components"]["securitySchemes"] == {
        "OAuth2PasswordBearer": {"type": "oauth2", "flows": {"password": {"scopes": {}, "tokenUrl": "auth/token"}}}
    }
    operation = schema["paths"]["/todos"]["get"]
    assert operation["tags"] == ["todos"]
    assert operation["security"] == [{"OAuth2PasswordBearer": []}]
    assert {p["name"] for p in operation["parameters"]} == {"skip", "limit", "done", "priority", "q"}
    assert set(schema["paths"]["/todos/{todo_id}"]) == {"get", "patch", "delete"}
    assert "security" not in schema["paths"]["/health"]["get"]

    response = client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text


def test_websocket_notifications():
    _, alice = signup("watcher")
    _, bob = signup("other")
    token = alice["Authorization"].removeprefix("Bearer ")
    with client.websocket_connect(f"/todos/ws?token={token}") as websocket:
        client.post("/todos", json={"title": "Bob's"}, headers=bob)  # not alice's: not sent
        todo = client.post("/todos", json={"title": "Watch me"}, headers=alice).json()
        assert websocket.receive_json() == {"event": "created", "todo": todo}

        done = client.patch(f"/todos/{todo['id']}", json={"done": True}, headers=alice).json()
        assert websocket.receive_json() == {"event": "updated", "todo": done}

        client.delete(f"/todos/{todo['id']}", headers=alice)
        assert websocket.receive_json() == {"event": "deleted", "todo": done}


def test_websocket_needs_a_token():
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/todos/ws?token=forged") as websocket:
        websocket.receive_json()
