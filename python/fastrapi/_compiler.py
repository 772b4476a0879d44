"""From an app's own route objects to what the Rust core serves.

FastAPI's routes that the runtime fully understands become native plans, built from FastAPI's own
fields (so validation errors and serialised bytes are FastAPI's by construction); every other
route — and any app that is not FastAPI — is served by the app's own code over the ASGI path.
The runtime is never wrong, only sometimes slower. ``explain(app)`` says which routes are not
native, and why.
"""

from __future__ import annotations

import copy
import dataclasses
import email.message
import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any

import fastapi
from fastapi import params as fastapi_params
from fastapi._compat import ModelField
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import _is_coroutine_callable
from fastapi.dependencies.utils import (
    _get_flat_body_params,
    _get_param_aliases,
    _get_param_model,
    _is_json_field,
    request_body_to_args,
    request_params_to_args,
)
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
    websocket_request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.asyncexitstack import AsyncExitStackMiddleware
from fastapi.routing import APIRoute, APIRouter, _IncludedRouter, iter_route_contexts
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fastrapi import _fastrapi, _testing
from fastrapi._asgi import NO_NATIVE_ROUTES
from fastrapi._dependencies import (
    BODY_KEY,
    CONNECTION_KEY,
    SCOPE_KEY,
    compile_tree,
    jsonable,
    response_serializer,
)
from fastrapi._dependencies import NotNative as _NotNative
from fastrapi._solver import AppSolving, RouteSolver

# -- the app as a whole ---------------------------------------------------------------------------


def compile_app(app: Any, sync_mode: str = "auto") -> _fastrapi.AppCore:
    """The core for ``app`` in this worker, made after its lifespan startup ran."""
    if not isinstance(app, fastapi.FastAPI):
        return _fastrapi.AppCore([], NO_NATIVE_ROUTES, asgi_app=app, sync_mode=sync_mode)
    reason = _app_not_native(app)
    if reason is not None:
        _explained[id(app)] = [("*", reason)]
        return _fastrapi.AppCore([], NO_NATIVE_ROUTES, asgi_app=app, sync_mode=sync_mode)
    if _wraps_router(app):
        # ASGI middleware (or a wrapped `__call__`) must see every request: FastAPI's stack runs,
        # with its router replaced by one that answers path operations with FastAPI's own handlers.
        _wrap_router(app, sync_mode)
        return _fastrapi.AppCore([], NO_NATIVE_ROUTES, asgi_app=app, sync_mode=sync_mode)
    layers = [layer for layer in map(_native_layer, app.user_middleware) if layer is not None]
    dispatchers: list[Any] = [m.kwargs["dispatch"] for m in app.user_middleware if _is_http_middleware(m)]
    solving = AppSolving(app, dispatchers)
    # With `http` middleware the app's code must see every request as a `Request`: each route is
    # solved. With handlers of its own, routes stay native and the app's handlers answer what they
    # raise. Either way 404s/405s are FastAPI's router's.
    own_handlers = any(_DEFAULT_HANDLERS.get(k) is not v for k, v in app.exception_handlers.items())
    routes, explained, counts = _compile_routes(app, solving, bool(dispatchers), own_handlers)
    _explained[id(app)] = explained
    _api_counts[id(app)] = counts
    return _fastrapi.AppCore(
        routes,
        _Hooks(app),
        redirect_slashes=app.router.redirect_slashes,
        middleware=layers,
        asgi_app=app,
        sync_mode=sync_mode,
        asgi_routing_errors=bool(dispatchers) or own_handlers,
    )


# What the last compile of an app (by id) served over ASGI, and why; its path operations (native, all).
_explained: dict[int, list[tuple[str, str]]] = {}
# Per app: path operations served natively, those of them on the Rust fast path, all of them.
_api_counts: dict[int, tuple[int, int, int]] = {}


def explain(app: Any) -> list[tuple[str, str]]:
    """``(route, reason)`` for every route of the last compile of ``app`` that is served over
    ASGI instead of natively (compiles it if it never was)."""
    if id(app) not in _explained:
        compile_app(app)
    return list(_explained.get(id(app), []))


def describe(app: Any) -> str:
    """One line: how much of the app is native (the start-up line)."""
    if not isinstance(app, fastapi.FastAPI):
        return "an ASGI application: every request runs its own code over ASGI"
    not_native = explain(app)
    if not_native and not_native[0][0] == "*":
        return f"every request runs FastAPI's own stack over ASGI: {not_native[0][1]} (fastrapi run --explain)"
    native, fast, total = _api_counts.get(id(app), (0, 0, 0))
    more = " (fastrapi run --explain lists the others)" if native < total else ""
    return (
        f"{native} of {total} path operations native{more}: {fast} on the Rust fast path, "
        f"{native - fast} through FastAPI's own handler"
    )


def _app_not_native(app: fastapi.FastAPI) -> str | None:
    """Why no route of ``app`` can be native (then FastAPI's own stack serves every request)."""
    if app._native_telemetry.enabled():
        return "FastAPI's telemetry is enabled"
    if app.debug:
        return "debug mode (tracebacks in responses)"
    if app.root_path:
        return "FastAPI(root_path=...)"
    if getattr(app, "max_body_size", None) is not None:
        return "FastAPI(max_body_size=...)"
    if next(app.router._iter_low_priority_routes(), None) is not None:  # its own or an included router's
        return "frontend routes"
    return _routing_not_native(app.routes)


def _routing_not_native(routes: list[Any]) -> str | None:
    """Why FastAPI's own routing must match ``routes``: a route the table cannot hold (``Host``, a
    route class of the app's own), or an included router that changes how its routes match."""
    for context in iter_route_contexts(routes):
        if context.path is None:
            return f"a {type(context.original_route).__name__} route"
    for route in routes:
        if isinstance(route, _IncludedRouter):
            router = route.original_router
            changed = [name for name in _ROUTER_MATCHING if getattr(type(router), name) is not getattr(APIRouter, name)]
            if changed:
                return f"router {type(router).__name__} overrides {', '.join(changed)}"
            reason = _routing_not_native(router.routes)
            if reason is not None:
                return reason
    return None


_ROUTER_MATCHING = ("matches", "handle", "app")


# FastAPI's own handlers; an app that replaced one (or added others) has its requests solved.
_DEFAULT_HANDLERS: dict[Any, Any] = {
    HTTPException: http_exception_handler,
    RequestValidationError: request_validation_exception_handler,
    fastapi.exceptions.WebSocketRequestValidationError: websocket_request_validation_exception_handler,
}


def _name(key: Any) -> str:
    return getattr(key, "__name__", str(key))


# -- under ASGI middleware ----------------------------------------------------------------------


def prepare_app(app: Any) -> None:
    """Called before the lifespan startup, which has FastAPI build its middleware stack: an app
    served under its own stack gets, now, the one stack it keeps. A stack built again would make
    each middleware again, and some count on one instance per process (a second
    prometheus-fastapi-instrumentator middleware finds its metrics registered and records nothing)."""
    if _wraps_router(app) and app.middleware_stack is None:
        _solving_router(app)


def _wraps_router(app: Any) -> bool:
    """Every request must enter the app's own ``__call__`` and middleware stack."""
    if not isinstance(app, fastapi.FastAPI) or _app_not_native(app) is not None:
        return False
    asgi_middleware = any(_native_layer(m) is None and not _is_http_middleware(m) for m in app.user_middleware)
    return asgi_middleware or _call_replaced(app)


def _call_replaced(app: fastapi.FastAPI) -> bool:
    """``FastAPI.__call__`` or ``Starlette.__call__`` is not theirs: a library wrapped it (sentry-sdk
    replaces ``Starlette.__call__``) or a subclass overrides it."""
    for cls in type(app).__mro__:
        call = vars(cls).get("__call__")
        if call is None:
            continue
        if cls not in (fastapi.FastAPI, Starlette):
            return True
        own = call.__module__ == cls.__module__ and call.__qualname__ == f"{cls.__name__}.__call__"
        if not own or hasattr(call, "__wrapped__"):
            return True
    return False


# Per app: the router its stack was built around, and that stack.
_solving_routers: weakref.WeakKeyDictionary[Any, tuple[_SolvingRouter, Any]] = weakref.WeakKeyDictionary()


def _solving_router(app: fastapi.FastAPI) -> _SolvingRouter:
    """The router inside ``app.middleware_stack``, which is built (as FastAPI builds it, so a
    library that wraps `build_middleware_stack` or patches `Middleware` is honoured) around it if
    it was not. Until `_wrap_router` fills it in, it hands every request to FastAPI's own
    exception middleware and router."""
    found = _solving_routers.get(app)
    if found is not None and found[1] is app.middleware_stack:
        return found[0]
    router = app.router
    inner = ExceptionMiddleware(
        AsyncExitStackMiddleware(router),
        handlers={k: v for k, v in app.exception_handlers.items() if k not in (500, Exception)},
        debug=app.debug,
    )
    solving_router = _SolvingRouter(inner)
    app.router = solving_router  # type: ignore[assignment]
    try:
        app.middleware_stack = app.build_middleware_stack()
    finally:
        app.router = router
    _solving_routers[app] = (solving_router, app.middleware_stack)
    return solving_router


def _wrap_router(app: fastapi.FastAPI, sync_mode: str) -> None:
    """Has the router inside the app's own middleware stack answer each path operation with
    FastAPI's own handler (``fastrapi._solver``) and hand the rest (other routes, 404/405/redirects)
    to FastAPI's own exception middleware and router."""
    solving = AppSolving(app, [])
    plans: list[_Plan] = []
    solvers: list[RouteSolver | _AsgiRoute | None] = []
    streams: list[bool] = []
    explained: list[tuple[str, str]] = []
    native = operations = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if context.path is None or not isinstance(route, APIRoute | Route | Mount):
            continue
        methods = sorted(context.methods) if context.methods else ["*"]
        path = context.path if not isinstance(route, Mount) else context.path.rstrip("/") + "/{path:path}"
        plans.append(_Plan(path, methods, delegate=True))
        solver = None
        if isinstance(route, APIRoute):
            operations += 1
            try:
                _check_solvable(context)
                route_solver = RouteSolver(solving, route, context)
                solver = _asgi_route(context, route_solver, solving) or route_solver
                native += 1
            except _NotNative as why:
                explained.append((f"{' '.join(methods)} {path}", str(why)))
        solvers.append(solver)
        streams.append(solver is not None and _is_form(context))
    table = _fastrapi.AppCore(plans, NO_NATIVE_ROUTES, asgi_app=app, sync_mode=sync_mode)
    _explained[id(app)] = explained
    _api_counts[id(app)] = (native, 0, operations)
    _solving_router(app).answer(table, solvers, streams)


class _SolvingRouter:
    """The innermost ASGI app under the middleware: path operations answered by their solver,
    everything else by FastAPI's own exception middleware and router."""

    def __init__(self, inner: Any) -> None:
        self.table: Any = None
        self.solvers: list[Any] = []
        self.streams: list[bool] = []
        self.inner = inner

    def answer(self, table: Any, solvers: list[Any], streams: list[bool]) -> None:
        """From now on, the path operations in ``table`` by their ``solvers``."""
        self.table, self.solvers, self.streams = table, solvers, streams

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and self.table is not None:
            found = self.table.match_route(scope["method"], scope["path"])
            if found is not None:
                index, params = found
                solver = self.solvers[index]
                if solver is not None and not (self.streams[index] and _large_body(scope)):
                    body = await _read_body(receive)
                    scope["path_params"] = params
                    response = await solver(scope, body, None, receive)
                    await response(scope, receive, send)
                    return
        await self.inner(scope, receive, send)


def _large_body(scope: dict[str, Any]) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) > 1024 * 1024 if value.isdigit() else True
        if name == b"transfer-encoding":
            return True
    return False


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            from starlette.requests import ClientDisconnect

            raise ClientDisconnect()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


# -- middleware run natively ----------------------------------------------------------------------


def _is_http_middleware(middleware: Any) -> bool:
    """``@app.middleware("http")``: its ``dispatch`` runs around the solved routes."""
    return middleware.cls is BaseHTTPMiddleware and "dispatch" in middleware.kwargs and not middleware.args


def _native_layer(middleware: Any) -> Any:
    """What the Rust core needs of a Starlette middleware it runs itself, or ``None``."""
    cls, args, kwargs = middleware.cls, middleware.args, middleware.kwargs
    if cls is CORSMiddleware:
        made: Any = CORSMiddleware(None, *args, **kwargs)  # type: ignore[arg-type]
        regex = made.allow_origin_regex
        return _Layer(
            "cors",
            allow_origins=list(made.allow_origins),
            allow_methods=list(made.allow_methods),
            allow_headers=list(made.allow_headers),
            allow_all_origins=made.allow_all_origins,
            allow_all_headers=made.allow_all_headers,
            allow_credentials=made.allow_credentials,
            explicit_origin=made.preflight_explicit_allow_origin,
            allow_origin_regex=regex.pattern if regex is not None else None,
            allow_private_network=made.allow_private_network,
            simple_headers=list(made.simple_headers.items()),
            preflight_headers=list(made.preflight_headers.items()),
        )
    if cls is GZipMiddleware:
        made = GZipMiddleware(None, *args, **kwargs)  # type: ignore[arg-type]
        return _Layer(
            "gzip",
            minimum_size=made.minimum_size,
            compresslevel=made.compresslevel,
            exclude_content_types=sorted(made.exclude_content_types),
        )
    if cls is TrustedHostMiddleware:
        made = TrustedHostMiddleware(None, *args, **kwargs)  # type: ignore[arg-type]
        allowed = ["*"] if made.allow_any else made.allowed_hosts
        return _Layer("trusted_host", allowed_hosts=allowed, www_redirect=made.www_redirect)
    if cls is HTTPSRedirectMiddleware:
        return _Layer("https_redirect")
    return None


class _Layer:
    def __init__(self, native: str, **settings: Any) -> None:
        self.native = native
        for name, value in settings.items():
            setattr(self, name, value)


# -- routes ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class _Plan:
    """One entry of the Rust route table (the attributes `AppCore` reads)."""

    path: str
    methods: list[str]
    endpoint: Any = None
    is_async: bool = False
    params: list[Any] = dataclasses.field(default_factory=list)
    body: Callable[..., Any] | None = None
    status_code: int = 200
    serialize: Callable[[Any], Any] | None = None
    solver: Any = None
    static_files: tuple[str, bool] | None = None
    # What answers a request the native path does not (see `RoutePlan.fallback`).
    fallback: Any = None
    on_error: Any = None
    overrides: Any = None
    # The endpoint takes the request's scope, body and connection (`fastrapi._dependencies`).
    wants_scope: bool = False
    # Served by the app's own code over ASGI.
    delegate: bool = False
    # Requests with a large (or chunked) body go to the app's own code over ASGI, which streams it.
    stream_large_bodies: bool = False


def _compile_routes(
    app: fastapi.FastAPI, solving: AppSolving, solve_all: bool, own_handlers: bool
) -> tuple[list[_Plan], list[tuple[str, str]], tuple[int, int, int]]:
    """The table's entries in Starlette's order, the ones served over ASGI (and why), and how
    many path operations are native (and on the fast path) out of how many."""
    plans: list[_Plan] = []
    explained: list[tuple[str, str]] = []
    native = fast = operations = 0
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if context.path is None:
            continue
        if isinstance(route, APIRoute):
            plan, reason = _api_route_plan(solving, context, solve_all, own_handlers)
            operations += 1
            native += not plan.delegate
            fast += not plan.delegate and plan.solver is None
        elif isinstance(route, Mount):
            plan, reason = _mount_plan(context)
        elif isinstance(route, Route):
            methods = sorted(context.methods) if context.methods else ["*"]
            plan, reason = _Plan(context.path, methods, delegate=True), "a Starlette route"
        else:
            continue  # WebSocket routes: the WebSocket path serves them
        plans.append(plan)
        if reason is not None:
            explained.append((f"{' '.join(plan.methods)} {plan.path}", reason))
    return plans, explained, (native, fast, operations)


def _mount_plan(context: Any) -> tuple[_Plan, str | None]:
    path = context.path.rstrip("/") + "/{path:path}"
    app = context.original_route.app
    if isinstance(app, StaticFiles) and not app.html and not app.follow_symlink and app.all_directories:
        import os

        roots = [os.path.realpath(d) for d in app.all_directories]
        if len(roots) == 1:
            # Regular files are found and sent by Rust; anything else goes to StaticFiles itself.
            return _Plan(path, ["*"], static_files=(roots[0], False), delegate=True), None
    return _Plan(path, ["*"], delegate=True), "a mounted application"


def _api_route_plan(
    solving: AppSolving, context: Any, solve_all: bool, own_handlers: bool
) -> tuple[_Plan, str | None]:
    methods = sorted(context.methods)
    try:
        _check_solvable(context)
    except _NotNative as why:
        return _Plan(context.path, methods, delegate=True), str(why)
    solver = RouteSolver(solving, context.original_route, context)
    try:
        if solve_all:
            raise _NotNative("solved")
        plan = _native_plan(context, solver, solving if own_handlers else None)
    except _NotNative:
        # FastAPI's own handler answers, without its ASGI stack around it.
        # A large form upload is streamed to FastAPI's own stack instead of being read first.
        plan = _Plan(context.path, methods, endpoint=context.endpoint, is_async=True, solver=solver,
                     stream_large_bodies=_is_form(context))
    plan.path, plan.methods = context.path, methods
    return plan, None


def _check_solvable(rc: Any) -> None:
    """What only FastAPI's whole stack gets right (then the route is served over ASGI)."""
    route = rc.original_route
    cls = type(route)
    if any(getattr(cls, name) is not getattr(APIRoute, name) for name in ("get_route_handler", "matches", "handle")):
        raise _NotNative(f"custom route class {cls.__qualname__}")
    if rc.max_body_size is not None or route.form_limits:
        raise _NotNative("body size or form limits")


def _is_form(rc: Any) -> bool:
    return rc.body_field is not None and isinstance(rc.body_field.field_info, fastapi_params.Form)


def _check_compilable(rc: Any) -> int:
    """What no compiled plan serves (FastAPI's handler does); the route's status code."""
    if rc.is_json_stream or rc.is_sse_stream or inspect.isgeneratorfunction(rc.dependant.call) or (
        inspect.isasyncgenfunction(rc.dependant.call)
    ):
        raise _NotNative("a generator endpoint (streamed by FastAPI)")
    if _is_form(rc):
        if any(isinstance(f.field_info, fastapi_params.File) for f in _get_flat_body_params(rc.dependant)):
            raise _NotNative("a file upload")
        if not _native_forms(rc):
            raise _NotNative("form limits")
    status_code: int = rc.status_code or 200
    if not is_body_allowed_for_status_code(status_code) and status_code not in (204, 304):
        raise _NotNative(f"status code {status_code}")
    return status_code


def _check_no_default_factory(rc: Any) -> None:
    """A request a tree can not answer is answered again by FastAPI's handler, which would call a
    parameter's ``default_factory`` a second time: such trees are FastAPI's handler's."""
    fields = [*_get_flat_body_params(rc.dependant)]
    pending = [rc.dependant]
    while pending:
        dependant = pending.pop()
        pending.extend(dependant.dependencies)
        fields += [*dependant.path_params, *dependant.query_params, *dependant.header_params, *dependant.cookie_params]
    for field in fields:
        if field.field_info.default_factory is not None or _model_has_default_factory(field):
            raise _NotNative("a parameter with a default_factory")


def _model_has_default_factory(field: ModelField) -> bool:
    """A form model with one (a JSON model's fields are validated twice on a failure anyway: by
    `validate_json`, then FastAPI's way)."""
    if not isinstance(field.field_info, fastapi_params.Form):
        return False
    annotation = field.field_info.annotation
    model_fields = getattr(annotation, "model_fields", None)
    return isinstance(model_fields, dict) and any(f.default_factory is not None for f in model_fields.values())


def _request_handler_patched() -> bool:
    """A library wrapped FastAPI's request handler (sentry-sdk does, to see each request and its
    body): FastAPI's handler, built through it, answers the routes it would see."""
    handler = fastapi.routing.get_request_handler
    return handler.__module__ != "fastapi.routing" or hasattr(handler, "__wrapped__")


def _native_forms(rc: Any) -> bool:
    """Forms are parsed natively with Starlette's default limits: not in an app where a router
    (or an inclusion) sets others."""
    app = rc.dependency_overrides_provider
    router = getattr(app, "router", None)
    return router is not None and not router.form_limits and not _form_limits_in(router.routes)


def _form_limits_in(routes: list[Any]) -> bool:
    for route in routes:
        if isinstance(route, _IncludedRouter):
            if route.include_context.form_limits or route.original_router.form_limits:
                return True
            if _form_limits_in(route.original_router.routes):
                return True
    return False


def _native_plan(rc: Any, solver: RouteSolver, handlers: AppSolving | None) -> _Plan:
    """The Rust fast path: parameters read and the endpoint (or the compiled dependency tree)
    called from Rust. With ``handlers`` (the app's own exception handlers), what the route raises
    is answered by them (and a request that does not validate by FastAPI's own handler)."""
    status_code = _check_compilable(rc)
    dependant = rc.dependant
    response_class = rc.response_class
    default_class = isinstance(response_class, DefaultPlaceholder)
    special = [
        dependant.request_param_name,
        dependant.websocket_param_name,
        dependant.http_connection_param_name,
        dependant.response_param_name,
        dependant.background_tasks_param_name,
        dependant.security_scopes_param_name,
    ]
    plain_class = default_class or response_class is JSONResponse
    # A form that is not URL-encoded (an upload) goes to FastAPI's handler: only a tree has one.
    needs_tree = bool(dependant.dependencies) or any(special) or not plain_class or _is_form(rc)
    # The app's handlers see what the route's code left in `request.state` and its context
    # variables: they run in the route's task, on its request (a plain `def` endpoint leaves
    # neither, so Rust calls them, with a request it builds only then).
    handled_in_task = handlers is not None and (needs_tree or _is_coroutine_callable(dependant.call))
    if needs_tree or handlers is not None:
        # A request the plan does not answer goes to FastAPI's handler (`fallback`).
        _check_no_default_factory(rc)
    if needs_tree or handled_in_task:
        if _request_handler_patched():
            raise _NotNative("fastapi.routing.get_request_handler is wrapped (by sentry-sdk, say)")
        tree = compile_tree(rc, _param, solver.request, handlers=handlers)
        return _Plan(
            path=rc.path,
            methods=[],
            endpoint=tree.runner,
            is_async=tree.is_async,
            params=tree.params,
            body=_body_decoder(rc, tree.body_groups),
            status_code=status_code,
            serialize=None if tree.renders else response_serializer(rc, use_dump_json=default_class),
            stream_large_bodies=_is_form(rc),
            fallback=solver,
            overrides=rc.dependency_overrides_provider,
            wants_scope=tree.wants_request,
        )
    groups = [(dependant.body_params, {f.name: f.name for f in dependant.body_params})] if dependant.body_params else []
    params = [
        *(_param(f) for f in dependant.path_params),
        *(_param(f) for f in dependant.query_params),
        *(_param(f) for f in dependant.header_params),
        *(_param(f) for f in dependant.cookie_params),
    ]
    call = dependant.call
    return _Plan(
        path=rc.path,
        methods=[],
        endpoint=call,
        is_async=_is_coroutine_callable(call),  # as FastAPI decides to await it (wraps, partials)
        params=params,
        body=_body_decoder(rc, groups),
        status_code=status_code,
        serialize=response_serializer(rc, use_dump_json=default_class),
        # With handlers of its own, the app's handlers answer what the route raises, and FastAPI's
        # own handler a request that does not validate (then the app's handler answers the 422).
        fallback=solver if handlers is not None else None,
        on_error=solver.on_error if handlers is not None else None,
    )


def _asgi_route(rc: Any, solver: RouteSolver, solving: AppSolving) -> _AsgiRoute | None:
    """A path operation under the app's ASGI middleware, answered by its compiled dependency
    tree (parameters read by FastAPI's own functions), or ``None``: FastAPI's handler answers."""
    if _request_handler_patched():
        return None
    try:
        _check_compilable(rc)
        tree = compile_tree(rc, _param, _given_request, handlers=solving)
    except _NotNative:
        return None
    return _AsgiRoute(solver, tree, _body_decoder(rc, tree.body_groups), rc.dependency_overrides_provider)


# Where FastAPI reads each kind of parameter from (Starlette parses each on first use).
_SOURCES = {"path": "path_params", "query": "query_params", "header": "headers", "cookie": "cookies"}


def _given_request(scope: dict[str, Any], body: bytes, request: Any) -> Any:
    """Under ASGI middleware the request is made before the tree runs, and handed to it."""
    return request


class _AsgiRoute:
    """Called as a `RouteSolver` is: the response of the compiled tree, or FastAPI's handler's when
    a parameter or the body does not validate (or `dependency_overrides` is set)."""

    def __init__(self, solver: RouteSolver, tree: Any, body: Any, overrides: Any) -> None:
        self.solver = solver
        self.params = [(p.name, p.location, p.field) for p in tree.params]
        self.runner = tree.runner
        self.body = body
        self.overrides = overrides

    async def __call__(self, scope: dict[str, Any], body: bytes, connection: Any, receive: Any) -> Response:
        solver = self.solver
        request = solver.request(scope, body, None, receive)
        if self.overrides is not None and self.overrides.dependency_overrides:
            return await solver.solve(request)
        kw: dict[str, Any] = {SCOPE_KEY: scope, BODY_KEY: body, CONNECTION_KEY: request}
        for keyword, location, field in self.params:
            values, errors = request_params_to_args([field], getattr(request, _SOURCES[location]))
            if errors:
                return await solver.solve(request)
            kw[keyword] = values[field.name]
        if self.body is not None:
            try:
                ok, decoded = self.body(body, request.headers.get("content-type"))
            except Exception:
                ok = False  # FastAPI's handler answers a body it can not read
            if not ok:
                return await solver.solve(request)
            kw.update(decoded)
        return await self.runner(**kw)  # type: ignore[no-any-return]


# -- parameters -----------------------------------------------------------------------------------


@dataclasses.dataclass
class _Param:
    """One path/query/header/cookie parameter, read by Rust, validated with FastAPI's field."""

    name: str
    alias: str
    location: str
    scalar: str
    required: bool
    default: Any
    default_factory: Callable[[], Any] | None
    validate: Callable[[Any], tuple[bool, Any]]
    is_sequence: bool
    field: ModelField


_SCALARS = {str: "str", int: "int", float: "float", bool: "bool"}


def _param(field: ModelField) -> _Param:
    from fastapi._compat import field_annotation_is_sequence

    info = field.field_info
    if _get_param_model(field) is not None:
        raise _NotNative("a parameter model")
    convert = isinstance(info, fastapi_params.Header) and getattr(info, "convert_underscores", True)
    aliases = _get_param_aliases(field, convert_underscores=convert)
    if len(aliases) != 1:
        raise _NotNative("parameter alias choices")
    alias = aliases[0][1]
    location = info.in_.value  # type: ignore[attr-defined]
    loc = (location, alias)
    annotation = info.annotation
    is_sequence = not _is_json_field(field) and field_annotation_is_sequence(annotation)
    # Rust converts these itself (as pydantic would, else it asks the validator).
    simple = annotation in _SCALARS and not info.metadata and not is_sequence
    scalar = _SCALARS[annotation] if simple else "other"  # type: ignore[index]
    required = info.is_required()
    default: Any = None
    factory: Callable[[], Any] | None = None
    if not required:
        if info.validate_default:
            raise _NotNative("validate_default")
        if info.default_factory is not None:  # FastAPI calls it for each request without the value
            factory = functools.partial(_fresh_default, field)
        else:
            default = field.default
            if not isinstance(default, str | int | float | bool | bytes | type(None)):
                factory = _deep_copy_of(default)

    def validate(value: Any) -> tuple[bool, Any]:
        result, errors = field.validate(value, {}, loc=loc)
        return (False, errors) if errors else (True, result)

    return _Param(field.name, alias, location, scalar, required, default, factory, validate, is_sequence, field)


def _fresh_default(field: ModelField) -> Any:
    return copy.deepcopy(field.default)  # as FastAPI: `default` calls the field's default factory


def _deep_copy_of(value: Any) -> Callable[[], Any]:
    """FastAPI deep-copies a mutable default for each request."""
    return lambda: copy.deepcopy(value)


# -- bodies ---------------------------------------------------------------------------------------


BodyGroups = list[tuple[list[ModelField], dict[str, str]]]


def _body_decoder(rc: Any, groups: BodyGroups) -> Callable[[bytes, str | None], tuple[bool, Any]] | None:
    """``decode(raw, content_type) -> (ok, kwargs | errors)``: FastAPI's body rules, for the body
    fields of each dependant (``groups``: the fields, and the keyword each value is passed as).
    A form that is not URL-encoded is not decoded: ``(False, [...])`` sends it to FastAPI's handler."""
    if not groups:
        return None
    embed = rc._embed_body_fields
    strict = rc.strict_content_type
    strict = strict.value if isinstance(strict, DefaultPlaceholder) else strict
    form = _is_form(rc)
    # The common case, one model validated straight from the bytes; any failure is redone
    # FastAPI's way so that the errors are FastAPI's.
    fields, keywords = groups[0]
    single = fields[0] if len(groups) == 1 and len(fields) == 1 and not embed and not form else None

    def decode(raw: bytes, content_type: str | None) -> tuple[bool, Any]:
        if form:
            received = _form_body(raw, content_type)
            if received is None:
                return False, [_NOT_DECODED]
        else:
            received = _json_body(raw, content_type, strict)
            if single is not None and type(received) is bytes:
                try:
                    return True, {keywords[single.name]: single._type_adapter.validate_json(received)}
                except ValidationError:
                    pass
            if isinstance(received, bytes):
                received = _parse(received)
                if isinstance(received, _Invalid):
                    return False, received.errors
        decoded: dict[str, Any] = {}
        errors: list[Any] = []
        for group_fields, group_keywords in groups:
            values, group_errors = _run(request_body_to_args(group_fields, received, embed))
            errors.extend(group_errors)
            for name, value in values.items():
                decoded[group_keywords[name]] = value
        return (False, errors) if errors else (True, decoded)

    return decode


_NOT_DECODED = "a form that is not URL-encoded: FastAPI's handler reads it"


def _form_body(raw: bytes, content_type: str | None) -> Any:
    """``request.form()`` as FastAPI awaits it, for a URL-encoded body (or any body that is not a
    multipart one: an empty form); ``None`` for a multipart upload."""
    from starlette.requests import Request

    if content_type is not None and content_type.lower().lstrip().startswith("multipart/"):
        return None
    headers = [(b"content-type", content_type.encode("latin-1"))] if content_type is not None else []
    request = Request({"type": "http", "headers": headers})
    request._body = raw
    try:
        return _run(request._get_form())
    except Exception:
        return None  # FastAPI's handler answers a form it can not read


class _Invalid:
    def __init__(self, errors: list[Any]) -> None:
        self.errors = errors


from fastapi._compat import Undefined as _UNDEFINED  # noqa: E402


def _json_body(raw: bytes, content_type: str | None, strict: bool) -> Any:
    """FastAPI's choice: JSON bytes to parse, the raw bytes as the value, or nothing."""
    if not raw:
        return _UNDEFINED
    if content_type is None:
        return raw if not strict else _RawValue(raw)
    return raw if _is_json_type(content_type) else _RawValue(raw)


@functools.lru_cache(maxsize=256)
def _is_json_type(content_type: str) -> bool:
    """FastAPI's test (an `email.message` parse of the header), remembered per header value."""
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() == "application":
        subtype = message.get_content_subtype()
        return subtype == "json" or subtype.endswith("+json")
    return False


class _RawValue(bytes):
    """A body that is not JSON: validated as the bytes themselves, as FastAPI does."""


def _parse(raw: bytes) -> Any:
    import json

    if isinstance(raw, _RawValue):
        return bytes(raw)
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {"type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error", "input": {},
                 "ctx": {"error": exc.msg}}
        return _Invalid([error])
    except Exception as exc:  # not UTF-8, say: FastAPI's answer to any body it can not read
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


def _run(coroutine: Any) -> Any:
    """Runs a coroutine that never suspends (FastAPI's body validation of parsed JSON)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("a coroutine expected to finish at once suspended")


# -- responses ------------------------------------------------------------------------------------


class _Hooks:
    """What the Rust core calls outside any one route (FastAPI's default handlers only: an app
    with its own is served by FastAPI's stack)."""

    response_class = Response
    file_response_class = FileResponse
    routing_error = None

    def __init__(self, app: Any) -> None:
        self.app = app

    jsonable_encoder = staticmethod(jsonable)

    def handle_exception(self, exc: BaseException) -> Response | None:
        if isinstance(exc, HTTPException):
            return _run(http_exception_handler(None, exc))  # type: ignore[arg-type,no-any-return]
        if isinstance(exc, RequestValidationError):
            return _run(request_validation_exception_handler(None, exc))  # type: ignore[arg-type,no-any-return]
        return None  # the server logs it and answers its 500

    def validation_error(self, errors: list[Any], body: Any) -> Response:
        exc = RequestValidationError(errors, body=body)
        return _run(request_validation_exception_handler(None, exc))  # type: ignore[arg-type,no-any-return]

    @staticmethod
    def expect_background(task: Any) -> None:
        _testing.background_expected(task)

    async def abort_background(self, task: Any) -> None:
        """The response did not go out: its background does not run (as in Starlette), but the
        request's ``yield`` dependencies exit, with the client's disconnect."""
        import logging

        try:
            abort = getattr(task, "abort", None)
            if abort is not None:
                await abort()
        except Exception as exc:
            logging.getLogger("fastrapi.error").error("Exception in background task", exc_info=exc)
        finally:
            _testing.background_done(task)

    async def run_background(self, task: Any) -> None:
        import logging

        try:
            await task()
        except Exception as exc:
            logging.getLogger("fastrapi.error").error("Exception in background task", exc_info=exc)
            _testing.server_exception(exc)
        finally:
            _testing.background_done(task)

    @staticmethod
    def prepare_file(response: FileResponse) -> None:
        """`FileResponse.__call__`'s stat, for a response made without `stat_result`."""
        import os
        import stat

        if response.stat_result is not None:
            return
        try:
            stat_result = os.stat(response.path)
        except FileNotFoundError:
            raise RuntimeError(f"File at path {response.path} does not exist.") from None
        if not stat.S_ISREG(stat_result.st_mode):
            raise RuntimeError(f"File at path {response.path} is not a file.")
        response.set_stat_headers(stat_result)
