"""Solving a request in Python, for routes whose endpoint has dependencies or injected objects.

This follows FastAPI's ``solve_dependencies``: sub-dependencies first (each solved, checked and
called, cached per request), then the callable's own parameters, then the body; all errors of
the request are reported together; ``yield`` dependencies are torn down after the endpoint.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from fastrapi.background import BackgroundTasks
from fastrapi.concurrency import call_sync, enter_sync_context
from fastrapi.dependencies.models import Dependant, call_kind
from fastrapi.dependencies.utils import EndpointPlan, ParamPlan, body_decoder, get_dependant, missing_error
from fastrapi.exception_handlers import is_body_allowed_for_status_code
from fastrapi.exceptions import FastAPIError, RequestValidationError
from fastrapi.requests import Request
from fastrapi.responses import JSONResponse, Response
from fastrapi.security import SecurityScopes

if TYPE_CHECKING:
    from fastrapi.routing import APIRoute


class _Solve:
    """Per-request state shared by every dependency of one request."""

    __slots__ = ("request", "sub_response", "stack", "function_stack", "cache", "overrides", "background",
                 "body_values", "request_scoped_exits")

    def __init__(self, request: Request, stack: AsyncExitStack, overrides: dict[Any, Any],
                 body_values: dict[str, Any], function_stack: AsyncExitStack | None = None) -> None:
        self.request = request
        # The `response: Response` a dependency or the endpoint may take, made on first use.
        self.sub_response: Response | None = None
        # `yield` dependencies exit with `stack` (request scope: after the response is sent) or
        # with `function_stack` (`Depends(scope="function")`: right after the endpoint).
        self.stack = stack
        self.function_stack = function_stack or stack
        self.cache: dict[Any, Any] = {}
        self.overrides = overrides
        self.background: BackgroundTasks | None = None
        self.body_values = body_values
        # A request-scoped `yield` dependency was entered: its exit waits for the response.
        self.request_scoped_exits = False

    @property
    def response(self) -> Response:
        if self.sub_response is None:
            sub_response = Response()
            del sub_response.headers["content-length"]
            sub_response.status_code = None  # type: ignore[assignment]
            self.sub_response = sub_response
        return self.sub_response


def _raw_value(param: ParamPlan, request: Request) -> Any:
    alias = param.alias
    location = param.location
    if param.model_fields is not None:
        return _model_values(param, request)
    if location == "path":
        return request._data.path_params.get(alias)
    if location == "query":
        if param.is_sequence:
            return request.query_params.getlist(alias) or None
        return request.query_params.get(alias)
    if location == "header":
        if param.is_sequence:
            return request.headers.getlist(alias) or None
        return request.headers.get(alias)
    return request.cookies.get(alias)


def _model_values(param: ParamPlan, request: Request) -> dict[str, Any]:
    """A parameter model's fields gathered from the query string, headers or cookies."""
    assert param.model_fields is not None
    values: dict[str, Any] = {}
    for key, field_key, is_sequence in param.model_fields:
        if param.location == "query":
            found: Any = request.query_params.getlist(key) if is_sequence else request.query_params.get(key)
        elif param.location == "header":
            found = request.headers.getlist(key) if is_sequence else request.headers.get(key)
        else:
            found = request.cookies.get(key)
        if found is not None and found != []:
            values[field_key] = found
    return values


async def _call(call: Callable[..., Any], kind: str, values: dict[str, Any], stack: AsyncExitStack) -> Any:
    if kind == "async_generator":
        return await stack.enter_async_context(asynccontextmanager(call)(**values))
    if kind == "generator":
        return await enter_sync_context(stack, call, contextmanager(call)(**values))
    if kind == "coroutine":
        return await call(**values)
    result = await call_sync(call, **values)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _call_endpoint(endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
    """An endpoint's value; a generator endpoint's generator is made here and streamed later."""
    kind = call_kind(endpoint)
    if kind == "plain":
        result = await call_sync(endpoint, **values)
    else:
        result = endpoint(**values)
    if inspect.isawaitable(result):
        result = await result
    return result


# Marks a dependency skipped because the request body was invalid (never reported itself).
_BODY_INVALID: Any = object()

_override_cache: dict[tuple[Any, str, str | None], Dependant] = {}


def _overridden(sub: Dependant, override: Callable[..., Any]) -> Dependant:
    key = (override, sub.path, sub.name)
    dependant = _override_cache.get(key)
    if dependant is None:
        dependant = get_dependant(sub.path, override, name=sub.name, use_cache=sub.use_cache,
                                  security_scopes=sub.security_scopes, own_security_scopes=sub.own_security_scopes,
                                  scope=sub.scope)
        _override_cache[key] = dependant
    return dependant


async def solve_dependencies(dependant: Dependant, state: _Solve) -> tuple[dict[str, Any], list[Any]]:
    values: dict[str, Any] = {}
    errors: list[Any] = []
    for sub in dependant.dependencies:
        call = sub.call
        if state.overrides and call in state.overrides:
            call = state.overrides[call]
            sub = _overridden(sub, call)
        assert call is not None
        sub_values, sub_errors = await solve_dependencies(sub, state)
        if sub_errors:
            errors.extend(sub_errors)
            continue
        if any(field.name not in state.body_values for field in sub.body_fields):
            # The body did not validate (its errors are reported once, for the whole request):
            # a dependency that reads it is not called, nor are those that depend on it.
            errors.append(_BODY_INVALID)
            continue
        key = sub.cache_key
        if sub.use_cache and key in state.cache:
            value = state.cache[key]
        else:
            stack = state.function_stack if sub.scope == "function" else state.stack
            kind = sub.call_kind
            if kind != "plain" and stack is state.stack:
                state.request_scoped_exits = True
            value = await _call(call, kind, sub_values, stack)
            state.cache.setdefault(key, value)
        if sub.name is not None:
            values[sub.name] = value
    for param in dependant.params:
        raw = _raw_value(param, state.request)
        if raw is None:
            if param.required:
                errors.append(missing_error((param.location, param.alias)))
            else:
                values[param.name] = param.default_factory() if param.default_factory else param.default
            continue
        ok, value = param.validate(raw)
        if ok:
            values[param.name] = value
        else:
            errors.extend(value)
    for field in dependant.body_fields:
        if field.name in state.body_values:
            values[field.name] = state.body_values[field.name]
    if dependant.request_param_name:
        values[dependant.request_param_name] = state.request
    if dependant.response_param_name:
        values[dependant.response_param_name] = state.response
    if dependant.background_tasks_param_name:
        if state.background is None:
            state.background = BackgroundTasks()
        values[dependant.background_tasks_param_name] = state.background
    if dependant.security_scopes_param_name:
        values[dependant.security_scopes_param_name] = SecurityScopes(dependant.security_scopes)
    return values, errors


class _ThenExit:
    """A response's background work followed by the exit of its request-scoped `yield`
    dependencies, run by the server once the response is sent (FastAPI's order)."""

    def __init__(self, task: Any, stack: AsyncExitStack) -> None:
        self.task = task
        self.stack = stack

    async def __call__(self) -> None:
        try:
            if self.task is not None:
                await self.task()
        except BaseException as exc:
            if not await self.stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise
        else:
            await self.stack.__aexit__(None, None, None)


def make_solver(route: APIRoute, app: Any, plan: EndpointPlan, *, strict_content_type: bool) -> Callable[[Any], Any]:
    """The coroutine function the Rust core calls with the raw request for this route."""
    dependant = plan.dependant
    decode_body = body_decoder(plan, strict_content_type=strict_content_type)
    serialize = route.response_serializer(for_solver=True)
    assert serialize is not None
    status_code = route.status_code
    endpoint = dependant.call
    assert endpoint is not None

    async def solve(data: Any) -> Response:
        request = Request(data, app)
        if app is None:
            return await solve_request(request, data)

        async def endpoint_response(req: Any) -> Response:
            return await solve_request(request, data)

        return await app.run_request(request, endpoint_response)  # type: ignore[no-any-return]

    async def solve_request(request: Request, data: Any) -> Response:
        body_values: dict[str, Any] = {}
        body_errors: list[Any] = []
        body: Any = None
        if decode_body is not None:
            ok, payload, body = decode_body(request.body_source, request.headers.get("content-type"))
            if ok:
                body_values = payload
            else:
                body_errors = payload
        overrides = getattr(app, "dependency_overrides", None) or {}
        # FastAPI's two stacks: function-scoped `yield` dependencies exit once the endpoint's
        # response is built, request-scoped ones once it has been sent (background tasks included).
        request_stack = AsyncExitStack()
        await request_stack.__aenter__()
        request_stack.push_async_callback(request.close)
        try:
            async with AsyncExitStack() as function_stack:
                state = _Solve(request, request_stack, overrides, body_values, function_stack)
                values, errors = await solve_dependencies(dependant, state)
                errors.extend(body_errors)
                if errors:
                    raise RequestValidationError([e for e in errors if e is not _BODY_INVALID], body=body)
                result = await _call_endpoint(endpoint, values)
                response = build_response(result, state)
        except BaseException as exc:
            # The dependencies' exits see the exception; the app's handlers answer it afterwards.
            if await request_stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(
                    "Response not awaited: a dependency with yield swallowed the endpoint's exception "
                    "(a bare `except` that does not re-raise)"
                ) from exc
            raise
        if state.request_scoped_exits:
            response.background = _ThenExit(response.background, request_stack)
        else:
            await request_stack.__aexit__(None, None, None)
        return response

    def build_response(result: Any, state: _Solve) -> Response:
        sub_response = state.sub_response
        if isinstance(result, Response):
            if result.background is None:
                result.background = state.background
            return result
        response_status = status_code
        if sub_response is not None and sub_response.status_code:
            response_status = sub_response.status_code
        content = serialize(result)
        if isinstance(content, Response):
            response = content
            if response_status is not None:
                response.status_code = response_status
        elif isinstance(content, bytes):
            response = Response(content, status_code=response_status or 200, media_type="application/json")
        else:
            response = JSONResponse(content, status_code=response_status or 200)
        response.background = state.background
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if sub_response is not None:
            response.raw_headers.extend(sub_response.raw_headers)
        return response

    return solve


def make_websocket_solver(route: Any, app: Any) -> Callable[[Any, Any], Any]:
    """The coroutine function the Rust core runs for a WebSocket connection on this route:
    parameters and dependencies as for HTTP, then the endpoint, with Starlette's exception
    handling for WebSockets (handlers get the WebSocket; nothing is sent on their behalf)."""
    from fastrapi.exceptions import WebSocketException, WebSocketRequestValidationError
    from fastrapi.websockets import WebSocket

    dependant = route.plan.dependant
    endpoint = dependant.call
    assert endpoint is not None

    async def solve(data: Any, channel: Any) -> None:
        websocket = WebSocket(data, channel, app)
        sessions = getattr(app, "session_middleware", None)
        if sessions is not None:
            # As Starlette's SessionMiddleware: read from the cookie; a WebSocket can not set one.
            websocket._session, _ = sessions.load(websocket)  # type: ignore[attr-defined]
        overrides = getattr(app, "dependency_overrides", None) or {}
        try:
            async with AsyncExitStack() as stack:
                state = _Solve(websocket, stack, overrides, {})
                values, errors = await solve_dependencies(dependant, state)
                if errors:
                    raise WebSocketRequestValidationError(errors)
                await endpoint(**values)
        except Exception as exc:
            handler = app._inner_handler(exc) if app is not None else None
            if handler is not None:
                result = handler(websocket, exc)
                if inspect.isawaitable(result):
                    await result
            elif isinstance(exc, WebSocketRequestValidationError):
                await websocket.close(code=1008)
            elif isinstance(exc, WebSocketException):
                await websocket.close(code=exc.code, reason=exc.reason)
            else:
                raise

    return solve
