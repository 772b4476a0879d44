"""pytest plugin for scripts/fastapi_suite.py: exclusions, per-test outcomes, and the fastrapi client swap.

Loaded with ``-p fastapi_suite_plugin`` (the scripts/ folder on PYTHONPATH) while FastAPI's own suite runs:

- ``--fastapi-suite-exclusions=FILE`` leaves out the tests listed there (``path-or-nodeid-glob  # reason``):
  a pattern without ``::`` is a path glob, whose files are not even collected; one with ``::`` deselects tests.
  Patterns after a ``[client]`` line apply only with ``--fastapi-suite-client``.
- ``--fastapi-suite-outcomes=FILE`` writes each test's outcome and the first line of its error as JSON.
- ``--fastapi-suite-client`` makes ``starlette.testclient.TestClient`` (and so ``fastapi.testclient.TestClient``)
  fastrapi's runtime client, after checking that it can serve a plain ``fastapi.FastAPI`` app.
"""

from __future__ import annotations

import fnmatch
import json
import os
import pathlib
import re
import threading
import warnings
from typing import Any

import pytest

ERROR_LINE_PREFIX = "E   "


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fastapi-suite")
    group.addoption("--fastapi-suite-exclusions", metavar="FILE", help="tests to leave out, one glob a line")
    group.addoption("--fastapi-suite-outcomes", metavar="FILE", help="write per-test outcomes to this JSON file")
    group.addoption(
        "--fastapi-suite-client", action="store_true", help="serve every TestClient request with fastrapi's runtime"
    )


CLIENT_SECTION = "[client]"


def read_exclusion_entries(path: str) -> list[tuple[str, str, bool]]:
    """``(pattern, reason, client_only)`` for each exclusion in the file."""
    entries = []
    client_only = False
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        pattern, _, reason = (part.strip() for part in line.partition("#"))
        if pattern == CLIENT_SECTION:
            client_only = True
        elif pattern:
            entries.append((pattern, reason, client_only))
    return entries


def read_exclusions(path: str, *, client: bool) -> list[str]:
    """The patterns that apply to a run (with the client swap or not)."""
    return [pattern for pattern, _, client_only in read_exclusion_entries(path) if client or not client_only]


def is_excluded(nodeid: str, patterns: list[str]) -> bool:
    """Whether a test id falls under any pattern (a path glob or a test-id glob)."""
    return is_excluded_path(nodeid.split("::", 1)[0], patterns) or any(fnmatch.fnmatch(nodeid, p) for p in patterns)


def is_excluded_path(relative: str, patterns: list[str]) -> bool:
    """Whether a path (relative to the suite's root) falls under a path pattern (one without ``::``)."""
    return any(
        "::" not in p and (fnmatch.fnmatch(relative, p) or relative.startswith(p.rstrip("/") + "/")) for p in patterns
    )


def pytest_configure(config: pytest.Config) -> None:
    exclusions_file = config.getoption("fastapi_suite_exclusions")
    client = bool(config.getoption("fastapi_suite_client"))
    patterns = read_exclusions(exclusions_file, client=client) if exclusions_file else []
    config._fastapi_suite_exclusions = patterns  # type: ignore[attr-defined]
    if client:
        install_fastrapi_client()
    if config.getoption("fastapi_suite_outcomes") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(OutcomeRecorder(config.getoption("fastapi_suite_outcomes")), "fastapi-suite-out")


def pytest_ignore_collect(collection_path: pathlib.Path, config: pytest.Config) -> bool | None:
    relative = collection_path.relative_to(config.rootpath).as_posix()
    if is_excluded_path(relative, config._fastapi_suite_exclusions):  # type: ignore[attr-defined]
        return True
    return None  # not False: that would override pytest's own --ignore options


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    patterns = config._fastapi_suite_exclusions  # type: ignore[attr-defined]
    kept: list[pytest.Item] = []
    excluded: list[pytest.Item] = []
    for item in items:
        (excluded if any(fnmatch.fnmatch(item.nodeid, p) for p in patterns) else kept).append(item)
    if excluded:
        config.hook.pytest_deselected(items=excluded)
        items[:] = kept


# --- the fastrapi client swap ---------------------------------------------------------------------------------


def install_fastrapi_client() -> None:
    """Point Starlette's and FastAPI's ``TestClient`` at fastrapi's, before any test module imports them."""
    try:
        from fastrapi.testclient import TestClient as FastrapiTestClient
    except Exception as exc:
        raise pytest.UsageError(f"client mode: cannot import fastrapi.testclient.TestClient ({exc!r})") from exc
    check_serves_plain_fastapi_app(FastrapiTestClient)

    import fastapi.testclient
    import starlette.testclient

    starlette.testclient.TestClient = FastrapiTestClient  # type: ignore[misc,assignment]
    fastapi.testclient.TestClient = FastrapiTestClient  # type: ignore[misc,assignment]


def check_serves_plain_fastapi_app(client_class: Any) -> None:
    """Fail fast, with one clear message, when fastrapi cannot yet serve an unchanged ``fastapi.FastAPI`` app."""
    import fastapi

    app = fastapi.FastAPI()

    @app.get("/items/{item_id}")
    def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    expected = [("/items/3", 200, {"item_id": 3}), ("/items/x", 422, None)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # as the suite runs: an unclosed socket here would fail every test
            with client_class(app) as client:
                for path, status, body in expected:
                    response = client.get(path)
                    if response.status_code != status or (body is not None and response.json() != body):
                        raise AssertionError(f"GET {path} -> {response.status_code} {response.text[:200]}")
    except Exception as exc:
        raise pytest.UsageError(
            "client mode: fastrapi.testclient.TestClient(app) cannot serve a plain fastapi.FastAPI app yet "
            f"({type(exc).__name__}: {exc}). This mode needs the ASGI path that serves unchanged FastAPI apps."
        ) from exc


# --- per-test outcomes -----------------------------------------------------------------------------------------


def first_error_line(longrepr: Any) -> str:
    """The line that names the error: the crash message's first line, else the first ``E   `` line."""
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return str(crash.message).strip().splitlines()[0]
    if isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        return str(longrepr[2])
    text = str(longrepr or "")
    for line in text.splitlines():
        if line.startswith(ERROR_LINE_PREFIX):
            return line[len(ERROR_LINE_PREFIX) :].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


UNRAISABLE = "PytestUnraisableExceptionWarning"
CAUSE_LINE = re.compile(r"^(?:E\s+|[\s|]*)((?:\w+\.)*\w+(?:Warning|Error|Exception): .*)$", re.MULTILINE)


def unraisable_cause(longrepr: Any) -> str:
    """For an exception Python could not raise (a finaliser's ResourceWarning, turned into a test error by pytest),
    the line naming the original exception, which pytest's own message leaves out."""
    for _traceback, crash, _description in getattr(longrepr, "chain", []):
        message = str(getattr(crash, "message", "") or "").strip()
        if message and UNRAISABLE not in message and not message.startswith("ExceptionGroup"):
            return message.splitlines()[0]
    for match in CAUSE_LINE.finditer(str(longrepr or "")):
        if UNRAISABLE not in match.group(1) and not match.group(1).startswith("ExceptionGroup"):
            return match.group(1).strip()
    return ""


class OutcomeRecorder:
    """Collects one outcome per test id (passed, failed, error, skipped, xfailed, xpassed) on the controller."""

    def __init__(self, path: str) -> None:
        # Opened now: a run whose tests used up every descriptor could not open it at the end.
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.output = open(path, "w", encoding="utf-8")  # closed in pytest_sessionfinish
        self.tests: dict[str, dict[str, Any]] = {}
        self.collection_errors: dict[str, dict[str, str]] = {}
        self.deselected = 0
        self.durations: dict[str, float] = {}  # setup + call + teardown

    def record(self, nodeid: str, outcome: str, report: pytest.TestReport | None = None) -> None:
        entry: dict[str, Any] = {"outcome": outcome}
        if report is not None and outcome not in ("passed", "xpassed"):
            entry["message"] = first_error_line(report.longrepr)
            if UNRAISABLE in entry["message"] or "unraisable" in entry["message"]:
                entry["cause"] = unraisable_cause(report.longrepr)
        self.tests[nodeid] = entry

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        xfail = hasattr(report, "wasxfail")
        if report.when == "setup" and not report.passed:
            self.record(report.nodeid, "error" if report.failed else ("xfailed" if xfail else "skipped"), report)
        elif report.when == "call":
            if report.passed:
                self.record(report.nodeid, "xpassed" if xfail else "passed")
            else:
                self.record(report.nodeid, "failed" if report.failed else ("xfailed" if xfail else "skipped"), report)
        elif report.when == "teardown" and report.failed:
            self.record(report.nodeid, "error", report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors[report.nodeid] = {
                "message": first_error_line(report.longrepr),
                "detail": str(report.longrepr)[-2000:],
            }

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)

    @pytest.hookimpl(tryfirst=True)  # before pytest's own clean-ups, which may raise
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        for nodeid, entry in self.tests.items():
            entry["seconds"] = round(self.durations.get(nodeid, 0.0), 3)
        data = {
            # What the run left open (leaked by clients that were never closed) when it ended.
            "open_fds_at_end": len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None,
            "threads_at_end": threading.active_count(),
            "exit_status": int(exitstatus),
            "deselected": self.deselected,
            "tests": self.tests,
            "collection_errors": self.collection_errors,
        }
        with self.output:
            json.dump(data, self.output, indent=1, sort_keys=True)
