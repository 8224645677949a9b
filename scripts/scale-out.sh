#!/usr/bin/env bash
# The scale-out recipe, tested (docs/deploying.md): nginx with deploy/nginx/rpc.conf on
# 127.0.0.1:7010 in front of two replicas of examples/examples/replica.rs on 127.0.0.1:7011 and
# 127.0.0.1:7012, while examples/examples/scale_out_driver.rs makes a few thousand typed calls
# through nginx with rpc_client's Retry, half idempotent (`status`), half not (`increment`,
# each call with its own token, which the replica answering it appends to its log first):
#
#   (a) each replica in turn gets SIGTERM and is restarted: not one call of either kind fails;
#   (b) one replica gets SIGKILL mid-run: every idempotent call succeeds; every other call
#       either succeeded or was reported failed to its caller; the replicas' logs hold no token
#       twice (no call ran twice) and every token of a call that succeeded.
#
# Meanwhile 20 WebSocket clients with `reconnect`, also through nginx, each follow a
# subscription (`subscribe_ticks`, whose items name the replica sending them) and call `status`
# over their socket once a second: in both runs no feed ends and no call fails; in (a) every
# feed moves to the other replica at least once; in (b) those on the killed replica move.
#
# Prints the figures, and exits non-zero when an assertion fails. Traffic goes to 127.0.0.1
# only; every process started here is stopped on exit. About 30 s after the build.
#
# Needs nginx (`bash scripts/setup-test-deps.sh` installs Debian's) and curl. The ports are
# fixed (those of rpc.conf) and must be free. Environment: NGINX (the nginx binary),
# SCALE_OUT_KEEP=1 (keep the run's directory of logs).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "scale-out: $*" >&2; }

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ ! -x "$NGINX" ]; then
    say "nginx is not installed: run \`bash scripts/setup-test-deps.sh\` (as root) first"
    exit 1
fi
if ! command -v curl >/dev/null 2>&1; then
    say "curl is needed (to wait for /health)"
    exit 1
fi

LB=7010
declare -A PORT=([a]=7011 [b]=7012)
for port in "$LB" "${PORT[a]}" "${PORT[b]}"; do
    if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
        say "port $port on 127.0.0.1 is taken (this test needs 7010-7012 free): $(
            ss -ltnpH "sport = :$port" 2>/dev/null | head -n1 | tr -s ' ')"
        exit 1
    fi
done

# The test profile: what `cargo test` has already built, so CI builds little more.
cargo build -j2 --locked -q -p examples --example replica --example scale_out_driver
bin="${CARGO_TARGET_DIR:-target}/debug/examples"

work=$(mktemp -d "${TMPDIR:-/tmp}/scale-out.XXXXXX")
# nginx started as root runs its workers as `nobody`, who must reach its temporary files.
chmod 755 "$work"
mkdir -p "$work/nginx/logs" "$work/nginx/temp"

declare -A REPLICA=()
nginx_pid=""
driver_pid=""

# Stops everything this script started, whatever the exit.
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pids=()
    for pid in "${REPLICA[@]}" "$nginx_pid" "$driver_pid"; do
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
    done
    if [ "${#pids[@]}" -gt 0 ]; then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "${pids[@]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ]; then
        say "the last lines of the logs, kept in $work:"
        for log in "$work"/nginx/logs/error.log "$work"/*/*.out "$work"/*/driver.err; do
            [ -s "$log" ] && { echo "--- $log"; tail -n 15 "$log"; } >&2
        done
    elif [ "${SCALE_OUT_KEEP:-0}" = 1 ]; then
        say "logs kept in $work"
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    say "FAILED: $*"
    exit 1
}

# Waits up to 10 s for `GET /health` on `port` to answer 200.
wait_healthy() {
    local port=$1
    for _ in $(seq 100); do
        curl -sf --max-time 1 -o /dev/null "http://127.0.0.1:$port/health" && return 0
        sleep 0.1
    done
    fail "nothing healthy on 127.0.0.1:$port after 10 s"
}

# start_replica NAME DIR: starts replica NAME on its port, logging its calls to DIR/NAME.log.
start_replica() {
    local name=$1 dir=$2
    # 15 ms a call: with the driver's pace, a few calls are in flight on each replica at any
    # instant, so that every stop finds some.
    "$bin/replica" "127.0.0.1:${PORT[$name]}" --name "$name" --log "$dir/$name.log" \
        --work-ms 15 >>"$dir/$name.out" 2>&1 &
    REPLICA[$name]=$!
    wait_healthy "${PORT[$name]}"
}

# stop_replica NAME SIGNAL: sends SIGNAL and waits (up to 30 s, past the server's 20 s drain)
# for the process to end; sets `stopped_status` and `stopped_ms`.
stop_replica() {
    local name=$1 signal=$2 pid=${REPLICA[$1]} start
    start=$(date +%s%N)
    kill "-$signal" "$pid"
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && fail "replica $name still running 30 s after SIG$signal"
    stopped_status=0
    # (Braces and the redirection keep bash's own "Killed" notice off the output.)
    { wait "$pid" || stopped_status=$?; } 2>/dev/null
    stopped_ms=$((($(date +%s%N) - start) / 1000000))
    REPLICA[$name]=""
}

CALLS=4000
SECONDS_PER_RUN=10
SUBSCRIBERS=20

# start_driver DIR: CALLS calls through nginx over SECONDS_PER_RUN s, in the background.
start_driver() {
    local dir=$1
    timeout 60 "$bin/scale_out_driver" --url "http://127.0.0.1:$LB/rpc" --calls "$CALLS" \
        --tasks 8 --seconds "$SECONDS_PER_RUN" --record "$dir" --subscribers "$SUBSCRIBERS" \
        >"$dir/driver.out" 2>"$dir/driver.err" &
    driver_pid=$!
}

# finish_driver: waits for the driver and reads its counts into idempotent_ok,
# idempotent_failed, counter_ok, counter_failed and the subscribers' ws_* figures.
finish_driver() {
    local dir=$1 status=0
    wait "$driver_pid" || status=$?
    driver_pid=""
    [ "$status" -eq 0 ] || fail "the driver exited with status $status"
    local counts
    counts=$(tail -n 1 "$dir/driver.out")
    for key in idempotent_ok idempotent_failed counter_ok counter_failed ws_subscribers ws_items \
        ws_switches ws_unmoved ws_ended ws_gap_ms ws_calls_ok ws_calls_failed; do
        local value
        value=$(tr ' ' '\n' <<<"$counts" | sed -n "s/^$key=//p")
        [[ "$value" =~ ^[0-9]+$ ]] || fail "no $key in the driver's output: $counts"
        printf -v "$key" '%s' "$value"
    done
    say "  $(head -n 1 "$dir/driver.out")"
    say "  $(sed -n 2p "$dir/driver.out")"
}

# check_logs DIR: compares the replicas' logs with what the driver's callers saw; sets
# `logged`, `ran_twice`, `ok_missing` and `failed_but_ran`.
check_logs() {
    local dir=$1
    cat "$dir"/*.log | sort >"$dir/logged"
    sort "$dir/ok-tokens" >"$dir/ok-sorted"
    sort "$dir/failed-tokens" >"$dir/failed-sorted"
    logged=$(wc -l <"$dir/logged")
    ran_twice=$(uniq -d "$dir/logged" | wc -l)
    ok_missing=$(comm -23 "$dir/ok-sorted" <(uniq "$dir/logged") | wc -l)
    failed_but_ran=$(comm -12 "$dir/failed-sorted" <(uniq "$dir/logged") | wc -l)
    local stray
    stray=$(sort -m "$dir/ok-sorted" "$dir/failed-sorted" | comm -13 - <(uniq "$dir/logged") | wc -l)
    [ "$stray" -eq 0 ] || fail "$stray logged tokens were never sent by the driver"
}

# nginx_figures FIRST_LINE: from nginx's access log past FIRST_LINE, sets `passed_on` (calls
# nginx passed to the other replica after a failed connect), `bad_gateway` (calls it answered
# 502: their request had reached a replica that died or closed under it) and `sockets` (the
# WebSocket handshakes it passed on, answered 101, first ones and reconnects).
nginx_figures() {
    local log="$work/nginx/logs/access.log" calls
    calls=$(tail -n "+$(($1 + 1))" "$log" | grep '"POST /rpc ' || true)
    passed_on=$(grep -c 'upstream=[^ ]*, ' <<<"$calls" || true)
    bad_gateway=$(grep -c '" 502 ' <<<"$calls" || true)
    sockets=$(tail -n "+$(($1 + 1))" "$log" | grep -c '"GET /rpc [^"]*" 101 ' || true)
}

access_lines() { wc -l <"$work/nginx/logs/access.log"; }

# Checks shared by both scenarios: every call of the driver was answered one way or the other,
# no call ran twice, every call that succeeded ran.
check_common() {
    local counter_calls=$((CALLS / 2))
    [ $((idempotent_ok + idempotent_failed)) -eq $((CALLS - counter_calls)) ] ||
        fail "idempotent calls: $idempotent_ok ok + $idempotent_failed failed, not $((CALLS - counter_calls))"
    [ $((counter_ok + counter_failed)) -eq "$counter_calls" ] ||
        fail "counter calls: $counter_ok ok + $counter_failed reported failed, not $counter_calls"
    [ "$ran_twice" -eq 0 ] || fail "$ran_twice counter calls ran twice (their token is logged twice)"
    [ "$ok_missing" -eq 0 ] || fail "$ok_missing counter calls succeeded but are in no replica's log"
    [ "$idempotent_failed" -eq 0 ] || fail "$idempotent_failed idempotent calls failed"
    [ "$ws_subscribers" -eq "$SUBSCRIBERS" ] || fail "$ws_subscribers subscribers ran, not $SUBSCRIBERS"
    [ "$ws_ended" -eq 0 ] || fail "$ws_ended subscribers' feeds ended (driver.err says why)"
    [ "$ws_calls_failed" -eq 0 ] || fail "$ws_calls_failed calls over the WebSockets failed"
    [ "$ws_calls_ok" -gt 0 ] || fail "no call over the WebSockets was made: nothing was tested"
}

"$NGINX" -p "$work/nginx" -c "$PWD/deploy/nginx/rpc.conf" 2>>"$work/nginx/logs/error.log" &
nginx_pid=$!

# --- (a) rolling restart: SIGTERM, restart, one replica after the other ----------------------
dir="$work/sigterm"
mkdir -p "$dir"
start_replica a "$dir"
start_replica b "$dir"
wait_healthy "$LB"
first=$(access_lines)
say "(a) $CALLS calls through nginx; replica a, then b, gets SIGTERM and is restarted"
start_driver "$dir"
sleep 2
found_in_flight=0
for name in a b; do
    stop_replica "$name" TERM
    [ "$stopped_status" -eq 0 ] || fail "replica $name exited with status $stopped_status on SIGTERM"
    in_flight=$(sed -n 's/^replica .* stopping with \([0-9]*\) calls in flight$/\1/p' "$dir/$name.out" | tail -n 1)
    [ -n "$in_flight" ] || fail "replica $name did not say how many calls it had in flight"
    found_in_flight=$((found_in_flight + in_flight))
    say "  replica $name stopped gracefully in $stopped_ms ms (status 0) with $in_flight calls in flight at the signal; restarting it"
    start_replica "$name" "$dir"
    # nginx sets a replica whose connect failed aside for fail_timeout (2 s): let it come back
    # into the rotation before the other one goes.
    [ "$name" = a ] && sleep 3
done
finish_driver "$dir"
check_logs "$dir"
nginx_figures "$first"
say "  nginx: $passed_on calls passed to the other replica after a refused connect, $bad_gateway answered 502"
say "  idempotent: $idempotent_ok ok, $idempotent_failed failed; non-idempotent: $counter_ok ok, $counter_failed failed; $logged counter calls logged, $ran_twice ran twice, $ok_missing ok but unlogged"
check_common
[ "$counter_failed" -eq 0 ] || fail "$counter_failed non-idempotent calls failed during a rolling restart"
# Stops that found no call running would prove nothing about finishing them.
[ "$found_in_flight" -gt 0 ] || fail "the SIGTERMs found no call in flight: nothing was tested"
# Both replicas stopped in turn: every feed was on one of them when it stopped.
[ "$ws_unmoved" -eq 0 ] || fail "$ws_unmoved subscribers' feeds never moved to the other replica"
summary_a="(a) SIGTERM and restart of each replica ($found_in_flight calls in flight at the signals, all answered): idempotent $idempotent_ok ok / $idempotent_failed failed; non-idempotent $counter_ok ok / $counter_failed failed; $logged logged, $ran_twice twice; nginx passed on $passed_on, answered 502 to $bad_gateway; $ws_subscribers WebSocket feeds over $sockets sockets: $ws_switches moves, 0 ended, longest wait $ws_gap_ms ms, $ws_calls_ok calls over them ok"

for name in a b; do stop_replica "$name" TERM; done

# --- (b) a replica killed mid-run ------------------------------------------------------------
dir="$work/sigkill"
mkdir -p "$dir"
start_replica a "$dir"
start_replica b "$dir"
first=$(access_lines)
say "(b) $CALLS calls through nginx; replica a gets SIGKILL mid-run, and is restarted 1 s later"
start_driver "$dir"
sleep 3
stop_replica a KILL
say "  replica a killed (status $stopped_status)"
sleep 1
start_replica a "$dir"
finish_driver "$dir"
check_logs "$dir"
nginx_figures "$first"
say "  nginx: $passed_on calls passed to the other replica after a refused connect, $bad_gateway answered 502"
say "  idempotent: $idempotent_ok ok, $idempotent_failed failed; non-idempotent: $counter_ok ok, $counter_failed reported failed ($failed_but_ran of them ran before the kill, $((counter_failed - failed_but_ran)) did not); $logged counter calls logged, $ran_twice ran twice, $ok_missing ok but unlogged"
check_common
# A kill that found no call in flight would prove nothing about the calls it interrupts.
[ "$bad_gateway" -gt 0 ] || fail "the kill interrupted no call (nginx answered no 502): nothing was tested"
[ "$ws_switches" -gt 0 ] || fail "no feed moved off the killed replica: nothing was tested"
summary_b="(b) SIGKILL of one replica: idempotent $idempotent_ok ok / $idempotent_failed failed; non-idempotent $counter_ok ok / $counter_failed reported failed ($failed_but_ran ran); $logged logged, $ran_twice twice, $ok_missing ok but unlogged; nginx passed on $passed_on, answered 502 to $bad_gateway; $ws_subscribers WebSocket feeds over $sockets sockets: $ws_switches moves, 0 ended, longest wait $ws_gap_ms ms, $ws_calls_ok calls over them ok"

say "$summary_a"
say "$summary_b"
echo "scale-out: 2 passed, 0 failed"
