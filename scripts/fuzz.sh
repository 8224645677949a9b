#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the server's request path (its dispatcher,
# in process), one message on a message connection (what a WebSocket text frame or a framed
# stream message carries), the stream framings' decoders and encoders, and the client's
# response parsing; the targets are in fuzz/fuzz_targets. Runs each target for N seconds:
#
#   scripts/fuzz.sh                  # 30 s per target: what CI runs
#   scripts/fuzz.sh 900              # 15 min per target
#   TARGETS=server_request scripts/fuzz.sh 60
#   SANITIZER=none scripts/fuzz.sh   # several times faster, without AddressSanitizer
#
# Installs cargo-fuzz when missing. The stable toolchain is enough: RUSTC_BOOTSTRAP=1 lets it
# take the unstable flags cargo-fuzz passes (sanitizer, coverage instrumentation). Each target's
# corpus (fuzz/corpus/<target>, not committed) is seeded from the specification's section 7
# examples (tests/data/jsonrpc-spec-section7.json; ws_message also with answers to the
# server's own calls) and grows across runs; an input that fails
# is written to fuzz/artifacts/<target>/ and the script fails. Reproduce one with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz <target> fuzz/artifacts/<target>/<file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
targets=${TARGETS:-server_request ws_message client_response framing}
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS=${JOBS:-2}
# AddressSanitizer's fake stacks (stack-use-after-return) cost a third of an input's time and
# guard against what safe Rust cannot do; the heap checks stay on.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_stack_use_after_return=0}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked -j"$CARGO_BUILD_JOBS"
fi

# Seeds: every request of the specification's examples for the server, every expected
# answer (and each batch answer's items, with the ids the fuzzed client sends) for the client.
python3 - <<'PY'
import json, os
spec = json.load(open("tests/data/jsonrpc-spec-section7.json"))
def write(target, name, text):
    os.makedirs(f"fuzz/corpus/{target}", exist_ok=True)
    with open(f"fuzz/corpus/{target}/spec-{name}", "w") as f:
        f.write(text)
for n, v in enumerate(spec["vectors"]):
    write("server_request", n, v["request"])
    write("ws_message", n, v["request"])
    answer = v["expected"]
    if answer is None:
        continue
    write("client_response", n, json.dumps(answer))
    items = answer if isinstance(answer, list) else [answer]
    for i, item in enumerate(items):
        write("client_response", f"{n}-as-1-{i}", json.dumps(dict(item, id=1)))
    write("client_response", f"{n}-as-batch", json.dumps([dict(x, id=i + 1) for i, x in enumerate(items)]))
# Answers to the server's call back (`noisy`, id 1) while ws_message's `line_counter` waits.
write("ws_message", "callback-result", '{"jsonrpc":"2.0","result":null,"id":1}')
write("ws_message", "callback-error", '{"jsonrpc":"2.0","error":{"code":-32000,"message":"no"},"id":1}')
write("ws_message", "cancel", '{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}')
write("ws_message", "line-counter", '{"jsonrpc":"2.0","method":"line_counter","params":[["a","b"]],"id":2}')
PY

for target in $targets; do
    echo "== $target: $seconds s"
    cargo fuzz run --fuzz-dir fuzz --sanitizer "${SANITIZER:-address}" --debug-assertions \
        "$target" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1
done
