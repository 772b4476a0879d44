#!/usr/bin/env bash
# Runs FastAPI 0.165.0's own test suite (from its sdist, cached in .cache/fastapi-suite) under FastAPI and under
# fastrapi, and writes .cache/fastapi-suite/report.md: pass counts per mode, the share of tests passing under
# FastAPI that pass under fastrapi, and failures grouped by their first line. scripts/test.sh runs the client mode
# against the committed list of tests that pass under FastAPI (scripts/fastapi_suite_baseline_passed.txt).
#   scripts/fastapi-suite.sh                      baseline + rewrite (the default)
#   scripts/fastapi-suite.sh client               every TestClient request through fastrapi's runtime
#   scripts/fastapi-suite.sh all                  all three modes (--jobs N: N pytest-xdist workers each)
#   scripts/fastapi-suite.sh client --jobs 2 --require 0.99 --require-all    what CI checks
#   scripts/fastapi-suite.sh baseline --jobs 2 --save-baseline    refresh the committed list (new FastAPI version)
#   scripts/fastapi-suite.sh rewrite -- tests/test_tutorial    a part of the suite
#   scripts/fastapi-suite.sh client --ignore-resource-warnings    diagnostic: what passes once sockets are closed
#   scripts/fastapi-suite.sh report               rewrite the report from the saved results
# Needs the venv from scripts/install.sh; installs the suite's test requirements into it.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || { echo "no .venv: run scripts/install.sh first" >&2; exit 1; }
exec .venv/bin/python scripts/fastapi_suite.py "$@"
