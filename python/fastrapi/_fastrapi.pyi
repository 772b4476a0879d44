"""The native core (Rust). Private: use the public `fastrapi` API."""

from collections.abc import Sequence
from typing import Any

__version__: str

class AppCore:
    """The compiled app: route table and route plans, immutable once built."""

    def __init__(
        self,
        routes: Sequence[Any],
        hooks: Any,
        redirect_slashes: bool = True,
        middleware: Sequence[Any] | None = None,
        asgi_app: Any = None,
        sync_mode: str = "auto",
        asgi_routing_errors: bool = False,
    ) -> None: ...
    def __len__(self) -> int: ...

class ServerConfig:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        driver: str = "auto",
        core: int | None = None,
        backlog: int = 1024,
        max_head_bytes: int = 16384,
        max_headers: int = 100,
        max_body_bytes: int = 16777216,
        keep_alive_timeout: float = 5.0,
        header_timeout: float = 30.0,
        write_timeout: float = 30.0,
        graceful_timeout: float = 30.0,
        server_header: str | None = None,
        handle_signals: bool = True,
        uring_entries: int = 1024,
        uring_flags: list[str] | None = None,
        ws_max_size: int = 16777216,
        ws_ping_interval: float | None = 20.0,
        ws_ping_timeout: float | None = 20.0,
        access_log: bool = False,
        asgi_pathsend: bool = False,
        limit_concurrency: int | None = None,
        limit_max_requests: int | None = None,
        retire_fd: int | None = None,
        listen_fd: int | None = None,
        proxy_headers: bool = False,
        forwarded_allow_ips: str = "127.0.0.1,::1",
    ) -> None: ...
    @property
    def driver(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def graceful_timeout(self) -> float: ...

def run_worker(
    app: AppCore,
    event_loop: Any,
    config: ServerConfig,
    stop_fd: int | None = None,
    asgi_state: dict[str, Any] | None = None,
    root_path: str = "",
    prefix_path: bool = True,
    asgi_client: tuple[str, int] | None = None,
) -> None: ...
def resolve_driver(driver: str) -> str: ...
def set_parent_death_signal(signal: int) -> None: ...
def dumps(obj: Any, default: Any = None) -> bytes: ...
def report_app_error(exc: BaseException) -> None: ...

class ConnectionState:
    """The client connection of a request."""

    def is_closed(self) -> bool: ...
def timestamp_sign(secret: str, value: bytes) -> bytes: ...
def timestamp_unsign(secret: str, signed: bytes, max_age: int | None = None) -> bytes | None: ...

class WebSocketChannel:
    """One WebSocket connection, driven by an ASGI app's session (`fastrapi._asgi.websocket_session`)."""

    @property
    def state(self) -> str: ...
    def receive(self) -> Any: ...
    def accept(self, subprotocol: str | None = None, headers: list[tuple[bytes, bytes]] = ...) -> None: ...
    def send_text(self, text: str) -> bool: ...
    def send_bytes(self, data: bytes) -> bool: ...
    def drained(self) -> Any: ...
    def close(self, code: int = 1000, reason: str = "") -> None: ...
    def respond(self, status: int, headers: list[tuple[bytes, bytes]]) -> None: ...
    def respond_body(self, body: bytes, more_body: bool = False) -> None: ...

class Receive:
    """The ASGI ``receive`` of one request (made by the server)."""

    def __call__(self) -> Any: ...

class Send:
    """The ASGI ``send`` of one request (made by the server)."""

    def __call__(self, message: dict[str, Any]) -> Any: ...

class Ready:
    """An awaitable that is already done."""

    def __await__(self) -> Any: ...

class SyncPolicy:
    """Where one sync callable runs: inline while its calls stay short, or in the thread pool."""

    def __init__(self, mode: str = "auto") -> None: ...
    @property
    def offload(self) -> bool: ...
    @property
    def mode(self) -> str: ...
    def inline(self, func: Any, /, *args: Any, **kwargs: Any) -> Any: ...
    def pooled(self, func: Any, /, *args: Any, **kwargs: Any) -> Any: ...
