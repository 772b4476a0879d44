"""A route's dependency tree, compiled into the plan the Rust core calls.

Rust reads and validates every path/query/header/cookie parameter of the whole tree (each with
its own FastAPI field) and calls the compiled ``runner`` with them; the runner calls the
dependencies in FastAPI's order (sub-dependencies first, each result cached per request by
FastAPI's own cache key), then the endpoint. A request whose parameters do not all validate —
or any request while ``dependency_overrides`` is set — is handed to FastAPI's own handler
instead, before any dependency ran, so errors, their order and overrides are FastAPI's.

Two shapes of runner:
- *plain*: the endpoint's value is returned, and Rust serialises it (no ``yield`` dependency,
  no injected ``Response``/``BackgroundTasks``, FastAPI's default JSON response class);
- *rendering*: the runner builds the response as FastAPI's handler does (serialised while
  ``yield`` dependencies are still open, the sub-response's status and headers merged, the
  background tasks attached) and exits request-scoped ``yield`` dependencies after the response
  and its background went out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import (
    Dependant,
    _get_cache_key,
    _get_computed_scope,
    _get_oauth_scopes,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import FastAPIError, ResponseValidationError
from fastapi.security.oauth2 import SecurityScopes
from fastapi.utils import is_body_allowed_for_status_code
from pydantic import BaseModel
from starlette.background import BackgroundTasks
from starlette.responses import JSONResponse, Response

from fastrapi import _fastrapi, concurrency
from fastrapi._solver import respond_in_request_task, then_exit

# The keyword arguments Rust adds for a tree that asks for the request.
SCOPE_KEY = "__fastrapi_scope__"
BODY_KEY = "__fastrapi_body__"
CONNECTION_KEY = "__fastrapi_connection__"


class NotNative(Exception):
    """Why a route is served by FastAPI's own code."""


# Where an argument of a call comes from.
_PARAM, _RESULT, _REQUEST, _SCOPES, _RESPONSE, _BACKGROUND = range(6)


@dataclasses.dataclass
class _Call:
    """One dependency (or the endpoint) and where each of its arguments comes from."""

    call: Callable[..., Any]
    kind: str  # "sync", "async", "gen", "agen"
    params: tuple[tuple[str, str], ...]  # (argument, Rust's keyword for the parameter)
    results: tuple[tuple[str, int], ...]  # (argument, index of an earlier call's result)
    special: tuple[tuple[str, int, Any], ...]  # (argument, _REQUEST/_SCOPES/..., extra)
    function_scope: bool = False
    # The result of an earlier call with the same cache key is used instead (no call).
    cached_from: int | None = None


@dataclasses.dataclass
class CompiledTree:
    """What `_compiler` puts in the route's plan."""

    params: list[Any]
    runner: Callable[..., Any]
    is_async: bool
    wants_request: bool
    # The runner returns the response itself (built as FastAPI's handler builds it).
    renders: bool
    # The body fields of each dependant that has some, with the keyword of each field.
    body_groups: list[tuple[list[Any], dict[str, str]]]


def compile_tree(
    context: Any,
    make_param: Callable[[Any], Any],
    make_request: Callable[[dict[str, Any], bytes, Any], Any],
    handlers: Any = None,
) -> CompiledTree:
    """The plan for a route with dependencies, or `NotNative` with the reason. ``make_request(scope,
    body, connection)`` gives the request to calls that take it. With ``handlers``
    (`fastrapi._solver.AppSolving`), the runner renders the response and what the route raises is
    answered by the app's handlers in the route's own task, with its request."""
    compiler = _TreeCompiler(make_param)
    endpoint_index = compiler.add(context.dependant, is_endpoint=True)
    calls = compiler.calls
    endpoint = calls[endpoint_index]
    kinds = {c.kind for c in calls if c.cached_from is None}
    special = {kind for c in calls for _, kind, _ in c.special}
    response_class = context.response_class
    default_class = isinstance(response_class, DefaultPlaceholder) or response_class is JSONResponse
    renders = bool(kinds & {"gen", "agen"}) or bool(special & {_RESPONSE, _BACKGROUND}) or not default_class
    renders = renders or handlers is not None
    wants_request = _REQUEST in special or handlers is not None
    is_async = renders or bool(kinds & {"async", "agen"})
    runner: Callable[..., Any]
    if not is_async:
        runner = _sync_runner(calls, make_request)
    elif not renders:
        runner = _async_runner(calls, make_request)
    else:
        render = _Renderer(context)
        in_task = "agen" in kinds
        runner = _rendering_runner(calls, make_request, render, in_task, handlers)
    own_mode = getattr(endpoint.call, "__fastrapi_sync_mode__", None)
    if own_mode is not None:
        runner.__fastrapi_sync_mode__ = own_mode  # type: ignore[attr-defined]
    return CompiledTree(compiler.params, runner, is_async, wants_request, renders, compiler.body_groups)


class _TreeCompiler:
    """Walks a dependant as FastAPI's `solve_dependencies` does, recording the calls in order."""

    def __init__(self, make_param: Callable[[Any], Any]) -> None:
        self.make_param = make_param
        self.calls: list[_Call] = []
        self.params: list[Any] = []
        self.body_groups: list[tuple[list[Any], dict[str, str]]] = []
        self.keywords: set[str] = set()
        self.cached: dict[Any, int] = {}
        self.uses_scopes: dict[int, Any] = {}

    def add(self, dependant: Dependant, is_endpoint: bool = False) -> int:
        """The index of the call of ``dependant`` (its sub-dependencies are added first)."""
        results: list[tuple[str, int]] = []
        for sub in dependant.dependencies:
            index = self.add(sub)
            if sub.name is not None:
                results.append((sub.name, index))
        call = dependant.call
        if call is None:
            raise NotNative("a dependency without a callable")
        if dependant.websocket_param_name:
            raise NotNative("a WebSocket parameter in an HTTP route")
        if dependant.concurrency is not None:
            raise NotNative("a dependency with a concurrency limit")
        params = []
        for field in (
            *dependant.path_params,
            *dependant.query_params,
            *dependant.header_params,
            *dependant.cookie_params,
        ):
            param = self.make_param(field)
            param.name = self._keyword(field.name)
            self.params.append(param)
            params.append((field.name, param.name))
        if dependant.body_params:
            # Decoded (FastAPI's way, per dependant) into keywords of their own.
            keywords = {field.name: self._keyword(field.name) for field in dependant.body_params}
            self.body_groups.append((list(dependant.body_params), keywords))
            params.extend(keywords.items())
        special: list[tuple[str, int, Any]] = []
        for name in (dependant.http_connection_param_name, dependant.request_param_name):
            if name:
                special.append((name, _REQUEST, None))
        if dependant.background_tasks_param_name:
            special.append((dependant.background_tasks_param_name, _BACKGROUND, None))
        if dependant.response_param_name:
            special.append((dependant.response_param_name, _RESPONSE, None))
        if dependant.security_scopes_param_name:
            scopes = tuple(_get_oauth_scopes(dependant=dependant))
            special.append((dependant.security_scopes_param_name, _SCOPES, scopes))
        entry = _Call(call, _kind(call, is_endpoint), tuple(params), tuple(results), tuple(special))
        if not is_endpoint:
            key = _get_cache_key(dependant=dependant, uses_scopes_cache=self.uses_scopes)
            earlier = self.cached.get(key)
            if dependant.use_cache and earlier is not None:
                entry.cached_from = earlier
            entry.function_scope = _get_computed_scope(dependant=dependant) == "function"
            self.cached.setdefault(key, len(self.calls))
        self.calls.append(entry)
        return len(self.calls) - 1

    def _keyword(self, name: str) -> str:
        """A keyword of its own for each parameter (two dependencies may both declare ``q``)."""
        keyword, n = name, 0
        while keyword in self.keywords or keyword in (SCOPE_KEY, BODY_KEY, CONNECTION_KEY):
            n += 1
            keyword = f"{name}\x00{n}"
        self.keywords.add(keyword)
        return keyword


def _kind(call: Callable[..., Any], is_endpoint: bool) -> str:
    if _is_gen_callable(call) or _is_async_gen_callable(call):
        if is_endpoint:
            raise NotNative("a generator endpoint (streamed by FastAPI)")
        return "agen" if _is_async_gen_callable(call) else "gen"  # FastAPI's order
    return "async" if _is_coroutine_callable(call) else "sync"


# -- running the calls ----------------------------------------------------------------------------


class _PerRequest:
    """The objects FastAPI makes once per request and hands to every call that asks."""

    __slots__ = ("kw", "make_request", "request", "response", "background")

    def __init__(self, kw: dict[str, Any], make_request: Callable[..., Any]) -> None:
        self.kw = kw
        self.make_request = make_request
        self.request: Any = None
        self.response: Response | None = None
        self.background: BackgroundTasks | None = None

    def arguments(self, entry: _Call, results: list[Any]) -> dict[str, Any]:
        kw = self.kw
        args = {name: kw[keyword] for name, keyword in entry.params}
        for name, index in entry.results:
            args[name] = results[index]
        for name, kind, extra in entry.special:
            args[name] = self._special(kind, extra)
        return args

    def get_request(self) -> Any:
        if self.request is None:
            kw = self.kw
            self.request = self.make_request(kw[SCOPE_KEY], kw[BODY_KEY], kw[CONNECTION_KEY])
        return self.request

    def _special(self, kind: int, extra: Any) -> Any:
        if kind == _REQUEST:
            return self.get_request()
        if kind == _SCOPES:
            return SecurityScopes(scopes=list(extra))
        if kind == _RESPONSE:
            if self.response is None:
                self.response = Response()
                del self.response.headers["content-length"]
                self.response.status_code = None  # type: ignore[assignment]
            return self.response
        if self.background is None:
            self.background = BackgroundTasks()
        return self.background


def _sync_runner(calls: list[_Call], make_request: Callable[..., Any]) -> Callable[..., Any]:
    """Every call is a plain ``def``: one sync function, which Rust runs inline or in the pool."""
    last = len(calls) - 1

    def run(**kw: Any) -> Any:
        state = _PerRequest(kw, make_request)
        results: list[Any] = []
        for index, entry in enumerate(calls):
            if entry.cached_from is not None:
                results.append(results[entry.cached_from])
                continue
            value = entry.call(**state.arguments(entry, results))
            if index == last:
                return value
            results.append(value)
        raise AssertionError("no endpoint")

    return run


def _async_runner(calls: list[_Call], make_request: Callable[..., Any]) -> Callable[..., Any]:
    """Plain and ``async def`` calls; the sync ones run as fastrapi's policy says."""
    policies = [concurrency.policy_for(c.call) if c.kind == "sync" else None for c in calls]
    last = len(calls) - 1

    async def run(**kw: Any) -> Any:
        state = _PerRequest(kw, make_request)
        results: list[Any] = []
        for index, entry in enumerate(calls):
            if entry.cached_from is not None:
                results.append(results[entry.cached_from])
                continue
            args = state.arguments(entry, results)
            policy = policies[index]
            if policy is None:
                value = await entry.call(**args)
            elif policy.offload:
                value = await policy.pooled(entry.call, **args)
            else:
                value = policy.inline(entry.call, **args)
            if index == last:
                return value
            results.append(value)
        raise AssertionError("no endpoint")

    return run


def _rendering_runner(
    calls: list[_Call], make_request: Callable[..., Any], render: _Renderer, in_task: bool, handlers: Any
) -> Callable[..., Any]:
    """Any calls, ``yield`` dependencies among them: returns FastAPI's response, the request's
    ``yield`` dependencies exited once it and its background went out (and what the route
    raised answered by the app's ``handlers``, when it has its own)."""
    policies = [concurrency.policy_for(c.call) if c.kind in ("sync", "gen") else None for c in calls]
    last = len(calls) - 1

    async def respond(state: _PerRequest) -> tuple[Response, AsyncExitStack | None]:
        response: Response | None = None
        request_stack = AsyncExitStack()
        try:
            async with AsyncExitStack() as function_stack:
                results: list[Any] = []
                for index, entry in enumerate(calls):
                    if entry.cached_from is not None:
                        results.append(results[entry.cached_from])
                        continue
                    args = state.arguments(entry, results)
                    kind = entry.kind
                    if kind == "async":
                        value = await entry.call(**args)
                    elif kind == "sync":
                        policy = policies[index]
                        assert policy is not None
                        if policy.offload:
                            value = await policy.pooled(entry.call, **args)
                        else:
                            value = policy.inline(entry.call, **args)
                    else:
                        stack = function_stack if entry.function_scope else request_stack
                        if kind == "agen":
                            value = await stack.enter_async_context(asynccontextmanager(entry.call)(**args))
                        else:
                            cm = contextmanager(entry.call)(**args)
                            value = await concurrency.enter_sync_context(stack, entry.call, cm)
                    if index == last:
                        response = await render(value, state)
                    else:
                        results.append(value)
            if response is None:  # a function-scoped `yield` dependency swallowed the exception
                raise FastAPIError(_SWALLOWED)
        except BaseException as exc:
            if await request_stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(_SWALLOWED) from exc
            raise
        return response, request_stack

    async def run(**kw: Any) -> Response:
        state = _PerRequest(kw, make_request)
        try:
            if in_task:
                return await respond_in_request_task(lambda: respond(state))
            response, request_stack = await respond(state)
        except Exception as exc:
            if handlers is None:
                raise
            return await handlers.handled(state.get_request(), exc)  # type: ignore[no-any-return]
        then_exit(response, request_stack)
        return response

    return run


_SWALLOWED = (
    "Response not awaited. There's a high chance that the application code is raising an exception and a "
    "dependency with yield has a block with a bare except, or a block with except Exception, and is not "
    "raising the exception again."
)


class _Renderer:
    """FastAPI's handler from the endpoint's value on: validated and serialised as the route
    says, in its response class, with the sub-response's status and headers."""

    def __init__(self, context: Any) -> None:
        response_class = context.response_class
        self.default_class = isinstance(response_class, DefaultPlaceholder)
        self.response_class = response_class.value if self.default_class else response_class
        self.status_code = context.status_code
        self.serialize = response_serializer(context, use_dump_json=self.default_class)

    async def __call__(self, value: Any, state: _PerRequest) -> Response:
        if isinstance(value, Response):
            if value.background is None:
                value.background = state.background
            return value
        sub = state.response
        args: dict[str, Any] = {"background": state.background}
        status = self.status_code if self.status_code else (sub.status_code if sub is not None else None)
        if status is not None:
            args["status_code"] = status
        if sub is not None and sub.status_code:
            args["status_code"] = sub.status_code
        response: Response
        if self.serialize is not None:
            content = self.serialize(value)
            if self.default_class:
                response = Response(content=content, media_type="application/json", **args)
            else:
                response = self.response_class(content, **args)
        elif self.default_class:
            # `JSONResponse(jsonable_encoder(value))`'s bytes, from the Rust encoder.
            response = Response(content=_fastrapi.dumps(value, jsonable), media_type="application/json", **args)
        else:
            response = self.response_class(jsonable_encoder(value), **args)
        if not is_body_allowed_for_status_code(response.status_code):
            response.body = b""
        if sub is not None:
            response.headers.raw.extend(sub.headers.raw)
        return response


def response_serializer(context: Any, *, use_dump_json: bool) -> Callable[[Any], Any] | None:
    """What FastAPI's `serialize_response` makes of the endpoint's value with a response model:
    JSON bytes (``use_dump_json``: FastAPI's `dump_json` path) or the serialised value; a
    `Response` is passed through. ``None`` without a response model."""
    field = context.response_field
    if field is None:
        return None
    options = {
        "include": context.response_model_include,
        "exclude": context.response_model_exclude,
        "by_alias": context.response_model_by_alias,
        "exclude_unset": context.response_model_exclude_unset,
        "exclude_defaults": context.response_model_exclude_defaults,
        "exclude_none": context.response_model_exclude_none,
    }
    dump = field.serialize_json if use_dump_json else field.serialize

    def serialize(value: Any) -> Any:
        if isinstance(value, Response):
            return value
        validated, errors = field.validate(value, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(errors=errors, body=value, endpoint_ctx=endpoint_context(context))
        return dump(validated, **options)

    return serialize


def endpoint_context(context: Any) -> Any:
    """What FastAPI's errors say of the endpoint: its function and, as ``"GET /path"``, its
    route (when the route has one method: the native path knows no request there)."""
    from fastapi.routing import _extract_endpoint_context

    found = dict(_extract_endpoint_context(context.dependant.call))  # a copy: FastAPI caches it
    methods = sorted(context.methods or ())
    if context.dependant.path and len(methods) == 1:
        found["path"] = f"{methods[0]} {context.dependant.path}"
    return found


def jsonable(value: Any) -> Any:
    """What the Rust JSON writer asks for a value it does not know. A model is dumped the way
    `jsonable_encoder` starts (the Rust writer then does what its second, recursive pass would:
    the dump holds JSON types only); anything else goes to `jsonable_encoder`."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(value)
