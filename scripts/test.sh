#!/usr/bin/env bash
# Runs every test of the workspace: installs what the interop, OpenRPC, browser and scale-out
# tests need, then `cargo test` over all crates (unit, integration, doc and UI tests), the tests
# `#[ignore]`d for needing Python, Node or Chromium included, rpc-client's unit tests once more
# without its `tls` feature, then the scale-out test
# (scripts/scale-out.sh: nginx in front of two replicas, restarted and killed under load). (A
# plain `cargo test --workspace` runs all but those, and passes on a machine without them.)
#
# Arguments go to `cargo test`; those after `--` go to the test binaries, e.g.
#   bash scripts/test.sh -p tests --test wire -- --nocapture
# With arguments, only those tests run (not the scale-out test).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh

cargo_args=()
test_args=()
while (($#)); do
    if [ "$1" = "--" ]; then
        shift
        test_args=("$@")
        break
    fi
    cargo_args+=("$1")
    shift
done
cargo test --workspace --locked -j2 "${cargo_args[@]}" -- --include-ignored "${test_args[@]}"
if [ "${#cargo_args[@]}" -eq 0 ] && [ "${#test_args[@]}" -eq 0 ]; then
    # The tests package builds rpc-client with its `tls` feature (tests/tests/tls.rs), and so
    # does the whole workspace above; the client's unit tests run once more without it.
    cargo test --locked -j2 -p rpc-client --lib
    bash scripts/scale-out.sh
fi
