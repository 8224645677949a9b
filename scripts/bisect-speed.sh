#!/usr/bin/env bash
# Measures the speed of several commits' builds side by side, in one run, against the strict floor
# of the compare bench: for finding which commits took the time (issue 18's bisect).
#
#   scripts/bisect-speed.sh COMMIT...                # small and batch, 5 rounds of 2 s
#   BISECT_ONLY=batch BISECT_SECONDS=15 scripts/bisect-speed.sh 73162fb HEAD~40 HEAD
#   BISECT_METRICS=on scripts/bisect-speed.sh HEAD~10 HEAD   # with the example's Prometheus recorder
#
# Each commit's `examples::spec::app()` (the JSON-RPC specification's example service, there at
# every commit since 73162fb) is built in release into a program that serves it with
# `axum::serve` on a one-worker runtime, the way the compare bench runs its servers. Since 444dd7f
# the app installs the Prometheus recorder for its `GET /metrics`; unless BISECT_METRICS=on, each
# build has that one line taken out, so that every commit is measured without metrics. The builds
# share a target directory of their own (`$CARGO_TARGET_DIR/bisect`, or `target/bisect`), so
# the dependencies compile once and the main one's release artifacts stay. Each program runs
# pinned to the servers' CPU; the compare bench measures them in turns with its strict floor
# (`--against`) and prints each one's throughput and its ratio to the floor and to the first
# commit named. Everything listens on 127.0.0.1 and stops when the script ends.
set -euo pipefail

if [ "$#" -lt 1 ]; then
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    exit 2
fi

root=$(git rev-parse --show-toplevel)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
bisect_target=$target/bisect
work=$(mktemp -d /tmp/bisect-speed.XXXXXX)
tree=$work/tree
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    git worktree remove --force "$tree" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# The program each commit's build serves with: nothing in it depends on what changed.
serve_program='//! Serves `examples::spec::app()` for scripts/bisect-speed.sh.
fn main() {
    let addr = std::env::args().nth(1).expect("an address to listen at");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
        axum::serve(listener, examples::spec::app()).await.expect("serve");
    });
}'

names=()
for commit in "$@"; do
    hash=$(git rev-parse --short "$commit^{commit}")
    echo "== building $commit ($hash)"
    if [ -d "$tree" ]; then
        git -C "$tree" checkout -q --detach "$hash"
    else
        git worktree add -q --detach "$tree" "$hash"
    fi
    printf '%s\n' "$serve_program" >"$tree/examples/examples/bisect_serve.rs"
    observability=$tree/examples/src/observability.rs
    if [ "${BISECT_METRICS:-off}" != on ] && [ -f "$observability" ]; then
        grep -q 'PrometheusBuilder::new().install_recorder().ok()' "$observability" || {
            echo "$hash: the recorder's installation is not where this script looks" >&2
            exit 1
        }
        sed -i 's/PrometheusBuilder::new().install_recorder().ok()/None::<PrometheusHandle>/' \
            "$observability"
    fi
    (cd "$tree" && CARGO_TARGET_DIR=$bisect_target cargo build -q -j2 --release \
        -p examples --example bisect_serve)
    cp "$bisect_target/release/examples/bisect_serve" "$work/serve-$hash"
    rm "$tree/examples/examples/bisect_serve.rs"
    git -C "$tree" checkout -q -- examples
    names+=("$hash")
done

# The compare bench pins its load generator to the first allowed CPU and its servers to the
# second; the programs go beside its servers.
cpus=$(taskset -cp $$ | sed 's/.*: //')
server_cpu=$(python3 -c "
import os; c = sorted(os.sched_getaffinity(0)); print(c[1] if len(c) > 1 else c[0])")
echo "== allowed CPUs $cpus; the builds run on CPU $server_cpu"

against=()
port=7310
for hash in "${names[@]}"; do
    taskset -c "$server_cpu" "$work/serve-$hash" "127.0.0.1:$port" &
    pids+=("$!")
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
        sleep 0.1
    done
    against+=(--against "$hash=127.0.0.1:$port/rpc")
    port=$((port + 1))
done

cargo bench -q -j2 -p rpc-bench --bench compare -- \
    --only "${BISECT_ONLY:-small,batch}" --duration "${BISECT_SECONDS:-10}" \
    --rounds "${BISECT_ROUNDS:-5}" "${against[@]}"
