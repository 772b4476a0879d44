"""Start-up and supervision: analyse once, then run one worker per core.

On a GIL build of CPython each worker is a process (forked before any runtime thread
exists) with its own interpreter; on a free-threaded build each worker is a thread of one
process. Either way a worker owns one core, one listener and its own connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import random
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
import traceback
from http import HTTPStatus
from typing import Any

from fastrapi import _fastrapi, concurrency
from fastrapi._asgi import lifespan_of, lifespan_tasks
from fastrapi._compiler import compile_app, describe, prepare_app
from fastrapi._loop import CoreLoop

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
access_logger = logging.getLogger("fastrapi.access")


def log_access(client: str, method: str, target: str, http_version: str, status: int) -> None:
    """One access-log line, as uvicorn writes it; called by the worker only when
    ``access_log=True`` (the server makes no Python call per request otherwise)."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    access_logger.info('%s - "%s %s HTTP/%s" %s', client, method, target, http_version, f"{status} {phrase}".rstrip())


def _gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def _reserve_port(host: str, port: int) -> tuple[socket.socket, int]:
    """Bind (without listening) so that port 0 resolves once and a port in use fails early."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock, sock.getsockname()[1]


class _Lifespan:
    """The app's ASGI lifespan protocol on a worker's loop; its state goes into every scope."""

    def __init__(self, app: Any) -> None:
        self._context = lifespan_of(app)(app)
        self.asgi_state: dict[str, Any] | None = None

    async def startup(self) -> None:
        self.asgi_state = await self._context.__aenter__()

    async def shutdown(self) -> None:
        await self._context.__aexit__(None, None, None)


@dataclasses.dataclass(frozen=True)
class PythonOptions:
    """The serve() options the Python side of a worker applies (the rest are ServerConfig's)."""

    threadpool_size: int = 40
    sync_mode: str = "auto"
    # uvicorn's --root-path: scope["root_path"], and in front of scope["path"] as uvicorn puts it.
    root_path: str = ""

    @classmethod
    def pop_from(cls, options: dict[str, Any]) -> PythonOptions:
        made = cls(
            options.pop("threadpool_size", 40), options.pop("sync_mode", "auto"), options.pop("root_path", "")
        )
        if made.threadpool_size < 1:
            raise ValueError("threadpool_size must be at least 1")
        if made.sync_mode not in concurrency.SYNC_MODES:
            raise ValueError(f"sync_mode must be one of {', '.join(concurrency.SYNC_MODES)}")
        return made


def run_worker_here(
    app: Any,
    config: _fastrapi.ServerConfig,
    *,
    main_thread: bool = True,
    python: PythonOptions | None = None,
    announce: bool = False,
) -> int:
    """Run one worker on the calling thread. Returns the exit status for the process.
    ``announce``: print what is native (the first worker does, once its routes are compiled)."""
    python = python or PythonOptions()
    concurrency.default_mode = python.sync_mode
    loop = CoreLoop()
    lifespan = _Lifespan(app)
    started = False
    try:
        loop.run_until_complete(concurrency.configure(python.threadpool_size))
        prepare_app(app)
        loop.run_until_complete(lifespan.startup())
        started = True
        # After the startup: extensions edit routes there (fastapi-pagination, for one).
        core = compile_app(app, python.sync_mode)
        if announce:
            print(f"fastrapi: {describe(app)}", flush=True)
    except BaseException:
        traceback.print_exc()
        print("fastrapi: application startup failed; exiting", file=sys.stderr, flush=True)
        if started:
            with contextlib.suppress(BaseException):
                loop.run_until_complete(lifespan.shutdown())
        loop.close()
        return 3
    previous: dict[int, Any] = {}
    if main_thread:
        # The Rust worker owns SIGINT/SIGTERM while it runs; Python must not raise
        # KeyboardInterrupt inside an endpoint.
        previous = {sig: signal.signal(sig, signal.SIG_DFL) for sig in _STOP_SIGNALS}
    status = 0
    loop.fastrapi_enter()
    try:
        _fastrapi.run_worker(core, loop, config, asgi_state=lifespan.asgi_state, root_path=python.root_path)
    except BaseException:
        traceback.print_exc()
        status = 1
    finally:
        loop.fastrapi_exit()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        for task in asyncio.all_tasks(loop):
            if task not in lifespan_tasks:  # the lifespan still has its shutdown to run
                task.cancel()
        loop.run_until_complete(lifespan.shutdown())
        loop.run_until_complete(loop.shutdown_asyncgens())
    except BaseException:
        traceback.print_exc()
        status = status or 1
    finally:
        loop.close()
    return status


def _default_logging() -> None:
    """Give fastrapi's loggers a handler when the app configured none (as uvicorn does)."""
    logger = logging.getLogger("fastrapi")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


# uvicorn's names for options that ServerConfig spells its own way.
_UVICORN_NAMES = {"timeout_keep_alive": "keep_alive_timeout", "timeout_graceful_shutdown": "graceful_timeout"}


@dataclasses.dataclass
class _Listening:
    """What the workers listen on: their own SO_REUSEPORT sockets on a reserved port (``fd`` None),
    or one listening socket they all accept from (``--uds``, ``--fd``, and worker recycling, where a
    retiring worker must leave the connections waiting to be accepted to the others)."""

    name: str
    port: int
    fd: int | None = None
    owned: socket.socket | None = None
    uds: str | None = None

    def close(self) -> None:
        if self.owned is not None:
            self.owned.close()
        if self.uds is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.uds)


def _listen(host: str, port: int, uds: str | None, fd: int | None, shared: bool, backlog: int) -> _Listening:
    if fd is not None:
        with socket.socket(fileno=os.dup(fd)) as given:
            return _Listening(f"socket {given.getsockname()!r}", 0, fd)
    if uds is not None:
        with contextlib.suppress(FileNotFoundError):
            if stat.S_ISSOCK(os.stat(uds).st_mode):  # a stale socket from an earlier run, as uvicorn
                os.unlink(uds)
        sock = _listening_socket(socket.AF_UNIX, uds, backlog)
        os.chmod(uds, 0o666)
        return _Listening(f"unix:{uds}", 0, sock.fileno(), sock, uds)
    shown_host = f"[{host}]" if ":" in host else host
    if not shared:
        reservation, port = _reserve_port(host, port)
        return _Listening(f"http://{shown_host}:{port}", port, owned=reservation)
    # No SO_REUSEPORT: a port another server listens on is an error, not a share of its traffic.
    sock = _listening_socket(socket.AF_INET6 if ":" in host else socket.AF_INET, (host, port), backlog)
    port = sock.getsockname()[1]
    return _Listening(f"http://{shown_host}:{port}", port, sock.fileno(), sock)


def _listening_socket(family: socket.AddressFamily, address: Any, backlog: int) -> socket.socket:
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family != socket.AF_UNIX:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int | None = None,
    driver: str = "auto",
    mode: str = "auto",
    pin: bool = True,
    uds: str | None = None,
    fd: int | None = None,
    limit_max_requests: int | None = None,
    limit_max_requests_jitter: int = 0,
    **options: Any,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; then finish in-flight requests and run shutdown handlers.

    ``workers``: default one per usable CPU. ``mode``: ``"processes"``, ``"threads"`` or ``"auto"``
    (threads on a free-threaded build, processes otherwise). ``uds``/``fd``: listen on a Unix socket
    at that path, or accept from an inherited listening socket (socket activation), instead of
    ``host:port``. ``limit_max_requests`` (plus up to ``limit_max_requests_jitter``): a worker
    process that has served that many requests is replaced by a new one, no request dropped.
    ``root_path``, ``threadpool_size`` and ``sync_mode`` are applied in Python; the other
    ``options`` go to :class:`fastrapi._fastrapi.ServerConfig` (limits, timeouts, proxy headers),
    which also takes uvicorn's ``timeout_keep_alive`` and ``timeout_graceful_shutdown``. Proxy
    headers are trusted as uvicorn trusts them: from ``FORWARDED_ALLOW_IPS`` or loopback.
    """
    cpus = sorted(os.sched_getaffinity(0))
    count = workers if workers is not None else len(cpus)
    if count < 1:
        raise ValueError("workers must be at least 1")
    if mode == "auto":
        mode = "processes" if _gil_enabled() else "threads"
    if mode not in ("processes", "threads"):
        raise ValueError("mode must be 'auto', 'processes' or 'threads'")
    if uds is not None and fd is not None:
        raise ValueError("give uds or fd, not both")
    if limit_max_requests is not None and (limit_max_requests < 1 or limit_max_requests_jitter < 0):
        raise ValueError("limit_max_requests must be at least 1 and its jitter at least 0")
    if limit_max_requests is not None and mode != "processes":
        raise ValueError("limit_max_requests recycles worker processes: it needs mode='processes'")
    for uvicorn_name, name in _UVICORN_NAMES.items():
        if uvicorn_name in options:
            options[name] = options.pop(uvicorn_name)
    options.setdefault("proxy_headers", True)
    options.setdefault("forwarded_allow_ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"))
    _default_logging()
    python = PythonOptions.pop_from(options)
    if not callable(app):
        raise TypeError(f"{app!r} is not an ASGI application")
    driver_name = _fastrapi.resolve_driver(driver)
    recycling = limit_max_requests is not None
    listening = _listen(host, port, uds, fd, recycling, options.get("backlog", 1024))
    kind = "process" if mode == "processes" else "thread"
    plural = "es" if kind == "process" and count != 1 else ("s" if count != 1 else "")
    print(
        f"fastrapi serving {listening.name} — {count} worker{'s' if count != 1 else ''} "
        f"({kind}{plural}), {driver_name}",
        flush=True,
    )

    def config_for(index: int, handle_signals: bool = True, retire_fd: int | None = None) -> _fastrapi.ServerConfig:
        core = cpus[index % len(cpus)] if pin else None
        max_requests = None
        if limit_max_requests is not None:  # each worker its own draw, as uvicorn's
            max_requests = limit_max_requests + random.randint(0, limit_max_requests_jitter)
        return _fastrapi.ServerConfig(
            host, listening.port, driver=driver, core=core, handle_signals=handle_signals,
            listen_fd=listening.fd, limit_max_requests=max_requests, retire_fd=retire_fd, **options,
        )

    try:
        if count == 1 and not recycling:
            status = run_worker_here(app, config_for(0), python=python, announce=True)
            if status:
                raise SystemExit(status)
        elif mode == "threads":
            _serve_threads(app, count, config_for, python)
        else:
            _serve_processes(app, count, config_for, listening, python)
    finally:
        listening.close()


def _serve_threads(app: Any, count: int, config_for: Any, python: PythonOptions) -> None:
    previous = {sig: signal.signal(sig, signal.SIG_DFL) for sig in _STOP_SIGNALS}
    statuses: list[int] = [0] * count

    def run(i: int) -> None:
        statuses[i] = run_worker_here(app, config_for(i), main_thread=False, python=python, announce=i == 0)

    threads = [threading.Thread(target=run, args=(i,), name=f"fastrapi-worker-{i}") for i in range(count)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if any(statuses):
        raise SystemExit(max(statuses))


def _serve_processes(app: Any, count: int, config_for: Any, listening: _Listening, python: PythonOptions) -> None:
    parent = os.getpid()
    children: dict[int, int] = {}
    # Workers that announced their retirement (limit_max_requests): replaced already, they exit
    # once their connections are done.
    retired: set[int] = set()
    stopping = False
    graceful = float(config_for(0).graceful_timeout)
    # A retiring worker writes its pid here, so that its successor starts at once.
    retire_read, retire_write = os.pipe()
    os.set_blocking(retire_read, False)

    def spawn(index: int, announce: bool) -> None:
        # Stop signals wait until the child is in `children` (and the child has its own handling),
        # so that a stop arriving at any moment reaches every worker.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
        pid = os.fork()
        if pid == 0:  # the worker process
            code = 1
            try:
                # Not the supervisor's handler: a stop signal during start-up ends the worker.
                for sig in _STOP_SIGNALS:
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                _fastrapi.set_parent_death_signal(signal.SIGTERM)
                if os.getppid() != parent:
                    os._exit(0)
                os.close(retire_read)
                if listening.fd is None and listening.owned is not None:
                    listening.owned.close()  # the port reservation; the worker binds its own socket
                code = run_worker_here(app, config_for(index, retire_fd=retire_write), python=python, announce=announce)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        children[pid] = index
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def on_signal(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def replace_retiring() -> None:
        try:
            announced = os.read(retire_read, 4096)
        except BlockingIOError:
            return
        for (pid,) in struct.iter_unpack("=I", announced[: len(announced) // 4 * 4]):
            if pid in children and pid not in retired and not stopping:
                retired.add(pid)
                spawn(children[pid], announce=False)

    previous = {sig: signal.signal(sig, on_signal) for sig in _STOP_SIGNALS}
    failures = 0
    deadline: float | None = None
    try:
        for i in range(count):
            spawn(i, announce=i == 0)
        while children:
            replace_retiring()
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                if stopping:
                    deadline = deadline or time.monotonic() + graceful + 5
                    if time.monotonic() > deadline:
                        for child in list(children):
                            os.kill(child, signal.SIGKILL)
                select.select([retire_read], [], [], 0.05)  # or a retirement to answer at once
                continue
            index = children.pop(pid, None)
            if index is None or stopping:
                continue
            code = os.waitstatus_to_exitcode(status)
            if pid in retired:
                retired.discard(pid)
                if code != 0:
                    print(f"fastrapi: retired worker (pid {pid}) exited with {code}", file=sys.stderr, flush=True)
                continue
            if code == 3:  # startup failed: restarting would fail the same way
                stopping = True
                on_signal(signal.SIGTERM, None)
                raise SystemExit(3)
            failures += 1
            print(f"fastrapi: worker {index} (pid {pid}) exited with {code}; restarting", file=sys.stderr, flush=True)
            if failures > 10 * count:
                on_signal(signal.SIGTERM, None)
                raise SystemExit("fastrapi: workers keep failing; giving up")
            time.sleep(min(1.0, 0.1 * failures))
            spawn(index, announce=False)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for child in list(children):
            try:
                os.kill(child, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.close(retire_read)
        os.close(retire_write)
