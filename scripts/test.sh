#!/usr/bin/env bash
# Runs every test of the workspace: installs what the interop and browser tests need, then
# `cargo test` over all crates (unit, integration, doc and UI tests).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-deps.sh
cargo test --workspace -j2 "$@"
