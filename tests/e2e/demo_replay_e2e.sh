#!/usr/bin/env bash
# demo_replay_e2e.sh: end-to-end tests of `oisp-sensor demo` and `oisp-sensor
# replay` on this machine (run as root; real eBPF capture):
#   - `demo --keep FILE` exits 0 within 20 s; FILE holds exactly 3 ai.request
#     and 3 ai.response events of the demo client (process name
#     oisp-demo-cli), one of them a tool call; it validates against OISP v0.1
#     and holds no sk-demo key (only its 8-character prefix); no demo process
#     and no temporary directory is left behind;
#   - `demo` as an unprivileged user (setpriv to nobody) says it shows
#     recorded events, not live, shows them, and exits 0;
#   - `replay` of the kept file into a new JSONL file reproduces every event
#     (same event_ids, same order, same count), skips and counts a malformed
#     line, and refuses to replay a file into itself;
#   - `replay` into a webhook (a python http.server on 127.0.0.1 started
#     here) delivers every event once, and into one that is down exits 1;
#   - `replay --wait` into the WebSocket sink (the UI's stream) reaches a
#     client that connects during the wait with every event.
# usage: sudo tests/e2e/demo_replay_e2e.sh     (OISP_SENSOR=path overrides the binary)
set -u
cd "$(dirname "$0")/../.."
BIN=${OISP_SENSOR:-build/oisp-sensor}
VALIDATE=${OISP_VALIDATE:-../shared/tools/oisp-validate}
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "PASS  $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL  $1"
    if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -40 | sed 's/^/      /'; fi
}
# check NAME PYTHON-EXPRESSION FILE: the expression over evs (the events of
# the JSONL FILE) is true
check() {
    if python3 - "$3" "$2" <<'EOF' 2>"$tmp/py.err"; then ok "$1"; else bad "$1" "$(cat "$tmp/py.err")"; fi
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
cli = [e for e in evs if e.get("process", {}).get("name") == "oisp-demo-cli"]
def of(t, es=cli): return [e for e in es if e["event_type"] == t]
ok = eval(sys.argv[2])
if not ok:
    print("false:", sys.argv[2], file=sys.stderr)
    for e in evs: print(" ", e["event_type"], e.get("process", {}).get("name"), file=sys.stderr)
sys.exit(0 if ok else 1)
EOF
}

if [ "$(id -u)" != 0 ]; then echo "demo_replay_e2e.sh: run as root"; exit 2; fi
if [ ! -x "$BIN" ]; then echo "demo_replay_e2e.sh: no $BIN (run make)"; exit 2; fi
BIN=$(realpath "$BIN")
if ! "$BIN" demo --help >/dev/null 2>&1; then
    echo "demo_replay_e2e.sh: $BIN has no demo command"
    echo "0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
printf '# empty: defaults only\n' >"$tmp/empty.toml"

# ---- demo, live ----
before=$(ls -d /tmp/oisp-demo.* 2>/dev/null | sort)
start=$(date +%s%N)
timeout 20 "$BIN" demo --keep "$tmp/demo.jsonl" >"$tmp/demo.out" 2>&1
rc=$?
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
if [ $rc -eq 0 ]; then ok "demo exits 0 (in ${elapsed} ms)"; else bad "demo exits 0 within 20 s (rc=$rc)" "$(cat "$tmp/demo.out")"; fi
if [ -s "$tmp/demo.jsonl" ]; then
    check "demo: exactly 3 ai.request and 3 ai.response of the demo client" \
        'len(of("ai.request")) == 3 and len(of("ai.response")) == 3' "$tmp/demo.jsonl"
    check "demo: each response answers one of the client's requests" \
        'sorted(r["data"]["request_id"] for r in of("ai.response")) == sorted(q["data"]["request_id"] for q in of("ai.request"))' \
        "$tmp/demo.jsonl"
    check "demo: one answer is a tool call (get_weather), one was streamed with usage" \
        'sum(1 for r in of("ai.response") for t in r["data"].get("tool_calls", []) if t.get("name") == "get_weather") == 1 and any(q["data"].get("streaming") for q in of("ai.request"))' \
        "$tmp/demo.jsonl"
    check "demo: each exchange appears once (no inbound view of the provider)" \
        'not [e for e in evs if e.get("attrs", {}).get("capture_view") == "inbound"]' "$tmp/demo.jsonl"
    out=$("$VALIDATE" "$tmp/demo.jsonl" 2>&1)
    if [ $? -eq 0 ]; then ok "demo: events validate ($(echo "$out" | tail -1))"; else bad "demo: events validate" "$out"; fi
    if grep -qE 'sk-demo-[A-Za-z0-9]' "$tmp/demo.jsonl"; then
        bad "demo: no sk-demo key in the events" "$(grep -oE 'sk-demo-[A-Za-z0-9]+' "$tmp/demo.jsonl" | head -3)"
    elif grep -q '"key_prefix":"sk-demo-"' "$tmp/demo.jsonl"; then
        ok "demo: no sk-demo key in the events (only key_prefix sk-demo-)"
    else
        bad "demo: the key's prefix is recorded" "$(grep -o '"auth":{[^}]*}' "$tmp/demo.jsonl" | head -3)"
    fi
else
    bad "demo --keep wrote the events" "$(cat "$tmp/demo.out")"
fi
if grep -q 'showing events recorded earlier' "$tmp/demo.out"; then
    bad "demo as root captures live" "$(cat "$tmp/demo.out")"
elif grep -q 'oisp-demo-cli\[' "$tmp/demo.out" && grep -q 'get_weather' "$tmp/demo.out"; then
    ok "demo as root shows the live events"
else
    bad "demo as root shows the live events" "$(cat "$tmp/demo.out")"
fi
sleep 0.2
left=$(pgrep -x oisp-demo-cli; pgrep -x oisp-demo-srv)
if [ -z "$left" ]; then ok "demo: no child process left"; else bad "demo: no child process left" "$left"; fi
after=$(ls -d /tmp/oisp-demo.* 2>/dev/null | sort)
if [ "$before" = "$after" ]; then ok "demo: no temporary directory left"; else bad "demo: no temporary directory left" "$after"; fi

# ---- demo, unprivileged ----
setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" demo >"$tmp/nobody.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'showing events recorded earlier by `oisp-sensor demo` (real capture), not live' "$tmp/nobody.out" &&
    grep -q 'get_weather' "$tmp/nobody.out"; then
    ok "demo as nobody says it shows recorded events, shows them, exits 0"
else
    bad "demo as nobody says it shows recorded events, shows them, exits 0 (rc=$rc)" "$(cat "$tmp/nobody.out")"
fi
out=$("$VALIDATE" packaging/demo-events.jsonl 2>&1)
if [ $? -eq 0 ] && ! grep -qE 'sk-demo-[A-Za-z0-9]' packaging/demo-events.jsonl; then
    ok "packaging/demo-events.jsonl validates and holds no key"
else
    bad "packaging/demo-events.jsonl validates and holds no key" "$out"
fi

# ---- replay into a new JSONL file ----
src=$tmp/recorded.jsonl
cat "$tmp/demo.jsonl" packaging/demo-events.jsonl >"$src" 2>/dev/null
{ head -n 2 "$src"; echo 'this line is not JSON'; tail -n +3 "$src"; } >"$tmp/with-bad.jsonl"
"$BIN" replay "$tmp/with-bad.jsonl" --config "$tmp/empty.toml" --set output.jsonl.path="$tmp/copy.jsonl" \
    >"$tmp/replay.out" 2>&1
rc=$?
if [ $rc -eq 0 ]; then ok "replay into a JSONL file exits 0"; else bad "replay into a JSONL file exits 0 (rc=$rc)" "$(cat "$tmp/replay.out")"; fi
ids() { python3 -c 'import json,sys; print("\n".join(json.loads(l)["event_id"] for l in open(sys.argv[1]) if l.strip()))' "$1"; }
if [ -s "$tmp/copy.jsonl" ] && [ "$(ids "$src")" = "$(ids "$tmp/copy.jsonl")" ]; then
    ok "replay reproduces every event: $(wc -l <"$src") events, same event_ids in the same order"
else
    bad "replay reproduces every event" "$(diff <(ids "$src") <(ids "$tmp/copy.jsonl") | head)"
fi
if cmp -s "$src" "$tmp/copy.jsonl"; then ok "replayed events are byte-identical"; else bad "replayed events are byte-identical" "$(diff "$src" "$tmp/copy.jsonl" | head -5)"; fi
n=$(wc -l <"$src")
if grep -q "$n event(s) read, $n sent, 1 line(s) skipped (1 not JSON" "$tmp/replay.out"; then
    ok "replay counts the malformed line"
else
    bad "replay counts the malformed line" "$(cat "$tmp/replay.out")"
fi
cp "$src" "$tmp/self.jsonl"
"$BIN" replay "$tmp/self.jsonl" --config "$tmp/empty.toml" --set output.jsonl.path="$tmp/self.jsonl" \
    >"$tmp/self.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && cmp -s "$src" "$tmp/self.jsonl" && grep -q 'into itself' "$tmp/self.out"; then
    ok "replay refuses to replay a file into itself"
else
    bad "replay refuses to replay a file into itself (rc=$rc)" "$(cat "$tmp/self.out")"
fi

# ---- replay into a webhook ----
cat >"$tmp/hook.py" <<'EOF'
import http.server, json, sys
out = open(sys.argv[1], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            doc = json.loads(body)
            evs = doc if isinstance(doc, list) else [doc]
        except ValueError:
            evs = [json.loads(l) for l in body.decode().splitlines() if l.strip()]
        for e in evs:
            out.write(e["event_id"] + "\n")
        out.flush()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
python3 "$tmp/hook.py" "$tmp/hook.ids" "$tmp/hook.port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/hook.port" ] && break; sleep 0.1; done
port=$(cat "$tmp/hook.port" 2>/dev/null)
"$BIN" replay "$src" --config "$tmp/empty.toml" --set output.jsonl.path= \
    --set sinks.common.dead_letter_dir="$tmp/dlq" --set sinks.webhook.url="http://127.0.0.1:$port/events" \
    --drain 10000 >"$tmp/hook.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "sink webhook:http://127.0.0.1:$port/events submitted=$n delivered=$n " "$tmp/hook.out"; then
    ok "replay into a webhook exits 0 with every event delivered"
else
    bad "replay into a webhook exits 0 with every event delivered (rc=$rc)" "$(cat "$tmp/hook.out")"
fi
if [ -s "$tmp/hook.ids" ] && [ "$(ids "$src" | sort)" = "$(sort "$tmp/hook.ids")" ]; then
    ok "the webhook received every event once ($(wc -l <"$tmp/hook.ids") events)"
else
    bad "the webhook received every event once" "$(diff <(ids "$src" | sort) <(sort "$tmp/hook.ids" 2>/dev/null) | head)"
fi
# a webhook that is down: replay says so in its exit status
"$BIN" replay "$src" --config "$tmp/empty.toml" --set output.jsonl.path= \
    --set sinks.common.dead_letter_dir="$tmp/dlq" --set sinks.common.max_retries=0 \
    --set sinks.webhook.url="http://127.0.0.1:1/events" --drain 3000 >"$tmp/down.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "dead_lettered=$n" "$tmp/down.out"; then
    ok "replay into a webhook that is down exits 1 and counts the dead letters"
else
    bad "replay into a webhook that is down exits 1 and counts the dead letters (rc=$rc)" "$(cat "$tmp/down.out")"
fi

# ---- replay to the UI's WebSocket stream ----
wsport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" replay "$src" --config "$tmp/empty.toml" --set output.jsonl.path= \
    --set sinks.websocket.listen="127.0.0.1:$wsport" --wait 1500 >"$tmp/ws.out" 2>&1 &
rp=$!
pids+=($rp)
for _ in $(seq 20); do (exec 3<>"/dev/tcp/127.0.0.1/$wsport") 2>/dev/null && break; sleep 0.05; done
/usr/bin/python3 tests/e2e/sinks/ws_client.py read "ws://127.0.0.1:$wsport/events" "$tmp/ws.jsonl" 3 \
    >"$tmp/wsc.out" 2>&1
wait "$rp"
rc=$?
if [ $rc -eq 0 ] && [ -s "$tmp/ws.jsonl" ] && [ "$(ids "$src")" = "$(ids "$tmp/ws.jsonl")" ]; then
    ok "replay --wait into the WebSocket sink reaches a client with every event ($n)"
else
    bad "replay --wait into the WebSocket sink reaches a client with every event (rc=$rc)" \
        "$(cat "$tmp/ws.out" "$tmp/wsc.out")"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
