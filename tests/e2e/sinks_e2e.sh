#!/usr/bin/env bash
# sinks_e2e.sh: end-to-end tests of the network sinks against real
# receivers on 127.0.0.1 (no eBPF, no root needed).  The events are the
# sensor's own envelopes (tests/e2e/sinks/testevents.h), emitted through
# sink_set_emit by tests/e2e/sinks/sinkdrive, which builds its sinks with
# the same option parser `record` uses; `dlq replay` is the real command.
#
# Scenarios:
#   webhook_faults  receiver fails every 2nd and hangs every 7th of the first
#                   requests: each event arrives exactly once or is in the
#                   dead-letter file; replay refuses without the secret, then
#                   delivers the rest, exactly once overall.
#   webhook_down_up the receiver starts 2 s after the sensor: everything arrives,
#                   nothing dead-lettered.
#   otlp            gzip + headers + bearer; OTLP/JSON shape, gen_ai.*
#                   attributes, chat and execute_tool spans (check.py otlp).
#   websocket       a type-filtered reader and a subscribe-message reader get
#                   exactly their events; a client that never reads is dropped
#                   and emission is not slowed; token rules.
#   validate        the emitted events pass oisp-validate.
# usage: tests/e2e/sinks_e2e.sh [SCENARIO...]
#   env SINKDRIVE=path: use that driver build (e.g. with sanitizers) instead of building one
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
DRIVE=${SINKDRIVE:-$ROOT/build/tests/sinkdrive}  # SINKDRIVE: e.g. a sanitizer build
RECV="python3 $ROOT/tests/e2e/sinks/receiver.py"
CHECK="python3 $ROOT/tests/e2e/sinks/check.py"
WSC="/usr/bin/python3 $ROOT/tests/e2e/sinks/ws_client.py"
VALIDATE=${OISP_VALIDATE:-$ROOT/../shared/tools/oisp-validate}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/oisp-sinks.XXXXXX")
PIDS=()
passed=0 failed=0

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

[ -n "${SINKDRIVE:-}" ] || tests/e2e/sinks/build.sh || { echo "0 passed, 1 failed"; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_receiver DIR MODE ARGS... : starts it, waits for DIR/port
start_receiver() {
    local dir=$1; shift
    mkdir -p "$dir"
    $RECV "$@" --port-file "$dir/port" --out "$dir/out" --lifetime 240 &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$dir/port" ] && return 0; sleep 0.05; done
    echo "receiver did not start"; return 1
}

result() { # NAME STATUS
    if [ "$2" = 0 ]; then passed=$((passed + 1)); echo "PASS $1"
    else failed=$((failed + 1)); echo "FAIL $1"; fi
}

webhook_faults() {
    local d=$TMP/wf
    start_receiver "$d" webhook --faults 30 --fail-every 2 --timeout-every 7 --hang 2 \
        --expect-auth X-Api-Key:s3cret || return 1
    local url="http://127.0.0.1:$(cat "$d/port")/hook"
    "$DRIVE" emit -o "$d/sent.jsonl" -n 400 --webhook "$url" --webhook-format ndjson \
        --webhook-auth apikey:X-Api-Key:s3cret --sink-batch 40 --sink-linger 20 --sink-timeout 800 \
        --sink-retries 1 --sink-backoff 20,100 --dlq-dir "$d/dlq" --drain 30000 > "$d/status.json" || return 1
    $CHECK status "$d/status.json" webhook || return 1
    local dlq
    dlq=$(ls "$d"/dlq/webhook-*.jsonl) || { echo "no dead-letter file"; return 1; }
    [ "$(stat -c %a "$dlq")" = 600 ] && [ "$(stat -c %a "$d/dlq")" = 700 ] || { echo "modes"; return 1; }
    [ -s "$dlq" ] || { echo "faults left nothing in the dead-letter file: scenario too weak"; return 1; }
    grep -q '"kind":"webhook"' "$dlq.sink" && ! grep -q s3cret "$dlq.sink" || { echo "side header"; return 1; }
    $CHECK once "$d/sent.jsonl" "$d/out/events.jsonl" "$dlq" || return 1
    if "$DRIVE" dlq replay "$dlq" 2> "$d/replay0.err"; then echo "replay without the secret succeeded"; return 1; fi
    grep -q -- '--webhook-auth' "$d/replay0.err" || { cat "$d/replay0.err"; return 1; }
    "$DRIVE" dlq replay "$dlq" --webhook-auth apikey:X-Api-Key:s3cret 2> "$d/replay.err" || { cat "$d/replay.err"; return 1; }
    cat "$d/replay.err"
    [ ! -s "$dlq" ] || { echo "dead-letter file not emptied"; return 1; }
    ! ls "$d"/dlq/*.replaying.* 2>/dev/null || { echo "claimed copy left behind"; return 1; }
    $CHECK once "$d/sent.jsonl" "$d/out/events.jsonl"
}

webhook_down_up() {
    local d=$TMP/wd port
    port=$(free_port)
    mkdir -p "$d"
    ( sleep 2; exec $RECV webhook --port "$port" --port-file "$d/port" --out "$d/out" --lifetime 120 ) &
    PIDS+=($!)
    "$DRIVE" emit -o "$d/sent.jsonl" -n 1000 --rate 1000 --webhook "http://127.0.0.1:$port/" \
        --sink-retries 30 --sink-backoff 100,1000 --sink-timeout 2000 --dlq-dir "$d/dlq" \
        --drain 30000 > "$d/status.json" || return 1
    $CHECK status "$d/status.json" webhook --no-dlq || return 1
    grep -q '"retried":[1-9]' "$d/status.json" || { echo "the receiver was never down?"; return 1; }
    $CHECK once "$d/sent.jsonl" "$d/out/events.jsonl"
}

otlp() {
    local d=$TMP/otlp
    start_receiver "$d" otlp || return 1
    "$DRIVE" emit -o "$d/sent.jsonl" -n 300 --otlp "http://127.0.0.1:$(cat "$d/port")" --otlp-gzip \
        --otlp-header X-Tenant=t1 --otlp-token tok123 --sink-batch 64 --sink-linger 20 \
        --dlq-dir "$d/dlq" > "$d/status.json" || return 1
    $CHECK status "$d/status.json" otlp --no-dlq || return 1
    grep -q '^/v1/logs gzip Bearer tok123 t1$' "$d/out/requests.txt" &&
        grep -q '^/v1/traces gzip Bearer tok123 t1$' "$d/out/requests.txt" || { echo "headers"; return 1; }
    $CHECK otlp "$d/sent.jsonl" "$d/out"
}

websocket() {
    local d=$TMP/ws port
    mkdir -p "$d"
    port=$(free_port)
    "$DRIVE" emit -o "$d/sent.jsonl" -n 5000 --rate 6000 --prompt 2000 --start-delay 1500 \
        --ws "127.0.0.1:$port" > "$d/status.json" &
    local drive=$!
    sleep 0.5
    $WSC read "ws://127.0.0.1:$port/events?types=ai.request,agent.*" "$d/r1.jsonl" 3 > "$d/r1.txt" &
    local r1=$!
    $WSC read "ws://127.0.0.1:$port/events" "$d/r2.jsonl" 3 --subscribe '{"subscribe":["ai.response"]}' > "$d/r2.txt" &
    local r2=$!
    $WSC stall "ws://127.0.0.1:$port/events" "$d/emitted" 120 > "$d/stall.txt" &
    local st=$!
    wait "$drive" || { touch "$d/emitted"; return 1; }
    touch "$d/emitted"
    wait "$r1" "$r2" "$st"
    cat "$d/status.json" "$d/stall.txt"
    python3 - "$d" <<'EOF' || return 1
import json, sys
d = sys.argv[1]
sent = [json.loads(l) for l in open(f"{d}/sent.jsonl")]
def got(name):
    return [json.loads(l) for l in open(f"{d}/{name}")]
r1, r2 = got("r1.jsonl"), got("r2.jsonl")
want1 = [e for e in sent if e["event_type"] == "ai.request" or e["event_type"].startswith("agent.")]
want2 = [e for e in sent if e["event_type"] == "ai.response"]
# the subscribe message is processed a moment after connecting: r2 may miss
# the very first events, but from its first one on it must have all, in order
if r1 != want1:
    sys.exit(f"filtered reader got {len(r1)} events, want {len(want1)} (in order)")
start = want2.index(r2[0]) if r2 and r2[0] in want2 else -1
if start < 0 or r2 != want2[start:] or start > 5:
    sys.exit(f"subscribed reader got {len(r2)} ai.response events, want {len(want2)} (in order)")
st = json.loads(open(f"{d}/status.json").read())
ws = st["sinks"][1]
if ws["failed"] != 1:
    sys.exit(f"slow clients dropped: {ws['failed']}, want 1")
if st["emit_max_us"] > 50000:
    sys.exit(f"an emit took {st['emit_max_us']} us")
print(f"ok: readers got {len(r1)} and {len(r2)} events; slow client dropped ({ws['dropped']} discarded); "
      f"slowest emit {st['emit_max_us']} us")
EOF
    grep -q closed "$d/stall.txt" || { echo "the stalled client was not disconnected"; return 1; }
    # tokens
    port=$(free_port)
    if "$DRIVE" emit -n 1 --ws "0.0.0.0:$port" 2> "$d/notoken.err" > /dev/null; then
        echo "started on 0.0.0.0 without a token"; return 1; fi
    grep -q "token is required" "$d/notoken.err" || return 1
    "$DRIVE" emit -n 1 --ws "127.0.0.1:$port" --ws-token sekrit --start-delay 2500 > /dev/null &
    drive=$!
    sleep 0.7
    $WSC refuse "ws://127.0.0.1:$port/events" || return 1
    $WSC refuse "ws://127.0.0.1:$port/events?token=wrong" || return 1
    $WSC refuse "ws://127.0.0.1:$port/other?token=sekrit" || return 1
    ! $WSC refuse "ws://127.0.0.1:$port/events?token=sekrit" > /dev/null || { echo "token refused"; return 1; }
    ! $WSC refuse "ws://127.0.0.1:$port/events" --header "Authorization: Bearer sekrit" > /dev/null ||
        { echo "bearer refused"; return 1; }
    wait "$drive"
}

validate() {
    local f
    for f in "$TMP"/*/sent.jsonl; do
        [ -e "$f" ] || { "$DRIVE" emit -o "$TMP/v.jsonl" -n 50 > /dev/null || return 1; f=$TMP/v.jsonl; }
        "$VALIDATE" --quiet "$f" || return 1
    done
}

scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(webhook_faults webhook_down_up otlp websocket validate)
for s in "${scenarios[@]}"; do
    echo "== $s"
    "$s"
    result "$s" $?
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
