#!/usr/bin/env bash
# Build time of a 50-method trait: ours (`#[rpc]`, server + client) against jsonrpsee
# (`#[rpc(server, client)]`), each in a tiny crate of its own with the same methods, the same
# implementation and the same use of the server and the client.
#
# The two crates are generated in target/bench-build-time/ (path dependencies on this workspace's
# crates; this workspace's Cargo.lock copied in, so nothing is re-resolved), their dependencies
# are built once, then `touch src/lib.rs && cargo build` is timed REPS times per crate (the
# crate alone recompiles) and the medians are compared.
#
#   scripts/bench-build-time.sh            # dev profile, 5 repetitions, 50 methods
#   REPS=9 METHODS=100 PROFILE=release INCREMENTAL=1 scripts/bench-build-time.sh
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root=$PWD

reps=${REPS:-5}
methods=${METHODS:-50}
profile=${PROFILE:-dev}
jobs=${JOBS:-2}
# Whole-crate compiles by default: with incremental compilation a touched-but-unchanged file is
# mostly answered from the cache, which measures the cache, not the code the macros generate.
incremental=${INCREMENTAL:-0}
work=${BENCH_BUILD_DIR:-$root/target/bench-build-time}

case "$profile" in
dev) profile_flag=() ;;
*) profile_flag=(--profile "$profile") ;;
esac

mkdir -p "$work"

# --- The shared parts of both crates -------------------------------------------------------

# The methods' shapes, cycled: (params, ok type, fallible?, body).
shape_params=(
    "a: i64, b: i64"
    "name: String, tags: Vec<String>"
    "item: Item, flag: Option<bool>"
    "id: u64"
    "items: Vec<Item>, limit: Option<u32>"
)
shape_ok=("i64" "Item" "Item" "Option<Item>" "Vec<u64>")
shape_fallible=(0 1 0 1 0)
shape_body=(
    "a.wrapping_sub(b)"
    "Item { id: 1, name, tags }"
    "Item { id: u64::from(flag.unwrap_or(false)), ..item }"
    "(id > 0).then(|| Item { id, name: String::new(), tags: Vec::new() })"
    "items.iter().take(limit.unwrap_or(10) as usize).map(|i| i.id).collect()"
)
shape_args=(
    "1, 2"
    "\"n\".to_owned(), vec![]"
    "item(), Some(true)"
    "3"
    "vec![item()], None"
)

common_types() {
    cat <<'EOF'
use serde::{Deserialize, Serialize};

/// A record the methods pass around.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Its id.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// Its tags.
    pub tags: Vec<String>,
}

fn item() -> Item {
    Item { id: 7, name: "seven".to_owned(), tags: vec!["odd".to_owned()] }
}
EOF
}

# --- Ours ------------------------------------------------------------------------------------

gen_ours() {
    local dir=$work/ours
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "bt-ours"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
rpc-core = { path = "$root/rpc-core" }
rpc-server = { path = "$root/rpc-server" }
rpc-client = { path = "$root/rpc-client" }
serde = { version = "1", features = ["derive"] }

[workspace]
EOF
    {
        echo "//! ${methods} methods behind our \`#[rpc]\`."
        echo "#![allow(dead_code, missing_docs)]"
        common_types
        cat <<'EOF'

/// The methods' own error.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AppError(pub String);

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl rpc_core::RpcError for AppError {}

/// The service.
#[rpc_core::rpc]
pub trait Api {
EOF
        for ((i = 0; i < methods; i++)); do
            local s=$((i % 5)) ret
            if ((shape_fallible[s])); then ret="Result<${shape_ok[s]}, AppError>"; else ret=${shape_ok[s]}; fi
            echo "    /// Method $i."
            echo "    async fn method_$i(&self, ${shape_params[s]}) -> $ret;"
        done
        echo "}"
        echo
        echo "/// The implementation."
        echo "pub struct Impl;"
        echo
        echo "impl Api for Impl {"
        for ((i = 0; i < methods; i++)); do
            local s=$((i % 5)) ret body
            body=${shape_body[s]}
            if ((shape_fallible[s])); then
                # The same error path as in the jsonrpsee crate.
                ret="Result<${shape_ok[s]}, AppError>"
                body="if false { return Err(AppError(\"never\".to_owned())); } Ok($body)"
            else
                ret=${shape_ok[s]}
            fi
            echo "    async fn method_$i(&self, ${shape_params[s]}) -> $ret {"
            echo "        $body"
            echo "    }"
        done
        echo "}"
        cat <<'EOF'

/// The server, as an axum router.
pub fn app() -> impl Sized {
    rpc_server::router::<_, ()>(ApiServer(Impl))
}

/// Calls every method once through the typed client.
pub async fn call_all(url: &str) -> Result<(), rpc_core::Error> {
    let client = ApiClient::new(url)?;
EOF
        for ((i = 0; i < methods; i++)); do
            local s=$((i % 5))
            echo "    let _ = client.method_$i(${shape_args[s]}).await;"
        done
        echo "    Ok(())"
        echo "}"
    } >"$dir/src/lib.rs"
}

# --- jsonrpsee -------------------------------------------------------------------------------

gen_jsonrpsee() {
    local dir=$work/jsonrpsee
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<EOF
[package]
name = "bt-jsonrpsee"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
jsonrpsee = { version = "0.26", features = ["server", "http-client", "macros"] }
serde = { version = "1", features = ["derive"] }

[workspace]
EOF
    {
        echo "//! ${methods} methods behind jsonrpsee's \`#[rpc(server, client)]\`."
        echo "#![allow(dead_code, missing_docs)]"
        common_types
        cat <<'EOF'

use jsonrpsee::core::{RpcResult, async_trait};
use jsonrpsee::proc_macros::rpc;
use jsonrpsee::types::ErrorObjectOwned;

fn app_error(message: &str) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(1, message.to_owned(), None::<()>)
}

/// The service.
#[rpc(server, client)]
pub trait Api {
EOF
        for ((i = 0; i < methods; i++)); do
            local s=$((i % 5))
            echo "    /// Method $i."
            echo "    #[method(name = \"method_$i\")]"
            echo "    async fn method_$i(&self, ${shape_params[s]}) -> RpcResult<${shape_ok[s]}>;"
        done
        echo "}"
        echo
        echo "/// The implementation."
        echo "pub struct Impl;"
        echo
        echo "#[async_trait]"
        echo "impl ApiServer for Impl {"
        for ((i = 0; i < methods; i++)); do
            local s=$((i % 5)) body
            body=${shape_body[s]}
            if ((shape_fallible[s])); then
                # The same fallible shape as ours: an error path the compiler has to keep.
                body="if false { return Err(app_error(\"never\")); } Ok($body)"
            else
                body="Ok($body)"
            fi
            echo "    async fn method_$i(&self, ${shape_params[s]}) -> RpcResult<${shape_ok[s]}> {"
            echo "        $body"
            echo "    }"
        done
        echo "}"
        cat <<'EOF'

/// The server, as jsonrpsee's module of methods.
pub fn app() -> impl Sized {
    Impl.into_rpc()
}

/// Calls every method once through the typed client.
pub async fn call_all(url: &str) -> Result<(), jsonrpsee::core::client::Error> {
    let client = jsonrpsee::http_client::HttpClient::builder().build(url)?;
EOF
        for ((i = 0; i < methods; i++)); do
            local s=$((i % 5))
            echo "    let _ = client.method_$i(${shape_args[s]}).await;"
        done
        echo "    Ok(())"
        echo "}"
    } >"$dir/src/lib.rs"
}

gen_ours
gen_jsonrpsee

build() { # dir, extra cargo flags...
    local dir=$1
    shift
    (cd "$dir" && CARGO_INCREMENTAL=$incremental CARGO_TARGET_DIR="$dir/target" \
        cargo build -j"$jobs" "${profile_flag[@]}" "$@")
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

prebuild() { # name
    local dir=$work/$1
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    echo "== $1: building dependencies (once)" >&2
    if ! build "$dir" --offline -q 2>"$dir/prebuild.log"; then
        echo "   (offline build failed, trying online: see $dir/prebuild.log)" >&2
        build "$dir" -q >&2 || { echo "bench-build-time: $1 does not build" >&2; exit 1; }
    fi
}

time_once() { # name -> seconds on stdout
    local dir=$work/$1 t0 t1
    touch "$dir/src/lib.rs"
    t0=$(date +%s.%N)
    build "$dir" --offline -q >&2 || { echo "bench-build-time: $1 does not build" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}

echo "Build time of a ${methods}-method trait (server + client), profile '$profile'," \
    "CARGO_INCREMENTAL=$incremental, median of $reps rebuilds of the crate alone, -j$jobs;" \
    "crates in $work" >&2
prebuild ours
prebuild jsonrpsee
# One untimed rebuild each (warms the file cache), then the timed ones, alternating so that a
# change in the machine's load hits both alike.
time_once ours >/dev/null
time_once jsonrpsee >/dev/null
ours_times=()
theirs_times=()
for ((r = 1; r <= reps; r++)); do
    ours_times+=("$(time_once ours)")
    theirs_times+=("$(time_once jsonrpsee)")
    printf '   run %d: ours %.2f s, jsonrpsee %.2f s\n' "$r" "${ours_times[-1]}" "${theirs_times[-1]}" >&2
done
ours=$(printf '%s\n' "${ours_times[@]}" | median)
theirs=$(printf '%s\n' "${theirs_times[@]}" | median)
ratio=$(awk -v a="$ours" -v b="$theirs" 'BEGIN { print a / b }')
lines_ours=$(wc -l <"$work/ours/src/lib.rs")
lines_theirs=$(wc -l <"$work/jsonrpsee/src/lib.rs")
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")

echo
echo "| crate (${methods} methods, server + client) | lines | rebuild, median of $reps |"
echo "|---|---:|---:|"
printf '| ours: #[rpc] | %d | %.2f s |\n' "$lines_ours" "$ours"
printf '| jsonrpsee 0.26: #[rpc(server, client)] | %d | %.2f s |\n' "$lines_theirs" "$theirs"
echo
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 0.35 ? "met" : "NOT met") }')
printf 'ours / jsonrpsee = %.2f (target <= 0.35: %s); load average at the end: %s\n' "$ratio" "$verdict" "$load"
