"""Runs FastAPI's own test suite (from its sdist) under FastAPI and under fastrapi, and reports pass rates.

Modes:
  baseline  the suite unchanged, under FastAPI itself: what passes here is what counts (the list of those tests is
            committed as fastapi_suite_baseline_passed.txt, so that CI need not run it: --save-baseline);
  client    the suite unchanged, every TestClient request served by fastrapi's runtime (fastapi_suite_plugin.py):
            the measure CI checks (--require, --require-all);
  rewrite   a copy whose imports name fastrapi (shared/fastapi-suite/rewrite_imports.py): fastrapi.* are FastAPI's and
            Starlette's own objects (python/fastrapi/_alias.py), so this checks the import swap, with Starlette's
            in-process TestClient.

Each mode runs with the suite's own strict pytest settings (warnings are errors, strict markers and xfail, 20 s per
test). Per-test outcomes go to .cache/fastapi-suite/results/MODE.json, and a markdown report (summary, ratio of
tests passing under fastrapi to tests passing under FastAPI, failures grouped by their first line) to
.cache/fastapi-suite/report.md. See ``--help``; scripts/fastapi-suite.sh is the entry point.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import importlib.metadata
import json
import os
import pathlib
import re
import resource
import shutil
import subprocess
import sys
import tarfile
import time
import tomllib
from typing import Any

from fastapi_suite_plugin import is_excluded, is_excluded_path, read_exclusion_entries, read_exclusions
from packaging.requirements import Requirement

FASTAPI_VERSION = "0.165.0"
REPO = pathlib.Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
CACHE = pathlib.Path(os.environ.get("FASTAPI_SUITE_CACHE", REPO / ".cache" / "fastapi-suite"))
RESULTS = CACHE / "results"
EXCLUSIONS = SCRIPTS / "fastapi_suite_exclusions.txt"
# The ids of the tests that pass under FastAPI itself (a baseline run, --save-baseline): what CI compares with.
BASELINE_PASSED = SCRIPTS / "fastapi_suite_baseline_passed.txt"
# Maintained beside the issue that asked for this suite; CI lays shared/ next to the clone.
REWRITER = pathlib.Path(
    os.environ.get("FASTAPI_SUITE_REWRITER", REPO.parent / "shared" / "fastapi-suite" / "rewrite_imports.py")
)
MODES = ("baseline", "rewrite", "client")
PYTEST_CLOSING = re.compile(r"\b(passed|failed|errors?|skipped|deselected)\b.* in [\d.]+s")
PYTEST_RAN = (0, 1)  # all passed / some failed; anything else means the run itself broke
# These modules create and delete ./static in the working directory in module-scoped fixtures: run in parallel
# (pytest-xdist workers share the directory), one deletes it under another, under FastAPI too. They run in a pytest
# process of their own, without workers.
SHARED_WORKDIR = ("tests/test_tutorial/test_custom_docs_ui/", "tests/test_tutorial/test_static_files/")
# The suite runs in several pytest processes, so that descriptors leaked by one part's clients cannot exhaust the
# process's limit (EMFILE) and fail the tests of another, and so that a crash loses one part only.
DEFAULT_CHUNKS = 6

# FastAPI's CI installs its "tests" dependency group and its "all" extra. Left out here, with the reason:
SKIPPED_REQUIREMENTS = {
    "pytest": "the venv's pytest is kept: it is shared with fastrapi's own tests (FastAPI pins <9.2, venv has 9.2)",
    "pytest-codspeed": "tests/benchmarks and tests/memory_benchmarks skip themselves without --codspeed",
    "pytest-cov": "coverage reporting only",
    "pytest-sugar": "terminal output only",
    "mypy": "type-checks FastAPI's sources; no test runs it",
    "ty": "type-checks FastAPI's sources; no test runs it",
    "ruff": "lints FastAPI's sources; no test runs it",
    "python-slugify": "docs tooling; no test imports it",
}
# Extras dropped from a requirement, with the reason.
STRIPPED_EXTRAS = {
    "fastapi-cli": "[standard] adds fastapi-cloud-cli, a deployment client; test_fastapi_cli.py needs the CLI only",
}
# Installed versions of these stay as they are (the project's environment is what is measured).
PINNED_AS_INSTALLED = ("fastapi", "starlette", "pydantic", "pydantic-core", "pytest", "anyio", "httpx")


def log(message: str) -> None:
    print(f"fastapi-suite: {message}", flush=True)


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


# --- the sdist and its dependencies ----------------------------------------------------------------------------


def unpacked_sdist() -> pathlib.Path:
    """FastAPI's sdist, downloaded and unpacked once into the cache."""
    root = CACHE / f"fastapi-{FASTAPI_VERSION}"
    if (root / "pyproject.toml").is_file():
        return root
    dist = CACHE / "dist"
    archive = dist / f"fastapi-{FASTAPI_VERSION}.tar.gz"
    if not archive.is_file():
        log(f"downloading the fastapi {FASTAPI_VERSION} sdist")
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
             f"fastapi=={FASTAPI_VERSION}", "-d", str(dist)])
    with tarfile.open(archive) as tar:
        tar.extractall(CACHE, filter="data")
    return root


def group_requirements(groups: dict[str, list[object]], name: str) -> list[str]:
    """A PEP 735 dependency group's requirements, the groups it includes expanded."""
    requirements: list[str] = []
    for entry in groups[name]:
        if isinstance(entry, dict):
            requirements += group_requirements(groups, entry["include-group"])
        else:
            requirements.append(str(entry))
    return requirements


def test_requirements(sdist: pathlib.Path) -> tuple[list[str], list[tuple[str, str]]]:
    """(requirements to install, [(requirement, why skipped)]) from FastAPI's pyproject."""
    pyproject = tomllib.loads((sdist / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = group_requirements(pyproject["dependency-groups"], "tests")
    wanted += pyproject["project"]["optional-dependencies"]["all"]
    install: list[str] = []
    skipped: list[tuple[str, str]] = []
    for text in wanted:
        requirement = Requirement(text)
        name = requirement.name.lower()
        if name in SKIPPED_REQUIREMENTS:
            skipped.append((text, SKIPPED_REQUIREMENTS[name]))
            continue
        if requirement.extras and name in STRIPPED_EXTRAS:
            skipped.append((f"{name}[{','.join(sorted(requirement.extras))}]", STRIPPED_EXTRAS[name]))
            requirement.extras = set()
        if str(requirement) not in install:
            install.append(str(requirement))
    return install, skipped


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def install_requirements(requirements: list[str]) -> None:
    """pip-installs the requirements into this venv, unless the same list already was (stamp in the venv)."""
    stamp = pathlib.Path(sys.prefix) / "fastapi-suite-requirements.txt"
    wanted = "\n".join(sorted(requirements)) + "\n"
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        if all(installed_version(Requirement(r).name) for r in requirements):
            return
    pins = [f"{name}=={version}" for name in PINNED_AS_INSTALLED if (version := installed_version(name))]
    constraints = CACHE / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n", encoding="utf-8")
    log(f"installing {len(requirements)} test requirements: {' '.join(requirements)}")
    run([sys.executable, "-m", "pip", "install", "--quiet", "-c", str(constraints), *requirements])
    stamp.write_text(wanted, encoding="utf-8")


# --- one mode ----------------------------------------------------------------------------------------------------


def working_tree(sdist: pathlib.Path, mode: str) -> pathlib.Path:
    """A fresh copy of the sdist for one mode, without FastAPI's package (the installed one is the one measured)."""
    tree = CACHE / "trees" / mode
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(sdist, tree, ignore=lambda folder, names: ["fastapi"] if pathlib.Path(folder) == sdist else [])
    if mode == "rewrite":
        if not REWRITER.is_file():
            sys.exit(f"fastapi-suite: rewrite mode needs {REWRITER} (set FASTAPI_SUITE_REWRITER)")
        output = subprocess.run([sys.executable, str(REWRITER), str(tree)], check=True, capture_output=True, text=True)
        log(output.stdout.strip())
    return tree


def pytest_summary_line(log_file: pathlib.Path) -> str:
    """pytest's closing "N passed, M failed in Xs" line (warnings printed at exit may follow it)."""
    lines = log_file.read_text(encoding="utf-8", errors="replace").splitlines()
    closing = [line for line in lines if PYTEST_CLOSING.search(line)]
    return closing[-1].strip("= ") if closing else (lines[-1] if lines else "")


def raise_open_files_limit() -> None:
    """Lets the pytest process open as many files as the kernel allows: a client that leaks descriptors (they are
    counted in the report) would otherwise fail every later test with EMFILE, hiding what those tests measure."""
    try:
        most = int(pathlib.Path("/proc/sys/fs/nr_open").read_text(encoding="ascii"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (most, most))
    except (OSError, ValueError):  # not Linux, or not allowed to raise the hard limit: the hard limit then
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def suite_files(tree: pathlib.Path, mode: str) -> list[str]:
    """The suite's test files, relative to the tree, less the ones excluded in this mode."""
    patterns = read_exclusions(str(EXCLUSIONS), client=mode == "client")
    files = sorted(p.relative_to(tree).as_posix() for p in (tree / "tests").rglob("test_*.py"))
    return [f for f in files if not is_excluded_path(f, patterns)]


def split_evenly(files: list[str], tree: pathlib.Path, parts: int) -> list[list[str]]:
    """Consecutive runs of files with about the same total size (a rough stand-in for their number of tests)."""
    sizes = [(tree / f).stat().st_size for f in files]
    share = sum(sizes) / max(parts, 1)
    chunks: list[list[str]] = [[]]
    filled = 0
    for name, size in zip(files, sizes, strict=True):
        if filled >= share * len(chunks) and len(chunks) < parts:
            chunks.append([])
        chunks[-1].append(name)
        filled += size
    return [c for c in chunks if c]


def run_pytest(tree: pathlib.Path, mode: str, name: str, part: str, jobs: int, args: list[str]) -> dict[str, Any]:
    """One pytest process (``args`` after the harness's own); its per-test outcomes, as the plugin wrote them."""
    outcomes = RESULTS / name / f"{part}.json"
    log_file = RESULTS / name / f"{part}.log"
    outcomes.unlink(missing_ok=True)
    (CACHE / "tmp" / name).mkdir(parents=True, exist_ok=True)
    # --tb=native: pytest's own traceback formatting parses source with ast, which after a RecursionError in a test
    # hits a CPython 3.11 bug (SystemError: AST constructor recursion depth mismatch) and aborts the whole session.
    # --basetemp: pytest's default one is shared with every other pytest run of this user, and cleaned by each.
    cmd = [sys.executable, "-m", "pytest", "-p", "fastapi_suite_plugin", "-p", "no:cacheprovider", "-q", "--tb=native",
           f"--basetemp={CACHE / 'tmp' / name / part}", "--continue-on-collection-errors",
           f"--fastapi-suite-exclusions={EXCLUSIONS}", f"--fastapi-suite-outcomes={outcomes}"]
    if mode == "client":
        cmd.append("--fastapi-suite-client")
    if jobs > 1:
        cmd += ["-n", str(jobs), "--dist", "loadgroup"]  # as FastAPI's scripts/test.sh: xdist_group marks stay together
    path = [str(SCRIPTS), str(tree / "docs_src"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}
    started = time.monotonic()
    with log_file.open("w", encoding="utf-8") as output:
        exit_code = subprocess.run(
            cmd + args, cwd=tree, env=env, stdout=output, stderr=subprocess.STDOUT,
            preexec_fn=raise_open_files_limit,
        ).returncode
    seconds = time.monotonic() - started
    log(f"{name} {part}: pytest exit {exit_code} after {seconds:.0f} s: {pytest_summary_line(log_file)}")
    data = json.loads(outcomes.read_text(encoding="utf-8")) if outcomes.is_file() else {"tests": {}}
    output_text = log_file.read_text(encoding="utf-8", errors="replace")
    if exit_code not in PYTEST_RAN or "INTERNALERROR>" in output_text or not outcomes.is_file():
        data["broken"] = f"{log_file} (pytest exit {exit_code}):\n" + "\n".join(output_text.splitlines()[-30:])
    if jobs > 1:  # the plugin sees the xdist controller only, not the workers that ran the tests
        data.pop("open_fds_at_end", None)
        data.pop("threads_at_end", None)
    data["pytest_args"] = cmd[3:]
    return data


def run_mode(
    sdist: pathlib.Path, mode: str, name: str, jobs: int, chunks: int, options: list[str], selection: list[str]
) -> dict[str, Any]:
    """The whole suite (in ``chunks`` pytest processes) or ``selection`` (in one) in one mode, with extra pytest
    ``options``; merged outcomes, saved under ``name``."""
    tree = working_tree(sdist, mode)
    shutil.rmtree(RESULTS / name, ignore_errors=True)
    (RESULTS / name).mkdir(parents=True)
    if selection:
        selections = [(selection, jobs)]
    else:
        files = suite_files(tree, mode)
        shared_workdir = [f for f in files if f.startswith(SHARED_WORKDIR)]
        rest = [f for f in files if not f.startswith(SHARED_WORKDIR)]
        selections = [(part, jobs) for part in split_evenly(rest, tree, chunks)] + [(shared_workdir, 1)] * bool(
            shared_workdir
        )
    log(f"{name}: {len(selections)} pytest run(s) in {tree} (logs: {RESULTS / name})")
    started = time.monotonic()
    merged: dict[str, Any] = {"tests": {}, "collection_errors": {}, "deselected": 0, "broken": []}
    for number, (files, part_jobs) in enumerate(selections, 1):
        data = run_pytest(tree, mode, name, f"part{number}", part_jobs, options + files)
        merged["tests"].update(data["tests"])
        merged["collection_errors"].update(data.get("collection_errors", {}))
        merged["deselected"] += data.get("deselected", 0)
        for key in ("open_fds_at_end", "threads_at_end"):  # the most any one pytest process was left with
            if data.get(key) is not None:
                merged[key] = max(merged.get(key, 0), data[key])
        if data.get("broken"):
            merged["broken"].append(data["broken"])
        merged["pytest_args"] = data["pytest_args"]
    merged["broken"] = "\n\n".join(merged["broken"])
    merged.update(
        mode=mode, seconds=round(time.monotonic() - started, 1), jobs=jobs, processes=len(selections),
        selection=" ".join(options + (selection or ["tests"])),
        finished=datetime.datetime.now().isoformat(timespec="seconds"), fastrapi=git_revision(),
    )
    (RESULTS / f"{name}.json").write_text(json.dumps(merged, indent=1, sort_keys=True), encoding="utf-8")
    return merged


# --- the report --------------------------------------------------------------------------------------------------

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
# Parts of an error line that differ between otherwise identical failures.
VOLATILE = [
    (re.compile(r"0x[0-9a-fA-F]+"), "0x…"),
    (re.compile(r"\bfd=-?\d+"), "fd=…"),
    (re.compile(r"\('(127\.0\.0\.1|::1|0\.0\.0\.0)', \d+(, \d+, \d+)?\)"), r"('\1', …)"),
    (re.compile(r"\bport \d+"), "port …"),
]
MAX_KEY = 220
UNRAISABLE_MARK = "[unraisable, in a finaliser]"
EXAMPLES = 3


def group_key(entry: dict[str, str]) -> str:
    key = entry.get("message") or "(no message)"
    for pattern, replacement in VOLATILE:
        key = pattern.sub(replacement, key)
    if entry.get("cause"):  # an exception raised in a finaliser (pytest reports it as "unraisable")
        key = group_key({"message": entry["cause"]}) + f"  {UNRAISABLE_MARK}"
    return key if len(key) <= MAX_KEY else key[: MAX_KEY - 1] + "…"


Results = dict[str, Any]  # one run's saved JSON: "tests" {id: {"outcome", "message", ...}}, "collection_errors", ...


def load_results() -> dict[str, Results]:
    """Saved results by name: the modes in their order, then diagnostic variants (``MODE+...``)."""

    def order(path: pathlib.Path) -> tuple[int, str]:
        base = path.stem.split("+")[0]
        return (MODES.index(base) if base in MODES else len(MODES), path.stem)

    results = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("*.json"), key=order)}
    if "baseline" not in results and BASELINE_PASSED.is_file():
        results = {"baseline": committed_baseline(), **results}
    return results


def committed_baseline() -> Results:
    """The committed list of tests passing under FastAPI, as if a baseline run had just passed them."""
    lines = BASELINE_PASSED.read_text(encoding="utf-8").splitlines()
    ids = [line for line in lines if line and not line.startswith("#")]
    return {"tests": {nodeid: {"outcome": "passed"} for nodeid in ids}, "selection": BASELINE_PASSED.name}


def save_baseline(results: Results) -> None:
    ids = passed_ids(results)
    header = [f"# Tests of FastAPI {FASTAPI_VERSION}'s suite that pass under FastAPI itself ({len(ids)}), written by",
              "# `scripts/fastapi-suite.sh baseline --save-baseline` (exclusions outside [client] applied).",
              "# CI compares the client mode with this list instead of running the baseline."]
    BASELINE_PASSED.write_text("\n".join(header + ids) + "\n", encoding="utf-8")
    log(f"saved {len(ids)} passing test ids to {BASELINE_PASSED}")


def passed_ids(results: Results) -> list[str]:
    return sorted(n for n, e in results["tests"].items() if e["outcome"] == "passed")


def owning_collection_error(nodeid: str, results: Results) -> str | None:
    """The import error of the module a test belongs to, if that module could not be collected."""
    module = nodeid.split("::", 1)[0]
    for error_id, entry in results.get("collection_errors", {}).items():
        if module == error_id or module.startswith(error_id.rstrip("/") + "/"):
            return group_key(entry) + "  [module failed to import]"
    return None


def failure_groups(results: Results, baseline_passed: list[str]) -> tuple[int, list[tuple[str, list[str]]]]:
    """(passes, [(group, test ids)]) over the tests that pass under FastAPI, largest group first."""
    groups: dict[str, list[str]] = collections.defaultdict(list)
    passes = 0
    for nodeid in baseline_passed:
        entry = results["tests"].get(nodeid)
        if entry is not None and entry["outcome"] == "passed":
            passes += 1
        elif entry is None:
            reason = owning_collection_error(nodeid, results) or exclusion_reason(nodeid) or "(not run in this mode)"
            groups[reason].append(nodeid)
        else:
            groups[f"{entry['outcome']}: {group_key(entry)}"].append(nodeid)
    return passes, sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def git_revision() -> str:
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return rev.stdout.strip() or "?"


def versions_line() -> str:
    parts = [f"fastrapi {git_revision()}", f"Python {sys.version.split()[0]}"]
    parts += [f"{name} {installed_version(name)}" for name in ("fastapi", "starlette", "pydantic", "pytest")]
    return ", ".join(parts)


def exclusion_reason(nodeid: str) -> str | None:
    """For a test the exclusions leave out: "excluded: <reason>"."""
    for pattern, reason, _ in read_exclusion_entries(str(EXCLUSIONS)):
        if is_excluded(nodeid, [pattern]):
            return f"excluded: {reason or '(no reason given)'}"
    return None


def exclusion_lines() -> list[str]:
    return [f"- `{pattern}`{' (client mode)' if client_only else ''}: {reason or '(no reason given)'}"
            for pattern, reason, client_only in read_exclusion_entries(str(EXCLUSIONS))]


def summary_table(results: dict[str, Results]) -> list[str]:
    run_facts = ("seconds", "processes", "jobs", "selection", "finished", "fastrapi")
    columns = ["run", *OUTCOMES, "modules not collected", "open fds / threads at end", "time (s)", *run_facts[1:]]
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    for name, data in results.items():
        found = collections.Counter(entry["outcome"] for entry in data["tests"].values())
        cells = [name + (" (part of the run broke)" if data.get("broken") else "")]
        cells += [str(found[o]) for o in OUTCOMES]
        cells.append(str(len(data.get("collection_errors", {}))))
        cells.append(f"{data.get('open_fds_at_end', '?')} / {data.get('threads_at_end', '?')}")
        cells += [str(data.get(key, "?")) for key in run_facts]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def slowest_files(results: dict[str, Results], count: int = 12) -> list[str]:
    """Where the time goes: test time (setup + call + teardown) per file and run, the slowest files first (for
    choosing a subset that fits a CI budget)."""
    per_run: dict[str, collections.Counter[str]] = {}
    tests_per_file: collections.Counter[str] = collections.Counter()
    for name, data in results.items():
        per_run[name] = collections.Counter()
        for nodeid, entry in data["tests"].items():
            per_run[name][nodeid.split("::", 1)[0]] += entry.get("seconds", 0.0)
            if name == "baseline":
                tests_per_file[nodeid.split("::", 1)[0]] += 1
    slowest = max(per_run.values(), key=lambda c: sum(c.values())).most_common(count)
    lines = ["| file | tests | " + " | ".join(f"{name} (s)" for name in per_run) + " |",
             "| --- | ---: |" + " ---: |" * len(per_run),
             "| all files | " + str(sum(tests_per_file.values())) + " | "
             + " | ".join(f"{sum(c.values()):.0f}" for c in per_run.values()) + " |"]
    for file, _ in slowest:
        lines.append(f"| `{file}` | {tests_per_file[file]} | " + " | ".join(f"{c[file]:.1f}" for c in per_run.values())
                     + " |")
    return lines + [""]


def mode_section(name: str, data: Results, baseline: Results) -> tuple[str, list[str]]:
    """(one-line summary, report lines) for one fastrapi run against the baseline."""
    baseline_passed = passed_ids(baseline)
    passes, groups = failure_groups(data, baseline_passed)
    ratio = passes / len(baseline_passed) if baseline_passed else 0.0
    summary = (f"{name}: {passes} / {len(baseline_passed)} tests that pass under FastAPI pass under fastrapi "
               f"({ratio:.1%}) in {data.get('seconds', '?')} s")
    lines = [f"## {name}: {passes} of {len(baseline_passed)} ({ratio:.1%}) pass under fastrapi", ""]
    if data.get("broken"):
        lines += ["Part of the run broke:", "", "```", str(data["broken"]), "```", ""]
    lines += [f"The {len(baseline_passed) - passes} tests that pass under FastAPI but not here, grouped by the first "
              "line of their error:", "", "| tests | outcome: first line of the error | examples |",
              "| ---: | --- | --- |"]
    for key, nodeids in groups:
        examples = "<br>".join(f"`{n}`" for n in nodeids[:EXAMPLES])
        lines.append(f"| {len(nodeids)} | {md_cell(key)} | {examples} |")
    lines.append("")
    if any(UNRAISABLE_MARK in key for key, _ in groups):
        lines += [f"{UNRAISABLE_MARK}: Python warns about an unclosed socket or file when the object is finalised, "
                  "which may be during a later test than the one that leaked it.", ""]
    gained = sorted(set(passed_ids(data)) - set(baseline_passed))
    if gained:
        examples = ", ".join(f"`{n}`" for n in gained[:10])
        lines += [f"Passing here but not under FastAPI ({len(gained)}): {examples}", ""]
    return summary, lines


def write_report(path: pathlib.Path, skipped_requirements: list[tuple[str, str]]) -> list[str]:
    """Writes the markdown report from every saved result; returns its summary lines."""
    results = load_results()
    lines = [f"# FastAPI {FASTAPI_VERSION}'s own test suite against fastrapi", "",
             f"Generated {datetime.datetime.now().isoformat(timespec='seconds')} by `scripts/fastapi-suite.sh`; "
             f"{versions_line()}.", "", "Excluded from every run (not counted):", *exclusion_lines(), ""]
    if skipped_requirements:
        lines += ["Test requirements not installed:"]
        lines += [f"- `{requirement}`: {reason}" for requirement, reason in skipped_requirements] + [""]
    lines += ["## Summary", "", *summary_table(results)]
    baseline = results.get("baseline")
    source = f"in {baseline['seconds']} s" if baseline and "seconds" in baseline else f"({BASELINE_PASSED.name})"
    summary = [f"baseline: {len(passed_ids(baseline))} tests pass under FastAPI {source}"
               if baseline else "no baseline run yet: ratios need `scripts/fastapi-suite.sh baseline`"]
    if baseline:
        for name, data in results.items():
            if name != "baseline":
                line, section = mode_section(name, data, baseline)
                summary.append(line)
                lines += section
        not_passing = {n: e for n, e in baseline["tests"].items() if e["outcome"] in ("failed", "error")}
        if not_passing or baseline.get("collection_errors"):
            lines += ["## Failing under FastAPI itself (not counted)", ""]
            lines += [f"- `{n}`: {e['outcome']}: {md_cell(group_key(e))}" for n, e in sorted(not_passing.items())]
            lines += [f"- module `{n}` not collected: {md_cell(group_key(e))}"
                      for n, e in sorted(baseline.get("collection_errors", {}).items())]
            lines.append("")
        lines += ["## Where the time goes", "", "Test time (setup + call + teardown) per file, summed; the wall time "
                  "in the summary adds pytest's start-up and collection per process.", "", *slowest_files(results)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return summary


def meets_requirements(names: list[str], ratio: float | None, every: bool) -> bool:
    """Whether the named fastrapi runs pass at least ``ratio`` of the tests that pass under FastAPI, and (``every``)
    each of those tests that the exclusions do not leave out."""
    results = load_results()
    if "baseline" not in results:
        log(f"--require/--require-all need a baseline run or {BASELINE_PASSED.name}")
        return False
    baseline_passed = passed_ids(results["baseline"])
    client_patterns = read_exclusions(str(EXCLUSIONS), client=True)
    ok = True
    for name in names:
        passes, _ = failure_groups(results[name], baseline_passed)
        if ratio is not None and passes < ratio * len(baseline_passed):
            log(f"{name}: {passes}/{len(baseline_passed)} is below the required {ratio:.1%}")
            ok = False
        if every:
            tests = results[name]["tests"]
            failing = [n for n in baseline_passed if tests.get(n, {}).get("outcome") != "passed"
                       and not is_excluded(n, client_patterns)]
            for nodeid in failing:
                entry = tests.get(nodeid)
                log(f"{name}: not passing: {nodeid}: " + (f"{entry['outcome']}: {group_key(entry)}" if entry
                                                          else owning_collection_error(nodeid, results[name])
                                                          or "not run"))
            if failing:
                log(f"{name}: {len(failing)} tests pass under FastAPI, are not excluded, and do not pass here")
                ok = False
    return ok


# --- entry point -------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modes", nargs="*", metavar="MODE", help="baseline, rewrite, client, all, or report "
                        "(only rewrite the report from saved results); default: baseline rewrite")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="pytest-xdist workers (default 1)")
    parser.add_argument("--chunks", type=int, default=DEFAULT_CHUNKS,
                        help=f"pytest processes the whole suite is split into (default {DEFAULT_CHUNKS})")
    parser.add_argument("--ignore-resource-warnings", action="store_true",
                        help="diagnostic: run with -W ignore::ResourceWarning (unclosed sockets and files pass) and "
                             "save the results as MODE+no-resourcewarning; not the target metric")
    parser.add_argument("--report", type=pathlib.Path, default=CACHE / "report.md", help="markdown report path")
    parser.add_argument("--no-install", action="store_true", help="do not pip-install the suite's test requirements")
    parser.add_argument("--require", type=float, metavar="RATIO",
                        help="exit 1 unless every fastrapi mode run passes at least RATIO (e.g. 0.99) of the "
                             "tests that pass under FastAPI")
    parser.add_argument("--require-all", action="store_true",
                        help="exit 1 unless every test that passes under FastAPI, and that the exclusions do not "
                             "leave out, passes in the fastrapi mode runs")
    parser.add_argument("--save-baseline", action="store_true",
                        help=f"after a whole baseline run, write its passing test ids to {BASELINE_PASSED.name}")
    parser.epilog = "Arguments after -- go to pytest (default: tests)."
    argv = sys.argv[1:]
    split = argv.index("--") if "--" in argv else len(argv)
    args, pytest_args = parser.parse_args(argv[:split]), argv[split + 1 :]
    modes = args.modes or ["baseline", "rewrite"]
    if "all" in modes:
        modes = list(MODES)
    unknown = set(modes) - set(MODES) - {"report"}
    if unknown:
        parser.error(f"unknown mode(s): {', '.join(sorted(unknown))}")

    CACHE.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    sdist = unpacked_sdist()
    requirements, skipped = test_requirements(sdist)
    if not args.no_install and set(modes) != {"report"}:
        install_requirements(requirements)

    broken = []
    names = []
    for mode in (m for m in MODES if m in modes):
        name = mode + ("+no-resourcewarning" if args.ignore_resource_warnings else "")
        options = ["-W", "ignore::ResourceWarning"] if args.ignore_resource_warnings else []
        data = run_mode(sdist, mode, name, args.jobs, args.chunks, options, pytest_args)
        names.append(name)
        if data.get("broken"):
            broken.append(mode)
            print(data["broken"], file=sys.stderr)
        elif name == "baseline" and args.save_baseline:
            if pytest_args:
                parser.error("--save-baseline needs a whole baseline run (no pytest arguments)")
            save_baseline(data)
    summary = write_report(args.report, skipped)
    for line in summary:
        log(line)
    log(f"report: {args.report}")
    if broken:
        log(f"the pytest run of {', '.join(broken)} broke (see above)")
        return 2
    checked = [name for name in names if name != "baseline"]
    if (args.require is not None or args.require_all) and not meets_requirements(
        checked, args.require, args.require_all
    ):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
