"""``Request``: what an endpoint or dependency sees of the HTTP request (Starlette's API)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from http.cookies import _unquote  # type: ignore[attr-defined]
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

from fastrapi import _testing
from fastrapi.datastructures import Headers, QueryParams, State


class Address(NamedTuple):
    host: str
    port: int


class URL:
    """The request URL, rebuilt from the Host header as Starlette does."""

    def __init__(self, scheme: str, netloc: str, path: str, query: str) -> None:
        self.scheme = scheme
        self.netloc = netloc
        self.path = path
        self.query = query

    @property
    def hostname(self) -> str:
        host = self.netloc.rsplit("@", 1)[-1]
        if host.startswith("["):
            return host[1:].split("]", 1)[0]
        return host.split(":", 1)[0]

    @property
    def port(self) -> int | None:
        host = self.netloc.rsplit("@", 1)[-1]
        tail = host.rsplit("]", 1)[-1]
        if ":" in tail:
            try:
                return int(tail.rsplit(":", 1)[1])
            except ValueError:
                return None
        return None

    @property
    def is_secure(self) -> bool:
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> URL:
        values = {"scheme": self.scheme, "netloc": self.netloc, "path": self.path, "query": self.query}
        values.update(kwargs)
        return URL(**values)

    def include_query_params(self, **kwargs: Any) -> URL:
        params = dict(parse_qsl(self.query, keep_blank_values=True))
        params.update({k: str(v) for k, v in kwargs.items()})
        from urllib.parse import urlencode

        return self.replace(query=urlencode(params))

    def __str__(self) -> str:
        url = f"{self.scheme}://{self.netloc}{self.path}"
        return f"{url}?{self.query}" if self.query else url

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


def cookie_parser(cookie_string: str) -> dict[str, str]:
    """Starlette's cookie parsing: lenient, last value of a name wins."""
    cookies: dict[str, str] = {}
    for chunk in cookie_string.split(";"):
        if "=" in chunk:
            key, val = chunk.split("=", 1)
        else:
            key, val = "", chunk
        key, val = key.strip(), val.strip()
        if key or val:
            cookies[key] = _unquote(val)
    return cookies


def _root_path_of(app: Any) -> str:
    own = getattr(app, "root_path", "")
    if own:
        return own  # type: ignore[no-any-return]
    mounted_in = getattr(app, "_fastrapi_mounted_in", None)
    if mounted_in is not None:
        parent, prefix = mounted_in
        return _root_path_of(parent) + prefix
    observer = _testing.current()
    return observer.root_path if observer is not None else ""


class Request:
    """A request as the Rust core hands it over: raw parts, decoded lazily on first use."""

    def __init__(self, data: Any, app: Any = None) -> None:
        self._data = data
        self._app = app
        self._headers: Headers | None = None
        self._query_params: QueryParams | None = None
        self._cookies: dict[str, str] | None = None
        self._json: Any = None
        self._form: Any = None
        self._state: State | None = None
        self._body: bytes | None = None
        # A large upload arrives as an (unlinked) temporary file instead of bytes.
        fd = getattr(data, "body_fd", None)
        self._body_file: Any = os.fdopen(fd, "rb") if fd is not None else None

    @property
    def body_source(self) -> Any:
        """The body as bytes, or as a binary file positioned at its start when it was spooled."""
        if self._body_file is not None:
            self._body_file.seek(0)
            return self._body_file
        return self._data.body

    @property
    def method(self) -> str:
        return self._data.method  # type: ignore[no-any-return]

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = Headers(raw=list(self._data.headers))
        return self._headers

    @property
    def url(self) -> URL:
        host = self.headers.get("host")
        if host is None:
            server_host, server_port = self._data.server
            host = server_host if server_port == 80 else f"{server_host}:{server_port}"
        return URL("http", host, self._data.path, self._data.query)

    @property
    def base_url(self) -> URL:
        """The URL of the outermost app: scheme, host and its root path (Starlette's rule)."""
        path = _root_path_of(self._outermost_app())
        if not path.endswith("/"):
            path += "/"
        return self.url.replace(path=path, query="")

    def _outermost_app(self) -> Any:
        app = self._app
        while getattr(app, "_fastrapi_mounted_in", None) is not None:
            app = app._fastrapi_mounted_in[0]
        return app

    def url_for(self, name: str, /, **path_params: Any) -> URL:
        """The absolute URL of the route called ``name`` (``"mount:route"`` inside a mount)."""
        app = self._outermost_app()
        if app is None:
            raise RuntimeError("The `url_for` method can only be used inside a Starlette application or with a router.")
        return app.url_path_for(name, **path_params).make_absolute_url(base_url=self.base_url)  # type: ignore[no-any-return]

    @property
    def query_params(self) -> QueryParams:
        if self._query_params is None:
            self._query_params = QueryParams(self._data.query)
        return self._query_params

    @property
    def path_params(self) -> dict[str, Any]:
        return dict(self._data.path_params)

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            cookie_header = self.headers.get("cookie")
            self._cookies = cookie_parser(cookie_header) if cookie_header else {}
        return self._cookies

    @property
    def client(self) -> Address | None:
        if _testing.observers:  # a test client's worker: the address the test asked for
            observer = _testing.current()
            if observer is not None and observer.client is not None:
                return Address(*observer.client)
        client = self._data.client
        return Address(*client) if client is not None else None

    @property
    def _root_path(self) -> str:
        """ASGI's ``root_path``: the app's own ``root_path``, else its mount prefix (and the
        test client's ``root_path``), as FastAPI and Starlette's ``Mount`` set it."""
        return _root_path_of(self._app)

    @property
    def state(self) -> State:
        if self._state is None:
            app_state = getattr(self._app, "state", None)
            self._state = State(getattr(app_state, "_state", None))
        return self._state

    @property
    def session(self) -> dict[str, Any]:
        session = getattr(self, "_session", None)
        assert session is not None, "SessionMiddleware must be installed to access request.session"
        session.mark_accessed()
        return session  # type: ignore[no-any-return]

    @property
    def app(self) -> Any:
        # A mounted FastAPI app is reached through its `MountedApp` view: show the app itself.
        unwrapped = getattr(self._app, "_fastrapi_unwrapped", None)
        return self._app if unwrapped is None else unwrapped

    @property
    def scope(self) -> dict[str, Any]:
        """An ASGI-like scope, for code that reads it directly."""
        return {
            "type": "http",
            "http_version": self._data.http_version,
            "method": self.method,
            "scheme": "http",
            "path": self._data.path,
            "raw_path": self._data.raw_path.encode("latin-1"),
            "query_string": self._data.query.encode("latin-1"),
            "root_path": self._root_path,
            "headers": list(self._data.headers),
            "client": tuple(client) if (client := self.client) is not None else None,
            "server": self._data.server,
            "path_params": self.path_params,
            "app": self._app,
        }

    def __getitem__(self, key: str) -> Any:
        return self.scope[key]

    async def body(self) -> bytes:
        if self._body is None:
            source = self.body_source
            self._body = source if isinstance(source, bytes) else source.read()
        return self._body

    async def stream(self) -> AsyncIterator[bytes]:
        source = self.body_source
        if isinstance(source, bytes):
            if source:
                yield source
        else:
            while chunk := source.read(65536):
                yield chunk
        yield b""

    async def json(self) -> Any:
        if self._json is None:
            self._json = json.loads(await self.body())
        return self._json

    async def form(self, *, max_files: int = 1000, max_fields: int = 1000, max_part_size: int = 1024 * 1024) -> Any:
        if self._form is None:
            from fastrapi.formparsers import parse_form

            self._form = parse_form(self.body_source, self.headers.get("content-type"), max_files=max_files,
                                    max_fields=max_fields, max_part_size=max_part_size)
        return self._form

    async def close(self) -> None:
        if self._form is not None:
            await self._form.close()
        if self._body_file is not None:
            self._body_file.close()

    async def is_disconnected(self) -> bool:
        """Whether the client has closed its connection (a peek at the socket, never a read)."""
        connection = getattr(self._data, "connection", None)
        return connection is not None and bool(connection.is_closed())
