"""Property-based testing of a served app from its own OpenAPI document (schemathesis).

Every operation gets generated valid and invalid requests; the server must never answer with
a 5xx, and every answer must match the response schema the document declares. Fixed seed and
example budget, so the run is the same every time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

if not os.environ.get("CI"):
    # Outside CI a missing schemathesis skips; in CI (`.ci/run` sets CI=true) it must be there.
    pytest.importorskip("schemathesis")


def test_schemathesis_finds_no_server_errors_and_conforming_responses(serve_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = serve_app("tests.apps.schemathesis_app")
    st = Path(sys.executable).parent / "st"
    cmd = [
        str(st), "run", f"{server.url}/openapi.json",
        "--checks", "not_a_server_error,response_schema_conformance",
        "--max-examples", "25",
        "--seed", "1",
        "--workers", "1",
        "--request-timeout", "10",
    ]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{output}\n--- server log ---\n{server.log()}"
    assert "Internal Server Error" not in server.log()
