#!/usr/bin/env bash
# Runs the benchmarks of accord against hand-written code and rewrites
# BENCHMARKS.md. With no arguments it runs everything (--all); any
# arguments go to accord-bench instead, e.g. `scripts/bench.sh --only
# http-server,memory` or `scripts/bench.sh --all --runs 5`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
    echo "wrk is missing: apt-get install -y wrk" >&2
    exit 1
fi
cargo build --release -p accord-bench -p accord-codegen
if [ $# -eq 0 ]; then
    set -- --all
fi
exec "${CARGO_TARGET_DIR:-target}/release/accord-bench" "$@"
