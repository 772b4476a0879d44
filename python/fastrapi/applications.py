"""The application object: FastAPI's constructor and decorators, plus ``serve()``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from fastrapi import _fastrapi, _testing
from fastrapi.datastructures import Default, State
from fastrapi.encoders import jsonable_for_rust
from fastrapi.exception_handlers import http_exception_response, validation_error_response
from fastrapi.exceptions import FastAPIError, HTTPException, RequestValidationError
from fastrapi.responses import JSONResponse, PlainTextResponse, Response
from fastrapi.routing import APIRoute, APIRouter, APIWebSocketRoute, DecoratedCallable
from fastrapi.utils import generate_unique_id

error_logger = logging.getLogger("fastrapi.error")


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


def report_stream_error(exc: BaseException) -> None:
    """A streaming body raised after its head was sent (the server then ends the connection)."""
    error_logger.error("Exception in ASGI application", exc_info=exc)
    _testing.server_exception(exc)


class _Hooks:
    """The callables the Rust core uses outside any one route."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.jsonable_encoder = jsonable_for_rust
        self.response_class = Response

    def handle_exception(self, exc: BaseException) -> Response | None:
        if isinstance(exc, HTTPException):
            return http_exception_response(exc)
        if isinstance(exc, RequestValidationError):
            return validation_error_response(exc.errors())
        error_logger.error("Exception in ASGI application", exc_info=exc)
        _testing.server_exception(exc)
        return None

    async def routing_error(self, status_code: int, extra: str | None, data: Any) -> Response:
        """404/405 (``extra``: the ``Allow`` value) or the slash redirect (307, ``extra``: its
        location) from the router, when the app's handlers or middleware must see them."""
        from fastrapi.requests import Request
        from fastrapi.responses import RedirectResponse

        headers = {"Allow": extra} if extra and status_code == 405 else None

        async def raise_routing_error(request: Any) -> Response:
            if status_code == 307 and extra is not None:
                return RedirectResponse(url=extra)
            raise HTTPException(status_code=status_code, headers=headers)

        app = self.app._app_for_path(data.path)  # under a mounted app's prefix: that app's layers
        return await app.run_request(Request(data, app), raise_routing_error)  # type: ignore[no-any-return]

    def validation_error(self, errors: list[Any], body: Any) -> Response:
        return validation_error_response(errors)

    def expect_background(self, task: Any) -> None:
        """The server queued ``task`` to run once its response is sent (a test client waits for it)."""
        _testing.background_expected(task)

    async def run_background(self, task: Any) -> None:
        try:
            await task()
        except Exception as exc:
            error_logger.error("Exception in background task", exc_info=exc)
            _testing.server_exception(exc)
        finally:
            _testing.background_done(task)


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
        swagger_ui_oauth2_redirect_url: str | None = "/docs/oauth2-redirect",
        swagger_ui_init_oauth: dict[str, Any] | None = None,
        swagger_ui_parameters: dict[str, Any] | None = None,
        terms_of_service: str | None = None,
        contact: dict[str, Any] | None = None,
        license_info: dict[str, Any] | None = None,
        root_path_in_servers: bool = True,
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        webhooks: APIRouter | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[Any], str] = Default(generate_unique_id),
        separate_input_output_schemas: bool = True,
        openapi_external_docs: dict[str, Any] | None = None,
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
        self.swagger_ui_oauth2_redirect_url = swagger_ui_oauth2_redirect_url
        self.swagger_ui_init_oauth = swagger_ui_init_oauth
        self.swagger_ui_parameters = swagger_ui_parameters
        self.terms_of_service = terms_of_service
        self.contact = contact
        self.license_info = license_info
        self.root_path_in_servers = root_path_in_servers
        self.separate_input_output_schemas = separate_input_output_schemas
        self.openapi_external_docs = openapi_external_docs
        self.openapi_version = "3.1.0"
        self.openapi_schema: dict[str, Any] | None = None
        self._openapi_routes_version: tuple[int, ...] | None = None
        self._openapi_json_cache: tuple[int, str, bytes] | None = None
        self._openapi_warnings: list[tuple[Any, Any]] = []
        if self.openapi_url:
            assert self.title, "A title must be provided for OpenAPI, e.g.: 'My API'"
            assert self.version, "A version must be provided for OpenAPI, e.g.: '2.1.0'"
        # Routes documented as webhooks (`@app.webhooks.post("new-item")`); never served.
        self.webhooks = webhooks or APIRouter()
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
            responses=responses,
            callbacks=callbacks,
            deprecated=deprecated,
            include_in_schema=include_in_schema,
            generate_unique_id_function=generate_unique_id_function,
        )
        self.router.routes.extend(routes or [])
        self.router.on_startup.extend(on_startup or [])
        self.router.on_shutdown.extend(on_shutdown or [])
        self._core: _fastrapi.AppCore | None = None
        self._core_sync_mode = "auto"
        # (parent app, path prefix) once this app is mounted in another one (`Mount`).
        self._fastrapi_mounted_in: tuple[FastAPI, str] | None = None
        self._fastrapi_mounts: list[tuple[str, FastAPI]] = []
        self.setup()

    @property
    def routes(self) -> list[Any]:
        return self.router.routes

    # -- OpenAPI and the docs pages ---------------------------------------------------------
    def openapi(self) -> dict[str, Any]:
        """The app's OpenAPI document, generated on first use and kept in ``openapi_schema``
        (generated again if routes were added since)."""
        from fastrapi.openapi.utils import get_openapi

        routes_version = tuple(id(route) for route in self.routes)
        if not self.openapi_schema or self._openapi_routes_version != routes_version:
            self.openapi_schema = get_openapi(
                title=self.title,
                version=self.version,
                openapi_version=self.openapi_version,
                summary=self.summary,
                description=self.description,
                terms_of_service=self.terms_of_service,
                contact=self.contact,
                license_info=self.license_info,
                routes=self.routes,
                webhooks=self.webhooks.routes,
                tags=self.openapi_tags,
                servers=self.servers,
                separate_input_output_schemas=self.separate_input_output_schemas,
                external_docs=self.openapi_external_docs,
            )
            self._openapi_routes_version = routes_version
        return self.openapi_schema

    def _prepare_openapi(self) -> None:
        """Make the document once, before workers fork. Its warnings (duplicate operation ids)
        are held back until it is first served, and a failure is left for that request to
        report: when FastAPI emits them."""
        import warnings

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self._openapi_json(self.root_path.rstrip("/"))
            except Exception:  # noqa: BLE001
                return
        self._openapi_warnings = [(w.message, w.category) for w in caught]

    def _openapi_json(self, root_path: str) -> bytes:
        """The document as served at ``openapi_url``: JSON bytes, made once per document."""
        pending = self._openapi_warnings
        if pending:
            import warnings

            self._openapi_warnings = []
            for message, category in pending:
                warnings.warn(message, category, stacklevel=1)
        schema = self.openapi()
        cached = self._openapi_json_cache
        if cached is not None and cached[0] == id(schema) and cached[1] == root_path:
            return cached[2]
        served = schema
        if root_path and self.root_path_in_servers:
            servers = schema.get("servers", [])
            if root_path not in {server.get("url") for server in servers}:
                served = {**schema, "servers": [{"url": root_path}, *servers]}
        body = JSONResponse(served).body
        self._openapi_json_cache = (id(schema), root_path, body)
        return body

    def setup(self) -> None:
        """Add the routes of ``openapi_url``, ``docs_url`` (with the OAuth2 redirect page) and
        ``redoc_url``, as FastAPI does; none of them appears in the document."""
        from fastrapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html

        if not self.openapi_url:
            return

        def root_path_of(request: Any) -> str:
            return str(request.scope.get("root_path", "")).rstrip("/")

        async def openapi(request: Any) -> Response:
            return Response(self._openapi_json(root_path_of(request)), media_type="application/json")

        self.add_route(self.openapi_url, openapi, include_in_schema=False)
        if self.docs_url:

            async def swagger_ui_html(request: Any) -> Response:
                root_path = root_path_of(request)
                redirect_url = self.swagger_ui_oauth2_redirect_url
                return get_swagger_ui_html(
                    openapi_url=root_path + str(self.openapi_url),
                    title=f"{self.title} - Swagger UI",
                    oauth2_redirect_url=root_path + redirect_url if redirect_url else None,
                    init_oauth=self.swagger_ui_init_oauth,
                    swagger_ui_parameters=self.swagger_ui_parameters,
                )

            self.add_route(self.docs_url, swagger_ui_html, include_in_schema=False)
            if self.swagger_ui_oauth2_redirect_url:

                async def swagger_ui_redirect(request: Any) -> Response:
                    return get_swagger_ui_oauth2_redirect_html()

                self.add_route(self.swagger_ui_oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
        if self.redoc_url:

            async def redoc_html(request: Any) -> Response:
                return get_redoc_html(
                    openapi_url=root_path_of(request) + str(self.openapi_url), title=f"{self.title} - ReDoc"
                )

            self.add_route(self.redoc_url, redoc_html, include_in_schema=False)

    def add_route(
        self,
        path: str,
        route: Callable[..., Any],
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """A Starlette-style route: ``endpoint(request) -> Response``."""
        self.router.add_route(path, route, methods=methods, name=name, include_in_schema=include_in_schema)

    def route(
        self, path: str, methods: Sequence[str] | None = None, name: str | None = None, include_in_schema: bool = True
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.route(path, methods=methods, name=name, include_in_schema=include_in_schema)

    def url_path_for(self, name: str, /, **path_params: Any) -> Any:
        """The path of the route called ``name``, its ``{parameters}`` filled in from ``path_params``."""
        return self.router.url_path_for(name, **path_params)

    # -- the decorators FastAPI apps use --------------------------------------------------
    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.router.add_api_route(path, endpoint, **kwargs)

    def api_route(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.api_route(path, **kwargs)

    def add_api_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None, *, dependencies: Any = None
    ) -> None:
        self.router.add_api_websocket_route(path, endpoint, name=name, dependencies=dependencies)

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: Any = None
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.websocket(path, name=name, dependencies=dependencies)

    def add_websocket_route(self, path: str, endpoint: Callable[..., Any], name: str | None = None) -> None:
        self.router.add_websocket_route(path, endpoint, name=name)

    def websocket_route(self, path: str, name: str | None = None) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.router.websocket_route(path, name=name)

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
        """Serve ``app`` under ``path``: ``StaticFiles``, another FastAPI app, or any ASGI app."""
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
        _testing.server_exception(exc)  # Starlette re-raises it after the handler answered
        response = handler(request, exc)
        if inspect.isawaitable(response):
            response = await response
        # Answered by the outermost error middleware: no other middleware applies to it.
        response._fastrapi_server_error = True
        return response  # type: ignore[no-any-return]

    async def run_request(self, request: Any, endpoint: Callable[[Any], Any]) -> Response:
        """One request through Starlette's layers: error middleware, the app's ``http``
        middleware (last added outermost), exception handlers, then ``endpoint``.

        For an app mounted in another (``parent.mount(prefix, app)``), the parent's layers run
        around this app's, as Starlette's middleware stacks nest."""
        mounted_in = self._fastrapi_mounted_in
        if mounted_in is not None:
            parent = mounted_in[0]

            async def in_mounted_app(req: Any) -> Response:
                req._app = self
                return await self._run_layers(req, endpoint, mounted=True)

            request._app = parent
            return await parent.run_request(request, in_mounted_app)  # type: ignore[no-any-return]
        response = await self._run_layers(request, endpoint)
        _testing.response_ready(response)
        return response

    async def _run_layers(self, request: Any, endpoint: Callable[[Any], Any], mounted: bool = False) -> Response:
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
                if not mounted:
                    raise
                # A mounted app's own error middleware answers (Starlette's plain 500); the
                # parent's handlers do not see the exception.
                error_logger.error("Exception in ASGI application", exc_info=exc)
                _testing.server_exception(exc)
                return PlainTextResponse("Internal Server Error", status_code=500)
            return response

    def _routing_errors_handled(self) -> bool:
        if any(app._routing_errors_handled() for _, app in self._fastrapi_mounts):
            return True
        return bool(self.http_middleware) or any(key in self.exception_handlers for key in (404, 405, HTTPException))

    def _app_for_path(self, path: str) -> FastAPI:
        """The (mounted) app whose prefix ``path`` is under, as Starlette's ``Mount`` matches."""
        for prefix, app in self._fastrapi_mounts:
            if path.startswith(prefix + "/"):
                return app._app_for_path(path)
        return self

    # -- running --------------------------------------------------------------------------
    def _compile_routes(self, force_solver: bool = False) -> list[Any]:
        """Every route's plan; a mounted FastAPI app contributes a plan for each of its routes."""
        # With handlers of its own, every request runs where a `Request` exists to hand them.
        solve_all = force_solver or bool(self.exception_handlers or self.http_middleware or self.session_middleware)
        plans: list[Any] = []
        self._fastrapi_mounts = []  # filled by each `Mount` of a FastAPI app
        for route in self.router.routes:
            if isinstance(route, APIWebSocketRoute):
                continue  # served by the WebSocket table (`_websocket_plans`)
            compiled = route.compile(self, strict_content_type=self.strict_content_type, force_solver=solve_all)
            plans.extend(compiled if isinstance(compiled, list) else [compiled])
        return plans

    def build_core(self, sync_mode: str = "auto") -> _fastrapi.AppCore:
        """Compile every route into the plan the Rust core serves (done once, before workers start).
        ``sync_mode`` says where ``def`` endpoints run (see ``fastrapi.concurrency``)."""
        if self._core is None or self._core_sync_mode != sync_mode:
            self._core_sync_mode = sync_mode
            plans = self._compile_routes()
            if self.openapi_url:
                self._prepare_openapi()
            hooks = _Hooks(self)
            if not self._routing_errors_handled():
                hooks.routing_error = None  # type: ignore[assignment,method-assign]
            websocket_plans = _websocket_plans(self)
            self._core = _fastrapi.AppCore(
                plans,
                hooks,
                redirect_slashes=self.router.redirect_slashes,
                middleware=self.user_middleware,
                websocket_routes=websocket_plans,
                sync_mode=sync_mode,
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


def _websocket_plans(app: Any, prefix: str = "") -> list[Any]:
    """The WebSocket routes of ``app`` and of the FastAPI apps mounted in it, under their prefixes
    (``_compile_routes`` has recorded the mounts)."""
    plans = []
    for route in app.router.routes:
        if isinstance(route, APIWebSocketRoute):
            plan = route.compile_websocket(app)
            plan.path = prefix + plan.path
            plans.append(plan)
    for mount_prefix, mounted in getattr(app, "_fastrapi_mounts", []):
        plans.extend(_websocket_plans(mounted, prefix + mount_prefix))
    return plans


class MountedApp:
    """A FastAPI app as mounted in another (``parent.mount(prefix, app)``): everything is read
    from the app itself, but its requests run inside the parent's layers and see the prefix as
    their ``root_path``. The app itself is untouched, so it can also be served on its own or
    mounted elsewhere."""

    def __init__(self, app: FastAPI, parent: Any, prefix: str) -> None:
        self._fastrapi_unwrapped = app
        self._fastrapi_mounted_in = (parent, prefix)
        self._fastrapi_mounts: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fastrapi_unwrapped, name)

    run_request = FastAPI.run_request
    _compile_routes = FastAPI._compile_routes
    _routing_errors_handled = FastAPI._routing_errors_handled
    _app_for_path = FastAPI._app_for_path


FastrAPI = FastAPI
