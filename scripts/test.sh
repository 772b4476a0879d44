#!/usr/bin/env bash
# Runs every check and test: Rust format, lints and unit tests; the extension build;
# Python lint and type check; the pytest suite (real servers on loopback); FastAPI's own suite through fastrapi.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
export PYO3_PYTHON="$PWD/.venv/bin/python"

echo "== cargo fmt";    cargo fmt --check
echo "== cargo clippy"; cargo clippy --all-targets -- -D warnings
echo "== cargo test";   cargo test --quiet
echo "== ruff";         .venv/bin/ruff check python tests benches examples
echo "== mypy";         .venv/bin/mypy
echo "== pytest";       .venv/bin/python -m pytest -q -p no:cacheprovider tests
# FastAPI's own test suite, every TestClient request served by fastrapi's runtime, against the committed list of
# the tests that pass under FastAPI itself (scripts/fastapi_suite_exclusions.txt says what is left out and why).
# 5182 of 5192 pass (99.81%, the 10 exclusions count as failures); 99.7% leaves room for a rare flake in a
# 5,000-test run while a real regression of a handful of tests still fails CI (the issue's bar is 99%).
echo "== FastAPI's suite through fastrapi"
scripts/fastapi-suite.sh client --jobs 2 --chunks 2 --require 0.997
echo "== other Pythons"; scripts/test-other-pythons.sh
