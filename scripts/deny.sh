#!/usr/bin/env bash
# Checks every dependency's license, bans and source against deny.toml with cargo-deny,
# installing cargo-deny first when it is missing (a one-time build of a few minutes).
# Advisories are left out: they need the RustSec database fetched on every run.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
    echo "deny: installing cargo-deny (cargo install --locked)" >&2
    cargo install cargo-deny --locked -j"${JOBS:-2}"
fi
cargo deny --locked check licenses bans sources "$@"
