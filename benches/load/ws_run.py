#!/usr/bin/env python3
"""fastrapi WebSocket echo benchmark runner (Python 3.11 standard library only).

The WebSocket counterpart of run.py (whose /proc helpers it reuses). For each server —
fastrapi with the io_uring and the epoll driver, and FastAPI + uvicorn (``--ws websockets``),
all serving apps/ws_echo.py with one worker — the runner:

  1. starts it pinned to CPU 1 (``taskset -c 1``) on a free 127.0.0.1 port and waits until a
     WebSocket handshake on /ws succeeds and one text message comes back as its echo;
  2. warms up, then runs the load generator pinned to CPU 0 (``taskset -c 0 wsload --url
     ws://127.0.0.1:PORT/ws -c 64 -d 10 -s 32``: 64 connections, each sending one 32-byte
     text message and awaiting its echo, in a loop) N times, reading the server's CPU time
     from /proc around every run;
  3. reads its resident memory (VmRSS, summed over its process tree);
  4. stops it (SIGTERM, SIGKILL after 5 s).

It prints a markdown table of the medians and writes benches/results/ws-latest.md (and
ws-latest.json). Only 127.0.0.1 is ever targeted; every load run is bounded in time (wsload
has per-operation timeouts and a hard stop, and the runner a subprocess timeout), and all
started processes are stopped on exit, including on errors and Ctrl-C.

    python3 benches/load/ws_run.py              # full run: 3 x 10 s per server
    python3 benches/load/ws_run.py --quick      # smoke test: 1 x 3 s
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import glob
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# run.py sits next to this file (and so on sys.path when this file is run as a script).
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as http_run  # noqa: E402

HOST = http_run.HOST  # 127.0.0.1, the only address this runner ever targets
SERVER_CPU = http_run.SERVER_CPU
LOAD_CPU = http_run.LOAD_CPU
APPS = http_run.APPS
REPO = http_run.REPO
RESULTS = http_run.RESULTS
CLK_TCK = http_run.CLK_TCK
OTHER_LOAD_LIMIT = http_run.OTHER_LOAD_LIMIT
WS_PATH = "/ws"
TARGET_VS_FASTAPI = 8.0  # issue 6: WebSocket echo messages/s >= 8x FastAPI + uvicorn


@dataclasses.dataclass(frozen=True)
class WsServer:
    key: str
    label: str
    kind: str  # "fastrapi" | "fastapi"
    driver: str | None


SERVERS: dict[str, WsServer] = {
    s.key: s
    for s in [
        WsServer("fastrapi-uring", "fastrapi (io_uring)", "fastrapi", "io_uring"),
        WsServer("fastrapi-epoll", "fastrapi (epoll)", "fastrapi", "epoll"),
        WsServer("fastapi", "FastAPI + uvicorn", "fastapi", None),  # label completed with --fastapi-ws
    ]
}


def server_command(server: WsServer, port: int, args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    py = args.python
    if server.kind == "fastapi":
        env["BENCH_FRAMEWORK"] = "fastapi"
        cmd = [
            py, "-m", "uvicorn", "ws_echo:app",
            "--host", HOST, "--port", str(port),
            "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--ws", args.fastapi_ws,
            "--no-access-log",
        ]  # fmt: skip
    else:
        env["BENCH_FRAMEWORK"] = "fastrapi"
        # Same as run.py: an in-place build (maturin develop) is importable from python/.
        if glob.glob(str(REPO / "python" / "fastrapi" / "_fastrapi*.so")):
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "python"), env.get("PYTHONPATH")]))
        cmd = [py, "ws_echo.py", str(port), server.driver or "auto"]
    return ["taskset", "-c", SERVER_CPU, *cmd], env


# --------------------------------------------------------------------------- a tiny client


class WsCheckError(Exception):
    """The server answered, but not as a WebSocket echo should (not a start-up delay)."""


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("connection closed")
        data += chunk
    return data


def _masked(opcode: int, payload: bytes) -> bytes:
    mask = os.urandom(4)
    assert len(payload) < 126
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def ws_echo_check(port: int, timeout: float = 3.0) -> None:
    """One handshake + one text message. OSError: not reachable (yet); WsCheckError: wrong answer."""
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(
            (
                f"GET {WS_PATH} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise WsCheckError(f"connection closed during the handshake ({head[:60]!r})")
            head += chunk
            if len(head) > 16384:
                raise WsCheckError("handshake response head too long")
        head, _, rest = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n", 1)[0].decode(errors="replace")
        if not status.startswith("HTTP/1.1 101"):
            raise WsCheckError(f"handshake answered {status!r}")
        if rest:
            raise WsCheckError("unexpected bytes after the handshake")
        text = b"wsload check \xc3\xa9"
        sock.sendall(_masked(0x1, text))
        b0, b1 = _recv_exact(sock, 2)
        length = b1 & 0x7F
        if b0 != 0x81 or b1 & 0x80 or length >= 126:
            raise WsCheckError(f"unexpected frame header {bytes([b0, b1])!r}")
        echo = _recv_exact(sock, length)
        if echo != text:
            raise WsCheckError(f"echo {echo!r} != {text!r}")
        sock.sendall(_masked(0x8, (1000).to_bytes(2, "big")))
        try:
            sock.recv(64)  # the close frame back (best effort)
        except OSError:
            pass


class RunningWsServer(http_run.RunningServer):
    """run.py's RunningServer (log, stop) with the WebSocket app's command and readiness check."""

    def __init__(self, server: WsServer, args: argparse.Namespace, logdir: Path):
        self.server = server  # type: ignore[assignment]  # a WsServer, not run.Server
        self.port = http_run.free_port()
        self.log_path = logdir / f"ws-{server.key}.log"
        cmd, env = server_command(server, self.port, args)
        self.cmd = cmd
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd, cwd=APPS, env=env, stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last_err = "no answer"
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                raise http_run.StartError(f"exited with code {rc} before answering")
            try:
                ws_echo_check(self.port)
                return
            except WsCheckError:
                raise
            except OSError as e:
                last_err = str(e) or type(e).__name__
            time.sleep(0.1)
        raise http_run.StartError(f"did not answer within {timeout:.0f} s ({last_err})")


# --------------------------------------------------------------------------- load


@dataclasses.dataclass
class WsRunResult:
    msgs_per_s: float
    messages: int
    avg_ms: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_detail: str = ""
    connected: int = 0
    cpu_s: float = 0.0  # server CPU during the run
    gen_cpu_s: float = 0.0  # load generator CPU during the run
    wall_s: float = 0.0
    other_cores: float = 0.0

    @property
    def cpu_us_per_msg(self) -> float:
        return self.cpu_s * 1e6 / self.messages if self.messages else float("nan")

    @property
    def gen_cores(self) -> float:
        return self.gen_cpu_s / self.wall_s if self.wall_s > 0 else float("nan")


def wsload_binary(args: argparse.Namespace) -> Path:
    if args.wsload_bin:
        return Path(args.wsload_bin)
    return Path(os.environ.get("CARGO_TARGET_DIR", "/work/target-bench")) / "release" / "wsload"


def parse_wsload(out: str) -> WsRunResult:
    try:
        data = json.loads(out)
        lat = data.get("latency_ms") or {}
        kinds = {k: int(v) for k, v in (data.get("error_kinds") or {}).items() if v}
        detail = ", ".join(f"{k} {v}" for k, v in kinds.items())
        samples = data.get("error_samples") or []
        if samples:
            detail += f" (first: {samples[0]})"
        if data.get("hard_stop"):
            detail = "wsload hard stop; " + detail
        nan = float("nan")
        return WsRunResult(
            msgs_per_s=float(data["messages_per_sec"]),
            messages=int(data["messages"]),
            avg_ms=float(lat.get("avg", nan)),
            p50_ms=float(lat.get("p50", nan)),
            p99_ms=float(lat.get("p99", nan)),
            errors=int(data["errors"]),
            error_detail=detail,
            connected=int(data.get("connected", 0)),
        )
    except (ValueError, KeyError, TypeError) as e:
        raise http_run.LoadError(f"cannot parse wsload output ({e}): {out.strip()[:300]}") from e


def run_wsload(args: argparse.Namespace, port: int, seconds: float) -> WsRunResult:
    cmd = [
        "taskset", "-c", LOAD_CPU, str(wsload_binary(args)),
        "--url", f"ws://{HOST}:{port}{WS_PATH}",
        "--connections", str(args.connections), "--duration", f"{seconds:g}",
        "--message-size", str(args.message_size), "--pipeline", str(args.pipeline),
        "--timeout", f"{args.timeout:g}", "--driver", args.load_driver,
    ]  # fmt: skip
    limit = seconds + 2 * args.timeout + 30
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise http_run.LoadError(f"wsload did not finish within {limit:.0f} s") from e
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise http_run.LoadError(f"wsload exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()[-300:]}")
    return parse_wsload(proc.stdout)


def measured_run(srv: RunningWsServer, args: argparse.Namespace) -> WsRunResult:
    cpu0, gen0, (tot0, busy0) = (
        http_run.tree_cpu_seconds(srv.pid),
        http_run.children_cpu_seconds(),
        http_run.machine_jiffies(),
    )
    t0 = time.monotonic()
    res = run_wsload(args, srv.port, args.duration)
    res.wall_s = time.monotonic() - t0
    cpu1, gen1, (tot1, busy1) = (
        http_run.tree_cpu_seconds(srv.pid),
        http_run.children_cpu_seconds(),
        http_run.machine_jiffies(),
    )
    res.cpu_s = cpu1 - cpu0
    res.gen_cpu_s = gen1 - gen0
    wall = (tot1 - tot0) / CLK_TCK / (os.cpu_count() or 1)
    if wall > 0:
        other = (busy1 - busy0) / CLK_TCK - res.cpu_s - res.gen_cpu_s
        res.other_cores = max(0.0, other / wall)
    return res


@dataclasses.dataclass
class Row:
    server: WsServer
    runs: list[WsRunResult] = dataclasses.field(default_factory=list)
    rss_mib: float | None = None
    note: str = ""  # why the row failed (then it shows n/a)
    warning: str = ""  # measured, but to distrust (noisy machine, saturated load generator)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and not self.note

    def median(self, attr: str) -> float:
        vals = [getattr(r, attr) for r in self.runs]
        return statistics.median(vals) if vals else float("nan")


def bench_server(server: WsServer, args: argparse.Namespace, logdir: Path, log: Any) -> Row:
    log(f"== {server.label}")
    row = Row(server)
    srv: RunningWsServer | None = None
    try:
        try:
            srv = RunningWsServer(server, args, logdir)
            srv.wait_ready(args.start_timeout)
        except (http_run.StartError, OSError) as e:
            tail = srv.log_tail() if srv else ""
            log(
                f"    failed to start: {e}"
                + ("\n    --- server log ---\n    " + tail.replace("\n", "\n    ") if tail else "")
            )
            last = tail.strip().splitlines()[-1][:80] if tail.strip() else ""
            row.note = f"failed to start: {e}" + (f" ({last})" if last else "")
            return row
        except WsCheckError as e:
            row.note = f"echo check failed: {e}"
            log(f"    n/a ({row.note})")
            return row
        log(f"    pid {srv.pid}, port {srv.port}: {' '.join(srv.cmd)}")
        foreign = http_run.foreign_listeners(srv.port, srv.pid)
        if foreign:
            row.note = f"port shared with another process ({foreign})"
            log(f"    {row.note}: skipping")
            return row
        try:
            if args.warmup > 0:
                run_wsload(args, srv.port, args.warmup)
            for i in range(args.runs):
                row.runs.append(
                    http_run.least_noisy_run(
                        srv.proc,
                        lambda: measured_run(srv, args),
                        lambda res, i=i: (
                            f"    run {i + 1}/{args.runs}: {res.msgs_per_s:,.0f} msgs/s, avg {res.avg_ms:.2f} ms, "
                            f"p99 {res.p99_ms:.2f} ms, {res.cpu_us_per_msg:.1f} µs CPU/msg, "
                            f"load generator {res.gen_cores:.2f} cores, other load {res.other_cores:.2f} cores"
                        ),
                        args.noisy_retries,
                        log,
                    )
                )
            errors = sum(r.errors for r in row.runs)
            total = sum(r.messages for r in row.runs)
            if total == 0:
                worst = max(row.runs, key=lambda r: r.errors)
                row.note = "no message echoed" + (f" ({worst.error_detail})" if worst.error_detail else "")
            elif errors > 0.01 * total:
                worst = max(row.runs, key=lambda r: r.errors)
                row.note = f"{errors} errors / {total} messages ({worst.error_detail})"
            elif errors:
                worst = max(row.runs, key=lambda r: r.errors)
                row.warning = f"{errors} errors ({worst.error_detail})"
            warnings = [row.warning] if row.warning else []
            noisy = [r.other_cores for r in row.runs if r.other_cores > OTHER_LOAD_LIMIT]
            if noisy:
                warnings.append(f"noisy: {len(noisy)}/{len(row.runs)} run(s) had other load up to {max(noisy):.2f}")
            if row.median("gen_cores") > 0.9:
                warnings.append(f"load generator near saturation ({row.median('gen_cores'):.2f} cores)")
            row.warning = "; ".join(warnings)
        except http_run.LoadError as e:
            row.note = str(e).splitlines()[0][:160]
            log(f"    n/a ({row.note})")
        if srv.proc.poll() is None:
            row.rss_mib = http_run.tree_rss_mib(srv.pid)
            foreign = http_run.foreign_listeners(srv.port, srv.pid)
            if foreign:
                row.note = row.note or f"port {srv.port} was shared with another process ({foreign}): discarded"
        else:
            exited = f"server exited with code {srv.proc.returncode} during the load"
            row.note = f"{exited}; {row.note}" if row.note and "server exited" not in row.note else (row.note or exited)
            tail = srv.log_tail()
            if tail:
                log("    --- server log ---\n    " + tail.replace("\n", "\n    "))
        return row
    finally:
        if srv is not None:
            srv.stop()


# --------------------------------------------------------------------------- report

fmt = http_run.fmt


def ratios(rows: list[Row]) -> dict[str, dict[str, float]]:
    by = {r.server.key: r for r in rows if r.ok}
    ref = by.get("fastapi")
    out: dict[str, dict[str, float]] = {}
    for key, r in by.items():
        d: dict[str, float] = {}
        if ref:
            d["vs_fastapi"] = r.median("msgs_per_s") / ref.median("msgs_per_s")
            d["cpu_vs_fastapi"] = r.median("cpu_us_per_msg") / ref.median("cpu_us_per_msg")
        out[key] = d
    return out


def render_table(rows: list[Row]) -> str:
    rat = ratios(rows)
    lines = [
        "| server | msgs/s (median) | avg latency | p50 | p99 | CPU µs/msg | RSS MiB | msgs/s vs FastAPI "
        "| CPU/msg vs FastAPI | load-gen CPU | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in rows:
        d = rat.get(r.server.key, {})
        if r.ok:
            cells = [
                fmt(r.median("msgs_per_s"), ",.0f"),
                fmt(r.median("avg_ms"), ".2f", " ms"),
                fmt(r.median("p50_ms"), ".2f", " ms"),
                fmt(r.median("p99_ms"), ".2f", " ms"),
                fmt(r.median("cpu_us_per_msg"), ".1f"),
                fmt(r.rss_mib, ".1f"),
                fmt(d.get("vs_fastapi"), ".2f", "×", missing=""),
                fmt(d.get("cpu_vs_fastapi"), ".3f", "×", missing=""),
                fmt(r.median("gen_cores") * 100, ".0f", "%"),
            ]
        else:
            cells = ["n/a"] * 5 + [fmt(r.rss_mib, ".1f"), "", "", ""]
        note = "; ".join(x for x in (r.note, r.warning) if x).replace("|", "\\|")
        lines.append(f"| {r.server.label} | " + " | ".join(cells) + f" | {note} |")
    return "\n".join(lines)


def render_targets(rows: list[Row]) -> str:
    rat = ratios(rows)
    by = {r.server.key: r for r in rows if r.ok}
    fa = by.get("fastapi")
    out = []
    for key in ("fastrapi-uring", "fastrapi-epoll"):
        r = by.get(key)
        d = rat.get(key, {})
        if not r or "vs_fastapi" not in d:
            continue
        v = d["vs_fastapi"]
        noisy = " (noisy or generator-bound run: rerun on an idle machine)" if r.warning or (fa and fa.warning) else ""
        out.append(
            f"- {r.server.label}: ≥ {TARGET_VS_FASTAPI:g}× FastAPI messages/s: "
            f"**{'pass' if v >= TARGET_VS_FASTAPI else 'FAIL'}** ({v:.2f}×){noisy}"
        )
    return "\n".join(out)


def render_runs(rows: list[Row]) -> str:
    lines = [
        "| server | run | msgs/s | messages | avg | p50 | p99 | server CPU s | CPU µs/msg | load-gen cores "
        "| errors | other load (cores) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        for i, x in enumerate(r.runs, 1):
            cells = [
                r.server.label,
                str(i),
                f"{x.msgs_per_s:,.0f}",
                f"{x.messages:,}",
                f"{x.avg_ms:.2f} ms",
                f"{x.p50_ms:.2f} ms",
                f"{x.p99_ms:.2f} ms",
                f"{x.cpu_s:.2f}",
                f"{x.cpu_us_per_msg:.1f}",
                f"{x.gen_cores:.2f}",
                str(x.errors),
                f"{x.other_cores:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment(args: argparse.Namespace) -> dict[str, str]:
    env = http_run.environment(argparse.Namespace(python=args.python, tool="wrk"))
    env.pop("tool", None)
    try:
        p = subprocess.run(
            [args.python, "-c", "import importlib.metadata as m; print(m.version('websockets'))"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        ws_version = p.stdout.strip() or "-"
    except (OSError, subprocess.TimeoutExpired):
        ws_version = "-"
    env["packages"] = (env.get("packages", "") + f"; websockets {ws_version}").lstrip("; ")
    binary = wsload_binary(args)
    if binary.is_file():
        built = datetime.datetime.fromtimestamp(binary.stat().st_mtime).astimezone().strftime("%Y-%m-%d %H:%M %Z")
        env["tool"] = f"wsload {binary} (built {built}), --driver {args.load_driver}"
    return env


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--servers", default=",".join(SERVERS), help=f"comma list from: {', '.join(SERVERS)}")
    p.add_argument("--duration", type=float, default=10.0, help="seconds per run (default 10)")
    p.add_argument("--runs", type=int, default=3, help="runs per server; the median is reported")
    p.add_argument("--connections", "-c", type=int, default=64)
    p.add_argument("--message-size", type=int, default=32, help="bytes per text message (default 32)")
    p.add_argument("--pipeline", type=int, default=1, help="messages in flight per connection (default 1)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load first (0 = none)")
    p.add_argument(
        "--noisy-retries",
        type=int,
        default=2,
        help=f"repeat a run whose other load exceeded {OTHER_LOAD_LIMIT} cores up to N times (keep the quietest)",
    )
    p.add_argument("--quick", action="store_true", help="smoke test: 1 run of 3 s, 1 s warm-up")
    p.add_argument("--timeout", type=float, default=5.0, help="wsload's per-operation timeout in seconds")
    p.add_argument("--load-driver", choices=("io_uring", "epoll"), default="io_uring", help="wsload's monoio driver")
    p.add_argument(
        "--fastapi-ws",
        choices=("websockets", "websockets-sansio", "wsproto", "auto"),
        default="websockets",
        help="uvicorn's --ws implementation (default websockets; uvicorn 0.54's auto means websockets-sansio)",
    )
    p.add_argument("--start-timeout", type=float, default=30.0, help="seconds to wait for a server to answer")
    p.add_argument("--python", default=sys.executable, help="interpreter for the Python servers")
    p.add_argument("--wsload-bin", help="path of wsload (default $CARGO_TARGET_DIR/release/wsload)")
    p.add_argument("--output", default=str(RESULTS / "ws-latest.md"), help="markdown report ('' = don't write)")
    args = p.parse_args(argv)
    if args.quick:
        args.runs, args.duration, args.warmup = 1, 3.0, 1.0
    if args.duration <= 0 or args.duration > 600 or args.runs < 1 or args.runs > 20:
        p.error("--duration must be in (0, 600] and --runs in [1, 20]")
    if not 0 <= args.noisy_retries <= 5:
        p.error("--noisy-retries must be in [0, 5]")
    if not 1 <= args.connections <= 10000:
        p.error("--connections must be in [1, 10000]")
    if not 0 <= args.message_size <= 1 << 20 or not 1 <= args.pipeline <= 1024:
        p.error("--message-size must be in [0, 1 MiB] and --pipeline in [1, 1024]")
    if not 0 < args.timeout <= 60:
        p.error("--timeout must be in (0, 60]")
    try:
        args.server_list = [SERVERS[s.strip()] for s in args.servers.split(",") if s.strip()]
    except KeyError as e:
        p.error(f"unknown server {e}")
    args.server_list = [
        dataclasses.replace(s, label=f"FastAPI + uvicorn ({args.fastapi_ws})") if s.kind == "fastapi" else s
        for s in args.server_list
    ]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if shutil.which("taskset") is None:
        log("taskset not found (util-linux); cannot pin server and load generator")
        return 2
    if not wsload_binary(args).is_file():
        log(f"{wsload_binary(args)} not built (run benches/load/setup.sh)")
        return 2
    if (os.cpu_count() or 1) < 2:
        log("warning: fewer than 2 CPUs: server and load generator share a core")

    def on_sigterm(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)

    busy = http_run.cpu_busy_fraction()
    busy_note = ""
    if busy > 0.10:
        busy_note = f"machine was {busy:.0%} busy before the benchmark: other load skews these numbers"
        log(f"warning: {busy_note}")

    rows: list[Row] = []
    interrupted = False
    started = time.monotonic()
    settings = (
        f"{args.runs} run(s) × {args.duration:g} s, {args.connections} connections, {args.message_size}-byte text "
        f"messages, pipeline {args.pipeline}, {args.warmup:g} s warm-up"
    )
    with tempfile.TemporaryDirectory(prefix="fastrapi-wsbench-") as tmp:
        log(f"wsload: {settings}; server on CPU {SERVER_CPU}, load on CPU {LOAD_CPU}")
        try:
            for server in args.server_list:
                rows.append(bench_server(server, args, Path(tmp), log))
        except KeyboardInterrupt:
            interrupted = True
            log("interrupted: servers stopped; reporting what was measured")

    env = environment(args)
    table = render_table(rows)
    targets = render_targets(rows)
    print(table)
    if targets:
        print("\nIssue 6 target:\n" + targets)

    if args.output:
        out = Path(args.output)
        cmdline = "python3 benches/load/ws_run.py " + " ".join(argv if argv is not None else sys.argv[1:])
        settings_json = {
            k: getattr(args, k)
            for k in (
                "runs", "duration", "connections", "message_size", "pipeline", "warmup", "noisy_retries", "fastapi_ws",
            )
        }  # fmt: skip
        rat = ratios(rows)
        json_rows = [
            {
                "server": r.server.key,
                "ok": r.ok,
                "note": r.note,
                "warning": r.warning,
                "rss_mib": r.rss_mib,
                "runs": [
                    dataclasses.asdict(x) | {"cpu_us_per_msg": x.cpu_us_per_msg, "gen_cores": x.gen_cores}
                    for x in r.runs
                ],
                "ratios": rat.get(r.server.key, {}),
            }
            for r in rows
        ]
        report = http_run.Report(
            "# fastrapi WebSocket echo benchmark",
            cmdline,
            f"wsload, {settings}; total {time.monotonic() - started:.0f} s",
            env,
            busy_note,
            interrupted,
        )
        http_run.write_report(
            out,
            report,
            table,
            ("Target (issue 6)", targets),
            render_runs(rows),
            settings_json | {"load_driver": args.load_driver, "timeout": args.timeout},
            json_rows,
        )
        log(f"wrote {out} and {out.with_suffix('.json')}")
    return 130 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
