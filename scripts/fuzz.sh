#!/usr/bin/env bash
# Builds every cargo-fuzz target in fuzz/ and runs each for N seconds (default 45), one after the
# other, from the committed seeds in fuzz/corpus/<target>/ (new inputs go to a scratch corpus, so
# the seeds stay as committed). Exits non-zero when a target crashes; its input is then under
# fuzz/artifacts/<target>/ and the log's end is printed.
# Needs cargo-fuzz and a nightly toolchain: without them it says so and exits 0, unless CI=true,
# where it installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-45}"

if ! cargo fuzz --version >/dev/null 2>&1 || ! rustup run nightly rustc --version >/dev/null 2>&1; then
    if [[ "${CI:-}" != true ]]; then
        echo "fuzz: skipped, cargo-fuzz or nightly Rust is missing (CI=true installs them)"
        exit 0
    fi
    rustup toolchain install nightly --profile minimal
    cargo install cargo-fuzz --locked
fi

work="${CARGO_TARGET_DIR:-$PWD/fuzz/target}/fuzz-run"
mkdir -p "$work"
cargo +nightly fuzz build
failed=()
for target in $(cargo +nightly fuzz list); do
    mkdir -p "$work/corpus/$target" "fuzz/corpus/$target"
    log="$work/$target.log"
    # -timeout: an input that takes this long is a hang, reported like a crash.
    if cargo +nightly fuzz run "$target" "$work/corpus/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=20 -print_final_stats=1 >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "fuzz: $target ok: $runs runs in ${seconds}s, $(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)"
    else
        echo "fuzz: $target FAILED; end of $log:"
        tail -n 40 "$log"
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "fuzz: crashes in ${failed[*]} (inputs under fuzz/artifacts/)"
    exit 1
fi
