#!/usr/bin/env bash
# Installs the independent peers the tests talk to. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."
