#!/usr/bin/env bash
# The side-by-side comparison: ours vs jsonrpsee vs the floor (a hand-written axum + serde
# handler), then our client vs jsonrpsee's; and, with --build-time, the 50-method build-time
# comparison too. Arguments go to the benchmark, e.g.:
#
#   scripts/bench.sh                      # full run (~1.5 min once built)
#   scripts/bench.sh --smoke              # ~0.2 s per workload: what CI runs
#   scripts/bench.sh --duration 5 --only small,batch
#   scripts/bench.sh --build-time         # also scripts/bench-build-time.sh
#
# Release builds go to target/bench (CARGO_TARGET_DIR overrides), out of the way of debug builds.
set -euo pipefail
cd "$(dirname "$0")/.."

build_time=0
args=()
for a in "$@"; do
    case "$a" in
    --build-time) build_time=1 ;;
    *) args+=("$a") ;;
    esac
done

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target/bench}
cargo bench -j"${JOBS:-2}" --locked -p rpc-bench --bench compare -- "${args[@]}"
if ((build_time)); then
    bash scripts/bench-build-time.sh
fi
