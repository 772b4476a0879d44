#!/usr/bin/env bash
# Install what the load benchmark needs:
#   - wrk (Debian package) and taskset (util-linux), if missing
#   - FastAPI + uvicorn[standard] (uvloop, httptools) for the reference server
#   - the pure-Rust ceiling server, built in $CARGO_TARGET_DIR (default /work/target-bench)
#   - wsload, the WebSocket echo load generator (benches/wsload), built there too
#   - oha, only with --with-oha (cargo install: a long build on 2 cores)
#
# fastrapi itself is not built here: install it from the repo root first, e.g.
#   pip install maturin && maturin develop --release      (or: pip install .)
#
# Usage: benches/load/setup.sh [--with-oha]
#   env: CARGO_TARGET_DIR (default /work/target-bench), PYTHON (default python3)
set -euo pipefail

with_oha=0
for arg in "$@"; do
  case "$arg" in
    --with-oha) with_oha=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ceiling_dir="$(cd "$here/../ceiling" && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
python="${PYTHON:-python3}"

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    $sudo apt-get update -q
    apt_updated=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@"
}

echo "== load generator"
if command -v wrk >/dev/null 2>&1; then
  echo "wrk: $(command -v wrk)"
else
  apt_install wrk
fi
if ! command -v taskset >/dev/null 2>&1; then
  apt_install util-linux
fi

echo "== FastAPI reference server"
"$python" -m pip install -q fastapi 'uvicorn[standard]'
"$python" -c 'import fastapi, uvicorn, uvloop, httptools, websockets; print("fastapi", fastapi.__version__, "uvicorn", uvicorn.__version__, "websockets", websockets.__version__)'

echo "== pure-Rust ceiling server (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$ceiling_dir" && cargo build --release)
ls -l "$CARGO_TARGET_DIR/release/fastrapi-ceiling"

echo "== WebSocket load generator wsload (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
(cd "$here/../wsload" && cargo build --release)
ls -l "$CARGO_TARGET_DIR/release/wsload"

if [ "$with_oha" -eq 1 ]; then
  echo "== oha"
  if command -v oha >/dev/null 2>&1; then
    echo "oha: $(command -v oha) ($(oha --version))"
  else
    if ! cargo info oha >/dev/null 2>&1; then
      echo "setup.sh: crate 'oha' not found on the registry; skipping" >&2
      exit 1
    fi
    # Long build (~10+ min on 2 cores).
    cargo install oha --locked
  fi
fi

if ! "$python" -c 'import fastrapi' >/dev/null 2>&1; then
  echo "note: fastrapi is not importable by $python yet; the runner will report it as failing to start."
  echo "      Build it from the repo root: maturin develop --release (or pip install .)"
fi
echo "setup done. Run: python3 benches/load/run.py --quick   (WebSocket: python3 benches/load/ws_run.py --quick)"
