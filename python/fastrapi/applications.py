"""The application object: FastAPI's constructor and decorators, plus ``serve()``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel

from fastrapi import _fastrapi
from fastrapi.datastructures import Default, State
from fastrapi.encoders import jsonable_encoder
from fastrapi.exception_handlers import http_exception_response, validation_error_response
from fastrapi.exceptions import FastAPIError, HTTPException, RequestValidationError
from fastrapi.responses import JSONResponse, Response
from fastrapi.routing import APIRoute, APIRouter, DecoratedCallable

error_logger = logging.getLogger("fastrapi.error")


def _jsonable_for_rust(obj: Any) -> Any:
    """The JSON encoder's slow path: values the Rust walker does not know, made JSON-ready.

    A model's ``model_dump(mode="json")`` is already plain JSON data, so the second
    ``jsonable_encoder`` pass FastAPI makes over it is skipped; Rust walks the result.
    """
    if isinstance(obj, BaseModel):
        return obj.model_dump(mode="json", by_alias=True)
    return jsonable_encoder(obj)


def _bind_middleware(middleware: Callable[..., Any], call_next: Callable[[Any], Any]) -> Callable[[Any], Any]:
    async def handler(request: Any) -> Any:
        return await middleware(request, call_next)

    return handler


def _bind_session(middleware: Any, call_next: Callable[[Any], Any]) -> Callable[[Any], Any]:
    async def handler(request: Any) -> Any:
        session, initially_empty = middleware.load(request)
        request._session = session
        response = await call_next(request)
        middleware.store(session, initially_empty, response)
        return response

    return handler


class _Hooks:
    """The callables the Rust core uses outside any one route."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.jsonable_encoder = _jsonable_for_rust
        self.response_class = Response

    def handle_exception(self, exc: BaseException) -> Response | None:
        if isinstance(exc, HTTPException):
            return http_exception_response(exc)
        if isinstance(exc, RequestValidationError):
            return validation_error_response(exc.errors())
        error_logger.error("Exception in ASGI application", exc_info=exc)
        return None

    async def routing_error(self, status_code: int, allow: str | None, data: Any) -> Response:
        """404/405 from the router, when the app's handlers or middleware must see them."""
        from fastrapi.requests import Request

        headers = {"Allow": allow} if allow else None

        async def raise_routing_error(request: Any) -> Response:
            raise HTTPException(status_code=status_code, headers=headers)

        return await self.app.run_request(Request(data, self.app), raise_routing_error)

    def validation_error(self, errors: list[Any], body: Any) -> Response:
        return validation_error_response(errors)

    async def run_background(self, task: Any) -> None:
        try:
            await task()
        except Exception as exc:
            error_logger.error("Exception in background task", exc_info=exc)


class FastAPI:
    """A FastAPI application. ``FastrAPI`` is the same class."""

    def __init__(
        self,
        *,
        debug: bool = False,
        routes: list[APIRoute] | None = None,
        title: str = "FastAPI",
        summary: str | None = None,
        description: str = "",
        version: str = "0.1.0",
        openapi_url: str | None = "/openapi.json",
        openapi_tags: list[dict[str, Any]] | None = None,
        servers: list[dict[str, Any]] | None = None,
        dependencies: Sequence[Any] | None = None,
        default_response_class: type[Response] = Default(JSONResponse),
        redirect_slashes: bool = True,
        docs_url: str | None = "/docs",
        redoc_url: str | None = "/redoc",
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        lifespan: Callable[[FastAPI], Any] | None = None,
        root_path: str = "",
        strict_content_type: bool = True,
        exception_handlers: dict[Any, Callable[..., Any]] | None = None,
        middleware: Sequence[Any] | None = None,
        **extra: Any,
    ) -> None:
        self.debug = debug
        self.user_middleware: list[Any] = []
        self.http_middleware: list[Callable[..., Any]] = []
        self.session_middleware: Any = None
        for item in middleware or []:
            cls, args, kwargs = item
            self.add_middleware(cls, *args, **kwargs)
        self.title = title
        self.summary = summary
        self.description = description
        self.version = version
        self.openapi_url = openapi_url
        self.openapi_tags = openapi_tags
        self.servers = servers or []
        self.docs_url = docs_url
        self.redoc_url = redoc_url
        self.root_path = root_path
        self.strict_content_type = strict_content_type
        self.extra = extra
        self.state = State()
        self.dependency_overrides: dict[Callable[..., Any], Callable[..., Any]] = {}
        # Handlers the app registered, by exception class or status code (FastAPI's own
        # defaults apply when none matches).
        self.exception_handlers: dict[Any, Callable[..., Any]] = dict(exception_handlers or {})
        self.lifespan = lifespan
        self.router = APIRouter(
            dependencies=dependencies,
            default_response_class=default_response_class,
            redirect_slashes=redirect_slashes,
        )
        self.router.routes.extend(routes or [])
        self.router.on_startup.extend(on_startup or [])
        self.router.on_shutdown.extend(on_shutdown or [])
        self._core: _fastrapi.AppCore | None = None

    @property
    def routes(self) -> list[Any]:
        return self.router.routes

    # -- the decorators FastAPI apps use --------------------------------------------------
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.router.add_api_route(path, endpoint, **kwargs)

    def api_route(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.api_route(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.get(path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.put(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.post(path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.delete(path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.options(path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.head(path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.patch(path, **kwargs)

    def trace(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.trace(path, **kwargs)

    def include_router(self, router: APIRouter, **kwargs: Any) -> None:
        self.router.include_router(router, **kwargs)

    def on_event(self, event_type: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.on_event(event_type)

    def mount(self, path: str, app: Any, name: str | None = None) -> None:
        """Serve ``app`` (``StaticFiles``) under ``path``."""
        self.router.mount(path, app, name)

    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        self.router.add_event_handler(event_type, func)

    # -- middleware -------------------------------------------------------------------------
    def add_middleware(self, middleware_class: Any, *args: Any, **kwargs: Any) -> None:
        """Add a middleware; the last one added runs first, as in Starlette."""
        if self._core is not None:
            raise RuntimeError("Cannot add middleware after an application has started")
        if getattr(middleware_class, "python_layer", False):
            if self.session_middleware is not None:
                raise FastAPIError(f"{middleware_class.__name__} was added twice")
            self.session_middleware = middleware_class(None, *args, **kwargs)
            return
        if getattr(middleware_class, "native", None) is None:
            name = getattr(middleware_class, "__qualname__", repr(middleware_class))
            raise FastAPIError(
                f"middleware {name} is not supported by this version of fastrapi: only the native "
                "middleware in fastrapi.middleware (CORSMiddleware, GZipMiddleware, HTTPSRedirectMiddleware, "
                "TrustedHostMiddleware, "
                "SessionMiddleware) "
                "can run here so far"
            )
        if any(getattr(m, "native", None) == middleware_class.native for m in self.user_middleware):
            raise FastAPIError(f"{middleware_class.__name__} was added twice")
        self.user_middleware.insert(0, middleware_class(None, *args, **kwargs))

    def middleware(self, middleware_type: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        """``@app.middleware("http")``: ``async def mw(request, call_next) -> Response``."""
        if middleware_type != "http":
            raise FastAPIError('Currently only middleware("http") is supported.')

        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            if self._core is not None:
                raise RuntimeError("Cannot add middleware after an application has started")
            self.http_middleware.append(func)
            return func

        return decorator

    # -- exception handlers ---------------------------------------------------------------
    def add_exception_handler(self, exc_class_or_status_code: Any, handler: Callable[..., Any]) -> None:
        if self._core is not None:
            raise RuntimeError("exception handlers must be added before the app starts serving")
        self.exception_handlers[exc_class_or_status_code] = handler

    def exception_handler(self, exc_class_or_status_code: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_exception_handler(exc_class_or_status_code, func)
            return func

        return decorator

    def _inner_handler(self, exc: BaseException) -> Callable[..., Any] | None:
        """Starlette's ExceptionMiddleware lookup: a status-code handler for HTTP exceptions, then
        the class hierarchy; 500 and ``Exception`` belong to the outer error middleware."""
        handlers = self.exception_handlers
        if isinstance(exc, HTTPException) and exc.status_code != 500 and exc.status_code in handlers:
            return handlers[exc.status_code]
        for cls in type(exc).__mro__:
            if cls is Exception:
                break
            if cls in handlers:
                return handlers[cls]
        return None

    async def _handle_inner(self, request: Any, exc: BaseException) -> Response | None:
        handler = self._inner_handler(exc)
        if handler is None:
            if isinstance(exc, HTTPException):
                return http_exception_response(exc)
            if isinstance(exc, RequestValidationError):
                return validation_error_response(exc.errors())
            return None
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        return response  # type: ignore[no-any-return]

    async def _handle_server_error(self, request: Any, exc: BaseException) -> Response | None:
        handler = self.exception_handlers.get(500) or self.exception_handlers.get(Exception)
        if handler is None:
            return None  # the server logs it and answers its own 500
        error_logger.error("Exception in ASGI application", exc_info=exc)
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        # Answered by the outermost error middleware: no other middleware applies to it.
        response._fastrapi_server_error = True
        return response  # type: ignore[no-any-return]

    async def run_request(self, request: Any, endpoint: Callable[[Any], Any]) -> Response:
        """One request through Starlette's layers: error middleware, the app's ``http``
        middleware (last added outermost), exception handlers, then ``endpoint``."""

        async def with_handlers(req: Any) -> Response:
            try:
                return await endpoint(req)  # type: ignore[no-any-return]
            except Exception as exc:
                response = await self._handle_inner(req, exc)
                if response is None:
                    raise
                return response

        handler: Callable[[Any], Any] = with_handlers
        for middleware in self.http_middleware:
            handler = _bind_middleware(middleware, handler)
        if self.session_middleware is not None:
            handler = _bind_session(self.session_middleware, handler)
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except Exception as exc:
            response = await self._handle_server_error(request, exc)
            if response is None:
                raise
            return response

    def _routing_errors_handled(self) -> bool:
        return bool(self.http_middleware) or any(key in self.exception_handlers for key in (404, 405, HTTPException))

    # -- running --------------------------------------------------------------------------
    def build_core(self) -> _fastrapi.AppCore:
        """Compile every route into the plan the Rust core serves (done once, before workers start)."""
        if self._core is None:
            # With handlers of its own, every request runs where a `Request` exists to hand them.
            solve_all = bool(self.exception_handlers or self.http_middleware or self.session_middleware)
            plans = [
                route.compile(self, strict_content_type=self.strict_content_type, force_solver=solve_all)
                for route in self.router.routes
            ]
            hooks = _Hooks(self)
            if not self._routing_errors_handled():
                hooks.routing_error = None  # type: ignore[assignment,method-assign]
            self._core = _fastrapi.AppCore(
                plans, hooks, redirect_slashes=self.router.redirect_slashes, middleware=self.user_middleware
            )
        return self._core

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        workers: int | None = None,
        driver: str = "auto",
        mode: str = "auto",
        **options: Any,
    ) -> None:
        """Serve the app on ``host:port`` until SIGINT/SIGTERM. See `fastrapi._server.serve`."""
        from fastrapi._server import serve

        serve(self, host=host, port=port, workers=workers, driver=driver, mode=mode, **options)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise FastAPIError(
            "fastrapi apps are served by app.serve() or `fastrapi run`, not by an ASGI server"
        )


FastrAPI = FastAPI
