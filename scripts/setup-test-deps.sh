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
        sed -e '/^##/,$d' -e '/^#/d' | tr '\n' ' ' | sed 's/ $//'
))"

# --- OpenRPC validator and headless Chromium (tests/tests/openrpc.rs, explorer_browser/) ------
# The OpenRPC project's own validator (@open-rpc/schema-utils-js, @open-rpc/meta-schema), pinned
# in tests/openrpc/package-lock.json and installed into tests/openrpc/node_modules; and Debian's
# chromium and chromium-driver, which drive the explorer page headless.
openrpc_dir=tests/openrpc

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    say "node and npm are required (for the OpenRPC validation test); install Node.js 18 or later and run me again"
    exit 1
fi

# `npm ci` installs exactly the lock's tree but always starts over: skip it when that tree is
# already in place (npm writes node_modules/.package-lock.json as it installs).
openrpc_installed() {
    [ -f "$openrpc_dir/node_modules/.package-lock.json" ] &&
        [ "$openrpc_dir/node_modules/.package-lock.json" -nt "$openrpc_dir/package-lock.json" ] &&
        (cd "$openrpc_dir" && npm ls --all >/dev/null 2>&1)
}
if ! openrpc_installed; then
    say "installing the OpenRPC validator into $openrpc_dir/node_modules"
    (cd "$openrpc_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
say "OpenRPC validator ready in $openrpc_dir ($(
    cd "$openrpc_dir" && node -e '
        for (const p of ["@open-rpc/schema-utils-js", "@open-rpc/meta-schema", "ajv"])
            process.stdout.write(`${p}@${require(`${p}/package.json`).version} `)' | sed 's/ $//'
))"

deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

browser_missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    # DejaVu: one font that is always there, so the page renders the same everywhere.
    for pkg in chromium chromium-driver fonts-dejavu-core; do
        deb_installed "$pkg" || browser_missing+=("$pkg")
    done
elif ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    say "chromium and chromedriver are required (for the explorer's browser test); install them and run me again"
    exit 1
fi
if [ "${#browser_missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        say "installing ${browser_missing[*]} needs root: run me as root, or install them yourself"
        exit 1
    fi
    say "installing ${browser_missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${browser_missing[@]}" >/dev/null 2>&1; then
        # The package lists are probably missing or stale (fresh machine): refresh, retry.
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${browser_missing[@]}" >/dev/null
    fi
fi
say "headless browser ready ($(chromium --version 2>/dev/null | head -n1); $(
    chromedriver --version 2>/dev/null | cut -d' ' -f1-2))"

# --- CA certificates (tests/tests/tls.rs) ------------------------------------------------------
# A `wss://` client verifies servers against the platform's root certificates beside any it is
# given, and refuses to be built when there are none at all; the TLS and client tests build such
# clients. Debian keeps the roots in ca-certificates, missing from the slimmest images.
if command -v dpkg-query >/dev/null 2>&1 && ! deb_installed ca-certificates; then
    if [ "$(id -u)" -ne 0 ]; then
        say "installing ca-certificates needs root: run me as root, or install it yourself"
        exit 1
    fi
    say "installing ca-certificates"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
    fi
fi

# --- nginx (scripts/scale-out.sh) -------------------------------------------------------------
# Debian's nginx, which the scale-out test runs as an ordinary process with a prefix of its own.
# (Where an init system runs, the package also starts the system's nginx on port 80; the test
# neither needs nor touches it.)
if command -v dpkg-query >/dev/null 2>&1; then
    if ! deb_installed nginx; then
        if [ "$(id -u)" -ne 0 ]; then
            say "installing nginx needs root: run me as root, or install it yourself"
            exit 1
        fi
        say "installing nginx"
        export DEBIAN_FRONTEND=noninteractive
        if ! apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1; then
            apt-get update -qq >/dev/null
            apt-get install -y -qq --no-install-recommends nginx >/dev/null
        fi
    fi
elif ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    say "nginx is required (for scripts/scale-out.sh); install it and run me again"
    exit 1
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
say "nginx ready ($("$nginx_bin" -v 2>&1 | head -n1))"
