"""``fastrapi doctor``: what on this host blocks or limits a fastrapi server, each finding with its fix.

Every check reads a file or asks the kernel; a file that is missing or unreadable gives the status
``unknown``, never an exception. For tests, ``FASTRAPI_DOCTOR_PROC`` and ``FASTRAPI_DOCTOR_SYS``
replace ``/proc`` and ``/sys`` for the file checks; the io_uring probes and the resource limits are
always the live ones. Standard library only, so it still runs when the extension does not import.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import importlib
import json
import math
import os
import platform
import resource
import signal
import sys
import sysconfig
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROC_ENV = "FASTRAPI_DOCTOR_PROC"
SYS_ENV = "FASTRAPI_DOCTOR_SYS"
FORCE_LEGACY_ENV = "MONOIO_FORCE_LEGACY_DRIVER"
DOC = "linux-only.md"
DEFAULT_BACKLOG = 1024  # ServerConfig's default
DEFAULT_CONNECTIONS = 10_000
URING_ENTRIES = 1024  # ServerConfig's default uring_entries
# ServerConfig's default uring_flags: coop_taskrun (5.19+) and single_issuer (6.0+).
IORING_SETUP_COOP_TASKRUN = 1 << 8
IORING_SETUP_SINGLE_ISSUER = 1 << 12
# io_uring_setup is 425 on every architecture with the unified syscall table (all but alpha and mips).
IO_URING_SETUP_SYSCALL = 425
PROBE_ARCHES = ("x86_64", "i686", "aarch64", "armv7l", "armv8l", "riscv64", "ppc64le", "s390x", "loongarch64")
# Descriptors a worker needs besides its connections: an idle worker holds about 15 (listener,
# ring or epoll, wake-up pipes, stdio); the rest is room for served files and spooled uploads.
RESERVED_FDS_PER_WORKER = 64
CAP_SYS_ADMIN = 21
CAP_IPC_LOCK = 14
STATUSES = ("ok", "warn", "fail", "unknown")


@dataclass
class Finding:
    id: str
    status: str  # one of STATUSES
    value: str | int | None
    expected: str | None
    explanation: str
    fix: str | None
    doc: str


def _shown(value: object) -> str:
    return "unknown" if value is None else str(value)


def _doc(anchor: str) -> str:
    return f"{DOC}#{anchor}"


# -- reading the host -------------------------------------------------------------------------
class Host:
    """The host's files under /proc and /sys (or the test roots), read without raising."""

    def __init__(self, proc: Path, sys_root: Path) -> None:
        self.proc = proc
        self.sys = sys_root

    @classmethod
    def from_environment(cls) -> Host:
        return cls(Path(os.environ.get(PROC_ENV) or "/proc"), Path(os.environ.get(SYS_ENV) or "/sys"))

    @staticmethod
    def read(path: Path) -> str | None:
        try:
            return path.read_text().strip()
        except (OSError, UnicodeDecodeError):
            return None

    @classmethod
    def read_int(cls, path: Path) -> int | None:
        text = cls.read(path)
        try:
            return int(text) if text is not None else None
        except ValueError:
            return None

    def sysctl(self, name: str) -> str | None:
        return self.read(self.proc / "sys" / name.replace(".", "/"))

    def sysctl_int(self, name: str) -> int | None:
        return self.read_int(self.proc / "sys" / name.replace(".", "/"))

    def self_status(self) -> dict[str, str]:
        text = self.read(self.proc / "self" / "status") or ""
        pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
        return {key.strip(): value.strip() for key, value in pairs}

    def has_capability(self, bit: int) -> bool | None:
        effective = self.self_status().get("CapEff")
        try:
            return bool(int(effective, 16) >> bit & 1) if effective is not None else None
        except ValueError:
            return None


def parse_kernel_version(release: str | None) -> tuple[int, int] | None:
    """``(major, minor)`` of a release string such as ``6.1.0-18-amd64``."""
    if not release:
        return None
    parts = release.split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) if len(parts) > 1 else "0")
    except ValueError:
        return None


def _cpu_list(cpus: list[int]) -> str:
    """``0-3,6`` for ``[0, 1, 2, 3, 6]``."""
    ranges: list[str] = []
    start = previous = None
    for cpu in [*sorted(cpus), None]:
        if previous is not None and cpu != previous + 1:
            ranges.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if start is None:
            start = cpu
        previous = cpu
    return ",".join(ranges)


def cgroup_cpu_quota(host: Host) -> tuple[float | None, str]:
    """The tightest CPU quota (in CPUs) on this process's cgroup and its ancestors, and where it was read.

    ``(None, reason)`` when there is no quota or it cannot be read."""
    text = host.read(host.proc / "self" / "cgroup")
    if text is None:
        return None, "unknown (/proc/self/cgroup unreadable)"
    quotas: list[tuple[float, str]] = []
    for line in text.splitlines():
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        relative = Path(path.lstrip("/"))
        if controllers == "":  # cgroup v2
            for directory in _cgroup_dirs(host.sys / "fs" / "cgroup", relative):
                fields = (host.read(directory / "cpu.max") or "").split()
                if len(fields) == 2 and fields[0] != "max" and fields[0].isdigit() and fields[1].isdigit():
                    quotas.append((int(fields[0]) / max(int(fields[1]), 1), str(directory / "cpu.max")))
        elif "cpu" in controllers.split(","):
            for mount in (host.sys / "fs" / "cgroup" / controllers, host.sys / "fs" / "cgroup" / "cpu"):
                for directory in _cgroup_dirs(mount, relative):
                    quota = host.read_int(directory / "cpu.cfs_quota_us")
                    period = host.read_int(directory / "cpu.cfs_period_us")
                    if quota is not None and quota > 0 and period:
                        quotas.append((quota / period, str(directory / "cpu.cfs_quota_us")))
    if not quotas:
        return None, "no cgroup CPU quota"
    return min(quotas)


def _cgroup_dirs(mount: Path, relative: Path) -> list[Path]:
    """The cgroup's directory and its ancestors up to the mount (a container may see only the mount)."""
    candidates = [mount / relative, *(mount / parent for parent in relative.parents)]
    return [directory for directory in dict.fromkeys(candidates) if directory.is_dir()]


# -- the io_uring probe -----------------------------------------------------------------------
@dataclass
class UringProbe:
    """What creating rings does in a child process (a seccomp filter may kill the caller)."""

    setup_ran: bool = False  # the io_uring_setup calls below were made
    small_ring_errno: int | None = None  # monoio's probe size (2 entries); None = created
    worker_ring_errno: int | None = None  # a worker's ring: 1024 entries with the default flags
    monoio_auto: str | None = None  # resolve_driver("auto"): what monoio's full probe chooses
    killed_by: str | None = None  # the probe process died from this signal
    problem: str | None = None  # why a part of the probe could not run


def _io_uring_setup(entries: int, flags: int) -> int | None:
    """Create and close a ring; the errno on failure, None on success."""
    libc = ctypes.CDLL(None, use_errno=True)
    params = ctypes.create_string_buffer(120)  # struct io_uring_params; flags at offset 8
    ctypes.c_uint32.from_buffer(params, 8).value = flags
    fd = libc.syscall(ctypes.c_long(IO_URING_SETUP_SYSCALL), ctypes.c_long(entries), params)
    if fd < 0:
        return ctypes.get_errno()
    os.close(fd)
    return None


def _probe_in_child() -> dict[str, Any]:
    result: dict[str, Any] = {}
    problems = []
    if platform.machine() in PROBE_ARCHES:
        result["setup_ran"] = True
        result["small_ring_errno"] = _io_uring_setup(2, 0)
        worker_flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER
        result["worker_ring_errno"] = _io_uring_setup(URING_ENTRIES, worker_flags)
    else:
        problems.append(f"no io_uring_setup probe for {platform.machine()}")
    try:
        from fastrapi import _fastrapi

        result["monoio_auto"] = _fastrapi.resolve_driver("auto")
    except Exception as exc:  # the extension's own import is reported by the extension check
        problems.append(f"resolve_driver failed: {exc}")
    result["problem"] = "; ".join(problems) or None
    return result


def probe_io_uring() -> UringProbe:
    try:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
    except OSError as exc:
        return UringProbe(problem=f"could not start the probe process: {exc}")
    if pid == 0:  # the child: probe, report, leave without running the parent's exit handlers
        code = 0
        try:
            os.close(read_fd)
            os.write(write_fd, json.dumps(_probe_in_child()).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return UringProbe(killed_by=signal.Signals(os.WTERMSIG(status)).name)
    try:
        return UringProbe(**json.loads(output))
    except (ValueError, TypeError):
        return UringProbe(problem=f"the probe process exited with status {os.waitstatus_to_exitcode(status)}")


# -- the options being checked ----------------------------------------------------------------
@dataclass
class Plan:
    """The server that ``fastrapi run`` would start with these options, on this host."""

    workers: int
    workers_given: bool
    driver: str
    backlog: int
    connections: int
    connections_given: bool
    port: int
    cpus: list[int]
    mode: str  # "processes" or "threads"


def gil_enabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


def make_plan(args: argparse.Namespace) -> Plan:
    cpus = sorted(os.sched_getaffinity(0))
    return Plan(
        workers=args.workers if args.workers is not None else len(cpus),  # as serve() counts them
        workers_given=args.workers is not None,
        driver=args.driver,
        backlog=args.backlog,
        connections=args.connections if args.connections is not None else DEFAULT_CONNECTIONS,
        connections_given=args.connections is not None,
        port=args.port,
        cpus=cpus,
        mode="processes" if gil_enabled() else "threads",
    )


@dataclass
class Facts:
    host: Host
    plan: Plan
    probe: UringProbe
    kernel: tuple[int, int] | None
    release: str | None


# -- checks -----------------------------------------------------------------------------------
def check_kernel(facts: Facts) -> Finding:
    version, release = facts.kernel, facts.release
    doc = _doc("kernel-requirements")
    if version is None:
        return Finding("kernel", "unknown", release, ">= 3.9", "the kernel version could not be read "
                       "(/proc/sys/kernel/osrelease)", None, doc)
    if version < (3, 9):
        return Finding("kernel", "fail", release, ">= 3.9", "older than 3.9: no SO_REUSEPORT, so no worker can "
                       "share the port", "upgrade the kernel", doc)
    if version < (5, 7):
        explanation = "epoll only: io_uring needs 5.7 or later (monoio's probe opcodes)"
    elif version < (5, 12):
        explanation = "io_uring possible, but its rings count against RLIMIT_MEMLOCK before 5.12 (see memlock)"
    elif version < (6, 0):
        explanation = "io_uring and epoll; the default uring_flags need 6.0 (single_issuer)"
    else:
        explanation = "io_uring and epoll both supported"
    return Finding("kernel", "ok", release, ">= 3.9 (epoll), >= 5.7 (io_uring)", explanation, None, doc)


def _io_uring_block_reason(facts: Facts) -> tuple[str, str] | None:
    """Why io_uring cannot be used here, and the fix; None when it can."""
    host, probe = facts.host, facts.probe
    disabled = host.sysctl_int("kernel.io_uring_disabled")
    seccomp = facts.host.self_status().get("Seccomp")
    forced = os.environ.get(FORCE_LEGACY_ENV, "").lower() in ("1", "true", "yes")
    epoll = "or use --driver epoll (auto does)"
    sysctl_fix = f"sudo sysctl -w kernel.io_uring_disabled=0, {epoll}"
    if forced:
        return f"{FORCE_LEGACY_ENV} is set, which makes monoio's probe answer no", f"unset {FORCE_LEGACY_ENV}"
    if probe.killed_by is not None:
        return (f"creating a ring killed the process ({probe.killed_by}): a seccomp filter kills on io_uring_setup, "
                "so auto and io_uring would kill the server too", "use --driver epoll, or allow the io_uring "
                "system calls in the seccomp profile")
    if disabled == 2:  # also decides with a fake /proc root, where the live probe may still succeed
        return "kernel.io_uring_disabled=2: io_uring is off for every process", sysctl_fix
    small = probe.small_ring_errno
    if small == errno.EPERM:
        if disabled == 1:
            group = host.sysctl_int("kernel.io_uring_group")
            return (f"kernel.io_uring_disabled=1: only CAP_SYS_ADMIN or group kernel.io_uring_group ({group}) "
                    "may create rings", f"add the server's user to that group, {sysctl_fix}")
        if seccomp == "2":
            return ("a seccomp filter denies io_uring_setup (EPERM): the default profile of Docker >= 25 and "
                    "containerd >= 2.0 does", f"allow io_uring_setup/enter/register in the profile, {epoll}")
        return "io_uring_setup fails with EPERM (a security module such as SELinux?)", epoll
    if small == errno.ENOSYS:
        cause = "a seccomp filter answering ENOSYS" if seccomp == "2" else "the kernel has no io_uring"
        return (f"io_uring_setup fails with ENOSYS: {cause} (CONFIG_IO_URING off, kernel < 5.1, or gVisor)",
                epoll)
    if small is not None:
        return f"io_uring_setup fails with {errno.errorcode.get(small, small)}: {os.strerror(small)}", epoll
    if probe.monoio_auto == "epoll":
        return "rings work but lack an operation monoio needs (kernel older than 5.7?)", epoll
    return None


def check_io_uring(facts: Facts) -> Finding:
    doc = _doc("io-uring-blocked")
    probe = facts.probe
    reason = _io_uring_block_reason(facts)
    if reason is None:
        if probe.monoio_auto == "io_uring":
            return Finding("io_uring", "ok", "available", "available", "monoio's probe passes", None, doc)
        if probe.setup_ran:
            return Finding("io_uring", "ok", "available", "available", f"io_uring_setup works; monoio's probe "
                           f"did not run ({probe.problem})", None, doc)
        return Finding("io_uring", "unknown", None, "available", probe.problem or "no probe ran", None, doc)
    status = "ok" if facts.plan.driver == "epoll" else "warn"
    return Finding("io_uring", status, "blocked", "available", reason[0], reason[1], doc)


def _ring_memlock_bytes(entries: int) -> int:
    """Locked memory one ring was charged on 5.7-5.11: its ring pages plus its SQE pages."""
    page = resource.getpagesize()
    entries = 1 << max(entries - 1, 0).bit_length()
    rings_header = 192  # struct io_rings, cache-line aligned
    rings = rings_header + 2 * entries * 16 + entries * 4  # CQEs (twice the SQ size), SQ index array
    return (math.ceil(rings / page) + math.ceil(entries * 64 / page)) * page


def _memlock_shortfall(facts: Facts) -> tuple[str, int, int] | None:
    """``(limit text, needed, limit)`` when the workers' rings would exceed RLIMIT_MEMLOCK."""
    if facts.kernel is None or not (5, 7) <= facts.kernel < (5, 12):
        return None
    if facts.host.has_capability(CAP_IPC_LOCK):
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    needed = facts.plan.workers * _ring_memlock_bytes(URING_ENTRIES)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return None
    return f"{soft // 1024} KiB", needed, soft


def check_memlock(facts: Facts) -> Finding:
    doc = _doc("memlock")
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    value = "unlimited" if soft == resource.RLIM_INFINITY else f"{soft // 1024} KiB"
    ring = _ring_memlock_bytes(URING_ENTRIES)
    workers = facts.plan.workers
    expected = f">= {workers} workers x {ring // 1024} KiB per ring = {workers * ring // 1024} KiB on 5.7-5.11"
    if facts.kernel is None:
        return Finding("memlock", "unknown", value, expected, "kernel version unknown: rings count against "
                       "RLIMIT_MEMLOCK only before 5.12", None, doc)
    if facts.kernel >= (5, 12):
        return Finding("memlock", "ok", value, None, "not counted: from 5.12 rings are charged to the memory "
                       "cgroup", None, doc)
    if facts.kernel < (5, 7):
        return Finding("memlock", "ok", value, None, "not used: no io_uring before 5.7", None, doc)
    if facts.host.has_capability(CAP_IPC_LOCK):
        return Finding("memlock", "ok", value, None, "CAP_IPC_LOCK: rings are not counted", None, doc)
    if _memlock_shortfall(facts) is None:
        return Finding("memlock", "ok", value, expected, "enough locked memory for every worker's ring", None, doc)
    fix = ("ulimit -l unlimited (systemd LimitMEMLOCK=infinity, docker --ulimit memlock=-1), "
           "app.serve(uring_entries=256), or --driver epoll")
    if facts.plan.driver == "io_uring":
        return Finding("memlock", "fail", value, expected, "the workers' rings exceed the per-user locked-memory "
                       "limit: start-up fails with ENOMEM", fix, doc)
    if facts.plan.driver == "auto":
        return Finding("memlock", "warn", value, expected, "the workers' rings exceed the per-user locked-memory "
                       "limit: workers fall back to epoll", fix, doc)
    return Finding("memlock", "ok", value, expected, "too low for io_uring, but --driver epoll uses no ring",
                   None, doc)


def check_driver(facts: Facts) -> Finding:
    doc = _doc("kernel-requirements")
    plan, probe = facts.plan, facts.probe
    if plan.driver == "epoll":
        return Finding("driver", "ok", "epoll", None, "epoll, as asked (no probe)", None, doc)
    blocked = _io_uring_block_reason(facts)
    worker_ring = probe.worker_ring_errno
    ring_problem = (None if worker_ring is None or blocked is not None else
                    f"a worker's ring ({URING_ENTRIES} entries, flags coop_taskrun+single_issuer) fails with "
                    f"{errno.errorcode.get(worker_ring, worker_ring)}"
                    + (" (these flags need 6.0)" if worker_ring == errno.EINVAL else ""))
    ring_fix = "app.serve(uring_flags=[]) on kernels older than 6.0, or --driver epoll"
    if plan.driver == "auto":
        if blocked is not None:
            if probe.killed_by is not None:
                return Finding("driver", "fail", "none", "io_uring or epoll", "auto's probe would kill the server",
                               blocked[1], doc)
            return Finding("driver", "ok", "epoll", None, "auto chooses epoll (io_uring is blocked)", None, doc)
        if probe.monoio_auto is None:
            return Finding("driver", "unknown", None, None, probe.problem or "resolve_driver did not run", None, doc)
        if ring_problem is not None:
            return Finding("driver", "warn", "epoll", None, f"auto's probe passes but {ring_problem}: workers "
                           "fall back to epoll", ring_fix, doc)
        return Finding("driver", "ok", "io_uring", None, "auto chooses io_uring", None, doc)
    if blocked is not None:
        return Finding("driver", "fail", "none", "io_uring", f"--driver io_uring fails at start-up: {blocked[0]}",
                       blocked[1], doc)
    if probe.monoio_auto is None:
        return Finding("driver", "unknown", None, "io_uring", probe.problem or "resolve_driver did not run", None, doc)
    if ring_problem is not None:
        return Finding("driver", "fail", "none", "io_uring", f"--driver io_uring fails at start-up: {ring_problem}",
                       ring_fix, doc)
    return Finding("driver", "ok", "io_uring", "io_uring", "io_uring, as asked: the probe passes", None, doc)


def check_cpus(facts: Facts) -> Finding:
    cpus = facts.plan.cpus
    quota, source = cgroup_cpu_quota(facts.host)
    quota_text = f"cgroup quota {quota:g} CPUs ({source})" if quota is not None else source
    value = f"{len(cpus)} (CPUs {_cpu_list(cpus)}; {quota_text})"
    return Finding("cpus", "ok", value, None, "the CPUs this process may run on (sched_getaffinity) and its cgroup "
                   "CPU quota", None, _doc("cpu-quota"))


def check_workers(facts: Facts) -> Finding:
    plan = facts.plan
    quota, _ = cgroup_cpu_quota(facts.host)
    usable = len(plan.cpus) if quota is None else min(len(plan.cpus), max(1, math.ceil(quota)))
    origin = "--workers" if plan.workers_given else "default: one per CPU in the affinity mask"
    value = f"{plan.workers} {plan.mode} ({origin})"
    expected = f"<= {usable} usable CPUs"
    doc = _doc("cpu-quota")
    if plan.workers > len(plan.cpus):
        return Finding("workers", "warn", value, expected, f"more workers than the {len(plan.cpus)} CPUs this "
                       "process may use: pinned round robin, so some share a core", f"--workers {usable}", doc)
    if quota is not None and plan.workers > usable:
        return Finding("workers", "warn", value, expected, f"the cgroup allows {quota:g} CPUs: {plan.workers} "
                       "busy workers get throttled (the default ignores the quota)", f"--workers {usable}", doc)
    return Finding("workers", "ok", value, expected, "one worker per usable CPU at most", None, doc)


def check_somaxconn(facts: Facts) -> Finding:
    backlog = facts.plan.backlog
    somaxconn = facts.host.sysctl_int("net.core.somaxconn")
    doc = _doc("somaxconn")
    expected = f">= {backlog} (--backlog)"
    if somaxconn is None:
        return Finding("somaxconn", "unknown", None, expected, "net.core.somaxconn could not be read", None, doc)
    if somaxconn < backlog:
        return Finding("somaxconn", "warn", somaxconn, expected, f"listen() silently caps the backlog: each worker's "
                       f"accept queue holds {somaxconn}, not {backlog}",
                       f"sudo sysctl -w net.core.somaxconn={backlog}", doc)
    return Finding("somaxconn", "ok", somaxconn, expected, f"each worker's accept queue holds {backlog} "
                   "connections", None, doc)


def descriptors_needed(plan: Plan) -> tuple[int, str]:
    """Descriptors one process needs for ``plan.connections``, and the formula in words."""
    reserve = RESERVED_FDS_PER_WORKER
    if plan.mode == "threads" or plan.workers == 1:
        needed = plan.connections + reserve * plan.workers
        return needed, (f"{plan.connections} connections in one process + {reserve} per worker for listeners, "
                        f"rings, logs and files = {needed}")
    share = plan.connections / plan.workers
    # SO_REUSEPORT hashes connections to workers: allow three standard deviations above the even share.
    spread = 3 * math.sqrt(share * (1 - 1 / plan.workers))
    needed = math.ceil(share + spread) + reserve
    return needed, (f"{plan.connections} connections / {plan.workers} worker processes = {share:.0f} each, "
                    f"+ {spread:.0f} for SO_REUSEPORT's uneven hashing (3 sd), + {reserve} for listeners, rings, "
                    f"logs and files = {needed} per process")


def check_nofile(facts: Facts) -> Finding:
    plan = facts.plan
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed, formula = descriptors_needed(plan)
    shown_hard = "unlimited" if hard == resource.RLIM_INFINITY else hard
    value = f"{soft} (hard {shown_hard})"
    doc = _doc("file-descriptors")
    if soft >= needed or soft == resource.RLIM_INFINITY:
        return Finding("nofile", "ok", value, f">= {needed}", formula, None, doc)
    raise_to = needed if hard == resource.RLIM_INFINITY else min(max(needed, 65536), hard)
    fix = (f"ulimit -n {raise_to} (systemd LimitNOFILE=, docker --ulimit nofile=)" if raise_to >= needed else
           f"raise the hard limit (now {hard}) to at least {needed}: systemd LimitNOFILE=, docker --ulimit nofile=")
    # The connection count is a guess unless given, so only a given one makes the exit code fail.
    status = "fail" if plan.connections_given else "warn"
    assumed = "" if plan.connections_given else " (assumed; pass --connections)"
    return Finding("nofile", status, value, f">= {needed}", f"too few descriptors for {plan.connections} "
                   f"connections{assumed}: {formula}", fix, doc)


def check_port_range(facts: Facts) -> Finding:
    text = facts.host.sysctl("net.ipv4.ip_local_port_range")
    doc = _doc("time-wait")
    fields = (text or "").split()
    if len(fields) != 2 or not all(field.isdigit() for field in fields):
        return Finding("port_range", "unknown", text, None, "net.ipv4.ip_local_port_range could not be read",
                       None, doc)
    low, high = int(fields[0]), int(fields[1])
    count = high - low + 1
    value = f"{low}-{high} ({count} ports)"
    if low <= facts.plan.port <= high:
        return Finding("port_range", "warn", value, f"--port {facts.plan.port} outside it", "the server's port is an "
                       "ephemeral port: an outgoing connection can take it first and the bind fails",
                       f"sudo sysctl -w net.ipv4.ip_local_reserved_ports={facts.plan.port}, or another port", doc)
    return Finding("port_range", "ok", value, None, f"a client on this host (load generator, proxy) can open "
                   f"about {count // 60} new connections/s to one address before TIME_WAIT (60 s) uses them up",
                   None, doc)


def check_time_wait(facts: Facts) -> Finding:
    host = facts.host
    reuse = host.sysctl_int("net.ipv4.tcp_tw_reuse")
    fin_timeout = host.sysctl_int("net.ipv4.tcp_fin_timeout")
    buckets = host.sysctl_int("net.ipv4.tcp_max_tw_buckets")
    value = f"tcp_tw_reuse={_shown(reuse)}, tcp_fin_timeout={_shown(fin_timeout)} s, " \
        f"tcp_max_tw_buckets={_shown(buckets)}"
    doc = _doc("time-wait")
    note = "tcp_fin_timeout bounds FIN_WAIT_2; TIME_WAIT itself is always 60 s"
    if reuse is None:
        return Finding("time_wait", "unknown", value, None, "net.ipv4.tcp_tw_reuse could not be read", None, doc)
    if reuse == 0:
        return Finding("time_wait", "warn", value, "tcp_tw_reuse 1 or 2", "ports in TIME_WAIT are never reused: a "
                       "client on this host opening a connection per request runs out of ports; " + note,
                       "sudo sysctl -w net.ipv4.tcp_tw_reuse=2", doc)
    scope = "loopback connections" if reuse == 2 else "all outgoing connections"
    return Finding("time_wait", "ok", value, "tcp_tw_reuse 1 or 2", f"TIME_WAIT ports are reused for {scope}; "
                   + note, None, doc)


def check_thp(facts: Facts) -> Finding:
    text = facts.host.read(facts.host.sys / "kernel" / "mm" / "transparent_hugepage" / "enabled")
    doc = _doc("thp")
    selected = text[text.find("[") + 1:text.find("]")] if text and "[" in text and "]" in text else None
    if selected is None:
        return Finding("thp", "unknown", text, "madvise or never", "transparent huge pages setting could not be "
                       "read", None, doc)
    if selected == "always":
        return Finding("thp", "warn", selected, "madvise or never", "compaction at page faults can cause latency "
                       "outliers, and resident memory grows", "echo madvise | sudo tee "
                       "/sys/kernel/mm/transparent_hugepage/enabled", doc)
    return Finding("thp", "ok", selected, "madvise or never", "no huge-page compaction on ordinary faults", None,
                   doc)


def check_governor(facts: Facts) -> Finding:
    cpu_root = facts.host.sys / "devices" / "system" / "cpu"
    doc = _doc("governor")
    governors: dict[str, list[int]] = {}
    unreadable = []
    for cpu in facts.plan.cpus:
        path = cpu_root / f"cpu{cpu}" / "cpufreq" / "scaling_governor"
        if not path.parent.is_dir():
            continue
        governor = facts.host.read(path)
        if governor is None:
            unreadable.append(cpu)
        else:
            governors.setdefault(governor, []).append(cpu)
    if unreadable:
        return Finding("governor", "unknown", None, "performance", f"scaling_governor unreadable for CPUs "
                       f"{_cpu_list(unreadable)}", None, doc)
    if not governors:
        return Finding("governor", "ok", "no cpufreq interface", None, "no CPU frequency scaling exposed (usual in "
                       "VMs): nothing to set", None, doc)
    value = ", ".join(f"{name} (CPUs {_cpu_list(cpus)})" for name, cpus in sorted(governors.items()))
    if set(governors) != {"performance"}:
        return Finding("governor", "warn", value, "performance", "the frequency follows the load, so short runs "
                       "and latency vary", "sudo cpupower frequency-set -g performance", doc)
    return Finding("governor", "ok", value, "performance", "the CPUs run at full frequency", None, doc)


def check_python(facts: Facts) -> Finding:
    version = platform.python_version()
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    build = "free-threaded build" if free_threaded else "GIL build"
    if free_threaded and gil_enabled():
        build += " with the GIL turned back on (PYTHON_GIL=1 or an extension without free-threading support)"
    kind = "process" if facts.plan.mode == "processes" else "thread"
    explanation = f"{build}: one worker {kind} per CPU"
    return Finding("python", "ok", version, ">= 3.11", explanation, None, _doc("doctor"))


def check_extension(facts: Facts) -> Finding:
    doc = _doc("doctor")
    try:
        module = importlib.import_module("fastrapi._fastrapi")
    except Exception as exc:
        return Finding("extension", "fail", "not importable", "importable", f"fastrapi._fastrapi: {exc}",
                       "reinstall fastrapi for this Python (pip install fastrapi, or scripts/install.sh)", doc)
    return Finding("extension", "ok", "importable", "importable", f"fastrapi._fastrapi from {module.__file__}",
                   None, doc)


CHECKS: tuple[Callable[[Facts], Finding], ...] = (
    check_kernel, check_io_uring, check_memlock, check_driver, check_cpus, check_workers, check_somaxconn,
    check_nofile, check_port_range, check_time_wait, check_thp, check_governor, check_python, check_extension,
)


def run_checks(plan: Plan, host: Host, probe: UringProbe) -> list[Finding]:
    release = host.sysctl("kernel.osrelease")
    facts = Facts(host, plan, probe, parse_kernel_version(release), release)
    findings = []
    for check in CHECKS:
        try:
            findings.append(check(facts))
        except Exception as exc:  # a host that surprises a check must not stop the others
            name = check.__name__.removeprefix("check_")
            findings.append(Finding(name, "unknown", None, None, f"check failed: {type(exc).__name__}: {exc}",
                                    None, _doc("doctor")))
    return findings


# -- the command ------------------------------------------------------------------------------
def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=_positive_int, default=None,
                        help="workers you will run (default one per CPU, as fastrapi run)")
    parser.add_argument("--driver", default="auto", choices=["auto", "io_uring", "epoll"], help="I/O driver")
    parser.add_argument("--backlog", type=_positive_int, default=DEFAULT_BACKLOG,
                        help=f"listen backlog of each worker (default {DEFAULT_BACKLOG})")
    parser.add_argument("--connections", type=_positive_int, default=None,
                        help=f"concurrent connections you expect (default {DEFAULT_CONNECTIONS}, as a warning only)")
    parser.add_argument("--port", type=int, default=8000, help="port you will bind (default 8000)")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def _text_report(plan: Plan, findings: list[Finding]) -> str:
    workers = f"{plan.workers}" + ("" if plan.workers_given else " (one per CPU)")
    connections = f"{plan.connections}" + ("" if plan.connections_given else " (assumed)")
    lines = [f"fastrapi doctor: --workers {workers} --driver {plan.driver} --backlog {plan.backlog} "
             f"--connections {connections} --port {plan.port}", ""]
    for finding in findings:
        lines.append(f"{finding.status:<7} {finding.id:<10} {_shown(finding.value)}")
        lines.append(f"{'':18}{finding.explanation}")
        if finding.fix:
            lines.append(f"{'':18}fix: {finding.fix}")
        lines.append(f"{'':18}see: {finding.doc}")
    counts = {status: sum(f.status == status for f in findings) for status in STATUSES}
    lines += ["", f"{counts['fail']} failed, {counts['warn']} warnings, {counts['unknown']} unknown, "
              f"{counts['ok']} ok"]
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    plan = make_plan(args)
    findings = run_checks(plan, Host.from_environment(), probe_io_uring())
    code = 1 if any(finding.status == "fail" for finding in findings) else 0
    if args.json:
        report = {"options": asdict(plan), "exit_code": code, "findings": [asdict(f) for f in findings]}
        print(json.dumps(report, indent=2))
    else:
        print(_text_report(plan, findings))
    return code
