"""``TestClient``: Starlette's test client API, served by a real fastrapi worker.

The client is an ``httpx.Client``. Its requests go, over loopback, to a private worker that runs
the app (any ASGI app: FastAPI, Starlette, ...) on a thread of the test process, so a test
exercises the same request path as ``fastrapi.serve()`` — while the app still sees
``http://testserver``, the ``client`` address and the ``root_path`` the test asked for.
``with TestClient(app) as client:`` runs the lifespan (startup and shutdown
handlers) on the worker's event loop; without ``with``, the worker starts at the first request
without the lifespan, as in Starlette, and stops at ``close()`` or interpreter exit.

With ``raise_server_exceptions=True`` (the default) an exception the app did not handle is
raised in the test once its 500 response arrived; background tasks have finished by the time a
request returns.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import socket
import threading
import time
import traceback
import weakref
from typing import TYPE_CHECKING, Any

from fastrapi import _fastrapi, _testing

try:
    import httpx
except ModuleNotFoundError:  # pragma: no cover - depends on the environment
    try:
        import httpx2 as httpx  # type: ignore[no-redef]
    except ModuleNotFoundError:
        raise RuntimeError(
            "The fastrapi.testclient module requires the httpx package to be installed.\n"
            "You can install this with:\n"
            "    $ pip install httpx\n"
        ) from None

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["TestClient"]

_START_TIMEOUT = 20.0
_GRACEFUL_TIMEOUT = 10.0
# How long a request waits for the background tasks of its response before returning anyway.
_BACKGROUND_TIMEOUT = 60.0
_NO_TIMEOUT = {"connect": None, "read": None, "write": None, "pool": None}

_running: weakref.WeakSet[_Worker] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for worker in list(_running):
        with contextlib.suppress(BaseException):
            worker.stop()


class _Worker:
    """One fastrapi worker for ``app`` on a thread of this process, on 127.0.0.1, a free port."""

    def __init__(self, app: Any, observer: _testing.WorkerObserver, *, lifespan: bool) -> None:
        self.app = app
        self.observer = observer
        self.lifespan = lifespan
        self.port = 0
        self.startup_error: BaseException | None = None
        # The lifespan's state, as the client's `app_state` shows it.
        self.app_state: dict[str, Any] = {}
        self.shutdown_error: BaseException | None = None
        self.worker_error: BaseException | None = None
        self._started = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop: socket.socket | None = None
        self._reservation: socket.socket | None = None

    def start(self) -> None:
        from fastrapi._server import _reserve_port

        self._reservation, self.port = _reserve_port("127.0.0.1", 0)
        try:
            config = _fastrapi.ServerConfig(
                "127.0.0.1",
                self.port,
                handle_signals=False,  # the test process keeps its signals
                core=None,  # no pinning
                keep_alive_timeout=3600.0,  # the client's pooled connection stays usable between requests
                graceful_timeout=_GRACEFUL_TIMEOUT,
            )
        except BaseException:
            self._close_sockets()
            raise
        self._stop, theirs = socket.socketpair()
        self._thread = threading.Thread(
            target=self._run, args=(config, theirs), name="fastrapi-testclient-worker", daemon=True
        )
        self._thread.start()
        self._started.wait()
        if self.startup_error is not None:
            self._thread.join()
            self._close_sockets()
            raise self.startup_error
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            if not self._thread.is_alive():
                self._close_sockets()
                raise RuntimeError("the fastrapi test worker stopped before listening") from self.worker_error
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the fastrapi test worker did not listen within {_START_TIMEOUT}s") from None
                time.sleep(0.005)
        _running.add(self)

    def _run(self, config: Any, stop: socket.socket) -> None:
        from fastrapi._asgi import lifespan_tasks
        from fastrapi._compiler import compile_app, prepare_app
        from fastrapi._loop import CoreLoop
        from fastrapi._server import _Lifespan

        ident = threading.get_ident()
        _testing.observers[ident] = self.observer
        loop = CoreLoop()
        lifespan = _Lifespan(self.app)
        try:
            try:
                prepare_app(self.app)
                if self.lifespan:
                    loop.run_until_complete(lifespan.startup())
                core = compile_app(self.app)
            except BaseException as exc:
                self.startup_error = exc
                stop.close()
                return
            self.app_state.update(lifespan.asgi_state or {})
            self._started.set()
            loop.fastrapi_enter()
            try:
                _fastrapi.run_worker(
                    core, loop, config, stop.detach(), asgi_state=lifespan.asgi_state,
                    root_path=self.observer.root_path, prefix_path=False, asgi_client=self.observer.client,
                )
            except BaseException as exc:
                self.worker_error = exc
                traceback.print_exc()
            finally:
                loop.fastrapi_exit()
            try:
                for task in asyncio.all_tasks(loop):
                    if task not in lifespan_tasks:
                        task.cancel()
                if self.lifespan:
                    loop.run_until_complete(lifespan.shutdown())
                loop.run_until_complete(loop.shutdown_asyncgens())
            except BaseException as exc:
                self.shutdown_error = exc
        finally:
            self._started.set()
            loop.close()
            _testing.observers.pop(ident, None)

    def stop(self) -> None:
        """Stop serving (in-flight requests finish), then run the shutdown handlers."""
        _running.discard(self)
        thread = self._thread
        if self._stop is not None:
            with contextlib.suppress(OSError):
                self._stop.send(b"x")
        if thread is not None and thread is not threading.current_thread():
            thread.join(_GRACEFUL_TIMEOUT + 10.0)
        self._close_sockets()

    def _close_sockets(self) -> None:
        for sock in (self._stop, self._reservation):
            if sock is not None:
                sock.close()
        self._stop = self._reservation = None


class _TestClientTransport(httpx.BaseTransport):
    """Sends each request to the worker over loopback, keeping the URL and ``Host`` the app sees."""

    def __init__(
        self,
        app: Any,
        raise_server_exceptions: bool = True,
        root_path: str = "",
        *,
        client: tuple[str, int] | None,
    ) -> None:
        self.app = app
        self.raise_server_exceptions = raise_server_exceptions
        address = (str(client[0]), int(client[1])) if client else None
        self.observer = _testing.WorkerObserver(client=address, root_path=root_path)
        self._lock = threading.RLock()
        self._worker: _Worker | None = None
        self._pool: httpx.HTTPTransport | None = None

    def start(self, *, lifespan: bool) -> None:
        with self._lock:
            self.stop()
            worker = _Worker(self.app, self.observer, lifespan=lifespan)
            worker.start()
            self._worker = worker
            self._pool = httpx.HTTPTransport(verify=False)

    def stop(self) -> None:
        """Stop the worker; raises what the app's shutdown handlers raised."""
        with self._lock:
            worker, pool = self._worker, self._pool
            self._worker = self._pool = None
            if pool is not None:
                pool.close()  # no idle keep-alive connection for the worker to wait for
            if worker is not None:
                worker.stop()
                if worker.shutdown_error is not None:
                    raise worker.shutdown_error

    def _ensure_started(self) -> tuple[_Worker, httpx.HTTPTransport]:
        with self._lock:
            if self._worker is None:
                self.start(lifespan=False)
            assert self._worker is not None and self._pool is not None
            return self._worker, self._pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise NotImplementedError(f"{request.url.scheme}:// is not supported by fastrapi's TestClient yet")
        worker, pool = self._ensure_started()
        url = request.url.copy_with(scheme="http", host="127.0.0.1", port=worker.port)
        headers = request.headers.copy()
        if "host" not in headers:
            headers["host"] = request.url.netloc.decode("ascii")
        extensions = dict(request.extensions)
        extensions["timeout"] = _NO_TIMEOUT
        wire_request = httpx.Request(request.method, url, headers=headers, stream=request.stream, extensions=extensions)
        response = pool.handle_request(wire_request)
        try:
            content = b"".join(response.iter_raw())
        except httpx.TransportError:
            # A streaming body that raised ends the connection early: re-raise the app's
            # exception, as Starlette's client does, rather than the protocol error.
            exc = self.observer.take_exception()
            if exc is not None and self.raise_server_exceptions:
                raise exc from None
            raise
        finally:
            response.close()
        self.observer.wait_background(_BACKGROUND_TIMEOUT)
        exc = self.observer.take_exception()
        if exc is not None and self.raise_server_exceptions:
            raise exc
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions={k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")},
            request=request,
        )

    def close(self) -> None:
        self.stop()


class TestClient(httpx.Client):
    """Starlette's ``TestClient`` API, over a private fastrapi worker."""

    __test__ = False

    def __init__(
        self,
        app: Any,
        base_url: str = "http://testserver",
        raise_server_exceptions: bool = True,
        root_path: str = "",
        backend: str = "asyncio",
        backend_options: dict[str, Any] | None = None,
        cookies: Any = None,
        headers: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
    ) -> None:
        if backend != "asyncio":
            raise ValueError("fastrapi runs apps on asyncio only")
        if not callable(app):
            raise TypeError(f"TestClient needs an ASGI application, not {type(app).__name__}")
        self.app = app
        self.app_state: dict[str, Any] = {}
        self._test_transport = _TestClientTransport(
            app, raise_server_exceptions=raise_server_exceptions, root_path=root_path, client=client
        )
        all_headers = dict(headers or {})
        all_headers.setdefault("user-agent", "testclient")
        super().__init__(
            base_url=base_url,
            headers=all_headers,
            transport=self._test_transport,
            follow_redirects=follow_redirects,
            cookies=cookies,
        )

    def websocket_connect(
        self, url: str, subprotocols: Sequence[str] | None = None, **kwargs: Any
    ) -> WebSocketTestSession:
        """Open a WebSocket to the app (needs the ``websockets`` package): use it as
        ``with client.websocket_connect("/ws") as websocket:``."""
        request = self.build_request(
            "GET", url, headers=kwargs.get("headers"), params=kwargs.get("params"), cookies=kwargs.get("cookies")
        )
        return WebSocketTestSession(self._test_transport, request, subprotocols)

    def __enter__(self) -> TestClient:
        """Start the app's worker with its lifespan (startup handlers have run on return)."""
        self._test_transport.start(lifespan=True)
        worker = self._test_transport._worker
        if worker is not None:
            self.app_state = worker.app_state
        return self

    def __exit__(self, *args: Any) -> None:
        """Stop the worker and run the shutdown handlers; the client stays usable."""
        self._test_transport.stop()


_WS_OWN_HEADERS = {
    "host", "connection", "upgrade", "content-length", "sec-websocket-key", "sec-websocket-version",
    "sec-websocket-extensions", "sec-websocket-protocol",
}


class WebSocketTestSession:
    """Starlette's ``WebSocketTestSession`` API over a real WebSocket to the client's worker."""

    def __init__(self, transport: _TestClientTransport, request: httpx.Request, subprotocols: Any) -> None:
        self._transport = transport
        self._request = request
        self._subprotocols = list(subprotocols) if subprotocols else None
        self._connection: Any = None
        self._opener: Any = None
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []

    def __enter__(self) -> WebSocketTestSession:
        try:
            from websockets.exceptions import InvalidStatus
            from websockets.sync.client import connect
        except ModuleNotFoundError:
            raise RuntimeError(
                "TestClient.websocket_connect needs the websockets package: pip install websockets"
            ) from None
        from starlette.websockets import WebSocketDisconnect

        worker, _ = self._transport._ensure_started()
        uri = str(self._request.url.copy_with(scheme="ws"))  # loopback, plain: also for an https base_url
        headers = [(k, v) for k, v in self._request.headers.multi_items() if k.lower() not in _WS_OWN_HEADERS]
        sock = socket.create_connection(("127.0.0.1", worker.port))
        try:
            opener = connect(
                uri, sock=sock, additional_headers=headers,
                subprotocols=self._subprotocols, user_agent_header=None, open_timeout=None, max_size=None,
                compression=None,
            )
            # Entered as a context manager (websockets 17 warns about a bare connection); the
            # connection is closed by `close()`/`__exit__` of this session.
            self._opener = opener
            self._connection = opener.__enter__()
        except InvalidStatus:
            sock.close()
            # Closed before accepting: the server answered 403 (Starlette reports the close code).
            raise WebSocketDisconnect(code=1000) from None
        except BaseException:
            sock.close()
            raise
        self.accepted_subprotocol = self._connection.subprotocol
        response = self._connection.response
        own = {"upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "date", "server"}
        self.extra_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.raw_items()
            if k.lower() not in own
        ]
        return self

    def __exit__(self, *args: Any) -> None:
        try:
            self.close(1000)
        finally:
            if self._opener is not None:
                self._opener.__exit__(None, None, None)
        from starlette.websockets import WebSocketDisconnect

        exc = self._transport.observer.take_exception()
        if exc is not None and self._transport.raise_server_exceptions and not isinstance(exc, WebSocketDisconnect):
            raise exc

    # -- sending ----------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "websocket.disconnect":
            self.close(message.get("code", 1000), message.get("reason"))
        elif message.get("text") is not None:
            self._connection.send(message["text"])
        else:
            self._connection.send(bytes(message.get("bytes") or b""))

    def send_text(self, data: str) -> None:
        self._connection.send(data)

    def send_bytes(self, data: bytes) -> None:
        self._connection.send(bytes(data))

    def send_json(self, data: Any, mode: str = "text") -> None:
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        self._connection.send(text if mode == "text" else text.encode("utf-8"))

    def close(self, code: int = 1000, reason: str | None = None) -> None:
        self._connection.close(code, reason or "")

    # -- receiving --------------------------------------------------------------------------
    def receive(self) -> dict[str, Any]:
        from websockets.exceptions import ConnectionClosed

        try:
            data = self._connection.recv()
        except ConnectionClosed as exc:
            frame = exc.rcvd
            code, reason = (frame.code, frame.reason) if frame is not None else (1006, "")
            return {"type": "websocket.close", "code": code, "reason": reason}
        if isinstance(data, str):
            return {"type": "websocket.send", "text": data}
        return {"type": "websocket.send", "bytes": bytes(data)}

    def _receive_data(self) -> dict[str, Any]:
        from starlette.websockets import WebSocketDisconnect

        message = self.receive()
        if message["type"] == "websocket.close":
            raise WebSocketDisconnect(message["code"], message.get("reason"))
        return message

    def receive_text(self) -> str:
        return self._receive_data()["text"]  # type: ignore[no-any-return]

    def receive_bytes(self) -> bytes:
        return self._receive_data()["bytes"]  # type: ignore[no-any-return]

    def receive_json(self, mode: str = "text") -> Any:
        message = self._receive_data()
        return json.loads(message["text"] if mode == "text" else message["bytes"].decode("utf-8"))
