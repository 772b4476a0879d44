"""Routes and routers: what the decorators record, and the plan each route compiles to."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, TypeVar, get_origin

from pydantic import TypeAdapter, ValidationError

from fastrapi.datastructures import Default, DefaultPlaceholder
from fastrapi.dependencies.utils import EndpointPlan, ParamPlan, analyze_endpoint, body_decoder
from fastrapi.exceptions import FastAPIError, ResponseValidationError
from fastrapi.responses import JSONResponse, Response

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])


def _is_async_callable(obj: Any) -> bool:
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    # A class instance used as an endpoint is async when its __call__ is.
    return callable(obj) and not inspect.isroutine(obj) and inspect.iscoroutinefunction(type(obj).__call__)


def _return_annotation(endpoint: Callable[..., Any]) -> Any:
    try:
        annotation = inspect.signature(endpoint, eval_str=True).return_annotation
    except (NameError, ValueError, TypeError):
        return None
    if annotation is inspect.Signature.empty or annotation is None or annotation is type(None):
        return None
    origin = get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, Response):
        return None
    return annotation


@dataclasses.dataclass
class RoutePlan:
    """What the Rust core reads for one route (see `src/python/app.rs`)."""

    path: str
    methods: list[str]
    endpoint: Callable[..., Any]
    is_async: bool
    params: list[ParamPlan]
    body: Callable[[bytes, str | None], Any] | None
    status_code: int
    serialize: Callable[[Any], Any] | None
    solver: Callable[[Any], Any] | None = None
    spool_body: bool = False
    # A StaticFiles mount the server may answer itself: (realpath of the directory, follow_symlink).
    static_files: tuple[str, bool] | None = None


class APIRoute:
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | None = None,
        name: str | None = None,
        status_code: int | None = None,
        response_model: Any = Default(None),
        response_class: type[Response] | DefaultPlaceholder[type[Response]] = Default(JSONResponse),
        tags: list[str | Enum] | None = None,
        dependencies: Sequence[Any] | None = None,
        summary: str | None = None,
        description: str | None = None,
        response_description: str = "Successful Response",
        responses: dict[int | str, dict[str, Any]] | None = None,
        deprecated: bool | None = None,
        operation_id: str | None = None,
        include_in_schema: bool = True,
        response_model_include: Any = None,
        response_model_exclude: Any = None,
        response_model_by_alias: bool = True,
        response_model_exclude_unset: bool = False,
        response_model_exclude_defaults: bool = False,
        response_model_exclude_none: bool = False,
        openapi_extra: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        if not path.startswith("/"):
            raise FastAPIError(f"Routed paths must start with '/': {path!r}")
        self.path = path
        self.path_format = path
        self.endpoint = endpoint
        seen: list[str] = []
        for method in methods or ["GET"]:
            if method.upper() not in seen:
                seen.append(method.upper())
        self.methods = set(seen)
        self._method_order = seen
        self.name = name if name is not None else getattr(endpoint, "__name__", endpoint.__class__.__name__)
        self.status_code = status_code
        if isinstance(response_model, DefaultPlaceholder):
            response_model = _return_annotation(endpoint)
        self.response_model = response_model
        self.response_class = response_class
        self.tags = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.summary = summary
        self.description = description if description is not None else inspect.cleandoc(endpoint.__doc__ or "")
        self.response_description = response_description
        self.responses = responses or {}
        self.deprecated = deprecated
        self.operation_id = operation_id
        self.include_in_schema = include_in_schema
        self.response_model_include = response_model_include
        self.response_model_exclude = response_model_exclude
        self.response_model_by_alias = response_model_by_alias
        self.response_model_exclude_unset = response_model_exclude_unset
        self.response_model_exclude_defaults = response_model_exclude_defaults
        self.response_model_exclude_none = response_model_exclude_none
        self.openapi_extra = openapi_extra
        self.extra = extra
        self.plan: EndpointPlan = analyze_endpoint(path, endpoint, self.dependencies)

    def compile(self, app: Any = None, *, strict_content_type: bool = True, force_solver: bool = False) -> RoutePlan:
        if force_solver or self.plan.dependant.needs_python_solver():
            from fastrapi.dependencies.solver import make_solver

            return RoutePlan(
                path=self.path,
                methods=list(self._method_order),
                endpoint=self.endpoint,
                is_async=True,
                params=[],
                body=None,
                status_code=self.status_code or 200,
                serialize=None,
                solver=make_solver(self, app, self.plan, strict_content_type=strict_content_type),
                spool_body=any(f.is_form for f in self.plan.body_fields),
            )
        return RoutePlan(
            path=self.path,
            methods=list(self._method_order),
            endpoint=self.endpoint,
            is_async=_is_async_callable(self.endpoint),
            params=self.plan.params,
            body=body_decoder(self.plan, strict_content_type=strict_content_type),
            status_code=self.status_code or 200,
            serialize=self.response_serializer(),
        )

    def response_serializer(self, for_solver: bool = False) -> Callable[[Any], Any] | None:
        """What turns the endpoint's return value into a response body.

        Returns bytes (JSON written by pydantic), a ``Response``, or — for the solver only —
        JSON-ready data; ``None`` when the Rust encoder can take the value as it is.
        """
        response_class = self.response_class
        if isinstance(response_class, DefaultPlaceholder):
            response_class = response_class.value
            default_class = True
        else:
            default_class = False
        if self.response_model is None:
            if default_class:
                if for_solver:
                    from fastrapi.encoders import jsonable_encoder

                    return jsonable_encoder
                return None
            return functools.partial(_render_with_class, response_class, self.status_code)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adapter: TypeAdapter[Any] = TypeAdapter(self.response_model)
        options = {
            "include": self.response_model_include,
            "exclude": self.response_model_exclude,
            "by_alias": self.response_model_by_alias,
            "exclude_unset": self.response_model_exclude_unset,
            "exclude_defaults": self.response_model_exclude_defaults,
            "exclude_none": self.response_model_exclude_none,
        }
        status_code = self.status_code

        def serialize(value: Any) -> Any:
            try:
                validated = adapter.validate_python(value, from_attributes=True)
            except ValidationError as exc:
                errors = [{**e, "loc": ("response", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
                raise ResponseValidationError(errors, body=value) from None
            if default_class:
                # FastAPI's fast path: pydantic writes the JSON bytes itself.
                return adapter.dump_json(validated, **options)
            dumped = adapter.dump_python(validated, mode="json", **options)
            return _render_with_class(response_class, status_code, dumped)

        return serialize


def _render_with_class(response_class: type[Response], status_code: int | None, value: Any) -> Response:
    from fastrapi.encoders import jsonable_encoder

    kwargs: dict[str, Any] = {}
    if status_code is not None:
        kwargs["status_code"] = status_code
    return response_class(jsonable_encoder(value), **kwargs)


class Mount:
    """An application served under a path prefix (``app.mount``). ``StaticFiles`` for now."""

    def __init__(self, path: str, app: Any, name: str | None = None) -> None:
        from fastrapi.staticfiles import StaticFiles

        if path and not path.startswith("/"):
            raise FastAPIError("Routed paths must start with '/'")
        if not isinstance(app, StaticFiles):
            raise FastAPIError(
                f"mounting {type(app).__name__} is not supported by this version of fastrapi yet "
                "(StaticFiles can be mounted)"
            )
        self.path = path.rstrip("/")
        self.app = app
        self.name = name

    def compile(self, app: Any = None, *, strict_content_type: bool = True, force_solver: bool = False) -> RoutePlan:
        from fastrapi.requests import Request

        mounted = self.app

        async def solve(data: Any) -> Response:
            request = Request(data, app)
            route_path = data.path_params.get("path", "")

            async def endpoint(req: Any) -> Response:
                return await mounted.handle(req, route_path)  # type: ignore[no-any-return]

            return await app.run_request(request, endpoint)  # type: ignore[no-any-return]

        return RoutePlan(
            path=self.path + "/{path:path}",
            methods=["*"],
            endpoint=solve,
            is_async=True,
            params=[],
            body=None,
            status_code=200,
            serialize=None,
            solver=solve,
            static_files=_served_natively(mounted, app),
        )


def _served_natively(mounted: Any, app: Any) -> tuple[str, bool] | None:
    """Regular files of a StaticFiles mount are sent by the server without entering Python,
    unless the app runs Python around every request (``@app.middleware("http")``, sessions)."""
    from fastrapi.staticfiles import StaticFiles

    if not isinstance(mounted, StaticFiles) or len(mounted.all_directories) != 1:
        return None
    if app is not None and (app.http_middleware or app.session_middleware):
        return None
    return os.path.realpath(mounted.all_directories[0]), mounted.follow_symlink


class APIRouter:
    def __init__(
        self,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        dependencies: Sequence[Any] | None = None,
        default_response_class: type[Response] = Default(JSONResponse),
        responses: dict[int | str, dict[str, Any]] | None = None,
        redirect_slashes: bool = True,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        **extra: Any,
    ) -> None:
        if prefix:
            if not prefix.startswith("/"):
                raise FastAPIError("A path prefix must start with '/'")
            if prefix.endswith("/"):
                raise FastAPIError("A path prefix must not end with '/', as the routes will start with '/'")
        self.dependencies = list(dependencies or [])
        self.prefix = prefix
        self.tags = list(tags or [])
        self.default_response_class = default_response_class
        self.responses = responses or {}
        self.redirect_slashes = redirect_slashes
        self.deprecated = deprecated
        self.include_in_schema = include_in_schema
        self.routes: list[Any] = []
        self.on_startup: list[Callable[[], Any]] = []
        self.on_shutdown: list[Callable[[], Any]] = []

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        kwargs.setdefault("response_class", self.default_response_class)
        tags = list(self.tags) + list(kwargs.pop("tags", None) or [])
        if self.deprecated is not None and kwargs.get("deprecated") is None:
            kwargs["deprecated"] = self.deprecated
        kwargs["dependencies"] = self.dependencies + list(kwargs.get("dependencies") or [])
        route = APIRoute(self.prefix + path, endpoint, tags=tags, **kwargs)
        self.routes.append(route)

    def api_route(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_api_route(path, func, **kwargs)
            return func

        return decorator

    def _method(
        self, method: str, path: str, kwargs: dict[str, Any]
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        kwargs["methods"] = [method]
        return self.api_route(path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("GET", path, kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("PUT", path, kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("POST", path, kwargs)

    def delete(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("DELETE", path, kwargs)

    def options(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("OPTIONS", path, kwargs)

    def head(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("HEAD", path, kwargs)

    def patch(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("PATCH", path, kwargs)

    def trace(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self._method("TRACE", path, kwargs)

    def include_router(
        self,
        router: APIRouter,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        dependencies: Sequence[Any] | None = None,
        **extra: Any,
    ) -> None:
        if prefix:
            if not prefix.startswith("/"):
                raise FastAPIError("A path prefix must start with '/'")
            if prefix.endswith("/"):
                raise FastAPIError("A path prefix must not end with '/', as the routes will start with '/'")
        for route in router.routes:
            if isinstance(route, Mount):
                self.routes.append(Mount(self.prefix + prefix + route.path, route.app, route.name))
                continue
            self.add_api_route(
                prefix + route.path,
                route.endpoint,
                methods=route._method_order,
                name=route.name,
                status_code=route.status_code,
                response_model=route.response_model,
                response_class=route.response_class,
                tags=list(tags or []) + route.tags,
                dependencies=list(dependencies or []) + route.dependencies,
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses=route.responses,
                deprecated=route.deprecated,
                operation_id=route.operation_id,
                include_in_schema=route.include_in_schema,
                response_model_include=route.response_model_include,
                response_model_exclude=route.response_model_exclude,
                response_model_by_alias=route.response_model_by_alias,
                response_model_exclude_unset=route.response_model_exclude_unset,
                response_model_exclude_defaults=route.response_model_exclude_defaults,
                response_model_exclude_none=route.response_model_exclude_none,
                openapi_extra=route.openapi_extra,
            )
        self.on_startup.extend(router.on_startup)
        self.on_shutdown.extend(router.on_shutdown)

    def mount(self, path: str, app: Any, name: str | None = None) -> None:
        self.routes.append(Mount(self.prefix + path, app, name))

    def add_event_handler(self, event_type: str, func: Callable[[], Any]) -> None:
        if event_type == "startup":
            self.on_startup.append(func)
        elif event_type == "shutdown":
            self.on_shutdown.append(func)
        else:
            raise ValueError(f"unknown event type {event_type!r}: use 'startup' or 'shutdown'")

    def on_event(self, event_type: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_event_handler(event_type, func)
            return func

        return decorator

    async def startup(self) -> None:
        for handler in self.on_startup:
            result = handler()
            if inspect.isawaitable(result):
                await result

    async def shutdown(self) -> None:
        for handler in self.on_shutdown:
            result = handler()
            if inspect.isawaitable(result):
                await result
