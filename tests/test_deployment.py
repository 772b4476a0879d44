"""Deployment options over real sockets, compared with FastAPI + uvicorn given the same flags:
proxy headers, --root-path, Unix sockets, --fd, --limit-concurrency; and what uvicorn's options
promise without a byte-level twin: the write timeout, the head and body read timeouts under
slowloris and slow uploads, and worker recycling (--limit-max-requests) with no request dropped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from fastrapi.cli import main
from tests.conftest import ROOT, Server, free_port, split_responses, wait_for_port

APP = "tests.apps.deployment:app"
BIG_SIZE = 32 * 1024 * 1024


def _wait_for_unix(path: Path, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(path))
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {path} within {timeout}s")


@pytest.fixture
def start(tmp_path: Path) -> Iterator[Any]:
    """``start("fastrapi" | "uvicorn", *flags, uds=None, fds=()) -> Server``: the deployment app
    started from the command line, on a free port unless a Unix socket or descriptor is given."""
    servers: list[Server] = []

    def run(framework: str, *flags: str, uds: Path | None = None, fds: tuple[int, ...] = (), app: str = APP) -> Server:
        port = 0 if uds is not None or fds else free_port()
        where = [] if port == 0 else ["--host", "127.0.0.1", "--port", str(port)]
        quiet = ["--no-access-log", "--log-level", "warning"]
        if uds is not None:
            where = ["--uds", str(uds)]
        if framework == "fastrapi":
            cmd = [sys.executable, "-m", "fastrapi", "run", app, "--workers", "1", *quiet, *where, *flags]
        else:
            cmd = [sys.executable, "-m", "uvicorn", app, *quiet, *where, *flags]
        env = dict(os.environ, APP_FRAMEWORK="fastapi" if framework == "uvicorn" else "fastrapi",
                   PYTHONUNBUFFERED="1")
        env.pop("FORWARDED_ALLOW_IPS", None)
        log_path = tmp_path / f"{framework}-{len(servers)}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=fds)
        server = Server(proc, port, log_path)
        servers.append(server)
        try:
            if uds is not None:
                _wait_for_unix(uds, proc)
            elif port:
                wait_for_port(port, proc)
        except RuntimeError:
            raise RuntimeError(server.log()) from None
        return server

    yield run
    for server in servers:
        server.stop()


def _whoami(client: httpx.Client, server: Server, headers: dict[str, str]) -> dict[str, Any]:
    """``/whoami`` with the port of this server and of the test's connection made neutral."""
    response = client.get("/whoami", headers={"host": "example.com", **headers})
    assert response.status_code == 200, response.text
    seen = response.json()
    if seen["client"] and seen["client"][0] == "127.0.0.1":
        seen["client"][1] = "the test's port"
    if seen["server"] and seen["server"][1] == server.port:
        seen["server"][1] = "the server's port"
    if seen["server"] and str(seen["server"][0]).endswith(".sock"):
        seen["server"][0] = "the socket's path"
    return seen


FORWARDED_CASES = [
    {},
    {"x-forwarded-for": "203.0.113.7, 10.0.0.2:1234", "x-forwarded-proto": "https"},
    {"x-forwarded-for": "[2001:db8::1]:4711", "x-forwarded-proto": "wss"},
    {"x-forwarded-for": "", "x-forwarded-proto": "ftp"},
    {"x-forwarded-for": "198.51.100.1:80, 127.0.0.1"},
]


@pytest.mark.parametrize("flags", [
    (),
    ("--forwarded-allow-ips", "10.0.0.0/8,127.0.0.1"),
    ("--forwarded-allow-ips", "192.0.2.1"),
    ("--forwarded-allow-ips", "*"),
    ("--no-proxy-headers",),
], ids=["default", "networks", "other-proxy", "any", "off"])
def test_proxy_headers_match_uvicorn(start: Any, flags: tuple[str, ...]) -> None:
    seen = {}
    for framework in ("fastrapi", "uvicorn"):
        server = start(framework, *flags)
        with httpx.Client(base_url=server.url) as client:
            seen[framework] = [_whoami(client, server, headers) for headers in FORWARDED_CASES]
    assert seen["fastrapi"] == seen["uvicorn"]
    if flags == ():  # loopback is trusted by default, as with uvicorn
        assert seen["fastrapi"][1]["client"] == ["10.0.0.2", 1234]
        assert seen["fastrapi"][1]["url_for"] == "https://example.com/whoami"


def test_websocket_scope_behind_a_proxy_matches_uvicorn(start: Any) -> None:
    cases = [{}, {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7:99"}, {"x-forwarded-proto": "wss"}]
    seen = {}
    for framework in ("fastrapi", "uvicorn"):
        server = start(framework, "--root-path", "/app")
        seen[framework] = []
        for headers in cases:
            url = server.url.replace("http://", "ws://") + "/ws-whoami"
            with connect(url, additional_headers=headers, open_timeout=10) as ws:
                answer = json.loads(ws.recv(timeout=10))
            if answer["client"][0] == "127.0.0.1":
                answer["client"][1] = "the test's port"
            answer["url"] = answer["url"].replace(f":{server.port}/", ":the-port/")
            seen[framework].append(answer)
    assert seen["fastrapi"] == seen["uvicorn"]
    assert seen["fastrapi"][1]["url"] == "wss://127.0.0.1:the-port/app/ws-whoami"


def test_rfc7239_forwarded_from_a_trusted_proxy(start: Any) -> None:
    """``Forwarded`` (which uvicorn ignores) counts where no X-Forwarded-* header says otherwise."""
    server = start("fastrapi")
    header = {"forwarded": 'for="[2001:db8:cafe::17]:4711";proto=https, for=127.0.0.1'}
    with httpx.Client(base_url=server.url) as client:
        seen = _whoami(client, server, header)
        assert seen["client"] == ["2001:db8:cafe::17", 4711]
        assert seen["url_for"] == "https://example.com/whoami"
        overridden = _whoami(client, server, {**header, "x-forwarded-for": "192.0.2.9", "x-forwarded-proto": "http"})
        assert overridden["client"] == ["192.0.2.9", 0]
        assert overridden["scheme"] == "http"


def test_root_path_matches_uvicorn(start: Any) -> None:
    def answers(server: Server) -> list[Any]:
        out: list[Any] = []
        with httpx.Client(base_url=server.url) as client:
            out.append(_whoami(client, server, {}))
            out.append(_whoami(client, server, {"x-forwarded-proto": "https"}))
            for path, headers in [
                ("/native", {}), ("/native", {"x-forwarded-proto": "https"}), ("/api/whoami", {}),
                ("/native/", {}),
            ]:
                response = client.get(path, headers={"host": "example.com", **headers})
                out.append((path, response.status_code, response.headers.get("location"), response.text))
            out.append(client.get("/openapi.json").json().get("servers"))
        return out

    flags = ("--root-path", "/api/v1")
    assert answers(start("fastrapi", *flags)) == answers(start("uvicorn", *flags))


def test_unix_socket_matches_uvicorn(start: Any, tmp_path: Path) -> None:
    seen = {}
    for framework in ("fastrapi", "uvicorn"):
        (tmp_path / framework).mkdir()
        path = tmp_path / framework / "app.sock"  # the same length: scope["server"] shows it
        server = start(framework, uds=path)
        assert path.stat().st_mode & 0o777 == 0o666
        transport = httpx.HTTPTransport(uds=str(path))
        with httpx.Client(transport=transport, base_url="http://example.com") as client:
            seen[framework] = [_whoami(client, server, headers) for headers in FORWARDED_CASES[:2]]
            seen[framework].append(client.get("/native/").json())
            seen[framework].append(client.post("/echo-size", content=b"x" * 100_000).json())
        server.stop()
    assert seen["fastrapi"] == seen["uvicorn"]
    assert not (tmp_path / "fastrapi" / "app.sock").exists()  # removed on the way out


@pytest.mark.parametrize(("family", "driver"), [("tcp", "auto"), ("unix", "epoll")])
def test_fd_serves_a_handed_over_socket(start: Any, tmp_path: Path, family: str, driver: str) -> None:
    """Socket activation: the listening socket is made by someone else (systemd) and inherited."""
    if family == "tcp":
        listener = socket.create_server(("127.0.0.1", 0))
        transport = httpx.HTTPTransport()
        base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    else:
        path = tmp_path / "activated.sock"
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(path))
        listener.listen(64)
        transport = httpx.HTTPTransport(uds=str(path))
        base_url = "http://localhost"
    with listener:
        fd = listener.fileno()
        server = start("fastrapi", "--fd", str(fd), "--workers", "2", "--driver", driver, fds=(fd,))
        with httpx.Client(transport=transport, base_url=base_url, timeout=20) as client:
            pids = {client.get("/pid", headers={"connection": "close"}).json()["pid"] for _ in range(20)}
            assert client.get("/native/").json() == {"native": True}
        assert pids  # served; which worker accepted each is the kernel's choice
        assert server.stop() == 0
        # The socket stays its owner's: it still takes connections after the server is gone.
        with socket.socket(listener.family) as probe:
            probe.connect(listener.getsockname())


def _exchange(sock: socket.socket, request: bytes) -> bytes:
    sock.sendall(request)
    data = b""
    while not split_responses(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _comparable(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    (response,) = split_responses(raw)
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "server")}
    return response.status, headers, response.body


def test_limit_concurrency_answers_503_as_uvicorn(start: Any) -> None:
    request = b"GET /pid HTTP/1.1\r\nHost: x\r\n\r\n"
    seen = {}
    for framework in ("fastrapi", "uvicorn"):
        server = start(framework, "--limit-concurrency", "2")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as held:
            assert _comparable(_exchange(held, request))[0] == 200  # this connection stays open
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as over:
                refused = _exchange(over, request)
                assert over.recv(1) == b""  # closed after the 503
            seen[framework] = _comparable(refused)
        # Below the limit again once the held connection is gone.
        for _ in range(100):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as again:
                if _comparable(_exchange(again, request))[0] == 200:
                    break
            time.sleep(0.05)
        else:
            pytest.fail(f"{framework} kept refusing after the held connection closed")
    assert seen["fastrapi"] == seen["uvicorn"]
    assert seen["fastrapi"][0] == 503
    assert seen["fastrapi"][1]["connection"] == "close"


def _stalled_reader(port: int, path: str, stall: float) -> tuple[int, bool]:
    """Asks for a large body, reads nothing for ``stall`` seconds, then reads what comes:
    (body bytes received, whether the connection was reset)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        time.sleep(stall)
        received = 0
        try:
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
        except ConnectionResetError:
            return received, True
        return received, False


@pytest.mark.parametrize("path", ["/big", "/big-stream"])
def test_write_timeout_ends_a_connection_that_stopped_reading(start: Any, path: str) -> None:
    strict = start("fastrapi", "--timeout-write", "0.5")
    lenient = start("fastrapi")  # the default (30 s) outlasts the stall
    outcome: dict[str, tuple[int, bool]] = {}
    threads = [
        threading.Thread(target=lambda s=server, n=name: outcome.__setitem__(n, _stalled_reader(s.port, path, 3)))
        for name, server in (("strict", strict), ("lenient", lenient))
    ]
    for thread in threads:
        thread.start()
    time.sleep(1)
    # The worker goes on serving while a connection is stuck.
    assert httpx.get(f"{strict.url}/pid", timeout=10).status_code == 200
    for thread in threads:
        thread.join()
    received, reset = outcome["strict"]
    assert reset or received < BIG_SIZE, outcome
    received, reset = outcome["lenient"]
    assert not reset and received > BIG_SIZE, outcome  # the whole body (and its head)


def _server_closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slowloris_head_has_a_deadline(serve_app: Any) -> None:
    """A head trickled a byte at a time is cut off after ``header_timeout`` in all."""
    server = serve_app("tests.apps.deployment", header_timeout=1.0)
    with socket.create_connection(("127.0.0.1", server.port), timeout=0.2) as sock:
        sock.sendall(b"GET /pid HTTP/1.1\r\n")
        closed = False
        for _ in range(150):  # a bound so that the test ends: 30 s of trickling
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _server_closed(sock):
                closed = True
                break
        assert closed
    assert httpx.get(f"{server.url}/pid").status_code == 200


def test_slow_body_reads_each_piece_within_the_timeout(serve_app: Any) -> None:
    server = serve_app("tests.apps.deployment", header_timeout=1.0)
    head = b"POST /echo-size HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
    # A body that keeps coming, however slowly, is read to its end...
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        for _ in range(10):
            time.sleep(0.25)
            sock.sendall(b"y")
        data = b""
        while not split_responses(data):
            data += sock.recv(65536)
        assert split_responses(data)[0].body == b'{"size":10}'
    # ...one that stalls is not waited for.
    with socket.create_connection(("127.0.0.1", server.port), timeout=0.2) as sock:
        sock.sendall(head + b"yyy")
        assert any(_server_closed(sock) for _ in range(150))


def _recycling_server(start: Any, workers: int, limit: int, jitter: int, driver: str = "auto") -> Server:
    return start("fastrapi", "--workers", str(workers), "--limit-max-requests", str(limit),
                 "--limit-max-requests-jitter", str(jitter), "--driver", driver)


@pytest.mark.parametrize("driver", ["auto", "epoll"])
def test_limit_max_requests_recycles_with_no_request_dropped(start: Any, driver: str) -> None:
    server = _recycling_server(start, workers=1, limit=5, jitter=2, driver=driver)
    pids = []
    with httpx.Client(base_url=server.url, timeout=20) as client:  # keep-alive until told to close
        for _ in range(40):
            response = client.get("/pid")
            assert response.status_code == 200
            pids.append(response.json()["pid"])
    for _ in range(20):  # a new connection each
        pids.append(httpx.get(f"{server.url}/pid", timeout=20).json()["pid"])
    assert len(set(pids)) >= 60 // 7
    runs = [len(list(group)) for group in _runs(pids)]
    # Each worker serves its limit (+ jitter) before it retires, and may serve a connection its
    # last accept took on the way out.
    assert all(5 <= run <= 8 for run in runs[:-1]), runs
    assert "retiring" in server.log()
    assert server.stop(signal.SIGTERM) == 0


def test_limit_max_requests_under_concurrent_clients(start: Any) -> None:
    server = _recycling_server(start, workers=2, limit=10, jitter=0)
    failures: list[str] = []
    pids: set[int] = set()

    def client_thread() -> None:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            for _ in range(40):
                try:
                    response = client.get("/pid")
                    pids.add(response.json()["pid"])
                    if response.status_code != 200:
                        failures.append(response.text)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))

    threads = [threading.Thread(target=client_thread) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(pids) > 2 + 2  # replaced again and again (a retiring worker answers each open connection once more)
    assert server.stop(signal.SIGTERM) == 0


def _runs(values: list[int]) -> Iterator[list[int]]:
    run: list[int] = []
    for value in values:
        if run and value != run[-1]:
            yield run
            run = []
        run.append(value)
    if run:
        yield run


def test_env_file_log_config_and_timeouts_from_the_command_line(start: Any, tmp_path: Path) -> None:
    env_file = tmp_path / "deploy.env"
    env_file.write_text("DEPLOYMENT_GREETING=from the env file\n")
    access_log = tmp_path / "access.log"
    log_config = tmp_path / "logging.json"
    log_config.write_text(json.dumps({
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "ACCESS %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "filename": str(access_log), "formatter": "plain"}},
        "loggers": {"fastrapi.access": {"handlers": ["file"], "level": "INFO", "propagate": False}},
    }))
    server = start("fastrapi", "--env-file", str(env_file), "--log-config", str(log_config), "--access-log",
                   "--timeout-keep-alive", "2", "--timeout-graceful-shutdown", "3")
    response = httpx.get(f"{server.url}/env/DEPLOYMENT_GREETING")
    assert response.json() == {"value": "from the env file"}
    assert server.stop() == 0
    assert '"GET /env/DEPLOYMENT_GREETING HTTP/1.1" 200 OK' in access_log.read_text()
    assert access_log.read_text().startswith("ACCESS 127.0.0.1:")


def test_https_redirect_behind_a_proxy_matches_uvicorn(start: Any) -> None:
    def answers(server: Server) -> list[Any]:
        out = []
        with httpx.Client(base_url=server.url) as client:
            for path in ("/secure/", "/secure", "/secure/?q=1"):
                for headers in ({}, {"x-forwarded-proto": "https"}, {"forwarded": "proto=https"}):
                    response = client.get(path, headers={"host": "example.com", **headers})
                    out.append((path, headers, response.status_code, response.headers.get("location"), response.text))
        return out

    flags = ("--root-path", "/app")
    fastrapi = answers(start("fastrapi", *flags, app="tests.apps.deployment:https_app"))
    uvicorn = answers(start("uvicorn", *flags, app="tests.apps.deployment:https_app"))
    # uvicorn ignores RFC 7239 Forwarded; fastrapi reads it (the README says so): it answers
    # `Forwarded: proto=https` as uvicorn answers `X-Forwarded-Proto: https`.
    assert len(fastrapi) == len(uvicorn)
    for i, mine in enumerate(fastrapi):
        if "forwarded" in mine[1]:
            assert mine[2:] == uvicorn[i - 1][2:]  # the X-Forwarded-Proto case just before
        else:
            assert mine == uvicorn[i]


def test_uds_and_fd_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", APP, "--uds", "/tmp/x.sock", "--fd", "3"]) == 2
    assert "--uds or --fd" in capsys.readouterr().err
