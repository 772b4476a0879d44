"""The server process: start-up line, workers, drivers, graceful shutdown, lifecycle hooks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from fastrapi import _fastrapi
from tests.conftest import ROOT, free_port, wait_for_port


def start(tmp_path, module: str = "tests.apps.lifecycle", attr: str = "app", **options):  # type: ignore[no-untyped-def]
    port = free_port()
    args = ", ".join(f"{k}={v!r}" for k, v in options.items())
    code = f"import importlib; getattr(importlib.import_module({module!r}), {attr!r}).serve(port={port}, {args})"
    env = dict(os.environ, MARKER_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    return proc, port


def finish(proc: subprocess.Popen[bytes], sig: int | None = signal.SIGTERM) -> tuple[int, str]:
    """Stop with `sig` (None: it was already signalled, just wait) and collect the output."""
    if sig is not None and proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return proc.returncode, out.decode(errors="replace")


def test_single_worker_lifecycle_and_graceful_shutdown(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, port = start(tmp_path, workers=1, graceful_timeout=10.0)
    try:
        wait_for_port(port, proc)
        body = httpx.get(f"http://127.0.0.1:{port}/pid").json()
        assert body["greeting"] == "hi"
        pid = body["pid"]
        assert (tmp_path / f"startup-{pid}").exists() and (tmp_path / f"lifespan-start-{pid}").exists()
        # A request in flight when SIGTERM arrives still gets its answer.
        result: dict[str, object] = {}

        def slow_request() -> None:
            result["response"] = httpx.get(f"http://127.0.0.1:{port}/slow?t=1.0", timeout=10)

        t = threading.Thread(target=slow_request)
        t.start()
        deadline = time.monotonic() + 10
        while not (tmp_path / f"slow-started-{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        t.join(10)
    finally:
        code, out = finish(proc, None if "response" in result else signal.SIGTERM)
    assert result["response"].status_code == 200  # type: ignore[attr-defined]
    assert code == 0, out
    assert f"fastrapi serving http://127.0.0.1:{port} — 1 worker (process), " in out
    assert (tmp_path / f"shutdown-{pid}").exists() and (tmp_path / f"lifespan-stop-{pid}").exists()


def test_two_worker_processes_share_the_port_and_die_with_the_parent(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, port = start(tmp_path, workers=2)
    try:
        wait_for_port(port, proc)
        pids = set()
        deadline = time.monotonic() + 10
        while len(pids) < 2 and time.monotonic() < deadline:
            with httpx.Client() as client:  # new connections spread across the two listeners
                pids.add(client.get(f"http://127.0.0.1:{port}/pid").json()["pid"])
        assert len(pids) == 2 and proc.pid not in pids
        os.kill(proc.pid, signal.SIGKILL)  # no chance to clean up: the kernel must stop the children
        proc.wait(5)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in pids)
    finally:
        finish(proc)


def test_processes_mode_graceful_stop_runs_shutdown_in_every_worker(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, port = start(tmp_path, workers=2)
    try:
        wait_for_port(port, proc)
        time.sleep(0.5)
    finally:
        code, out = finish(proc, signal.SIGINT)
    assert code == 0, out
    assert "2 workers (processes)" in out
    assert len(list(tmp_path.glob("shutdown-*"))) == 2


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("driver", ["epoll", "io_uring"])
def test_each_driver_serves(tmp_path, driver: str) -> None:  # type: ignore[no-untyped-def]
    if driver == "io_uring" and _fastrapi.resolve_driver("auto") != "io_uring":
        pytest.skip("io_uring is not available on this machine")
    proc, port = start(tmp_path, workers=1, driver=driver)
    try:
        wait_for_port(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/pid").status_code == 200
    finally:
        code, out = finish(proc)
    assert code == 0
    assert out.splitlines()[0].endswith(f", {driver}")


def test_startup_failure_exits_nonzero_with_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, _ = start(tmp_path, attr="broken", workers=1)
    code, out = finish(proc, None)
    assert code == 3
    assert "startup failed on purpose" in out and "Traceback" in out


def test_port_in_use_fails_at_start(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = f"import tests.apps.lifecycle as m; m.app.serve(port={port}, workers=1)"
        proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=20)
    assert proc.returncode != 0
    assert b"Address already in use" in proc.stderr


def test_server_header_is_configurable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, port = start(tmp_path, workers=1, server_header="fastrapi")
    try:
        wait_for_port(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/pid").headers["server"] == "fastrapi"
    finally:
        finish(proc)


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError):
        _fastrapi.ServerConfig(driver="kqueue")
    with pytest.raises(ValueError):
        _fastrapi.ServerConfig(max_headers=0)
    with pytest.raises(ValueError):
        _fastrapi.ServerConfig(keep_alive_timeout=-1)


def test_threads_mode_serves_and_stops(tmp_path) -> None:  # type: ignore[no-untyped-def]
    proc, port = start(tmp_path, workers=2, mode="threads")
    try:
        wait_for_port(port, proc)
        pids = {httpx.get(f"http://127.0.0.1:{port}/pid").json()["pid"] for _ in range(4)}
        assert pids == {proc.pid}  # both workers are threads of the one process
        assert httpx.get(f"http://127.0.0.1:{port}/slow?t=0.05").json() == {"done": True}
    finally:
        code, out = finish(proc, signal.SIGINT)
    assert code == 0, out
    assert "2 workers (threads)" in out
    assert len(list(tmp_path.glob(f"shutdown-{proc.pid}"))) == 1


@pytest.mark.parametrize("enabled", [True, False])
def test_access_log_in_uvicorns_format_only_when_enabled(tmp_path, enabled: bool) -> None:  # type: ignore[no-untyped-def]
    proc, port = start(tmp_path, "tests.apps.basic", workers=1, access_log=enabled)
    try:
        wait_for_port(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/items/3?q=a%20b").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/nope").status_code == 404
    finally:
        _, out = finish(proc)
    lines = [line for line in out.splitlines() if "fastrapi.access" in line]
    if not enabled:
        assert lines == []
        return
    assert len(lines) == 2
    assert lines[0].endswith('- "GET /items/3?q=a%20b HTTP/1.1" 200 OK') and "127.0.0.1:" in lines[0]
    assert lines[1].endswith('- "GET /nope HTTP/1.1" 404 Not Found')
