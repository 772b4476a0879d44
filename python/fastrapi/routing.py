"""Routes and routers: what the decorators record, and the plan each route compiles to."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
import os
import warnings
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, TypeVar, get_origin

from pydantic import TypeAdapter, ValidationError

from fastrapi import _fastrapi
from fastrapi.convertors import compile_path, replace_params
from fastrapi.datastructures import Default, DefaultPlaceholder, URLPath
from fastrapi.dependencies.utils import EndpointPlan, ParamPlan, analyze_endpoint, body_decoder
from fastrapi.exceptions import FastAPIError, ResponseValidationError
from fastrapi.responses import JSONResponse, Response
from fastrapi.utils import generate_unique_id

DecoratedCallable = TypeVar("DecoratedCallable", bound=Callable[..., Any])


class NoMatchFound(Exception):
    """Raised by ``url_path_for``/``url_for`` when no route has that name and those parameters."""

    def __init__(self, name: str, path_params: dict[str, Any]) -> None:
        params = ", ".join(list(path_params.keys()))
        super().__init__(f'No route exists for name "{name}" and params "{params}".')


def _get_name(endpoint: Any) -> str:
    return getattr(endpoint, "__name__", endpoint.__class__.__name__)  # type: ignore[no-any-return]


def _resolve_default(*items: Any) -> Any:
    """The first item that is not a ``Default(...)`` placeholder, else the first one."""
    for item in items:
        if not isinstance(item, DefaultPlaceholder):
            return item
    return items[0]


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

    @classmethod
    def solved_in_python(
        cls, path: str, solve: Callable[[Any], Any], methods: Sequence[str] = ("*",), **extra: Any
    ) -> RoutePlan:
        """A route whose whole request goes to ``solve(request_data)`` (``extra``: other fields)."""
        extra.setdefault("status_code", 200)
        return cls(path=path, methods=list(methods), endpoint=extra.pop("endpoint", solve), is_async=True,
                   params=[], body=None, serialize=None, solver=solve, **extra)


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
        callbacks: list[Any] | None = None,
        generate_unique_id_function: Callable[[Any], str] | DefaultPlaceholder[Any] = Default(generate_unique_id),
        **extra: Any,
    ) -> None:
        self.path = path
        self.path_format, self.param_convertors = compile_path(path)
        self.endpoint = endpoint
        seen: list[str] = []
        for method in methods or ["GET"]:
            if method.upper() not in seen:
                seen.append(method.upper())
        self.methods = set(seen)
        self._method_order = seen
        self.name = name if name is not None else _get_name(endpoint)
        self.status_code = int(status_code) if isinstance(status_code, int) else status_code
        # FastAPI 0.165: a generator endpoint streams its items (JSON Lines with the default
        # response class); `AsyncIterable[Item]`-style annotations give the item type.
        self.is_generator = _is_generator_callable(endpoint)
        self.stream_item_type: Any = None
        if isinstance(response_model, DefaultPlaceholder):
            response_model = _return_annotation(endpoint)
            if self.is_generator:
                if isinstance(response_class, DefaultPlaceholder) or _is_event_source(response_class):
                    item_type = _stream_item_type(response_model)
                    if not _is_server_sent_event(item_type):
                        self.stream_item_type = item_type
                response_model = None
        self.response_model = response_model
        self.response_class = response_class
        self.tags = list(tags or [])
        self.dependencies = list(dependencies or [])
        self.summary = summary
        # Only the part of a docstring before a form feed (\f) is published.
        self.description = (description or inspect.cleandoc(endpoint.__doc__ or "")).split("\f")[0].strip()
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
        self.callbacks = callbacks
        self.generate_unique_id_function = generate_unique_id_function
        make_id = _resolve_default(generate_unique_id_function)
        if isinstance(make_id, DefaultPlaceholder):
            make_id = make_id.value
        self.unique_id: str = operation_id or make_id(self)
        self.extra = extra
        self.plan: EndpointPlan = analyze_endpoint(path, endpoint, self.dependencies)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or set(path_params) != set(self.param_convertors):
            raise NoMatchFound(name, path_params)
        path, _ = replace_params(self.path_format, self.param_convertors, path_params)
        return URLPath(path=path, protocol="http")

    def compile(self, app: Any = None, *, strict_content_type: bool = True, force_solver: bool = False) -> RoutePlan:
        if not self.path.startswith("/"):
            raise FastAPIError(f"Routed paths must start with '/': {self.path!r}")
        if force_solver or self.is_generator or self.plan.dependant.needs_python_solver():
            from fastrapi.dependencies.solver import make_solver

            return RoutePlan.solved_in_python(
                self.path,
                make_solver(self, app, self.plan, strict_content_type=strict_content_type),
                self._method_order,
                endpoint=self.endpoint,
                status_code=self.status_code or 200,
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

        Returns bytes (JSON written by pydantic or by the Rust encoder) or a ``Response``;
        ``None`` when the Rust encoder can take the value as it is (the fast path).
        """
        response_class = self.response_class
        if isinstance(response_class, DefaultPlaceholder):
            response_class = response_class.value
            default_class = True
        else:
            default_class = False
        if self.is_generator:
            return self._stream_serializer(response_class, default_class)
        if self.response_model is None:
            if default_class:
                if for_solver:
                    from fastrapi.encoders import jsonable_for_rust

                    # The fast path's encoding (Rust walker, jsonable fallback), as bytes.
                    return functools.partial(_fastrapi.dumps, default=jsonable_for_rust)
                return None
            return functools.partial(_render_with_class, response_class, self.status_code)
        adapter, options, validate = self._response_validator(self.response_model)
        status_code = self.status_code

        def serialize(value: Any) -> Any:
            validated = validate(value)
            if default_class:
                # FastAPI's fast path: pydantic writes the JSON bytes itself.
                return adapter.dump_json(validated, **options)
            dumped = adapter.dump_python(validated, mode="json", **options)
            return _render_with_class(response_class, status_code, dumped)

        return serialize


    def _stream_serializer(self, response_class: type[Response], default_class: bool) -> Callable[[Any], Any]:
        """For a generator endpoint: its generator becomes a streamed response — JSON Lines
        (FastAPI's `application/jsonl`, one item per line) with the default response class, else
        ``response_class(content=generator)``."""
        status_code = self.status_code
        if _is_event_source(response_class):
            return self._event_stream_serializer()
        if not default_class:

            def stream_with_class(gen: Any) -> Response:
                kwargs: dict[str, Any] = {} if status_code is None else {"status_code": status_code}
                return response_class(content=gen, **kwargs)  # type: ignore[call-arg]

            return stream_with_class
        item_json = self._stream_item_json()

        def stream_jsonl(gen: Any) -> Response:
            from fastrapi.responses import StreamingResponse

            if hasattr(gen, "__aiter__"):

                async def async_lines() -> Any:
                    async for item in gen:
                        yield item_json(item) + b"\n"

                content: Any = async_lines()
            else:
                content = (item_json(item) + b"\n" for item in gen)
            kwargs: dict[str, Any] = {} if status_code is None else {"status_code": status_code}
            return StreamingResponse(content, media_type="application/jsonl", **kwargs)

        return stream_jsonl

    def _event_stream_serializer(self) -> Callable[[Any], Any]:
        """For a generator endpoint with ``response_class=EventSourceResponse``: Server-Sent Events,
        with a keep-alive comment whenever the generator is idle for ``sse._PING_INTERVAL``."""
        import asyncio
        import json

        from fastrapi import sse
        from fastrapi.encoders import jsonable_encoder
        from fastrapi.responses import StreamingResponse

        item_json = self._stream_item_json()
        status_code = self.status_code

        def event_bytes(item: Any) -> bytes:
            if not isinstance(item, sse.ServerSentEvent):
                return sse.format_sse_event(data_str=item_json(item).decode("utf-8"))
            data_str: str | None = None
            if item.raw_data is not None:
                data_str = item.raw_data
            elif item.data is not None:
                if hasattr(item.data, "model_dump_json"):
                    data_str = item.data.model_dump_json()
                else:
                    data_str = json.dumps(_finite_floats(jsonable_encoder(item.data)))
            return sse.format_sse_event(
                data_str=data_str, event=item.event, id=item.id, retry=item.retry, comment=item.comment
            )

        async def events(gen: Any) -> Any:
            # A producer task pulls from the generator, so waiting with a timeout for the next
            # event never cancels the generator itself.
            queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)
            done = object()

            async def produce() -> None:
                try:
                    if hasattr(gen, "__aiter__"):
                        async for item in gen:
                            await queue.put(event_bytes(item))
                    else:
                        for item in gen:
                            await queue.put(event_bytes(item))
                except Exception as exc:  # noqa: BLE001 - re-raised by the consumer
                    await queue.put(_StreamFailure(exc))
                    return
                await queue.put(done)

            producer = asyncio.ensure_future(produce())
            try:
                while True:
                    try:
                        data = await asyncio.wait_for(queue.get(), timeout=sse._PING_INTERVAL)
                    except TimeoutError:
                        yield sse.KEEPALIVE_COMMENT
                        continue
                    if data is done:
                        return
                    if isinstance(data, _StreamFailure):
                        raise data.error
                    yield data
            finally:
                producer.cancel()

        def stream_events(gen: Any) -> Response:
            kwargs: dict[str, Any] = {} if status_code is None else {"status_code": status_code}
            response = StreamingResponse(events(gen), media_type="text/event-stream", **kwargs)
            response.headers["Cache-Control"] = "no-cache"
            response.headers["X-Accel-Buffering"] = "no"
            return response

        return stream_events

    def _stream_item_json(self) -> Callable[[Any], bytes]:
        """One streamed item as FastAPI writes it: validated and dumped by the item type when the
        return annotation names one, else ``json.dumps`` of ``jsonable_encoder`` (non-finite
        floats as null)."""
        if self.stream_item_type is None:
            import json

            from fastrapi.encoders import jsonable_encoder

            return lambda item: json.dumps(_finite_floats(jsonable_encoder(item))).encode("utf-8")
        adapter, options, validate = self._response_validator(self.stream_item_type)
        return lambda item: adapter.dump_json(validate(item), **options)

    def _response_validator(
        self, annotation: Any
    ) -> tuple[TypeAdapter[Any], dict[str, Any], Callable[[Any], Any]]:
        """For a response (or stream item) type: its adapter, the route's ``response_model_*`` dump
        options, and a validation that fails with FastAPI's ``ResponseValidationError``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            adapter: TypeAdapter[Any] = TypeAdapter(annotation)
        options = {
            "include": self.response_model_include,
            "exclude": self.response_model_exclude,
            "by_alias": self.response_model_by_alias,
            "exclude_unset": self.response_model_exclude_unset,
            "exclude_defaults": self.response_model_exclude_defaults,
            "exclude_none": self.response_model_exclude_none,
        }

        def validate(value: Any) -> Any:
            try:
                return adapter.validate_python(value, from_attributes=True)
            except ValidationError as exc:
                errors = [{**e, "loc": ("response", *e.get("loc", ()))} for e in exc.errors(include_url=False)]
                raise ResponseValidationError(errors, body=value) from None

        return adapter, options, validate


class _StreamFailure:
    """An exception from an event stream's generator, handed to the consumer to re-raise."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _is_event_source(response_class: Any) -> bool:
    from fastrapi.sse import EventSourceResponse

    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    return isinstance(response_class, type) and issubclass(response_class, EventSourceResponse)


def _is_server_sent_event(item_type: Any) -> bool:
    from fastrapi.sse import ServerSentEvent

    return isinstance(item_type, type) and issubclass(item_type, ServerSentEvent)


def _is_generator_callable(call: Any) -> bool:
    while isinstance(call, functools.partial):
        call = call.func
    if inspect.isasyncgenfunction(call) or inspect.isgeneratorfunction(call):
        return True
    if not callable(call) or inspect.isroutine(call):
        return False
    dunder_call = type(call).__call__
    return inspect.isasyncgenfunction(dunder_call) or inspect.isgeneratorfunction(dunder_call)


def _stream_item_type(annotation: Any) -> Any:
    """``X`` of ``AsyncIterable[X]``, ``AsyncIterator[X]``, ``AsyncGenerator[X, ...]``, ``Iterable[X]``,
    ``Iterator[X]`` or ``Generator[X, ...]``, else ``None``."""
    import collections.abc
    import typing

    origin = get_origin(annotation)
    streams = (
        collections.abc.AsyncIterable, collections.abc.AsyncIterator, collections.abc.AsyncGenerator,
        collections.abc.Iterable, collections.abc.Iterator, collections.abc.Generator,
    )  # fmt: skip
    if origin in streams:
        args = typing.get_args(annotation)
        return args[0] if args else None
    return None


def _finite_floats(data: Any) -> Any:
    """FastAPI's stream items write non-finite floats as null."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {key: _finite_floats(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_finite_floats(value) for value in data]
    return data


def _render_with_class(response_class: type[Response], status_code: int | None, value: Any) -> Response:
    from fastrapi.encoders import jsonable_encoder

    kwargs: dict[str, Any] = {}
    if status_code is not None:
        kwargs["status_code"] = status_code
    return response_class(jsonable_encoder(value), **kwargs)


class Route:
    """A Starlette-style route, ``endpoint(request) -> Response`` (``add_route``; the docs pages).

    Without ``methods`` it answers GET (and HEAD), as Starlette's ``Route`` does.
    """

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        if not path.startswith("/"):
            raise FastAPIError(f"Routed paths must start with '/': {path!r}")
        self.path = path
        self.path_format, self.param_convertors = compile_path(path)
        self.endpoint = endpoint
        self.name = name if name is not None else _get_name(endpoint)
        self.include_in_schema = include_in_schema
        order: list[str] = []
        for method in methods if methods is not None else ["GET"]:
            if method.upper() not in order:
                order.append(method.upper())
        if "GET" in order and "HEAD" not in order:
            order.append("HEAD")
        self._method_order = order
        self.methods = set(order)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        if name != self.name or set(path_params) != set(self.param_convertors):
            raise NoMatchFound(name, path_params)
        path, _ = replace_params(self.path_format, self.param_convertors, path_params)
        return URLPath(path=path, protocol="http")

    def compile(self, app: Any = None, *, strict_content_type: bool = True, force_solver: bool = False) -> RoutePlan:
        from fastrapi.requests import Request

        endpoint = self.endpoint

        async def call(request: Any) -> Response:
            result = endpoint(request)
            if inspect.isawaitable(result):
                result = await result
            return result  # type: ignore[no-any-return]

        async def solve(data: Any) -> Response:
            request = Request(data, app)
            if app is None:
                return await call(request)
            return await app.run_request(request, call)  # type: ignore[no-any-return]

        return RoutePlan.solved_in_python(self.path, solve, self._method_order)


def _mount_url_path_for(mount: Any, name: str, path_params: dict[str, Any]) -> URLPath:
    """Starlette's ``Mount.url_path_for``: ``"name"`` with ``path=``, or ``"name:route"`` inside it."""
    path_format = mount.path + "/{path}"
    convertors = {"path": compile_path("{path:path}")[1]["path"]}
    params = dict(path_params)
    if mount.name is not None and name == mount.name and "path" in params:
        params["path"] = str(params["path"]).lstrip("/")
        path, remaining = replace_params(path_format, convertors, params)
        if not remaining:
            return URLPath(path=path)
    elif mount.name is None or name.startswith(mount.name + ":"):
        inner_name = name if mount.name is None else name[len(mount.name) + 1 :]
        path_kwarg = params.pop("path", None)
        prefix, remaining = replace_params(path_format, convertors, {**params, "path": ""})
        if path_kwarg is not None:
            remaining["path"] = path_kwarg
        for route in getattr(mount.app, "routes", None) or []:
            try:
                url = _route_url_path_for(route, inner_name, remaining)
            except NoMatchFound:
                continue
            return URLPath(path=prefix.rstrip("/") + str(url), protocol=url.protocol)
    raise NoMatchFound(name, path_params)


def _route_url_path_for(route: Any, name: str, path_params: dict[str, Any]) -> URLPath:
    url_path_for = getattr(route, "url_path_for", None)
    if url_path_for is not None:
        return url_path_for(name, **path_params)  # type: ignore[no-any-return]
    if isinstance(route, Mount):
        return _mount_url_path_for(route, name, path_params)
    raise NoMatchFound(name, path_params)


def _not_found_plan(app: Any, path: str) -> RoutePlan:
    from fastrapi.exceptions import HTTPException
    from fastrapi.requests import Request

    async def not_found(request: Any) -> Response:
        raise HTTPException(status_code=404)

    async def solve(data: Any) -> Response:
        return await app.run_request(Request(data, app), not_found)  # type: ignore[no-any-return]

    return RoutePlan.solved_in_python(path, solve, status_code=404)


class Mount:
    """An application served under a path prefix (``app.mount``): ``StaticFiles``, a fastrapi
    ``FastAPI`` app (its routes join the route table under the prefix and run with its own
    middleware and exception handlers) or any ASGI application (served through the ASGI bridge,
    `fastrapi._asgi`)."""

    def __init__(self, path: str, app: Any, name: str | None = None) -> None:
        from fastrapi.staticfiles import StaticFiles

        if path and not path.startswith("/"):
            raise FastAPIError("Routed paths must start with '/'")
        if not isinstance(app, StaticFiles) and not callable(app):
            raise FastAPIError(
                f"cannot mount {type(app).__name__}: mount StaticFiles, a FastAPI app or an ASGI application"
            )
        self.path = path.rstrip("/")
        self.app = app
        self.name = name

    def _compile_app(self, parent: Any, force_solver: bool) -> list[RoutePlan]:
        """A mounted FastAPI app: each of its routes, compiled for it, under the prefix."""
        sub = self.app
        if sub.user_middleware:
            names = ", ".join(type(m).__name__ for m in sub.user_middleware)
            raise FastAPIError(
                f"the app mounted at {self.path or '/'!r} has {names}: middleware of a mounted app is not "
                "supported by this version of fastrapi yet; add it to the outer app"
            )
        from fastrapi.applications import MountedApp

        mounted: Any = MountedApp(sub, parent, self.path)
        parent._fastrapi_mounts.append((self.path, mounted))
        # The outer app's Python layers (exception handlers, `http` middleware, sessions) wrap
        # the mounted app's requests, so with any of those its routes need a `Request` too.
        plans = mounted._compile_routes(force_solver=force_solver)
        for plan in plans:
            plan.path = self.path + plan.path
        root = self.path + "/"
        if self.path and all(plan.path != root for plan in plans):
            # Starlette's Mount matches "<prefix>/" whatever the app's routes: "<prefix>" is
            # redirected there and answered by the mounted app (404 without a "/" route).
            plans.append(_not_found_plan(mounted, root))
        return plans  # type: ignore[no-any-return]

    def _compile_asgi(self, parent: Any) -> RoutePlan:
        from fastrapi._asgi import ASGIBridge
        from fastrapi.requests import Request

        bridge = ASGIBridge(self.app, self.path, self.name, parent)

        async def solve(data: Any) -> Response:
            return await parent.run_request(Request(data, parent), bridge)  # type: ignore[no-any-return]

        return RoutePlan.solved_in_python(self.path + "/{path:path}", solve, spool_body=True)

    def compile(
        self, app: Any = None, *, strict_content_type: bool = True, force_solver: bool = False
    ) -> RoutePlan | list[RoutePlan]:
        from fastrapi.applications import FastAPI
        from fastrapi.requests import Request
        from fastrapi.staticfiles import StaticFiles

        if isinstance(self.app, FastAPI):
            return self._compile_app(app, force_solver)
        if not isinstance(self.app, StaticFiles):
            return self._compile_asgi(app)

        mounted = self.app

        async def solve(data: Any) -> Response:
            request = Request(data, app)
            route_path = data.path_params.get("path", "")

            async def endpoint(req: Any) -> Response:
                return await mounted.handle(req, route_path)  # type: ignore[no-any-return]

            return await app.run_request(request, endpoint)  # type: ignore[no-any-return]

        return RoutePlan.solved_in_python(
            self.path + "/{path:path}", solve, static_files=_served_natively(mounted, app)
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


class APIWebSocketRoute:
    """A WebSocket endpoint (``@app.websocket``): parameters and dependencies as for HTTP routes."""

    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        name: str | None = None,
        dependencies: Sequence[Any] | None = None,
    ) -> None:
        if not path.startswith("/"):
            raise FastAPIError(f"Routed paths must start with '/': {path!r}")
        self.path = path
        self.path_format = path
        self.endpoint = endpoint
        self.name = name if name is not None else getattr(endpoint, "__name__", endpoint.__class__.__name__)
        self.dependencies = list(dependencies or [])
        self.plan: EndpointPlan = analyze_endpoint(path, endpoint, self.dependencies)

    def compile_websocket(self, app: Any = None) -> WebSocketPlan:
        from fastrapi.dependencies.solver import make_websocket_solver

        return WebSocketPlan(path=self.path, solver=make_websocket_solver(self, app))


@dataclasses.dataclass
class WebSocketPlan:
    """What the Rust core reads for one WebSocket route."""

    path: str
    solver: Callable[[Any, Any], Any]


class APIRouter:
    def __init__(
        self,
        *,
        prefix: str = "",
        tags: list[str | Enum] | None = None,
        dependencies: Sequence[Any] | None = None,
        default_response_class: type[Response] = Default(JSONResponse),
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        routes: list[Any] | None = None,
        redirect_slashes: bool = True,
        route_class: type[APIRoute] = APIRoute,
        on_startup: Sequence[Callable[[], Any]] | None = None,
        on_shutdown: Sequence[Callable[[], Any]] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[Any], str] = Default(generate_unique_id),
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
        self.callbacks = list(callbacks or [])
        self.route_class = route_class
        self.generate_unique_id_function = generate_unique_id_function
        self.routes: list[Any] = list(routes or [])
        self.on_startup: list[Callable[[], Any]] = list(on_startup or [])
        self.on_shutdown: list[Callable[[], Any]] = list(on_shutdown or [])

    def add_api_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        route_class_override: type[APIRoute] | None = None,
        **kwargs: Any,
    ) -> None:
        """Add a route, with this router's prefix, tags, dependencies, responses, callbacks and
        defaults applied as FastAPI applies them."""
        kwargs["response_class"] = _resolve_default(
            kwargs.get("response_class", Default(JSONResponse)), self.default_response_class
        )
        kwargs["tags"] = [*self.tags, *(kwargs.get("tags") or [])]
        kwargs["dependencies"] = [*self.dependencies, *(kwargs.get("dependencies") or [])]
        kwargs["responses"] = {**self.responses, **(kwargs.get("responses") or {})}
        kwargs["callbacks"] = [*self.callbacks, *(kwargs.get("callbacks") or [])]
        kwargs["deprecated"] = kwargs.get("deprecated") or self.deprecated
        kwargs["include_in_schema"] = kwargs.get("include_in_schema", True) and self.include_in_schema
        kwargs["generate_unique_id_function"] = _resolve_default(
            kwargs.get("generate_unique_id_function", Default(generate_unique_id)), self.generate_unique_id_function
        )
        route_class = route_class_override or self.route_class
        self.routes.append(route_class(self.prefix + path, endpoint, **kwargs))

    def add_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        methods: Sequence[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """A Starlette-style route: ``endpoint(request) -> Response``."""
        self.routes.append(
            Route(self.prefix + path, endpoint, methods=methods, name=name, include_in_schema=include_in_schema)
        )

    def route(
        self, path: str, methods: Sequence[str] | None = None, name: str | None = None, include_in_schema: bool = True
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_route(path, func, methods=methods, name=name, include_in_schema=include_in_schema)
            return func

        return decorator

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """The path of the route called ``name`` (the endpoint's name unless given), filled in."""
        for route in self.routes:
            try:
                return _route_url_path_for(route, name, path_params)
            except NoMatchFound:
                pass
        raise NoMatchFound(name, path_params)

    def api_route(self, path: str, **kwargs: Any) -> Callable[[DecoratedCallable], DecoratedCallable]:
        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_api_route(path, func, **kwargs)
            return func

        return decorator

    def add_api_websocket_route(
        self,
        path: str,
        endpoint: Callable[..., Any],
        name: str | None = None,
        *,
        dependencies: Sequence[Any] | None = None,
    ) -> None:
        route = APIWebSocketRoute(
            self.prefix + path, endpoint, name=name, dependencies=self.dependencies + list(dependencies or [])
        )
        self.routes.append(route)

    def websocket(
        self, path: str, name: str | None = None, *, dependencies: Sequence[Any] | None = None
    ) -> Callable[[DecoratedCallable], DecoratedCallable]:
        def decorator(func: DecoratedCallable) -> DecoratedCallable:
            self.add_api_websocket_route(path, func, name=name, dependencies=dependencies)
            return func

        return decorator

    def add_websocket_route(self, path: str, endpoint: Callable[..., Any], name: str | None = None) -> None:
        self.add_api_websocket_route(path, endpoint, name=name)

    def websocket_route(self, path: str, name: str | None = None) -> Callable[[DecoratedCallable], DecoratedCallable]:
        return self.websocket(path, name=name)

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
        default_response_class: type[Response] = Default(JSONResponse),
        responses: dict[int | str, dict[str, Any]] | None = None,
        callbacks: list[Any] | None = None,
        deprecated: bool | None = None,
        include_in_schema: bool = True,
        generate_unique_id_function: Callable[[Any], str] = Default(generate_unique_id),
        **extra: Any,
    ) -> None:
        """Copy ``router``'s routes (as they are now) into this router under ``prefix``.

        Including the same router twice, under different prefixes, gives two sets of routes.
        """
        if prefix:
            if not prefix.startswith("/"):
                raise FastAPIError("A path prefix must start with '/'")
            if prefix.endswith("/"):
                raise FastAPIError("A path prefix must not end with '/', as the routes will start with '/'")
        for route in router.routes:
            if isinstance(route, APIWebSocketRoute):
                self.add_api_websocket_route(
                    prefix + route.path,
                    route.endpoint,
                    name=route.name,
                    dependencies=list(dependencies or []) + route.dependencies,
                )
                continue
            if isinstance(route, Mount):
                self.routes.append(Mount(self.prefix + prefix + route.path, route.app, route.name))
                continue
            if isinstance(route, Route):
                self.routes.append(Route(self.prefix + prefix + route.path, route.endpoint, methods=route._method_order,
                                         name=route.name, include_in_schema=route.include_in_schema))
                continue
            if not prefix and not route.path:
                raise FastAPIError(f"Prefix and path cannot be both empty (path operation: {route.name})")
            self.add_api_route(
                prefix + route.path,
                route.endpoint,
                route_class_override=type(route),
                methods=route._method_order,
                name=route.name,
                status_code=route.status_code,
                response_model=route.response_model,
                response_class=_resolve_default(
                    route.response_class, router.default_response_class, default_response_class
                ),
                tags=[*(tags or []), *route.tags],
                dependencies=[*(dependencies or []), *route.dependencies],
                summary=route.summary,
                description=route.description,
                response_description=route.response_description,
                responses={**(responses or {}), **route.responses},
                callbacks=[*(callbacks or []), *(route.callbacks or [])],
                deprecated=route.deprecated or deprecated,
                operation_id=route.operation_id,
                include_in_schema=route.include_in_schema and include_in_schema,
                generate_unique_id_function=_resolve_default(
                    route.generate_unique_id_function, router.generate_unique_id_function, generate_unique_id_function
                ),
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
