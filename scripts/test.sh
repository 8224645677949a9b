#!/usr/bin/env bash
# Runs every test of the workspace: installs what the interop, OpenRPC and browser tests need,
# then `cargo test` over all crates (unit, integration, doc and UI tests), the tests `#[ignore]`d
# for needing Python, Node or Chromium included. (A plain `cargo test --workspace` runs all but
# those, and passes on a machine without them.)
#
# Arguments go to `cargo test`; those after `--` go to the test binaries, e.g.
#   bash scripts/test.sh -p tests --test wire -- --nocapture
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
