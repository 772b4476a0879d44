"""Routes whose requests need Python objects (dependencies, an injected ``Request``/``Response``,
custom exception handlers, ``@app.middleware("http")``), served without FastAPI's ASGI stack.

The request is answered by FastAPI's own route handler (``get_request_handler``: body, dependency
solving, endpoint, serialisation), inside the exit stacks FastAPI's ``request_response`` opens and
with the app's exception handlers looked up as Starlette does — the same code, minus the ASGI
plumbing around it. The only change: sync dependencies and endpoints go through fastrapi's
inline-or-pool policy (``fastrapi.concurrency``) instead of a thread hop each.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, contextmanager
from typing import Any

import fastapi.routing
from fastapi.dependencies.models import (
    Dependant,
    _is_async_gen_callable,
    _is_coroutine_callable,
    _is_gen_callable,
)
from fastapi.exceptions import FastAPIError
from starlette._exception_handler import _lookup_exception_handler
from starlette._utils import is_async_callable
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import Response

from fastrapi import _fastrapi, concurrency

Handler = Callable[[Request], Awaitable[Response]]


class AppSolving:
    """What every solved route of one app shares: its exception handlers and its ``http``
    middleware (``BaseHTTPMiddleware`` dispatch functions, outermost first)."""

    def __init__(self, app: Any, dispatchers: list[Callable[..., Any]]) -> None:
        self.app = app
        handlers = {k: v for k, v in app.exception_handlers.items() if k not in (500, Exception)}
        table = ExceptionMiddleware(None, handlers=handlers)  # type: ignore[arg-type]
        # As Starlette's ExceptionMiddleware puts them in the scope.
        self.exception_handlers = (table._exception_handlers, table._status_handlers)
        self.server_error_handler = app.exception_handlers.get(500) or app.exception_handlers.get(Exception)
        self.dispatchers = dispatchers

    async def handled(self, request: Request, exc: Exception) -> Response:
        """The app's answer to an exception (re-raised when it has none, as Starlette does). As
        in Starlette, what the route-level handler raises gets a second lookup (the
        ExceptionMiddleware's), and what that one raises goes to the server-error handler."""
        handler = self._handler_for(exc)
        if handler is None:
            return await self.server_error(request, exc)
        try:
            return await _call_handler(handler, request, exc)
        except Exception as raised:
            again = self._handler_for(raised)
            if again is None:
                return await self.server_error(request, raised)
            try:
                return await _call_handler(again, request, raised)
            except Exception as last:
                return await self.server_error(request, last)

    def _handler_for(self, exc: Exception) -> Callable[..., Any] | None:
        exception_handlers, status_handlers = self.exception_handlers
        handler = status_handlers.get(exc.status_code) if isinstance(exc, HTTPException) else None
        return handler if handler is not None else _lookup_exception_handler(exception_handlers, exc)

    async def server_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's ServerErrorMiddleware: the app's 500 handler answers (outside every other
        middleware), and the exception is still reported as unhandled."""
        if self.server_error_handler is None:
            raise exc
        response = await _call_handler(self.server_error_handler, request, exc)
        _fastrapi.report_app_error(exc)
        response._fastrapi_server_error = True  # type: ignore[attr-defined]
        return response


async def _call_handler(handler: Callable[..., Any], request: Request, exc: Exception) -> Response:
    if is_async_callable(handler):
        return await handler(request, exc)  # type: ignore[no-any-return]
    return await run_in_threadpool(handler, request, exc)  # type: ignore[no-any-return]


class RouteSolver:
    """``solver(scope, body, connection)``: the response to one request of this route."""

    def __init__(self, shared: AppSolving, route: Any, context: Any) -> None:
        self.shared = shared
        self.context = context
        self.convertors = context.param_convertors
        self.scope_extras = {
            "app": shared.app,
            "router": shared.app.router,
            "endpoint": context.endpoint,
            "route": route,
            "starlette.exception_handlers": shared.exception_handlers,
        }
        effective = getattr(context, "_route_context", None)
        if effective is not None:
            self.scope_extras["fastapi"] = {"effective_route_context": effective}
        # FastAPI enters anyio cancel scopes for yield dependencies, and a task group for an SSE
        # stream, on the request's exit stack: only the task that entered them may exit them.
        self.scoped_exit = _has_yield_dependency(context.dependant) or bool(getattr(context, "is_sse_stream", False))
        endpoint_response: Handler = self.respond
        for dispatch in reversed(shared.dispatchers):
            endpoint_response = _middleware(dispatch, endpoint_response)
        self.chain = endpoint_response

    @functools.cached_property
    def original(self) -> Handler:
        """FastAPI's handler, made when first needed: a library that wraps ``get_request_handler``
        (older sentry-sdk wraps ``dependant.call`` each time) sees one call per route, as under FastAPI."""
        return _handler(self.context, self.context.dependant)

    @functools.cached_property
    def fast(self) -> Handler:
        """The same, with sync code through fastrapi's inline-or-pool policy."""
        return _handler(self.context, _policy_dependant(self.context.dependant, {}, endpoint=True))

    def __call__(
        self, scope: dict[str, Any], body: bytes, connection: Any, receive: Any = None
    ) -> Awaitable[Response]:
        """``receive``: the request's own, when it has one (under ASGI middleware); else the
        connection answers ``is_disconnected()``."""
        return self.solve(self.request(scope, body, connection, receive))

    def request(self, scope: dict[str, Any], body: bytes, connection: Any, receive: Any = None) -> Request:
        """The request as this route's code sees it (the scope filled in as Starlette and
        FastAPI fill it, the path parameters converted, the body read)."""
        scope.update(self.scope_extras)
        raw = scope["path_params"]
        convertors = self.convertors
        scope["path_params"] = {name: convertors[name].convert(value) for name, value in raw.items()}
        request = Request(scope, receive or _Receive(connection))
        request._body = body
        return request

    async def on_error(self, scope: dict[str, Any], body: bytes, connection: Any, exc: Exception) -> Response:
        """The app's answer to what this route's native plan raised (re-raised when it has none)."""
        return await self.shared.handled(self.request(scope, body, connection), exc)

    async def solve(self, request: Request) -> Response:
        try:
            return await self.chain(request)
        except Exception as exc:
            return await self.shared.server_error(request, exc)

    async def respond(self, request: Request) -> Response:
        """FastAPI's ``request_response`` around the handler, the response left for Rust to send:
        request-scoped ``yield`` dependencies exit once it (and its background tasks) went out."""
        overridden = bool(self.shared.app.dependency_overrides)
        handler = self.original if overridden else self.fast
        if self.scoped_exit or overridden:
            return await respond_in_request_task(lambda: self._respond(handler, request))
        response, request_stack = await self._respond(handler, request)
        then_exit(response, request_stack)
        return response

    async def _respond(self, handler: Handler, request: Request) -> tuple[Response, AsyncExitStack | None]:
        """The response, and the request's exit stack if it is still to be exited (not when an
        exception handler answered: the stack exited before it, as in FastAPI)."""
        scope = request.scope
        request_stack = AsyncExitStack()
        await request_stack.__aenter__()
        scope["fastapi_inner_astack"] = request_stack
        scope["fastapi_middleware_astack"] = request_stack
        try:
            async with AsyncExitStack() as function_stack:
                scope["fastapi_function_astack"] = function_stack
                response = await handler(request)
        except Exception as exc:
            if await request_stack.__aexit__(type(exc), exc, exc.__traceback__):
                raise FastAPIError(
                    "Response not awaited. There's a high chance that the application code is raising an "
                    "exception and a dependency with yield has a block with a bare except, or a block with "
                    "except Exception, and is not raising the exception again."
                ) from exc
            return await self.shared.handled(request, exc), None
        return response, request_stack


def _middleware(dispatch: Callable[..., Any], call_next: Handler) -> Handler:
    async def handler(request: Request) -> Response:
        return await dispatch(request, call_next)  # type: ignore[no-any-return]

    return handler


class _Receive:
    """``receive`` of a request whose body the server has read already: only a client that left
    is news (``Request.is_disconnected()``)."""

    __slots__ = ("connection",)

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def __call__(self) -> dict[str, Any]:
        if self.connection is not None and self.connection.is_closed():
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": b"", "more_body": False}


def _has_yield_dependency(dependant: Dependant) -> bool:
    return any(
        _is_gen_callable(sub.call) or _is_async_gen_callable(sub.call) or _has_yield_dependency(sub)
        for sub in dependant.dependencies
    )


async def respond_in_request_task(
    respond: Callable[[], Awaitable[tuple[Response, AsyncExitStack | None]]],
) -> Response:
    """``respond()`` in a task of its own, which also exits the request's exit stack once the
    response and its background went out. The server sends the response and runs the background
    from other tasks, but the anyio cancel scopes FastAPI enters for ``yield`` dependencies must be
    exited in the task that entered them (as ``request_response`` does, in one task), and so must
    a context variable a dependency set be reset in the context that set it."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[Response] = loop.create_future()
    went_out: asyncio.Future[None] = loop.create_future()

    async def request_task() -> None:
        try:
            response, request_stack = await respond()
        except BaseException as exc:
            answered.set_exception(exc)
            return
        answered.set_result(response)
        if request_stack is None:
            return
        try:
            await went_out
        except BaseException as exc:
            await request_stack.__aexit__(type(exc), exc, exc.__traceback__)
            return  # the background's exception is raised by _ThenExit
        await request_stack.__aexit__(None, None, None)

    task = loop.create_task(request_task())
    try:
        response = await answered
    except asyncio.CancelledError:
        task.cancel()
        raise
    response.background = _ThenExit(response.background, _exit_in_task(went_out, task))  # type: ignore[assignment]
    return response


def then_exit(response: Response, request_stack: AsyncExitStack | None) -> None:
    """The request's exit stack exits after the response's background tasks."""
    if request_stack is not None:
        response.background = _ThenExit(response.background, _exit_stack(request_stack))  # type: ignore[assignment]


# Exits the request's exit stack, with what the response's background raised (or None).
Exit = Callable[[BaseException | None], Awaitable[Any]]


class _ThenExit:
    """The response's background tasks, then ``exit`` (with what they raised): the request's exit
    stack exits (FastAPI exits it after ``await response(...)``, which runs the background)."""

    def __init__(self, background: Any, exit: Exit) -> None:
        self.background = background
        self.exit = exit

    async def __call__(self) -> None:
        try:
            if self.background is not None:
                await self.background()
        except BaseException as exc:
            await self.exit(exc)
            raise
        await self.exit(None)

    async def abort(self) -> None:
        """The response did not go out: the stack exits with the client's disconnect."""
        from starlette.requests import ClientDisconnect

        await self.exit(ClientDisconnect())


def _exit_stack(stack: AsyncExitStack) -> Exit:
    async def exit(exc: BaseException | None) -> None:
        await stack.__aexit__(type(exc) if exc else None, exc, exc.__traceback__ if exc else None)

    return exit


def _exit_in_task(went_out: asyncio.Future[None], task: asyncio.Task[None]) -> Exit:
    """Hands the outcome to the request task, which exits the stack; raises what the exit raised."""

    async def exit(exc: BaseException | None) -> None:
        if exc is None:
            went_out.set_result(None)
        else:
            went_out.set_exception(exc)
        await task

    return exit


def _handler(context: Any, dependant: Dependant) -> Handler:
    """FastAPI's request handler for this route, on ``dependant`` (looked up on FastAPI's module
    now, so that a library that wrapped it, as sentry-sdk does, is honoured)."""
    return fastapi.routing.get_request_handler(
        dependant=dependant,
        body_field=context.body_field,
        status_code=context.status_code,
        response_class=context.response_class,
        response_field=context.response_field,
        response_model_include=context.response_model_include,
        response_model_exclude=context.response_model_exclude,
        response_model_by_alias=context.response_model_by_alias,
        response_model_exclude_unset=context.response_model_exclude_unset,
        response_model_exclude_defaults=context.response_model_exclude_defaults,
        response_model_exclude_none=context.response_model_exclude_none,
        dependency_overrides_provider=context.dependency_overrides_provider,
        embed_body_fields=context._embed_body_fields,
        strict_content_type=context.strict_content_type,
        form_limits=context.original_route.form_limits,
        stream_item_field=context.stream_item_field,
        is_json_stream=context.is_json_stream,
    )


# -- sync code through the inline-or-pool policy ---------------------------------------------------


def _policy_dependant(dependant: Dependant, made: dict[int, Any], endpoint: bool = False) -> Dependant:
    """A copy of ``dependant`` whose sync callables run as fastrapi's policy says. One wrapper per
    callable (so FastAPI's per-request dependency cache, keyed by callable, works the same). A
    generator endpoint is left as it is: FastAPI streams what it yields."""
    subs = [_policy_dependant(sub, made) for sub in dependant.dependencies]
    call = dependant.call
    asynchronous = call is None or _is_coroutine_callable(call) or _is_async_gen_callable(call)
    if call is not None and not asynchronous and not (endpoint and _is_gen_callable(call)):
        key = id(call)
        if key not in made:
            made[key] = _as_async(call)
        call = made[key]
    return dataclasses.replace(dependant, call=call, dependencies=subs)


def _as_async(call: Callable[..., Any]) -> Callable[..., Any]:
    policy = concurrency.policy_for(call)
    if _is_gen_callable(call):

        async def yield_dependency(**kwargs: Any) -> AsyncIterator[Any]:
            async with _sync_context(contextmanager(call)(**kwargs), policy) as value:
                yield value

        return _named_as(yield_dependency, call)

    async def sync_callable(**kwargs: Any) -> Any:
        if policy.offload:
            return await policy.pooled(call, **kwargs)
        return policy.inline(call, **kwargs)

    return _named_as(sync_callable, call)


def _named_as(wrapper: Callable[..., Any], call: Callable[..., Any]) -> Callable[..., Any]:
    """The wrapper under the callable's name, which FastAPI's validation errors quote. (Not
    ``functools.wraps``: FastAPI would unwrap it to the sync callable and call it as one.)"""
    for attribute in ("__name__", "__qualname__"):
        name = getattr(call, attribute, None)
        if isinstance(name, str):
            setattr(wrapper, attribute, name)
    return wrapper


@contextlib.asynccontextmanager
async def _sync_context(cm: Any, policy: Any) -> AsyncIterator[Any]:
    """A sync ``yield`` dependency's context: entered (timed) and exited inline, or both in the pool."""
    if policy.offload:
        async with concurrency.contextmanager_in_threadpool(cm) as value:
            yield value
        return
    value = policy.inline(cm.__enter__)
    try:
        yield value
    except BaseException as exc:
        if not cm.__exit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        cm.__exit__(None, None, None)
