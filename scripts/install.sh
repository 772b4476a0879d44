#!/usr/bin/env bash
# Installs fastrapi for development into ./.venv: Python deps, then the Rust extension
# built in release mode (LTO; the first build takes a few minutes on 2 cores).
#   scripts/install.sh          runtime + test dependencies, release build
#   PROFILE=dev scripts/install.sh   faster unoptimised build for quick iteration
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
PROFILE=${PROFILE:-release}

command -v cargo >/dev/null || { echo "cargo (Rust) is required: https://rustup.rs" >&2; exit 1; }
"$PYTHON" -c 'import sys; assert sys.version_info >= (3, 11), "fastrapi needs Python 3.11+"'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "maturin>=1.7,<2" "pydantic>=2.7,<3"
.venv/bin/python -m pip install --quiet \
  "pytest>=8" "pytest-timeout>=2" "httpx>=0.27" "httpx2>=2" "fastapi==0.165.0" "python-multipart>=0.0.9" "itsdangerous>=2" \
  "uvicorn[standard]>=0.30" "ruff>=0.6" "mypy>=1.10" "schemathesis>=4"
# Database drivers: the database tests, examples/todo and the database benchmark (benches/db).
.venv/bin/python -m pip install --quiet "sqlalchemy>=2" "psycopg[binary,pool]>=3.1" "asyncpg>=0.29" "greenlet>=3"
# Third-party FastAPI extensions (tests/test_extensions.py); fastapi-users caps SQLAlchemy below 2.1.
.venv/bin/python -m pip install --quiet -r tests/requirements-extensions.txt "fastapi==0.165.0"
if [ "$PROFILE" = release ]; then
  .venv/bin/maturin develop --release --quiet
else
  .venv/bin/maturin develop --quiet
fi
.venv/bin/python -c 'import fastrapi._fastrapi as m; print("fastrapi native core", m.__version__, "installed; driver:", m.resolve_driver("auto"))'
