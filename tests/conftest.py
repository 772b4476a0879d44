"""Real servers on free loopback ports, started as subprocesses the way users start them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode} before listening:\n{out}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout}s")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


def _start(cmd: list[str], port: int, log_path: Path, env: dict[str, str]) -> Server:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(proc, port, log_path)
    try:
        wait_for_port(port, proc)
    except Exception:
        server.stop(signal.SIGKILL)
        raise RuntimeError(f"{cmd} failed to start:\n{server.log()}") from None
    return server


@pytest.fixture
def serve_app(tmp_path: Path) -> Iterator[object]:
    """``serve_app("tests.apps.basic", workers=1, **serve_options) -> Server`` (fastrapi)."""
    servers: list[Server] = []

    def start(module: str, attr: str = "app", **options: object) -> Server:
        port = free_port()
        options.setdefault("workers", 1)
        args = ", ".join(f"{k}={v!r}" for k, v in options.items())
        code = (
            f"import importlib; app = getattr(importlib.import_module({module!r}), {attr!r}); "
            f"import fastrapi; fastrapi.serve(app, host='127.0.0.1', port={port}, {args})"
        )
        env = dict(os.environ, APP_FRAMEWORK="fastrapi", PYTHONUNBUFFERED="1")
        server = _start([sys.executable, "-c", code], port, tmp_path / f"fastrapi-{port}.log", env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def serve_fastapi(tmp_path: Path) -> Iterator[object]:
    """The same app module under real FastAPI + uvicorn, for differential tests."""
    servers: list[Server] = []

    def start(module: str, attr: str = "app") -> Server:
        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", f"{module}:{attr}", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]
        env = dict(os.environ, APP_FRAMEWORK="fastapi", PYTHONUNBUFFERED="1")
        server = _start(cmd, port, tmp_path / f"fastapi-{port}.log", env)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def raw_exchange(port: int, payload: bytes | list[bytes], *, timeout: float = 5.0, pause: float = 0.05,
                 read_until_close: bool = False, expect_responses: int | None = None) -> bytes:
    """Send raw bytes (optionally in pieces) and collect what comes back."""
    pieces = payload if isinstance(payload, list) else [payload]
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        for i, piece in enumerate(pieces):
            if i:
                time.sleep(pause)
            sock.sendall(piece)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if expect_responses is not None and len(split_responses(data)) >= expect_responses:
                break
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            if not read_until_close and expect_responses is None:
                sock.settimeout(0.3)
        return data


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


def split_responses(data: bytes) -> list[RawResponse]:
    """Split a byte stream into complete HTTP/1.1 responses (content-length framed)."""
    out: list[RawResponse] = []
    while data:
        head_end = data.find(b"\r\n\r\n")
        if head_end < 0:
            break
        lines = data[:head_end].decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        if status == 100:
            length = 0
        end = head_end + 4 + length
        if len(data) < end:
            break
        out.append(RawResponse(status, headers, data[head_end + 4:end]))
        data = data[end:]
    return out


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server for this test session, from scripts/postgres.sh (stopped at the end, also
    when tests fail), or the one ``POSTGRES_DSN`` names. Exported as ``POSTGRES_DSN`` to the servers
    the tests start. Without one: the tests fail under CI=true and skip otherwise."""
    if os.environ.get("POSTGRES_DSN"):
        yield os.environ["POSTGRES_DSN"]
        return
    # Not under pytest's tmp_path: the server runs as the `postgres` user, which must reach the directory.
    env = dict(os.environ, FASTRAPI_PG_DIR=os.path.join(tempfile.gettempdir(), f"fastrapi-pg-test-{os.getpid()}"))
    script = str(ROOT / "scripts" / "postgres.sh")
    try:
        started = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=900)
        dsn = started.stdout.strip().removeprefix("export POSTGRES_DSN=").strip("'")
        reason = "" if started.returncode == 0 and dsn else f"exit {started.returncode}: {started.stderr[-2000:]}"
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = str(error)
    if reason:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):  # whatever it left behind
            subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
        message = f"PostgreSQL could not be started by scripts/postgres.sh ({reason})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ["POSTGRES_DSN"] = dsn
    try:
        yield dsn
    finally:
        del os.environ["POSTGRES_DSN"]
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
