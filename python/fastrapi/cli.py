"""``fastrapi run`` / ``fastrapi dev``: serve an app from the command line, like ``fastapi run``.

    fastrapi run main.py                     # a file: its FastAPI instance (app, api, or the only one)
    fastrapi run mypackage.main:app          # module:attribute (a fastrapi, FastAPI or any ASGI app)
    fastrapi run mypackage.main:create_app --factory
    fastrapi dev main.py                     # = run --reload (one worker, restart on *.py changes)
    fastrapi doctor --workers 4              # what on this host blocks or limits those options
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

_DEFAULT_FILES = ("main.py", "app.py", "api.py", "app/main.py", "app/app.py", "app/api.py")
_LOG_LEVELS = {
    "critical": logging.CRITICAL,
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": logging.DEBUG,
}
# Set for a server process run under `--reload`: it must not outlive its supervisor.
_CHILD_ENV = "FASTRAPI_RELOAD_CHILD"


class CLIError(Exception):
    pass


# -- finding the app --------------------------------------------------------------------------
def _module_for_file(path: Path) -> tuple[str, Path]:
    """The import name of a file and the directory to put on ``sys.path`` (above its packages)."""
    path = path.resolve()
    parts = [path.stem] if path.name != "__init__.py" else []
    directory = path.parent
    while (directory / "__init__.py").exists():
        parts.insert(0, directory.name)
        directory = directory.parent
    if not parts:
        raise CLIError(f"cannot import {path}")
    return ".".join(parts), directory


def _resolve_target(target: str | None) -> tuple[str, str | None, Path, Path | None]:
    """``(module name, attribute or None, directory for sys.path, file)`` for a path or ``module:attr``."""
    if target is None:
        for candidate in _DEFAULT_FILES:
            if Path(candidate).is_file():
                target = candidate
                break
        else:
            raise CLIError(f"no app given and none of {', '.join(_DEFAULT_FILES)} exists here")
    path = Path(target)
    if path.suffix == ".py" or path.is_file() or path.is_dir():
        if path.is_dir():
            path = path / "__init__.py"
        if not path.is_file():
            raise CLIError(f"file not found: {target}")
        module, directory = _module_for_file(path)
        return module, None, directory, path.resolve()
    module, _, attr = target.partition(":")
    if not module:
        raise CLIError(f"expected path/to/main.py or module:app, got {target!r}")
    return module, attr or None, Path.cwd(), None


def _is_app_instance(obj: Any) -> bool:
    """A fastrapi, FastAPI or Starlette application object (what discovery looks for)."""
    frameworks = ("fastrapi", "fastapi", "starlette")
    return any(
        cls.__name__ in ("FastAPI", "Starlette") and cls.__module__.split(".")[0] in frameworks
        for cls in type(obj).__mro__
    )


def discover_app(target: str | None, app_name: str | None = None, factory: bool = False) -> tuple[Any, str]:
    """Import the target and return ``(app, "module:attr")``: a fastrapi app, or any ASGI app
    (FastAPI, Starlette, a bare callable). With ``factory``, the attribute is called to make it."""
    module_name, attr, directory, _ = _resolve_target(target)
    attr = app_name or attr
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is None or not module_name.startswith(e.name):
            raise  # a module the app itself imports is missing: its traceback says where
        raise CLIError(f'could not import module "{module_name}" (no module named {e.name!r})') from None
    if attr is None:
        attr = _find_app(module, module_name, factory)
    try:
        app = getattr(module, attr)
    except AttributeError:
        raise CLIError(f"module {module_name!r} has no attribute {attr!r}") from None
    if factory:
        if not callable(app):
            raise CLIError(f"{module_name}:{attr} is not callable, so it can not be a factory")
        app = app()
    if not callable(app):
        raise CLIError(f"{module_name}:{attr} is not an ASGI application (it is {type(app).__name__})")
    return app, f"{module_name}:{attr}"


def _find_app(module: Any, module_name: str, factory: bool) -> str:
    """The attribute holding the module's app: ``app`` or ``api``, else its only app object."""
    if factory:
        for name in ("create_app", "app_factory"):
            if callable(getattr(module, name, None)):
                return name
        raise CLIError(f"no create_app() in {module_name}: name the factory with module:function")
    for name in ("app", "api"):
        if _is_app_instance(getattr(module, name, None)):
            return name
    found = [name for name, value in vars(module).items() if _is_app_instance(value)]
    if len(found) == 1:
        return found[0]
    if found:
        raise CLIError(f"{module_name} has several FastAPI apps ({', '.join(found)}): name one with module:attr")
    raise CLIError(f"no FastAPI app found in {module_name}: name one with module:attr")


# -- arguments --------------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastrapi", description="Serve a FastAPI app with fastrapi.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("run", "serve the app"),
        ("dev", "serve the app and restart it when a .py file changes (run --reload)"),
    ):
        cmd = commands.add_parser(name, help=help_text, description=help_text)
        cmd.add_argument("path", nargs="?", help="path/to/main.py or module:app (default: main.py, app.py, ...)")
        cmd.add_argument("--app", help="name of the FastAPI instance in the module")
        cmd.add_argument("--explain", action="store_true",
                         help="list the routes that are not native, with the reason, and exit")
        cmd.add_argument("--factory", action="store_true",
                         help="the named attribute is a function that returns the app (create_app by default)")
        cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
        cmd.add_argument("--port", type=int, default=8000, help="port to bind (default 8000; 0 picks a free one)")
        cmd.add_argument("--workers", type=int, default=None, help="worker count (default one per CPU; 1 with reload)")
        cmd.add_argument("--driver", default="auto", choices=["auto", "io_uring", "epoll"], help="I/O driver")
        cmd.add_argument("--reload", action=argparse.BooleanOptionalAction, default=name == "dev",
                         help="restart on changes to .py files under the app's directory")
        cmd.add_argument("--threadpool-size", type=int, default=40,
                         help="threads for blocking sync code, per worker (default 40, as FastAPI's)")
        cmd.add_argument("--sync-mode", default="auto", choices=["auto", "inline", "threadpool"],
                         help="where def endpoints and dependencies run (default auto: inline until one blocks)")
        cmd.add_argument("--log-level", default=None, choices=list(_LOG_LEVELS),
                         help="level of fastrapi's logs (default info)")
        cmd.add_argument("--log-config", metavar="FILE",
                         help="logging configuration: .json or .yaml (dictConfig), else a fileConfig .ini")
        cmd.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=None,
                         help="log each request on the fastrapi.access logger (default: on)")
        cmd.add_argument("--env-file", metavar="FILE", help="load environment variables from this .env file first")
        _add_deployment_arguments(cmd)
    from fastrapi import _doctor

    doctor_help = "check this host (kernel, io_uring, limits) for the given options"
    _doctor.add_arguments(commands.add_parser("doctor", help=doctor_help, description=doctor_help))
    return parser


def _add_deployment_arguments(cmd: argparse.ArgumentParser) -> None:
    """Listening, proxies, limits and timeouts, under uvicorn's option names."""
    cmd.add_argument("--uds", metavar="PATH", help="listen on a Unix domain socket at PATH instead of host:port")
    cmd.add_argument("--fd", type=int, help="accept from this inherited listening socket (socket activation)")
    cmd.add_argument("--root-path", default="", help="the path prefix the app is mounted under behind a proxy")
    cmd.add_argument("--proxy-headers", action=argparse.BooleanOptionalAction, default=True,
                     help="trust X-Forwarded-For/-Proto and Forwarded from --forwarded-allow-ips (default: on)")
    cmd.add_argument("--forwarded-allow-ips", default=None,
                     help="comma-separated addresses/networks to trust proxy headers from, or '*' "
                          "(default $FORWARDED_ALLOW_IPS or 127.0.0.1,::1)")
    cmd.add_argument("--limit-concurrency", type=int, default=None,
                     help="connections per worker above which requests get a 503")
    cmd.add_argument("--limit-max-requests", type=int, default=None,
                     help="replace a worker process after it served this many requests")
    cmd.add_argument("--limit-max-requests-jitter", type=int, default=0,
                     help="add up to this many requests to --limit-max-requests, per worker")
    cmd.add_argument("--timeout-keep-alive", type=float, default=5,
                     help="close an idle keep-alive connection after this many seconds (default 5)")
    cmd.add_argument("--timeout-graceful-shutdown", type=float, default=None,
                     help="seconds a stopping worker waits for its connections (default 30)")
    cmd.add_argument("--timeout-write", type=float, default=30,
                     help="close a connection whose response write makes no progress for this long (default 30)")


def _configure_logging(level_name: str | None, config_file: str | None) -> None:
    """uvicorn's --log-config (applied first) and --log-level (on fastrapi's loggers)."""
    if config_file is not None:
        _apply_log_config(config_file)
    logger = logging.getLogger("fastrapi")
    if config_file is None and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:%(name)s: %(message)s"))
        logger.addHandler(handler)
    if level_name is not None or config_file is None:
        logger.setLevel(_LOG_LEVELS[level_name or "info"])


def _apply_log_config(path: str) -> None:
    import logging.config

    if not Path(path).is_file():
        raise CLIError(f"log config not found: {path}")
    if path.endswith(".json"):
        import json

        logging.config.dictConfig(json.loads(Path(path).read_text()))
    elif path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ModuleNotFoundError:
            raise CLIError("a YAML --log-config needs PyYAML: pip install pyyaml") from None
        logging.config.dictConfig(yaml.safe_load(Path(path).read_text()))
    else:
        logging.config.fileConfig(path, disable_existing_loggers=False)


def _load_env_file(path: str) -> None:
    try:
        from dotenv import load_dotenv
    except ModuleNotFoundError:
        raise CLIError("--env-file needs python-dotenv: pip install python-dotenv") from None
    if not Path(path).is_file():
        raise CLIError(f"env file not found: {path}")
    load_dotenv(dotenv_path=path)


def _serve_options(args: argparse.Namespace) -> dict[str, Any]:
    # The access log is on by default, as with uvicorn and `fastapi run`; `app.serve()` leaves it off.
    options: dict[str, Any] = {
        "access_log": True if args.access_log is None else args.access_log,
        "threadpool_size": args.threadpool_size,
        "sync_mode": args.sync_mode,
        "uds": args.uds,
        "fd": args.fd,
        "root_path": args.root_path,
        "proxy_headers": args.proxy_headers,
        "limit_concurrency": args.limit_concurrency,
        "limit_max_requests": args.limit_max_requests,
        "limit_max_requests_jitter": args.limit_max_requests_jitter,
        "keep_alive_timeout": args.timeout_keep_alive,
        "write_timeout": args.timeout_write,
    }
    if args.forwarded_allow_ips is not None:
        options["forwarded_allow_ips"] = args.forwarded_allow_ips
    if args.timeout_graceful_shutdown is not None:
        options["graceful_timeout"] = args.timeout_graceful_shutdown
    return options


def _run(args: argparse.Namespace) -> int:
    if os.environ.get(_CHILD_ENV):
        from fastrapi import _fastrapi

        _fastrapi.set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != int(os.environ[_CHILD_ENV]):
            return 0  # the supervisor is already gone
    if args.uds is not None and args.fd is not None:
        raise CLIError("give --uds or --fd, not both")
    if args.env_file is not None:  # before the app is imported, as uvicorn loads it
        _load_env_file(args.env_file)
    _configure_logging(args.log_level, args.log_config)
    app, where = discover_app(args.path, args.app, factory=args.factory)
    if args.explain:
        return _explain(app, where)
    from fastrapi._server import serve

    print(f"fastrapi: app {where}", flush=True)
    serve(app, host=args.host, port=args.port, workers=args.workers, driver=args.driver, **_serve_options(args))
    return 0


def _explain(app: Any, where: str) -> int:
    """What a worker would compile (after the app's lifespan startup, as a worker does)."""
    from fastrapi._compiler import compile_app, describe, explain
    from fastrapi._loop import CoreLoop
    from fastrapi._server import _Lifespan

    loop = CoreLoop()
    lifespan = _Lifespan(app)
    try:
        loop.run_until_complete(lifespan.startup())
        try:
            compile_app(app)
            print(f"{where}: {describe(app)}")
            for route, reason in explain(app):
                print(f"  {route}: {reason}")
        finally:
            loop.run_until_complete(lifespan.shutdown())
    finally:
        loop.close()
    return 0


# -- reload -----------------------------------------------------------------------------------
def _watch_directory(args: argparse.Namespace) -> Path:
    """The directory of the app's file (found without importing the app)."""
    module_name, _, directory, file = _resolve_target(args.path)
    if file is not None:
        return file.parent
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    try:
        spec = importlib.util.find_spec(module_name)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        return Path(spec.origin).resolve().parent
    return Path.cwd()


def _reload(args: argparse.Namespace, argv: list[str]) -> int:
    try:
        import watchfiles
    except ModuleNotFoundError:
        raise CLIError("--reload needs the watchfiles package: pip install 'fastrapi[reload]'") from None
    directory = _watch_directory(args)
    child_argv = [a for a in argv if a not in ("--reload", "--no-reload")]
    if child_argv and child_argv[0] == "dev":
        child_argv[0] = "run"
    if args.workers is None:
        child_argv += ["--workers", "1"]
    command = [sys.executable, "-m", "fastrapi", *child_argv, "--no-reload"]
    env = dict(os.environ, **{_CHILD_ENV: str(os.getpid())})
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    print(f"fastrapi: watching {directory} for changes to .py files", flush=True)
    child = subprocess.Popen(command, env=env)
    try:
        for changes in watchfiles.watch(
            directory, watch_filter=watchfiles.PythonFilter(), debounce=400, step=50, stop_event=stop,
            raise_interrupt=False,
        ):
            names = sorted({os.path.relpath(path, directory) for _, path in changes})
            print(f"fastrapi: {', '.join(names)} changed; restarting", flush=True)
            _stop_child(child)
            child = subprocess.Popen(command, env=env)
    finally:
        _stop_child(child)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def _stop_child(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(40)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    if args.command == "doctor":
        from fastrapi import _doctor

        return _doctor.main(args)
    try:
        if args.reload:
            return _reload(args, argv)
        return _run(args)
    except CLIError as exc:
        print(f"fastrapi: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
