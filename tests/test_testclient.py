"""fastrapi's TestClient, side by side with FastAPI's: each test runs once per framework (the
app built with that framework, its own TestClient) and expects the same results; a few check
what only fastrapi has (the worker thread behind the client)."""

import importlib
import threading
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Annotated, Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(params=["fastapi", "fastrapi"])
def fw(request: pytest.FixtureRequest) -> Any:
    name = request.param
    module = importlib.import_module(name)
    return SimpleNamespace(
        name=name,
        m=module,
        TestClient=importlib.import_module(f"{name}.testclient").TestClient,
        responses=importlib.import_module(f"{name}.responses"),
    )


def test_unhandled_exception_raised_or_500(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.get("/boom")
    async def boom():
        raise KeyError("lost")

    @app.get("/teapot")
    def teapot():
        raise fw.m.HTTPException(418, "short and stout")

    with pytest.raises(KeyError, match="lost"):
        fw.TestClient(app).get("/boom")
    response = fw.TestClient(app, raise_server_exceptions=False).get("/boom")
    assert (response.status_code, response.text) == (500, "Internal Server Error")
    response = fw.TestClient(app).get("/teapot")
    assert (response.status_code, response.json()) == (418, {"detail": "short and stout"})


def test_exception_with_a_500_handler_is_still_raised(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.exception_handler(Exception)
    async def on_error(request, exc):
        return fw.responses.JSONResponse({"error": str(exc)}, status_code=500)

    @app.get("/boom")
    def boom():
        raise ValueError("bad value")

    with pytest.raises(ValueError, match="bad value"):
        fw.TestClient(app).get("/boom")
    response = fw.TestClient(app, raise_server_exceptions=False).get("/boom")
    assert (response.status_code, response.json()) == (500, {"error": "bad value"})


def test_background_tasks_finish_before_the_request_returns(fw: Any) -> None:
    app = fw.m.FastAPI()
    done: list[str] = []

    async def later(tag: str) -> None:
        import asyncio

        await asyncio.sleep(0.05)
        done.append(tag)

    def fail() -> None:
        raise RuntimeError("background failed")

    @app.post("/work/{tag}")
    def work(tag: str, tasks: fw.m.BackgroundTasks):
        tasks.add_task(later, tag)
        return {"queued": tag}

    @app.post("/fail")
    def failing(tasks: fw.m.BackgroundTasks):
        tasks.add_task(fail)
        return {}

    @app.get("/plain/{tag}")
    def plain(tag: str):
        # A Response carrying its own task, from a route with no dependencies (the Rust fast path).
        task_class = importlib.import_module(f"{'starlette' if fw.name == 'fastapi' else 'fastrapi'}.background")
        return fw.responses.JSONResponse({"plain": tag}, background=task_class.BackgroundTask(later, tag))

    client = fw.TestClient(app)
    assert client.post("/work/a").json() == {"queued": "a"}
    assert done == ["a"]
    assert client.get("/plain/b").json() == {"plain": "b"}
    assert done == ["a", "b"]
    with pytest.raises(RuntimeError, match="background failed"):
        client.post("/fail")


def test_lifespan_runs_only_with_the_context_manager(fw: Any) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app):
        events.append("enter")
        yield {"resource": 42}
        events.append("exit")

    app = fw.m.FastAPI(lifespan=lifespan)

    @app.get("/resource")
    def resource(request: fw.m.Request):
        return {"resource": getattr(request.state, "resource", None)}

    client = fw.TestClient(app)
    assert client.get("/resource").status_code == 200
    assert events == []
    with fw.TestClient(app) as client:
        assert events == ["enter"]
        assert client.get("/resource").json() == {"resource": 42}
    assert events == ["enter", "exit"]
    with client:  # a client can be entered again
        assert client.get("/resource").json() == {"resource": 42}
    assert events == ["enter", "exit", "enter", "exit"]


def test_startup_and_shutdown_events(fw: Any) -> None:
    events: list[str] = []
    app = fw.m.FastAPI(
        on_startup=[lambda: events.append("startup")], on_shutdown=[lambda: events.append("shutdown")]
    )

    @app.get("/")
    def root():
        return events

    with fw.TestClient(app) as client:
        assert client.get("/").json() == ["startup"]
    assert events == ["startup", "shutdown"]


def test_startup_failure_is_raised(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.on_event("startup")
    def broken():
        raise RuntimeError("cannot start")

    with pytest.raises(RuntimeError, match="cannot start"), fw.TestClient(app):
        pass


def test_cookie_jar_across_requests_and_redirects(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.post("/login")
    def login():
        response = fw.responses.RedirectResponse("/me", status_code=303)
        response.set_cookie("user", "ann", httponly=True)
        response.set_cookie("scoped", "x", path="/scoped")
        return response

    @app.get("/me")
    def me(request: fw.m.Request):
        return dict(sorted(request.cookies.items()))

    @app.get("/scoped/me")
    def scoped(request: fw.m.Request):
        return dict(sorted(request.cookies.items()))

    @app.post("/logout")
    def logout():
        response = fw.responses.JSONResponse({"bye": True})
        response.delete_cookie("user")
        return response

    client = fw.TestClient(app)
    response = client.post("/login")
    assert (response.status_code, response.json()) == (200, {"user": "ann"})
    assert [(r.status_code, r.headers["location"]) for r in response.history] == [(303, "/me")]
    assert response.history[0].cookies["user"] == "ann"
    assert client.get("/scoped/me").json() == {"scoped": "x", "user": "ann"}
    assert client.post("/logout").json() == {"bye": True}
    assert client.get("/me").json() == {}
    client.cookies.set("manual", "1")
    assert client.get("/me").json() == {"manual": "1"}


def test_redirects(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.get("/a")
    def a():
        return fw.responses.RedirectResponse("/b")

    @app.get("/b")
    def b():
        return fw.responses.RedirectResponse("http://testserver/c?x=1", status_code=302)

    @app.get("/c")
    def c(x: int):
        return {"x": x}

    client = fw.TestClient(app)
    response = client.get("/a")
    assert response.json() == {"x": 1}
    assert [r.status_code for r in response.history] == [307, 302]
    assert str(response.url) == "http://testserver/c?x=1"
    not_followed = fw.TestClient(app, follow_redirects=False).get("/a")
    assert (not_followed.status_code, not_followed.headers["location"]) == (307, "/b")
    assert client.get("/a", follow_redirects=False).next_request is not None


def test_forms_and_files(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.post("/upload")
    async def upload(
        title: Annotated[str, fw.m.Form()],
        tags: Annotated[list[str], fw.m.Form()],
        files: list[fw.m.UploadFile],
    ):
        return {
            "title": title,
            "tags": tags,
            "files": [(f.filename, f.content_type, len(await f.read())) for f in files],
        }

    big = bytes(range(256)) * 8192  # 2 MiB: spooled to a temporary file by the server
    response = fw.TestClient(app).post(
        "/upload",
        data={"title": "t", "tags": ["a", "b"]},
        files=[("files", ("small.txt", b"tiny", "text/plain")), ("files", ("big.bin", big, "application/x-big"))],
    )
    assert response.json() == {
        "title": "t",
        "tags": ["a", "b"],
        "files": [["small.txt", "text/plain", 4], ["big.bin", "application/x-big", len(big)]],
    }


def test_request_options_and_what_the_app_sees(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.api_route("/echo", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def echo(request: fw.m.Request):
        return {
            "method": request.method,
            "url": str(request.url),
            "query": dict(request.query_params),
            "client": list(request.client),
            "agent": request.headers.get("user-agent"),
            "extra": request.headers.get("x-extra"),
            "body": (await request.body()).decode(),
            "root_path": request.scope.get("root_path"),
        }

    client = fw.TestClient(app, headers={"X-Extra": "default"})
    body = client.get("/echo", params={"a": "1", "b": "two words"}).json()
    assert body == {
        "method": "GET",
        "url": "http://testserver/echo?a=1&b=two+words",
        "query": {"a": "1", "b": "two words"},
        "client": ["testclient", 50000],
        "agent": "testclient",
        "extra": "default",
        "body": "",
        "root_path": "",
    }
    for method in ("POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        sent = client.request(method, "/echo", content=b"raw", headers={"X-Extra": "mine"}).json()
        assert (sent["method"], sent["body"], sent["extra"]) == (method, "raw", "mine")
    assert client.post("/echo", json={"k": [1, 2]}).json()["body"] == '{"k":[1,2]}'
    other = fw.TestClient(app, base_url="https://api.example.com", root_path="/api", client=("10.0.0.1", 1234))
    seen = other.get("/echo").json()
    assert (seen["client"], seen["root_path"]) == (["10.0.0.1", 1234], "/api")
    assert seen["url"].endswith("//api.example.com/echo")
    response = client.get("/echo")
    assert str(response.request.url) == "http://testserver/echo"
    assert response.headers["content-type"] == "application/json"


def test_streaming_response(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.get("/lines")
    def lines():
        async def produce():
            for i in range(3):
                yield f"line {i}\n"

        return fw.responses.StreamingResponse(produce(), media_type="text/plain")

    client = fw.TestClient(app)
    assert client.get("/lines").text == "line 0\nline 1\nline 2\n"
    with client.stream("GET", "/lines") as response:
        assert list(response.iter_lines()) == ["line 0", "line 1", "line 2"]


def test_plain_asgi_app_and_mounts(fw: Any) -> None:
    events: list[str] = []

    @asynccontextmanager
    async def lifespan(app):
        events.append("star up")
        yield
        events.append("star down")

    async def hello(request):
        return PlainTextResponse(f"hello from {request.url.path} under {request.scope['root_path']!r}")

    star = Starlette(routes=[Route("/hello", hello)], lifespan=lifespan)
    with fw.TestClient(star) as client:
        assert client.get("/hello").text == "hello from /hello under ''"
    assert events == ["star up", "star down"]

    sub = fw.m.FastAPI()

    @sub.get("/where")
    def where(request: fw.m.Request):
        return {"root_path": request.scope["root_path"], "path": request.url.path}

    app = fw.m.FastAPI()
    app.mount("/star", star)
    app.mount("/sub", sub)
    client = fw.TestClient(app)
    assert client.get("/star/hello").text == "hello from /star/hello under '/star'"
    assert client.get("/sub/where").json() == {"root_path": "/sub", "path": "/sub/where"}


def test_a_mounted_app_is_also_an_app_of_its_own(fw: Any) -> None:
    sub = fw.m.FastAPI()

    @sub.get("/where")
    def where(request: fw.m.Request):
        return {"root_path": request.scope["root_path"], "same_app": request.app is sub}

    app = fw.m.FastAPI()

    @app.middleware("http")
    async def outer(request, call_next):
        response = await call_next(request)
        response.headers["x-outer"] = "1"
        return response

    app.mount("/a", sub)
    app.mount("/b", sub)
    outer_client = fw.TestClient(app)
    for prefix in ("/a", "/b"):
        response = outer_client.get(f"{prefix}/where")
        assert response.json() == {"root_path": prefix, "same_app": True}
        assert response.headers["x-outer"] == "1"
    response = fw.TestClient(sub).get("/where")
    assert response.json() == {"root_path": "", "same_app": True}
    assert "x-outer" not in response.headers


# -- what only fastrapi's client does -------------------------------------------------------
def test_requests_are_served_by_a_worker_thread_that_stops() -> None:
    from fastrapi import FastAPI
    from fastrapi.testclient import TestClient

    app = FastAPI()

    @app.get("/thread")
    def thread():
        return {"name": threading.current_thread().name}

    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "fastrapi-testclient-worker"]

    before = len(workers())
    client = TestClient(app)
    assert client.get("/thread").json() == {"name": "fastrapi-testclient-worker"}
    response = client.get("/thread")
    assert "date" in response.headers  # written by the Rust server
    assert len(workers()) == before  # without `with`: a worker for the calls in flight only
    with client.stream("GET", "/thread") as streamed, client.stream("GET", "/thread") as second:
        assert len(workers()) == before + 1  # shared by overlapping calls
        assert streamed.read() == second.read()
    assert len(workers()) == before
    with TestClient(app) as client:
        assert client.get("/thread").json() == {"name": "fastrapi-testclient-worker"}
        assert len(workers()) == before + 1
    assert len(workers()) == before


def test_routes_added_before_the_first_request_are_served() -> None:
    from fastrapi import FastAPI
    from fastrapi.testclient import TestClient

    app = FastAPI()
    client = TestClient(app)

    @app.get("/late")  # routes added after the client was made, before its first request
    def late():
        return {"late": True}

    assert client.get("/late").json() == {"late": True}


def test_websocket_session(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.websocket("/ws/{room}")
    async def chat(websocket: fw.m.WebSocket, room: str):
        await websocket.accept()
        cookie, query = websocket.cookies.get("c"), websocket.query_params.get("q")
        await websocket.send_json({"room": room, "cookie": cookie, "q": query})
        while True:
            text = await websocket.receive_text()
            if text == "bye":
                await websocket.close(code=4001, reason="asked to leave")
                return
            if text == "bytes":
                await websocket.send_bytes(b"\x00\x01")
                continue
            await websocket.send_text(text.upper())

    @app.websocket("/denied")
    async def denied(websocket: fw.m.WebSocket):
        await websocket.close()

    client = fw.TestClient(app, cookies={"c": "cookie-value"})
    with client.websocket_connect("/ws/lobby?q=1") as websocket:
        assert websocket.receive_json() == {"room": "lobby", "cookie": "cookie-value", "q": "1"}
        websocket.send_text("hello")
        assert websocket.receive_text() == "HELLO"
        websocket.send_text("bytes")
        assert websocket.receive_bytes() == b"\x00\x01"
        websocket.send_json({"a": 1})
        assert websocket.receive_text() == '{"A":1}'
        websocket.send_text("bye")
        with pytest.raises(fw.m.WebSocketDisconnect) as closed:
            websocket.receive_text()
        assert (closed.value.code, closed.value.reason) == (4001, "asked to leave")
    with pytest.raises(fw.m.WebSocketDisconnect), client.websocket_connect("/denied"):
        pass


def test_an_exception_in_a_streaming_body_is_raised_in_the_test(fw: Any) -> None:
    app = fw.m.FastAPI()

    @app.get("/broken")
    def broken():
        def lines():
            yield "first\n"
            raise ValueError("stream broke")

        return fw.responses.StreamingResponse(lines())

    with pytest.raises(ValueError, match="stream broke"):
        fw.TestClient(app).get("/broken")
