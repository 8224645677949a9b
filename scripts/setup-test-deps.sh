#!/usr/bin/env bash
# Installs the independent peers the tests talk to. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup-test-deps: $*" >&2; }

# --- Python JSON-RPC clients (tests/tests/interop_python.rs) ---------------------------------
# A virtualenv at .venv holding the pinned clients of tests/interop/requirements.txt.
venv=.venv
requirements=tests/interop/requirements.txt

if ! command -v python3 >/dev/null 2>&1; then
    say "python3 is required (for the Python interop test); install it and run me again"
    exit 1
fi

venv_ok() { [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; }

create_venv() {
    rm -rf "$venv"
    python3 -m venv "$venv"
}

# Debian and Ubuntu ship `venv`'s ensurepip in a separate package (python3-venv).
install_venv_module() {
    if ! command -v apt-get >/dev/null 2>&1; then
        say "python3 cannot create a virtualenv (venv/ensurepip missing); install python3-venv"
        exit 1
    fi
    say "installing python3-venv"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq python3-venv >/dev/null 2>&1; then
        # The package lists are probably missing or stale (fresh machine): refresh, retry.
        apt-get update -qq >/dev/null
        apt-get install -y -qq python3-venv >/dev/null
    fi
}

if ! venv_ok; then
    say "creating $venv"
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || ! create_venv >/dev/null 2>&1; then
        install_venv_module
        create_venv
    fi
fi

# A no-op when the pinned versions are already installed.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    --requirement "$requirements"
say "Python interop clients ready in $venv ($(
    "$venv/bin/python" -m pip freeze --disable-pip-version-check -r "$requirements" 2>/dev/null |
        sed '/^##/,$d' | tr '\n' ' ' | sed 's/ $//'
))"
