"""Third-party FastAPI extensions on unchanged FastAPI apps, served by FastAPI + uvicorn and by fastrapi.

One app per library (tests/apps/ext_*.py), used the way the library documents. Each app is served once by each
server (one worker: limiters, caches, metric registries and captured events live in the worker process), a
scenario drives it over HTTP and returns what the library did — metrics per route label, correlation ids, 429s,
pages, Sentry events, OpenTelemetry spans, a user flow, GraphQL answers, admin pages — with what legitimately
differs between two runs (ports, ids, timings) normalised away. Side effects inside the server are read back
from a small endpoint of the app. ``test_reference`` checks that uvicorn shows the behaviour the library
documents; ``test_same_as_uvicorn`` compares fastrapi's observations with uvicorn's, one observable at a time.
Where fastrapi differs the case is an xfail naming the part of the runtime that gets it wrong.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests import conftest

pytestmark = pytest.mark.timeout(120)

Observations = dict[str, Any]


# -- helpers ----------------------------------------------------------------------------------------------


def _client(url: str) -> httpx.Client:
    """One keep-alive connection for a whole scenario."""
    return httpx.Client(base_url=url, timeout=30)


def _eventually(read: Callable[[], Any], ready: Callable[[Any], bool], deadline_s: float = 10.0) -> Any:
    """``read()`` until ``ready`` says so: servers record metrics, spans and events after the response went out.
    Past the deadline the last value is returned, and the comparison shows what is missing."""
    deadline = time.monotonic() + deadline_s
    while True:
        value = read()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _without_base(text: str, url: str) -> str:
    return text.replace(url, "BASE").replace(url.replace("http://", ""), "HOST")


# -- scenarios: one per app, each returns JSON-able observations ------------------------------------------

METRICS_TRAFFIC = ("/items/1", "/items/2", "/api/users/a", "/nope", "/items/x")


def _metric_samples(text: str, *names: str) -> list[str]:
    """Sample lines of the named metrics, except those of the /metrics route itself (it counts its own reads)."""
    return sorted(
        line for line in text.splitlines()
        if line.startswith(names) and '"/metrics"' not in line
    )


def _sample_total(lines: list[str]) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


def _metrics_scenario(url: str, counter: str, histogram_count: str, recorded: int) -> Observations:
    with _client(url) as client:
        statuses = [client.get(path).status_code for path in METRICS_TRAFFIC]
        metrics = _eventually(
            lambda: client.get("/metrics"),
            lambda r: _sample_total(_metric_samples(r.text, counter)) >= recorded,
        )
    return {
        "statuses": statuses,
        "metrics_response": [metrics.status_code, metrics.headers["content-type"]],
        "requests_total": _metric_samples(metrics.text, counter),
        "duration_count": _metric_samples(metrics.text, histogram_count),
    }


def prometheus_instrumentator(url: str) -> Observations:
    return _metrics_scenario(url, "http_requests_total{", "http_request_duration_seconds_count{", recorded=5)


def starlette_exporter(url: str) -> Observations:
    # The 404 is not recorded (filter_unhandled_paths).
    return _metrics_scenario(url, "starlette_requests_total{", "starlette_request_duration_seconds_count{", 4)


VALID_REQUEST_ID = uuid.UUID(int=0x1234).hex


def correlation_id(url: str) -> Observations:
    out: Observations = {}
    with _client(url) as client:
        for path in ("/async", "/sync"):
            echoed = client.get(path, headers={"X-Request-ID": VALID_REQUEST_ID})
            generated = client.get(path)
            invalid = client.get(path, headers={"X-Request-ID": "not-a-uuid"})
            new_id = generated.headers.get("x-request-id", "")
            replaced = invalid.headers.get("x-request-id", "")
            out[path] = {
                "echoed": [echoed.status_code, echoed.headers.get("x-request-id"), echoed.json()],
                "generated": [generated.status_code, bool(re.fullmatch(r"[0-9a-f]{32}", new_id)),
                              generated.json() == {"cid": new_id, "header": new_id}],
                "invalid_replaced": [invalid.status_code, replaced not in ("", "not-a-uuid"),
                                     invalid.json() == {"cid": replaced, "header": replaced}],
            }
    return out


def slowapi(url: str) -> Observations:
    def view(response: httpx.Response) -> list[Any]:
        headers = response.headers
        return [response.status_code, response.json(), headers.get("x-ratelimit-limit"),
                headers.get("x-ratelimit-remaining"), "retry-after" in headers]

    with _client(url) as client:
        return {path: [view(client.get(path)) for _ in range(count)]
                for path, count in (("/limited", 3), ("/default", 4), ("/api/routed", 5))}


SENTRY_EVENTS_PATH = "/_sentry/events"


def _sentry_summary(event: dict[str, Any], url: str) -> dict[str, Any]:
    request = event.get("request", {})
    trace = event.get("contexts", {}).get("trace", {})
    summary: dict[str, Any] = {
        "type": event.get("type", "event"),
        "transaction": event.get("transaction"),
        "source": event.get("transaction_info", {}).get("source"),
        "request": [request.get("method"), _without_base(request.get("url", ""), url), request.get("data"),
                    request.get("query_string")],
        "op": trace.get("op"),
        "status": trace.get("status"),
        "http_status": trace.get("data", {}).get("http.response.status_code"),
    }
    if event.get("exception"):
        error = event["exception"]["values"][-1]
        summary["exception"] = [error["type"], error["value"], error["mechanism"]["type"],
                                error["mechanism"].get("handled")]
    return summary


def sentry(url: str) -> Observations:
    with _client(url) as client:
        statuses = [client.get(path).status_code for path in ("/items/1?q=a", "/items/503", "/api/users/a")]
    # After an unhandled exception uvicorn closes the connection: fresh connections for those.
    statuses.append(httpx.get(url + "/boom").status_code)
    statuses.append(httpx.post(url + "/orders", json={"id": 7, "qty": 2}).status_code)

    def own(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if not e.get("request", {}).get("url", "").endswith(SENTRY_EVENTS_PATH)]

    with _client(url) as client:
        events = own(_eventually(
            lambda: client.get(SENTRY_EVENTS_PATH).json(),
            lambda found: len(own(found)) >= 8,  # 5 transactions, 3 errors
        ))
    summaries = [_sentry_summary(event, url) for event in events]
    by_type = {kind: sorted((s for s in summaries if s["type"] == kind), key=json.dumps)
               for kind in ("event", "transaction")}
    return {"statuses": statuses, "errors": by_type["event"], "transactions": by_type["transaction"]}


OTEL_SPANS_PATH = "/_otel/spans"
TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
# Attributes that name the client's or the server's port, or the client library, differ between two runs.
OTEL_RUN_SPECIFIC = re.compile(r"(^|\.)(port|peer\.ip|user_agent|original)$|^(user_agent\.|client\.address)")


def _span_summaries(spans: list[dict[str, Any]], url: str) -> list[str]:
    """Spans as sorted JSON strings; ids replaced by the parent's name ("remote": a parent in another process)."""
    by_id = {span["id"]: span for span in spans}
    out = []
    for span in spans:
        parent = by_id.get(span["parent"])
        attributes = {key: _without_base(value, url) if isinstance(value, str) else value
                      for key, value in span["attributes"].items() if not OTEL_RUN_SPECIFIC.search(key)}
        out.append(json.dumps({
            "name": span["name"], "kind": span["kind"], "scope": span["scope"], "status": span["status"],
            "parent": parent["name"] if parent else ("remote" if span["parent"] else None),
            "attributes": attributes,
        }, sort_keys=True))
    return sorted(out)


def opentelemetry(url: str) -> Observations:
    with _client(url) as client:
        statuses = [client.get(path).status_code for path in ("/items/1", "/api/users/a", "/nope")]
        statuses.append(client.get("/items/7", headers={"traceparent": TRACEPARENT}).status_code)
        spans = _eventually(
            lambda: client.get(OTEL_SPANS_PATH).json(),
            lambda found: sum(s["kind"] == "SERVER" for s in found) >= 4 and any(s["name"] == "audit" for s in found),
        )
    summaries = _span_summaries(spans, url)
    names = {span["id"]: span["name"] for span in spans}
    return {
        "statuses": statuses,
        "span_tree": sorted(f"{span['name']} <- {names.get(span['parent'], span['parent'] and 'remote')}"
                            for span in spans),
        "server_spans": [s for s in summaries if '"kind": "SERVER"' in s],
        "other_spans": [s for s in summaries if '"kind": "SERVER"' not in s],
        "spans_in_incoming_trace": sorted(s["name"] for s in spans if s["trace"] == TRACE_ID),
    }


def pagination(url: str) -> Observations:
    out: Observations = {}
    with _client(url) as client:
        for path in ("/users?page=2&size=3", "/users", "/users?size=0", "/api/users-sync?page=34&size=3",
                     "/late?size=2"):
            response = client.get(path)
            body = response.json()
            if "items" in body:
                body["items"] = [user["id"] for user in body["items"]]
            out[path] = [response.status_code, body]
        schema = client.get("/openapi.json").json()
    out["openapi_parameters"] = {
        path: [p["name"] for p in schema["paths"][path]["get"].get("parameters", [])]
        for path in ("/users", "/api/users-sync", "/late")
    }
    return out


def fastapi_users(url: str) -> Observations:
    credentials = {"email": "king.arthur@camelot.bt", "password": "guinevere"}
    with _client(url) as client:
        register = client.post("/auth/register", json=credentials)
        again = client.post("/auth/register", json=credentials)
        bad_login = client.post("/auth/jwt/login", data={"username": credentials["email"], "password": "wrong"})
        login = client.post("/auth/jwt/login",
                            data={"username": credentials["email"], "password": credentials["password"]})
        token = login.json().get("access_token", "")
        bearer = {"Authorization": f"Bearer {token}"}
        anonymous = client.get("/users/me")
        me = client.get("/users/me", headers=bearer)
        hello = client.get("/authenticated-route", headers=bearer)
        bad_token = client.get("/authenticated-route", headers={"Authorization": "Bearer not.a.token"})
        logout = client.post("/auth/jwt/logout", headers=bearer)
    user = register.json()
    return {
        "register": [register.status_code, {k: v for k, v in user.items() if k != "id"}],
        "register_again": [again.status_code, again.json()],
        "bad_login": [bad_login.status_code, bad_login.json()],
        "login": [login.status_code, login.json().get("token_type"), token.count(".")],
        "anonymous": [anonymous.status_code, anonymous.json(), anonymous.headers.get("www-authenticate")],
        "me": [me.status_code, me.json() == user],
        "authenticated_route": [hello.status_code, hello.json()],
        "bad_token": [bad_token.status_code, bad_token.json()],
        "logout": [logout.status_code, logout.text],
    }


def strawberry(url: str) -> Observations:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    with _client(url) as client:
        post = client.post("/graphql", json={"query": '{ hello(name: "Ada") }'})
        get = client.get("/graphql", params={"query": "{ hello }"})
        ide = client.get("/graphql", headers={"Accept": "text/html"})
        error = client.post("/graphql", json={"query": "{ nope }"})
    messages = []
    with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        ws.send(json.dumps({"type": "connection_init"}))
        messages.append(json.loads(ws.recv(timeout=5)))
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "subscription { count(target: 3) }"}}))
        while messages[-1]["type"] not in ("complete", "error"):
            messages.append(json.loads(ws.recv(timeout=5)))
        subprotocol = ws.subprotocol
    with connect(ws_url, subprotocols=["unknown-protocol"]) as ws:  # type: ignore[list-item]
        try:
            ws.recv(timeout=5)
            unknown: Any = "not closed"
        except Exception as closed:  # accepted, then closed with 4406
            unknown = [type(closed).__name__, closed.rcvd.code, closed.rcvd.reason]  # type: ignore[attr-defined]
    try:  # cross-origin: strawberry closes before accepting, which the server answers with 403
        with connect(ws_url, subprotocols=["graphql-transport-ws"], origin="http://evil.example"):  # type: ignore
            cross_origin: Any = "accepted"
    except Exception as refused:
        cross_origin = [type(refused).__name__, refused.response.status_code]  # type: ignore[attr-defined]
    return {
        "post": [post.status_code, post.json()],
        "get": [get.status_code, get.json()],
        "graphiql": [ide.status_code, ide.headers["content-type"], "graphiql" in ide.text.lower()],
        "unknown_field": [error.status_code, error.json()],
        "ws_subprotocol": subprotocol,
        "ws_messages": messages,
        "ws_unknown_subprotocol": unknown,
        "ws_cross_origin": cross_origin,
    }


def _max_age(cache_control: str | None) -> str | None:
    """A cached answer's max-age is the TTL left in whole seconds: 60 or 59, depending on whether a second boundary
    passed since the first request (under either server)."""
    if cache_control in ("max-age=59", "max-age=60"):
        return "max-age=60 (or 59)"
    return cache_control


def fastapi_cache(url: str) -> Observations:
    with _client(url) as client:
        first = client.get("/counter/a")
        second = client.get("/counter/a")
        etag = second.headers.get("etag", "")
        not_modified = client.get("/counter/a", headers={"If-None-Match": etag})
        no_cache = client.get("/counter/a", headers={"Cache-Control": "no-cache"})
        other = client.get("/counter/b")

    def view(response: httpx.Response) -> list[Any]:
        return [response.status_code, response.json() if response.content else response.text,
                response.headers.get("x-fastapi-cache"), _max_age(response.headers.get("cache-control"))]

    return {
        "first": view(first), "second": view(second), "if_none_match": view(not_modified),
        "no_cache": view(no_cache), "other": view(other),
        # The ETag hashes with Python's per-process hash(): stable in a run, different between runs.
        "etag": [etag.startswith("W/"), first.headers.get("etag") == etag],
    }


def fastapi_limiter(url: str) -> Observations:
    with _client(url) as client:
        return {path: [[r.status_code, r.json()] for r in (client.get(path) for _ in range(3))]
                for path in ("/", "/skip")}


def fastapi_limiter_with_router(url: str) -> Observations:
    def fetch(path: str) -> list[Any]:  # a fresh connection each: the limited requests end in a server error
        response = httpx.get(url + path)
        return [response.status_code, response.text]

    return {"/": [fetch("/") for _ in range(2)], "/api/plain": fetch("/api/plain")}


def sqladmin(url: str) -> Observations:
    def page(response: httpx.Response) -> list[Any]:
        return [response.status_code, response.headers.get("content-type"),
                _without_base(response.headers.get("location", ""), url)]

    with _client(url) as client:
        index = client.get("/admin/")
        listing = client.get("/admin/user/list")
        create_form = client.get("/admin/user/create")
        created = client.post("/admin/user/create", data={"name": "Ada", "save": "Save"})
        details = client.get("/admin/user/details/1")
        listing_after = client.get("/admin/user/list")
        missing = client.get("/admin/user/details/999")
        css = client.get("/admin/statics/css/main.css")
    return {
        "index": page(index), "list": page(listing), "create_form": page(create_form), "created": page(created),
        "details": page(details), "missing": page(missing), "css": page(css) + [len(css.content)],
        "list_shows_created_row": ["Ada" in listing.text, "Ada" in listing_after.text, "Ada" in details.text],
        "links_absolute": f"{url}/admin/user/create" in listing.text,
        "list_html": _without_base(listing.text, url), "list_after_html": _without_base(listing_after.text, url),
        "details_html": _without_base(details.text, url), "create_form_html": _without_base(create_form.text, url),
    }


# -- serving -----------------------------------------------------------------------------------------------


def _logged_errors(log: str) -> list[str]:
    """The exception line ending each traceback in a server's log: what the server reported as failures."""
    errors = set()
    in_traceback = False
    for line in log.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line and not line[0].isspace():
            errors.add(line)
            in_traceback = False
    return sorted(errors)


@dataclass(frozen=True)
class Library:
    module: str
    scenario: Callable[[str], Observations]
    # The scenario's keys compared between the servers (each also compares the errors in the server's log).
    observables: tuple[str, ...]
    attr: str = "app"
    fastrapi_options: tuple[tuple[str, Any], ...] = ()  # serve() options, for fastrapi only
    # Both servers at once, unless the scenario is CPU-bound (password hashing): on two cores they then take
    # several times longer together than one after the other.
    parallel: bool = True


METRICS = ("statuses", "metrics_response", "requests_total", "duration_count")
LIBRARIES: dict[str, Library] = {
    "prometheus-fastapi-instrumentator": Library(
        "tests.apps.ext_prometheus_instrumentator", prometheus_instrumentator, METRICS),
    "starlette-exporter": Library("tests.apps.ext_starlette_exporter", starlette_exporter, METRICS),
    "asgi-correlation-id": Library("tests.apps.ext_correlation_id", correlation_id, ("/async", "/sync")),
    "slowapi": Library("tests.apps.ext_slowapi", slowapi, ("/limited", "/default", "/api/routed")),
    "sentry-sdk": Library("tests.apps.ext_sentry", sentry, ("statuses", "errors", "transactions")),
    "opentelemetry-instrumentation-fastapi": Library(
        "tests.apps.ext_opentelemetry", opentelemetry,
        ("statuses", "span_tree", "server_spans", "other_spans", "spans_in_incoming_trace")),
    "fastapi-pagination": Library(
        "tests.apps.ext_pagination", pagination,
        ("/users?page=2&size=3", "/users", "/users?size=0", "/api/users-sync?page=34&size=3", "/late?size=2",
         "openapi_parameters")),
    "fastapi-users": Library(
        "tests.apps.ext_fastapi_users", fastapi_users,
        ("register", "register_again", "bad_login", "login", "anonymous", "me", "authenticated_route", "bad_token",
         "logout"), parallel=False),
    "strawberry": Library(
        "tests.apps.ext_strawberry", strawberry,
        ("post", "get", "graphiql", "unknown_field", "ws_subprotocol", "ws_messages", "ws_unknown_subprotocol",
         "ws_cross_origin")),
    "fastapi-cache2": Library(
        "tests.apps.ext_fastapi_cache", fastapi_cache,
        ("first", "second", "if_none_match", "no_cache", "other", "etag")),
    "fastapi-limiter": Library("tests.apps.ext_fastapi_limiter", fastapi_limiter, ("/", "/skip")),
    "fastapi-limiter+include_router": Library(
        "tests.apps.ext_fastapi_limiter", fastapi_limiter_with_router, ("/", "/api/plain"), attr="app_with_router"),
    "sqladmin": Library(
        "tests.apps.ext_sqladmin", sqladmin,
        ("index", "list", "create_form", "created", "details", "missing", "css", "list_shows_created_row",
         "links_absolute", "list_html", "list_after_html", "details_html", "create_form_html")),
}


@dataclass
class Observed:
    reference: Observations  # FastAPI + uvicorn
    fastrapi: Observations
    fastrapi_log: str


def _observe(server_fixture: Any, tmp: Path, library: Library) -> tuple[Observations, str]:
    """Starts one server for the app, runs the scenario, stops the server."""
    starter = server_fixture.__wrapped__(tmp)
    start = next(starter)
    try:
        options = dict(library.fastrapi_options) if server_fixture is conftest.serve_app else {}
        server = start(library.module, library.attr, **options)
        observations = library.scenario(server.url)
        # What the server reported while serving (not while stopping).
        observations["errors_logged"] = _logged_errors(server.log())
    finally:
        for _ in starter:  # the fixture's teardown: stops the server
            pass
    return observations, server.log()


def _observe_both(tmp: Path, library: Library) -> tuple[tuple[Observations, str], tuple[Observations, str]]:
    """(observations, log) under FastAPI + uvicorn and under fastrapi; both run at once (separate processes,
    ports and state), which halves the time spent importing the apps."""
    with concurrent.futures.ThreadPoolExecutor(2 if library.parallel else 1) as pool:
        reference = pool.submit(_observe, conftest.serve_fastapi, tmp, library)
        observed = pool.submit(_observe, conftest.serve_app, tmp, library)
        return reference.result(), observed.result()


class ObservedLibraries:
    """Each library's scenario, run under both servers the first time a test asks for it."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.done: dict[str, Observed] = {}

    def __getitem__(self, name: str) -> Observed:
        if name not in self.done:
            (reference, _), (observed, log) = _observe_both(self.tmp_path_factory.mktemp("ext"), LIBRARIES[name])
            self.done[name] = Observed(reference, observed, log)
        return self.done[name]


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> ObservedLibraries:
    return ObservedLibraries(tmp_path_factory)


# -- what each library does under FastAPI + uvicorn (what the comparison is worth) ---------------------------


def _sentry_event(kind: str, method: str, path: str, transaction: str, status: str | None,
                  http_status: int | None, data: Any = None, query: str | None = None,
                  exception: list[Any] | None = None) -> dict[str, Any]:
    event = {"type": kind, "transaction": transaction, "source": "route", "op": "http.server",
             "request": [method, f"BASE{path}", data, query], "status": status, "http_status": http_status}
    return {**event, "exception": exception} if exception else event


_ORDER = {"id": 7, "qty": 2}
_PAGE_SIZE_ERROR = {"detail": [{"type": "greater_than_equal", "loc": ["query", "size"],
                                "msg": "Input should be greater than or equal to 1", "input": "0", "ctx": {"ge": 1}}]}
_METRICS_CONTENT_TYPE = [200, "text/plain; version=1.0.0; charset=utf-8"]
_VALID_ID_ECHOED = [200, VALID_REQUEST_ID, {"cid": VALID_REQUEST_ID, "header": VALID_REQUEST_ID}]
_CORRELATION_ID = {"echoed": _VALID_ID_ECHOED, "generated": [200, True, True], "invalid_replaced": [200, True, True]}
_HTML = "text/html; charset=utf-8"
_ITEM_SPAN = "GET /items/{item_id}"
_USER_SPAN = "GET /api/users/{user_id}"

# Under uvicorn, per library: the observations that show the library working as its documentation says.
REFERENCE: dict[str, Observations] = {
    "prometheus-fastapi-instrumentator": {
        "statuses": [200, 200, 200, 404, 422],
        "metrics_response": _METRICS_CONTENT_TYPE,
        "requests_total": [  # labelled by the included route's prefixed template; the 404 as "none"
            'http_requests_total{handler="/api/users/{user_id}",method="GET",status="2xx"} 1.0',
            'http_requests_total{handler="/items/{item_id}",method="GET",status="2xx"} 2.0',
            'http_requests_total{handler="/items/{item_id}",method="GET",status="4xx"} 1.0',
            'http_requests_total{handler="none",method="GET",status="4xx"} 1.0',
        ],
        "errors_logged": [],
    },
    "starlette-exporter": {
        "metrics_response": _METRICS_CONTENT_TYPE,
        "requests_total": [  # nothing for the 404: the scope has no endpoint after it
            'starlette_requests_total{app_name="starlette",method="GET",path="/api/users/{user_id}",'
            'status_code="200"} 1.0',
            'starlette_requests_total{app_name="starlette",method="GET",path="/items/{item_id}",'
            'status_code="200"} 2.0',
            'starlette_requests_total{app_name="starlette",method="GET",path="/items/{item_id}",'
            'status_code="422"} 1.0',
        ],
        "errors_logged": [],
    },
    "asgi-correlation-id": {"/async": _CORRELATION_ID, "/sync": _CORRELATION_ID, "errors_logged": []},
    "slowapi": {
        "/limited": [[200, {"ok": True}, "2", "1", True], [200, {"ok": True}, "2", "0", True],
                     [429, {"error": "Rate limit exceeded: 2 per 1 minute"}, "2", "0", True]],
        "/default": [[200, {"ok": True}, "3", "2", True], [200, {"ok": True}, "3", "1", True],
                     [200, {"ok": True}, "3", "0", True],
                     [429, {"error": "Rate limit exceeded: 3 per 1 minute"}, "3", "0", True]],
        # Exempt: slowapi's route lookup cannot see inside FastAPI's _IncludedRouter (an upstream limitation).
        "/api/routed": [[200, {"ok": True}, None, None, False]] * 5,
        "errors_logged": [],
    },
    "sentry-sdk": {
        "statuses": [200, 503, 200, 500, 500],
        "errors": [
            _sentry_event("event", "GET", "/boom", "/boom", "internal_error", 500,
                          exception=["ZeroDivisionError", "division by zero", "starlette", False]),
            # Captured by the exception handler sentry wraps (5xx HTTPExceptions).
            _sentry_event("event", "GET", "/items/503", "/items/{item_id}", None, None,
                          exception=["HTTPException", "down", "starlette", True]),
            # The request body, read by sentry's wrapper of FastAPI's request handler.
            _sentry_event("event", "POST", "/orders", "/orders", "internal_error", 500, _ORDER,
                          exception=["RuntimeError", "cannot place order 7", "starlette", False]),
        ],
        "transactions": [
            # The included route is named by its prefixed template.
            _sentry_event("transaction", "GET", "/api/users/a", "/api/users/{user_id}", "ok", 200),
            _sentry_event("transaction", "GET", "/boom", "/boom", "internal_error", 500),
            _sentry_event("transaction", "GET", "/items/1", "/items/{item_id}", "ok", 200, query="q=a"),
            _sentry_event("transaction", "GET", "/items/503", "/items/{item_id}", "unavailable", 503),
            _sentry_event("transaction", "POST", "/orders", "/orders", "internal_error", 500, _ORDER),
        ],
        "errors_logged": ["RuntimeError: cannot place order 7", "ZeroDivisionError: division by zero"],
    },
    "opentelemetry-instrumentation-fastapi": {
        "statuses": [200, 200, 404, 200],
        "span_tree": sorted([
            f"{_ITEM_SPAN} <- None", f"{_ITEM_SPAN} <- remote",  # the second joined the incoming trace
            *[f"{_ITEM_SPAN} http send <- {_ITEM_SPAN}"] * 4, "work <- GET /items/{item_id}",
            "work <- GET /items/{item_id}",
            f"{_USER_SPAN} <- None", *[f"{_USER_SPAN} http send <- {_USER_SPAN}"] * 2,
            f"BackgroundTask audit <- {_USER_SPAN}", "audit <- BackgroundTask audit",
            "GET <- None", "GET http send <- GET", "GET http send <- GET",  # the 404: no route
        ]),
        "spans_in_incoming_trace": [_ITEM_SPAN, f"{_ITEM_SPAN} http send", f"{_ITEM_SPAN} http send", "work"],
        "errors_logged": [],
    },
    "fastapi-pagination": {
        "/users?page=2&size=3": [200, {"items": [4, 5, 6], "total": 100, "page": 2, "size": 3, "pages": 34}],
        "/users": [200, {"items": list(range(1, 51)), "total": 100, "page": 1, "size": 50, "pages": 2}],
        "/users?size=0": [422, _PAGE_SIZE_ERROR],
        "/api/users-sync?page=34&size=3": [200, {"items": [100], "total": 100, "page": 34, "size": 3, "pages": 34}],
        # Registered after add_pagination(): wired by the pass it makes at lifespan startup.
        "/late?size=2": [200, {"items": [1, 2], "total": 100, "page": 1, "size": 2, "pages": 50}],
        "openapi_parameters": {path: ["page", "size"] for path in ("/users", "/api/users-sync", "/late")},
        "errors_logged": [],
    },
    "fastapi-users": {
        "register": [201, {"email": "king.arthur@camelot.bt", "is_active": True, "is_superuser": False,
                           "is_verified": False}],
        "register_again": [400, {"detail": "REGISTER_USER_ALREADY_EXISTS"}],
        "bad_login": [400, {"detail": "LOGIN_BAD_CREDENTIALS"}],
        "login": [200, "bearer", 2],
        "anonymous": [401, {"detail": "Unauthorized"}, None],
        "me": [200, True],
        "authenticated_route": [200, {"message": "Hello king.arthur@camelot.bt!"}],
        "bad_token": [401, {"detail": "Unauthorized"}],
        "logout": [204, ""],
        "errors_logged": [],
    },
    "strawberry": {
        "post": [200, {"data": {"hello": "Hello Ada"}}],
        "get": [200, {"data": {"hello": "Hello World"}}],
        "graphiql": [200, _HTML, True],
        "unknown_field": [200, {"data": None, "errors": [{"message": "Cannot query field 'nope' on type 'Query'.",
                                                          "locations": [{"line": 1, "column": 3}]}]}],
        "ws_subprotocol": "graphql-transport-ws",
        "ws_messages": [{"type": "connection_ack"},
                        *({"id": "1", "type": "next", "payload": {"data": {"count": i}}} for i in range(3)),
                        {"id": "1", "type": "complete"}],
        "ws_unknown_subprotocol": ["ConnectionClosedError", 4406, "Subprotocol not acceptable"],
        "ws_cross_origin": ["InvalidStatus", 403],
        "errors_logged": [],
    },
    "fastapi-cache2": {
        "first": [200, {"name": "a", "call": 1}, "MISS", "max-age=60 (or 59)"],
        "second": [200, {"name": "a", "call": 1}, "HIT", "max-age=60 (or 59)"],
        "if_none_match": [304, "", "HIT", "max-age=60 (or 59)"],
        "no_cache": [200, {"name": "a", "call": 2}, "MISS", "max-age=60 (or 59)"],
        "other": [200, {"name": "b", "call": 3}, "MISS", "max-age=60 (or 59)"],
        "etag": [True, True],
        "errors_logged": [],
    },
    "fastapi-limiter": {
        "/": [[200, {"msg": "Hello World"}], [200, {"msg": "Hello World"}], [429, {"detail": "Too Many Requests"}]],
        "/skip": [[200, {"msg": "skipped"}]] * 3,
        "errors_logged": [],
    },
    "fastapi-limiter+include_router": {  # the upstream incompatibility, reproduced
        "/": [[500, "Internal Server Error"]] * 2,
        "/api/plain": [200, '{"msg":"no limiter here"}'],
        "errors_logged": ["AttributeError: '_IncludedRouter' object has no attribute 'path'"],
    },
    "sqladmin": {
        "index": [200, _HTML, ""],
        "list": [200, _HTML, ""],
        "create_form": [200, _HTML, ""],
        "created": [302, None, "BASE/admin/user/list"],
        "details": [200, _HTML, ""],
        "missing": [404, _HTML, ""],
        "css": [200, "text/css; charset=utf-8", "", 733],
        "list_shows_created_row": [False, True, True],
        "links_absolute": True,
        "errors_logged": [],
    },
}


@pytest.mark.parametrize("name", list(LIBRARIES))
def test_reference(observed: ObservedLibraries, name: str) -> None:
    reference = observed[name].reference
    expected = REFERENCE[name]
    assert {key: reference[key] for key in expected} == expected


# -- fastrapi against uvicorn, one observable at a time ---------------------------------------------------

# (library, observable) -> how fastrapi differs, and the part of the runtime that gets it wrong.
FASTRAPI_DIFFERS: dict[tuple[str, str], str] = {
}


def _observables() -> list[Any]:
    cases = []
    for name, library in LIBRARIES.items():
        for key in (*library.observables, "errors_logged"):
            reason = FASTRAPI_DIFFERS.get((name, key))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(pytest.param(name, key, marks=marks, id=f"{name}:{key}"))
    return cases


@pytest.mark.parametrize(("name", "key"), _observables())
def test_same_as_uvicorn(observed: ObservedLibraries, name: str, key: str) -> None:
    result = observed[name]
    assert result.fastrapi[key] == result.reference[key], f"fastrapi's log:\n{result.fastrapi_log[-4000:]}"


def _many_sync_requests(url: str) -> Observations:
    with _client(url) as client:
        return {"statuses": sorted({client.get("/sync").status_code for _ in range(100)})}


def test_sync_endpoint_behind_asgi_middleware(tmp_path: Path) -> None:
    """asgi-correlation-id's app (pure ASGI middleware, so every request takes the ASGI path) with a `def`
    endpoint kept in the thread pool (as "auto" does for one that blocks): many requests, and no error in the
    server's log."""
    library = Library("tests.apps.ext_correlation_id", _many_sync_requests, (),
                      fastrapi_options=(("sync_mode", "threadpool"),))
    (reference, reference_log), (observed, log) = _observe_both(tmp_path, library)
    assert observed["statuses"] == reference["statuses"] == [200]
    assert _logged_errors(log) == _logged_errors(reference_log) == [], log[-4000:]
