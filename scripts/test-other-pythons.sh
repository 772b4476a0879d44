#!/usr/bin/env bash
# Runs the pytest suite on every other supported CPython found under pyenv (3.12, 3.13, ...),
# each with its own venv and an unoptimised build of the extension (correctness, not speed).
# Left to the 3.11 run (to keep CI under 30 minutes): the tests of third-party extensions, database
# drivers and deployment options, whose behaviour does not depend on the interpreter's version.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
found=0
for minor in 12 13 14; do
  python=$(ls -d "$root"/versions/3."$minor".*/bin/python3 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$python" ] || continue
  found=1
  venv=".venv-3.$minor"
  echo "== Python 3.$minor ($python)"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "maturin>=1.7,<2" "pydantic>=2.7,<3" "pytest>=8" "pytest-timeout>=2" \
    "httpx>=0.27" "httpx2>=2" "fastapi==0.165.0" "python-multipart>=0.0.9" "itsdangerous>=2" "uvicorn[standard]>=0.30" \
    "schemathesis>=4"
  "$venv/bin/python" -m pip install --quiet "sqlalchemy>=2" "psycopg[binary,pool]>=3.1" "asyncpg>=0.29" "greenlet>=3"
  VIRTUAL_ENV="$PWD/$venv" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/py3$minor" "$venv/bin/maturin" develop --quiet
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests \
    --ignore=tests/test_extensions.py --ignore=tests/test_databases.py --ignore=tests/test_deployment.py
done
[ "$found" = 1 ] || echo "no other CPython 3.12+ under $root; skipped"
