"""``TestClient``: Starlette's test client API, served by a real fastrapi worker.

The client is an ``httpx.Client``. Its requests go, over loopback, to a private worker that runs
the app (any ASGI app: FastAPI, Starlette, ...) on a thread of the test process, so a test
exercises the same request path as ``fastrapi.serve()`` — while the app still sees
``http://testserver``, the ``client`` address and the ``root_path`` the test asked for.

Like Starlette's client, it keeps nothing open between calls:

- ``with TestClient(app) as client:`` starts one worker, runs the lifespan (startup and shutdown
  handlers) on its event loop, and stops it on exit;
- without ``with``, a worker without the lifespan serves the requests and WebSocket sessions in
  flight, and stops once the last of them ended (its response read or closed): sessions open at
  the same time share one event loop, as they may share objects.

Each request uses its own connection, closed with its response. The app runs in a copy of the
calling thread's context variables, taken when its worker starts (Starlette takes one per call).

With ``raise_server_exceptions=True`` (the default) an exception the app did not handle is
raised in the test once its response arrived; background tasks have finished by the time a
request returns.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import contextvars
import inspect
import json
import socket
import threading
import time
import traceback
import weakref
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocketDisconnect

from fastrapi import _fastrapi, _testing

# The same client library as Starlette's TestClient (httpx2 first), so that responses and errors
# are of the classes a test expects.
try:
    import httpx2 as httpx
except ModuleNotFoundError:  # pragma: no cover - depends on the environment
    try:
        import httpx  # type: ignore[no-redef]
    except ModuleNotFoundError:
        raise RuntimeError(
            "The fastrapi.testclient module requires the httpx2 (or httpx) package to be installed.\n"
            "You can install this with:\n"
            "    $ pip install httpx2\n"
        ) from None
import h11  # a dependency of either

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

__all__ = ["TestClient", "WebSocketTestSession"]  # and WebSocketDenialResponse, see __getattr__

_START_TIMEOUT = 20.0
_GRACEFUL_TIMEOUT = 10.0
# How long a request waits for the background tasks of its response before returning anyway.
_BACKGROUND_TIMEOUT = 60.0
# How long closing a WebSocket waits for the app's endpoint to finish (the server then closes).
_WEBSOCKET_CLOSE_TIMEOUT = 20.0
_READ_SIZE = 65536
# Response heads as large as the server may write (h11's own default is 16 KiB).
_MAX_HEAD_BYTES = 1 << 24

_running: weakref.WeakSet[_Worker] = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for worker in list(_running):
        with contextlib.suppress(BaseException):
            worker.stop()


def __getattr__(name: str) -> Any:
    # Starlette's own class, so `except WebSocketDenialResponse` works with either client; imported
    # on first use (starlette.testclient warns at import when only httpx is installed).
    if name == "WebSocketDenialResponse":
        from starlette.testclient import WebSocketDenialResponse

        return WebSocketDenialResponse
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _Worker:
    """One fastrapi worker for ``app`` on a thread of this process, on 127.0.0.1, a free port.

    The worker thread runs in a copy of the starting thread's context variables, so the app's
    tasks see the values the test set, as with Starlette's client."""

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
        """Start the worker; returns once the lifespan startup has run (the listener may follow)."""
        from fastrapi._server import _reserve_port

        self._reservation, self.port = _reserve_port("127.0.0.1", 0)
        try:
            config = _fastrapi.ServerConfig(
                "127.0.0.1",
                self.port,
                handle_signals=False,  # the test process keeps its signals
                core=None,  # no pinning
                graceful_timeout=_GRACEFUL_TIMEOUT,
                ws_ping_interval=None,  # a test session may sit idle in a debugger
            )
            self._stop, theirs = socket.socketpair()
        except BaseException:
            self._close_sockets()
            raise
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._run, config, theirs), name="fastrapi-testclient-worker", daemon=True
        )
        self._thread.start()
        self._started.wait()
        if self.startup_error is not None:
            self._thread.join()
            self._close_sockets()
            raise self.startup_error
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

    def connect(self) -> socket.socket:
        """A new connection to the worker, once it listens."""
        delay = 0.0001
        deadline = time.monotonic() + _START_TIMEOUT
        while True:
            try:
                return socket.create_connection(("127.0.0.1", self.port))
            except ConnectionRefusedError:
                # Not listening yet (the reserved port refuses until the worker binds it).
                thread = self._thread
                if thread is None or not thread.is_alive():
                    raise RuntimeError("the fastrapi test worker is not running") from self.worker_error
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the fastrapi test worker did not listen within {_START_TIMEOUT}s") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.01)

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


def _wire_headers(request: httpx.Request) -> list[tuple[bytes, bytes]]:
    """The request's headers as they go on the wire: a value's surrounding whitespace is not part
    of it (RFC 9110, 5.5), and a server strips it; h11 refuses to send it."""
    headers = [(name, value.strip(b" \t")) for name, value in request.headers.raw]
    if "host" not in request.headers:
        headers.insert(0, (b"host", request.url.netloc))
    return headers


class _Exchange:
    """One HTTP request over its own connection to a worker; its response is read lazily."""

    def __init__(self, worker: _Worker, request: httpx.Request) -> None:
        self.sock = worker.connect()
        self.http = h11.Connection(h11.CLIENT, max_incomplete_event_size=_MAX_HEAD_BYTES)
        self.head: h11.Response | None = None
        try:
            self._send(request)
        except BaseException:
            self.close()
            raise

    def _send(self, request: httpx.Request) -> None:
        head = h11.Request(method=request.method, target=request.url.raw_path, headers=_wire_headers(request))
        try:
            self.sock.sendall(self.http.send(head) or b"")
            for chunk in request.stream:  # type: ignore[union-attr]
                if chunk:
                    self.sock.sendall(self.http.send(h11.Data(data=chunk)) or b"")
            self.sock.sendall(self.http.send(h11.EndOfMessage()) or b"")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and closed) before reading the whole body: read its answer

    def _next_event(self) -> Any:
        while True:
            event = self.http.next_event()
            if event is not h11.NEED_DATA:
                return event
            try:
                data = self.sock.recv(_READ_SIZE)
            except ConnectionResetError:
                data = b""
            self.http.receive_data(data)

    def response_head(self) -> h11.Response:
        while True:
            event = self._next_event()
            if isinstance(event, h11.Response):
                self.head = event
                return event
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the response")

    def body(self) -> Iterator[bytes]:
        while True:
            event = self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return
            elif event is h11.PAUSED:  # a 2xx answer to CONNECT: h11 leaves what follows the head to us
                yield self._raw_body()
                return
            else:
                raise httpx.RemoteProtocolError(f"unexpected {event!r} in the response body")

    def _raw_body(self) -> bytes:
        """The body after a head h11 would not frame: ``content-length`` bytes, else up to the close."""
        assert self.head is not None
        lengths = [int(value) for name, value in self.head.headers if name == b"content-length"]
        body = bytes(self.http.trailing_data[0])
        while not lengths or len(body) < lengths[0]:
            chunk = self.sock.recv(_READ_SIZE)
            if not chunk:
                break
            body += chunk
        return body[: lengths[0]] if lengths else body

    def close(self) -> None:
        self.sock.close()


class _ResponseStream(httpx.SyncByteStream):
    """A response body read from the wire as the test reads it; the end of it (or ``close``)
    closes the connection, waits for background tasks, stops a worker of this request alone, and
    re-raises what the app raised."""

    def __init__(self, transport: _TestClientTransport, exchange: _Exchange, worker: _Worker) -> None:
        self._transport = transport
        self._exchange = exchange
        self._worker = worker
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._exchange.body()
        except h11.RemoteProtocolError as exc:
            # The connection ended early: a body that raised. Starlette's client re-raises the app's
            # exception; without one to raise (raise_server_exceptions=False) the body ends here.
            self._finish(complete=False)
            if not self._transport.raise_server_exceptions:
                return
            raise httpx.RemoteProtocolError(str(exc)) from None
        self._finish(complete=True)

    def close(self) -> None:
        self._finish(complete=False)

    def _finish(self, *, complete: bool) -> None:
        if self._finished:
            return
        self._finished = True
        self._exchange.close()
        observer = self._worker.observer
        if complete:
            observer.wait_background(_BACKGROUND_TIMEOUT)
        self._transport.release(self._worker)  # a stopping worker finishes in-flight work: its errors are in
        exc = observer.take_exception()
        if exc is not None and self._transport.raise_server_exceptions:
            raise exc


class _WrapASGI2:
    """An ASGI3 interface onto an ASGI2 app (``app(scope)`` returns ``instance(receive, send)``)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope)(receive, send)


def _is_asgi3(app: Any) -> bool:
    if inspect.isclass(app):
        return hasattr(app, "__await__")
    call = getattr(app, "__call__", None)  # noqa: B004 - an instance with an async __call__ is ASGI3 too
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(call)


class _TestClientTransport(httpx.BaseTransport):
    """Sends each request to a worker over loopback, keeping the URL and ``Host`` the app sees."""

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
        self.root_path = root_path
        self.client = (str(client[0]), int(client[1])) if client else None
        self._lock = threading.Lock()
        self._worker: _Worker | None = None  # the one started by `with`
        self._on_demand: _Worker | None = None  # without `with`: serves the calls in flight
        self._on_demand_users = 0

    def start(self) -> _Worker:
        """Start the worker that serves every request until ``stop``, with the app's lifespan."""
        with self._lock:
            self._stop_locked()
            self._worker = self._new_worker(lifespan=True)
            return self._worker

    def stop(self) -> None:
        """Stop the worker; raises what the app's shutdown handlers raised."""
        with self._lock:
            self._stop_locked()

    def _new_worker(self, *, lifespan: bool) -> _Worker:
        worker = _Worker(self.app, _testing.WorkerObserver(client=self.client, root_path=self.root_path),
                         lifespan=lifespan)
        worker.start()
        return worker

    def _stop_locked(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
            if worker.shutdown_error is not None:
                raise worker.shutdown_error

    def acquire(self) -> _Worker:
        """The worker for one request or WebSocket session: the one ``start`` started, else the
        on-demand one (started now if no call is in flight). Hand it back with ``release``."""
        with self._lock:
            if self._worker is not None:
                return self._worker
            if self._on_demand is None:
                self._on_demand = self._new_worker(lifespan=False)
            self._on_demand_users += 1
            return self._on_demand

    def release(self, worker: _Worker) -> None:
        """The call that acquired ``worker`` ended: the on-demand worker stops with its last call."""
        with self._lock:
            if worker is not self._on_demand:
                return
            self._on_demand_users -= 1
            if self._on_demand_users > 0:
                return
            self._on_demand = None
        worker.stop()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            raise NotImplementedError(f"{request.url.scheme}:// is not supported by fastrapi's TestClient")
        worker = self.acquire()
        try:
            exchange = _Exchange(worker, request)
        except BaseException:
            self.release(worker)
            raise
        try:
            head = exchange.response_head()
        except h11.RemoteProtocolError as exc:
            exchange.close()
            self.release(worker)
            app_error = worker.observer.take_exception()
            if app_error is not None and self.raise_server_exceptions:
                raise app_error from None
            raise httpx.RemoteProtocolError(str(exc)) from None
        except BaseException:
            exchange.close()
            self.release(worker)
            raise
        return httpx.Response(
            status_code=head.status_code,
            headers=[(bytes(name), bytes(value)) for name, value in head.headers.raw_items()],
            stream=_ResponseStream(self, exchange, worker),
            extensions={"http_version": b"HTTP/" + head.http_version, "reason_phrase": bytes(head.reason)},
            request=request,
        )

    def close(self) -> None:
        self.stop()


class TestClient(httpx.Client):
    """Starlette's ``TestClient`` API, over private fastrapi workers."""

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
        self.app = app if _is_asgi3(app) else _WrapASGI2(app)
        self.app_state: dict[str, Any] = {}
        self._test_transport = _TestClientTransport(
            self.app, raise_server_exceptions=raise_server_exceptions, root_path=root_path, client=client
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
        ``with client.websocket_connect("/ws") as websocket:``. As in Starlette, a relative URL is
        resolved against ``ws://testserver``, not the client's ``base_url``."""
        from urllib.parse import urljoin

        request = self.build_request(
            "GET", urljoin("ws://testserver", url), headers=kwargs.get("headers"), params=kwargs.get("params"),
            cookies=kwargs.get("cookies"),
        )
        return WebSocketTestSession(self._test_transport, request, subprotocols)

    def __enter__(self) -> TestClient:
        """Start the app's worker with its lifespan (startup handlers have run on return)."""
        worker = self._test_transport.start()
        self.app_state = worker.app_state
        return self

    def __exit__(self, *args: Any) -> None:
        """Stop the worker and run the shutdown handlers; the client stays usable."""
        self._test_transport.stop()


_WS_OWN_HEADERS = {
    "host", "connection", "upgrade", "content-length", "sec-websocket-key", "sec-websocket-version",
    "sec-websocket-extensions", "sec-websocket-protocol",
}
_WS_RESPONSE_OWN_HEADERS = {"upgrade", "connection", "sec-websocket-accept", "sec-websocket-protocol", "date", "server"}


class WebSocketTestSession:
    """Starlette's ``WebSocketTestSession`` API over a real WebSocket to a worker.

    As in Starlette, an app that closes before accepting raises ``WebSocketDisconnect`` on entry, a
    denial response raises ``WebSocketDenialResponse``, and what the app raised (its own
    ``WebSocketDisconnect`` too) is raised on exit, once the endpoint has finished."""

    def __init__(self, transport: _TestClientTransport, request: httpx.Request, subprotocols: Any) -> None:
        self._transport = transport
        self._request = request
        self._subprotocols = list(subprotocols) if subprotocols else None
        self._connection: Any = None
        self._opener: Any = None
        self._worker: _Worker | None = None
        self._released = False
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] | None = None

    def __enter__(self) -> WebSocketTestSession:
        try:
            from websockets.sync.client import connect
        except ModuleNotFoundError:
            raise RuntimeError(
                "TestClient.websocket_connect needs the websockets package: pip install websockets"
            ) from None
        self._worker = worker = self._transport.acquire()
        uri = str(self._request.url.copy_with(scheme="ws"))  # loopback, plain: also for an https base_url
        headers = [(k, v) for k, v in self._request.headers.multi_items() if k.lower() not in _WS_OWN_HEADERS]
        try:
            sock = worker.connect()
        except BaseException:
            self._release_worker()
            raise
        try:
            opener = connect(
                uri, sock=sock, additional_headers=headers, subprotocols=self._subprotocols,
                user_agent_header=None, open_timeout=None, ping_interval=None,
                close_timeout=_WEBSOCKET_CLOSE_TIMEOUT, max_size=None, compression=None,
            )
            # Entered as a context manager (websockets 17 warns about a bare connection).
            self._connection = opener.__enter__()
            self._opener = opener
        except BaseException as exc:
            sock.close()
            self._release_worker()
            self._refused(exc)
            raise
        self.accepted_subprotocol = self._connection.subprotocol
        self.extra_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self._connection.response.headers.raw_items()
            if k.lower() not in _WS_RESPONSE_OWN_HEADERS
        ]
        return self

    def _refused(self, exc: BaseException) -> None:
        """Raises what Starlette's client raises when the app did not accept; returns for other errors."""
        from websockets.exceptions import InvalidStatus

        if not isinstance(exc, InvalidStatus):
            return
        assert self._worker is not None
        observer = self._worker.observer
        app_error = observer.take_exception()
        if app_error is not None:  # as Starlette's client, whatever raise_server_exceptions says
            raise app_error from None
        closed = observer.take_websocket_refusal()
        response = exc.response
        if closed is not None or (response.status_code == 403 and not response.body):
            code, reason = closed or (1000, "")
            raise WebSocketDisconnect(code=code, reason=reason) from None
        from starlette.testclient import WebSocketDenialResponse

        raise WebSocketDenialResponse(
            status_code=response.status_code,
            headers=list(response.headers.raw_items()),
            content=bytes(response.body or b""),  # websockets gives a bytearray, which httpx would stream
        ) from None

    def _release_worker(self) -> None:
        if not self._released and self._worker is not None:
            self._released = True
            self._transport.release(self._worker)

    def __exit__(self, *args: Any) -> None:
        try:
            self.close(1000)
        finally:
            opener, self._opener = self._opener, None
            if opener is not None:
                opener.__exit__(None, None, None)
            self._release_worker()
        assert self._worker is not None
        exc = self._worker.observer.take_exception()
        if exc is not None:  # as Starlette's client, whatever raise_server_exceptions says
            raise exc

    # -- sending ----------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "websocket.disconnect":
            self.close(message.get("code", 1000), message.get("reason"))
        elif kind != "websocket.receive":
            raise ValueError(f"cannot send a {kind!r} message to the app")
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
        """Close with ``code`` and wait until the server closed the connection, which it does once
        the endpoint has finished. 1006 (abnormal closure, never sent in a close frame) ends the
        connection without one, as a client that went away."""
        if code == 1006:
            with contextlib.suppress(OSError):
                self._connection.socket.shutdown(socket.SHUT_WR)
            self._connection.recv_events_thread.join(_WEBSOCKET_CLOSE_TIMEOUT)
            return
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
