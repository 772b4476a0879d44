"""``fastrapi doctor``: run as users run it, on this host and on fake /proc and /sys roots."""

from __future__ import annotations

import ctypes
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, wait_for_port

IDS = ["kernel", "io_uring", "memlock", "driver", "cpus", "workers", "somaxconn", "nofile", "port_range",
       "time_wait", "thp", "governor", "python", "extension"]
FIELDS = {"id", "status", "value", "expected", "explanation", "fix", "doc"}
OVERRIDES = ("FASTRAPI_DOCTOR_PROC", "FASTRAPI_DOCTOR_SYS", "MONOIO_FORCE_LEGACY_DRIVER")


Preexec = Callable[[], None]
# Seccomp: BPF that makes io_uring_setup (425) return EPERM, as Docker's default profile does, or kill.
SECCOMP_RET_ERRNO_EPERM = 0x00050000 | 1
SECCOMP_RET_KILL_PROCESS = 0x80000000
AUDIT_ARCHES = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def io_uring_seccomp(action: int) -> Preexec:
    """A preexec_fn installing a seccomp filter that answers io_uring_setup with ``action``."""
    arch = AUDIT_ARCHES.get(platform.machine())
    if arch is None:
        pytest.skip(f"no seccomp test filter for {platform.machine()}")
    load, jump_if_equal, ret, allow = 0x20, 0x15, 0x06, 0x7FFF0000
    program = (SockFilter * 6)(
        SockFilter(load, 0, 0, 4),  # seccomp_data.arch
        SockFilter(jump_if_equal, 0, 3, arch),
        SockFilter(load, 0, 0, 0),  # seccomp_data.nr
        SockFilter(jump_if_equal, 0, 1, 425),
        SockFilter(ret, 0, 0, action),
        SockFilter(ret, 0, 0, allow),
    )

    def install() -> None:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file when the filter kills
        libc = ctypes.CDLL(None, use_errno=True)
        prog = SockFprog(len(program), program)
        if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(prog), 0, 0):  # NO_NEW_PRIVS, SECCOMP
            raise OSError(ctypes.get_errno(), "seccomp filter not installed")

    return install


def lower_limits(limits: dict[int, int]) -> Preexec:
    def lower() -> None:
        for kind, soft in limits.items():
            resource.setrlimit(kind, (soft, soft))

    return lower


def doctor(*args: str, env: dict[str, str] | None = None, limits: dict[int, int] | None = None,
           preexec: Preexec | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m fastrapi doctor``; ``limits`` lowers resource limits in the child first."""
    base = {key: value for key, value in os.environ.items() if key not in OVERRIDES}
    return subprocess.run([sys.executable, "-m", "fastrapi", "doctor", *args], cwd=ROOT, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=60,
                          preexec_fn=lower_limits(limits) if limits else preexec)


def doctor_json(*args: str, **kwargs: Any) -> tuple[int, dict[str, Any], dict[str, dict[str, Any]]]:
    result = doctor("--json", *args, **kwargs)
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["exit_code"] == result.returncode
    return result.returncode, report, {finding["id"]: finding for finding in report["findings"]}


def fake_root(root: Path, files: dict[str, str]) -> str:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(parents=True, exist_ok=True)
    return str(root)


def test_text_report_names_every_check_with_its_doc_section() -> None:
    result = doctor()
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("fastrapi doctor: --workers ")
    status_lines = [line.split() for line in lines if re.match(r"^(ok|warn|fail|unknown) ", line)]
    assert [fields[1] for fields in status_lines] == IDS
    assert sum(line.strip().startswith("see: linux-only.md#") for line in lines) == len(IDS)
    assert re.match(r"^0 failed, \d+ warnings, \d+ unknown, \d+ ok$", lines[-1])


def test_json_findings_have_fields_and_real_doc_anchors() -> None:
    code, report, findings = doctor_json("--workers", "3", "--backlog", "2048", "--connections", "500")
    assert code == 0
    assert [finding["id"] for finding in report["findings"]] == IDS
    anchors = set(re.findall(r'<a id="([^"]+)"></a>', (ROOT / "linux-only.md").read_text()))
    for finding in report["findings"]:
        assert set(finding) == FIELDS
        assert finding["status"] in ("ok", "warn", "fail", "unknown")
        assert finding["explanation"]
        document, _, anchor = finding["doc"].partition("#")
        assert document == "linux-only.md" and anchor in anchors, finding
    options = report["options"]
    assert (options["workers"], options["backlog"], options["connections"]) == (3, 2048, 500)
    assert options["workers_given"] and options["connections_given"]
    assert findings["extension"]["status"] == "ok"
    assert findings["somaxconn"]["expected"] == ">= 2048 (--backlog)"


def _starts_serving(driver: str, preexec: Preexec | None = None) -> tuple[bool, str]:
    """Whether ``fastrapi run --driver <driver>`` really serves here, and its output."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "fastrapi", "run", "tests/apps/cli_app.py", "--port", str(port),
                             "--workers", "1", "--driver", driver, "--log-level", "warning"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=preexec,
                            env={key: value for key, value in os.environ.items() if key not in OVERRIDES})
    try:
        wait_for_port(port, proc)
        served = True
    except RuntimeError:
        served = False
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
    return served, output


def test_driver_io_uring_verdict_matches_a_real_start() -> None:
    code, _, findings = doctor_json("--driver", "io_uring", "--workers", "1")
    served, output = _starts_serving("io_uring")
    assert (code == 0) == served, (findings["driver"], findings["io_uring"], output)
    assert findings["driver"]["status"] == ("ok" if served else "fail")
    if served:
        assert "io_uring" in output  # the start-up banner names the driver


def test_auto_driver_names_what_the_server_uses() -> None:
    code, _, findings = doctor_json("--workers", "1")
    served, output = _starts_serving("auto")
    assert served and code == 0, output
    banner = next(line for line in output.splitlines() if line.startswith("fastrapi serving"))
    if findings["driver"]["status"] == "ok":
        assert banner.endswith(findings["driver"]["value"])


def test_seccomp_eperm_as_in_docker_explains_and_matches_real_starts() -> None:
    blocked = io_uring_seccomp(SECCOMP_RET_ERRNO_EPERM)
    code, _, findings = doctor_json("--driver", "io_uring", preexec=blocked)
    assert code == 1 and findings["driver"]["status"] == "fail"
    assert "seccomp filter denies io_uring_setup (EPERM)" in findings["io_uring"]["explanation"]
    assert not _starts_serving("io_uring", blocked)[0]
    code, _, findings = doctor_json(preexec=blocked)
    assert code == 0 and findings["driver"]["value"] == "epoll"
    served, output = _starts_serving("auto", blocked)
    assert served and "epoll" in output, output


def test_seccomp_that_kills_fails_auto_but_not_epoll() -> None:
    killing = io_uring_seccomp(SECCOMP_RET_KILL_PROCESS)
    code, _, findings = doctor_json(preexec=killing)
    assert code == 1 and findings["driver"]["status"] == "fail"
    assert "killed the process (SIGSYS)" in findings["io_uring"]["explanation"]
    assert not _starts_serving("auto", killing)[0]  # the probe kills the real server too
    code, _, findings = doctor_json("--driver", "epoll", preexec=killing)
    assert code == 0 and findings["driver"]["status"] == "ok"
    assert _starts_serving("epoll", killing)[0]


def test_forced_legacy_driver_blocks_io_uring_only_when_asked_for() -> None:
    env = {"MONOIO_FORCE_LEGACY_DRIVER": "1"}
    code, _, findings = doctor_json("--driver", "io_uring", env=env)
    assert code == 1
    assert findings["driver"]["status"] == "fail"
    assert findings["io_uring"]["status"] == "warn"
    assert "MONOIO_FORCE_LEGACY_DRIVER" in findings["io_uring"]["explanation"]
    assert findings["io_uring"]["fix"] == "unset MONOIO_FORCE_LEGACY_DRIVER"
    code, _, findings = doctor_json(env=env)
    assert code == 0 and findings["driver"]["value"] == "epoll"
    text = doctor("--driver", "io_uring", env=env)
    assert text.returncode == 1
    assert re.search(r"^fail +driver", text.stdout, re.MULTILINE)
    assert re.search(r"^1 failed, ", text.stdout.splitlines()[-1])


def test_io_uring_disabled_sysctl_fails_io_uring_not_epoll(tmp_path: Path) -> None:
    proc = fake_root(tmp_path / "proc", {"sys/kernel/io_uring_disabled": "2\n", "sys/kernel/osrelease": "6.8.0\n"})
    env = {"FASTRAPI_DOCTOR_PROC": proc}
    code, _, findings = doctor_json("--driver", "io_uring", env=env)
    assert code == 1
    assert "kernel.io_uring_disabled=2" in findings["driver"]["explanation"]
    assert "sysctl -w kernel.io_uring_disabled=0" in findings["driver"]["fix"]
    code, _, findings = doctor_json("--driver", "auto", env=env)
    assert code == 0 and findings["driver"]["value"] == "epoll"
    code, _, findings = doctor_json("--driver", "epoll", env=env)
    assert code == 0 and findings["io_uring"]["status"] == "ok"


def test_kernel_without_so_reuseport_fails_every_driver(tmp_path: Path) -> None:
    proc = fake_root(tmp_path / "proc", {"sys/kernel/osrelease": "3.2.0-4-amd64\n"})
    code, _, findings = doctor_json("--driver", "epoll", env={"FASTRAPI_DOCTOR_PROC": proc})
    assert code == 1
    assert findings["kernel"]["status"] == "fail" and findings["kernel"]["value"] == "3.2.0-4-amd64"


def test_memlock_counts_every_workers_ring_before_5_12(tmp_path: Path) -> None:
    proc = fake_root(tmp_path / "proc", {"sys/kernel/osrelease": "5.10.0-28-amd64\n",
                                         "self/status": "Name:\tpython\nCapEff:\t0000000000000000\nSeccomp:\t0\n"})
    env = {"FASTRAPI_DOCTOR_PROC": proc}
    limits = {resource.RLIMIT_MEMLOCK: 64 * 1024}
    code, _, findings = doctor_json("--workers", "2", "--driver", "io_uring", env=env, limits=limits)
    assert code == 1
    memlock = findings["memlock"]
    assert memlock["status"] == "fail" and memlock["value"] == "64 KiB"
    assert memlock["expected"].startswith(">= 2 workers x ")
    assert "ulimit -l unlimited" in memlock["fix"]
    code, _, findings = doctor_json("--workers", "2", env=env, limits=limits)
    assert code == 0 and findings["memlock"]["status"] == "warn"
    code, _, findings = doctor_json("--workers", "2", "--driver", "epoll", env=env, limits=limits)
    assert code == 0 and findings["memlock"]["status"] == "ok"
    # With CAP_IPC_LOCK (bit 14) the rings are not counted.
    fake_root(tmp_path / "proc", {"self/status": "CapEff:\t0000000000004000\n"})
    code, _, findings = doctor_json("--workers", "2", "--driver", "io_uring", env=env, limits=limits)
    assert findings["memlock"]["status"] == "ok"


def test_open_file_limit_against_the_connections_expected() -> None:
    limits = {resource.RLIMIT_NOFILE: 256}
    code, _, findings = doctor_json("--workers", "1", "--connections", "10000", limits=limits)
    assert code == 1
    nofile = findings["nofile"]
    assert nofile["status"] == "fail" and nofile["value"] == "256 (hard 256)"
    assert nofile["expected"] == ">= 10064"  # one process: every connection + 64 reserved
    assert "raise the hard limit" in nofile["fix"]
    code, _, findings = doctor_json("--workers", "1", limits=limits)
    assert code == 0 and findings["nofile"]["status"] == "warn"  # the default 10000 is only assumed
    assert "pass --connections" in findings["nofile"]["explanation"]
    code, _, findings = doctor_json("--workers", "1", "--connections", "100", limits=limits)
    assert code == 0 and findings["nofile"]["status"] == "ok"


def test_share_per_worker_process_includes_hashing_spread() -> None:
    _, report, findings = doctor_json("--workers", "4", "--connections", "10000")
    if report["options"]["mode"] == "processes":
        # 2500 each + 3·√(2500·3/4) ≈ 130 + 64 reserved
        assert findings["nofile"]["expected"] == ">= 2694"
        assert "2500 each" in findings["nofile"]["explanation"]


def test_fake_sys_thp_governor_and_cgroup_v2_quota(tmp_path: Path) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    sys_files = {"kernel/mm/transparent_hugepage/enabled": "[always] madvise never\n",
                 "fs/cgroup/app.slice/web.service/cpu.max": "50000 100000\n"}
    sys_files.update({f"devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor": "powersave\n" for cpu in cpus})
    env = {"FASTRAPI_DOCTOR_SYS": fake_root(tmp_path / "sys", sys_files),
           "FASTRAPI_DOCTOR_PROC": fake_root(tmp_path / "proc", {"self/cgroup": "0::/app.slice/web.service\n",
                                                                 "sys/kernel/osrelease": "6.8.0\n"})}
    code, _, findings = doctor_json("--workers", "2", env=env)
    assert code == 0
    assert findings["thp"]["status"] == "warn" and findings["thp"]["value"] == "always"
    assert findings["governor"]["status"] == "warn" and "powersave" in findings["governor"]["value"]
    assert "cgroup quota 0.5 CPUs" in findings["cpus"]["value"]
    assert findings["workers"]["status"] == "warn" and findings["workers"]["fix"] == "--workers 1"


def test_cgroup_v1_quota_seen_from_inside_a_container(tmp_path: Path) -> None:
    env = {"FASTRAPI_DOCTOR_SYS": fake_root(tmp_path / "sys", {"fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "150000\n",
                                                               "fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n"}),
           "FASTRAPI_DOCTOR_PROC": fake_root(tmp_path / "proc", {"self/cgroup": "4:cpu,cpuacct:/docker/0123abc\n"})}
    _, _, findings = doctor_json(env=env)
    assert "cgroup quota 1.5 CPUs" in findings["cpus"]["value"]


def test_missing_and_garbled_files_are_unknown_not_errors(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    fake_root(proc, {"sys/kernel/osrelease": "not a version\n", "sys/net/ipv4/ip_local_port_range": "x y z\n",
                     "self/cgroup": "garbage\n"})
    (proc / "sys" / "net" / "core" / "somaxconn").mkdir(parents=True)  # a directory where a file should be
    env = {"FASTRAPI_DOCTOR_PROC": str(proc), "FASTRAPI_DOCTOR_SYS": fake_root(tmp_path / "sys", {})}
    code, _, findings = doctor_json(env=env)
    assert code == 0
    for name in ("kernel", "memlock", "somaxconn", "port_range", "time_wait", "thp"):
        assert findings[name]["status"] == "unknown", findings[name]
    assert findings["governor"]["value"] == "no cpufreq interface"
    text = doctor(env=env)
    assert text.returncode == 0 and "Traceback" not in text.stderr
    assert re.search(r"^unknown +somaxconn +unknown$", text.stdout, re.MULTILINE)


def test_port_inside_the_ephemeral_range_is_a_warning(tmp_path: Path) -> None:
    proc = fake_root(tmp_path / "proc", {"sys/net/ipv4/ip_local_port_range": "32768\t60999\n"})
    _, _, findings = doctor_json("--port", "40000", env={"FASTRAPI_DOCTOR_PROC": proc})
    assert findings["port_range"]["status"] == "warn"
    assert findings["port_range"]["value"] == "32768-60999 (28232 ports)"
    _, _, findings = doctor_json("--port", "8000", env={"FASTRAPI_DOCTOR_PROC": proc})
    assert findings["port_range"]["status"] == "ok"


def test_invalid_options_are_usage_errors() -> None:
    result = doctor("--workers", "0")
    assert result.returncode == 2 and "must be at least 1" in result.stderr
    result = doctor("--driver", "kqueue")
    assert result.returncode == 2
