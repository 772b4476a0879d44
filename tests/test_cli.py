"""``fastrapi run`` / ``fastrapi dev``: started as users start them, stopped with a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fastrapi.cli import CLIError, discover_app, main
from tests.conftest import ROOT, free_port, wait_for_port


def _start(args: list[str], log: Path, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "fastrapi", *args], cwd=cwd, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        raise


@pytest.mark.parametrize(("target", "extra", "sig"), [
    ("tests/apps/cli_app.py", ["--workers", "1"], signal.SIGINT),
    ("tests.apps.cli_app:api", ["--workers", "2", "--driver", "epoll", "--log-level", "warning",
                                "--no-access-log"], signal.SIGTERM),
])
def test_run_serves_and_stops(tmp_path: Path, target: str, extra: list[str], sig: int) -> None:
    port = free_port()
    log = tmp_path / "server.log"
    proc = _start(["run", target, "--port", str(port), *extra], log)
    try:
        wait_for_port(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/").json() == {"served_by": "fastrapi run"}
    finally:
        code = _stop(proc, sig)
    out = log.read_text()
    assert code == 0, out
    assert "fastrapi: app tests.apps.cli_app:api" in out
    assert f"fastrapi serving http://127.0.0.1:{port}" in out
    # The access log is on by default, as with uvicorn; --no-access-log turns it off.
    access_lines = [line for line in out.splitlines() if '"GET / HTTP/1.1" 200 OK' in line]
    assert len(access_lines) == (0 if "--no-access-log" in extra else 1), out


def test_reload_restarts_on_change(tmp_path: Path) -> None:
    app_dir = tmp_path / "project"
    app_dir.mkdir()
    main_py = app_dir / "main.py"
    source = (
        "from fastrapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "@app.get('/')\ndef root():\n    return {'v': VALUE}\n"
    )
    main_py.write_text(source.replace("VALUE", "1"))
    port = free_port()
    log = tmp_path / "dev.log"
    proc = _start(["dev", "main.py", "--port", str(port)], log, cwd=app_dir)
    try:
        wait_for_port(port, proc)
        assert httpx.get(f"http://127.0.0.1:{port}/").json() == {"v": 1}
        main_py.write_text(source.replace("VALUE", "2"))
        deadline = time.monotonic() + 20
        seen = None
        while time.monotonic() < deadline:
            try:
                seen = httpx.get(f"http://127.0.0.1:{port}/", timeout=2).json()
            except httpx.HTTPError:
                seen = None  # between the old server and the new one
            if seen == {"v": 2}:
                break
            time.sleep(0.1)
        assert seen == {"v": 2}, log.read_text()
    finally:
        code = _stop(proc)
    out = log.read_text()
    assert code == 0, out
    assert "main.py changed; restarting" in out
    with pytest.raises(httpx.ConnectError):  # the server process went with the supervisor
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


@pytest.fixture
def forget_modules():  # type: ignore[no-untyped-def]
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name == "main" or name.startswith("pkg_cli_demo"):
            del sys.modules[name]


def test_discovery(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forget_modules: None) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    pkg = tmp_path / "pkg_cli_demo"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "single.py").write_text("from fastrapi import FastAPI\nservice = FastAPI()\n")
    (pkg / "two.py").write_text("from fastrapi import FastAPI\na = FastAPI()\nb = FastAPI()\n")
    (pkg / "none.py").write_text("x = 1\n")
    (pkg / "unswapped.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    app, where = discover_app(str(pkg / "single.py"))
    assert where == "pkg_cli_demo.single:service"
    assert discover_app("pkg_cli_demo.single:service")[0] is app
    assert discover_app("pkg_cli_demo/two.py", "b")[1] == "pkg_cli_demo.two:b"
    with pytest.raises(CLIError, match="several FastAPI apps"):
        discover_app("pkg_cli_demo/two.py")
    with pytest.raises(CLIError, match="no FastAPI app found"):
        discover_app("pkg_cli_demo/none.py")
    # An unchanged FastAPI app is served too (over ASGI), and so is a factory's app.
    unswapped, where = discover_app("pkg_cli_demo/unswapped.py")
    assert where == "pkg_cli_demo.unswapped:app" and type(unswapped).__module__ == "fastapi.applications"
    factory = "from starlette.applications import Starlette\ndef create_app():\n    return Starlette()\n"
    (pkg / "factory.py").write_text(factory)
    made, where = discover_app("pkg_cli_demo/factory.py", factory=True)
    assert where == "pkg_cli_demo.factory:create_app" and type(made).__name__ == "Starlette"
    with pytest.raises(CLIError, match="not an ASGI application"):
        discover_app("pkg_cli_demo.none:x")
    with pytest.raises(CLIError, match='could not import module "pkg_cli_demo.missing"'):
        discover_app("pkg_cli_demo.missing:app")
    (pkg / "broken.py").write_text("import a_module_nobody_installed\n")
    with pytest.raises(ModuleNotFoundError, match="a_module_nobody_installed"):  # the app's own import: as is
        discover_app("pkg_cli_demo.broken:app")
    with pytest.raises(CLIError, match="none of main.py"):
        discover_app(None)
    (tmp_path / "main.py").write_text("from fastrapi import FastAPI\napi = FastAPI()\n")
    assert discover_app(None)[1] == "main:api"
    assert main(["run", "missing_file.py"]) == 2
