#!/usr/bin/env bash
# host_cli.sh: end-to-end checks of the host commands, run as root from the repo root after
# `make` (the lead hooks it into `make e2e`).  Each scenario drives the real binary:
#   metrics_json     `metrics --json` reports cores, memory, disks and top processes
#   metrics_serve    `metrics --serve 127.0.0.1:PORT` answers GET /metrics in Prometheus text
#                    format; a non-loopback address without --token is refused; with a token,
#                    requests without it get 401
#   connections      a python listener and connection on 127.0.0.1 and ::1 appear in
#                    `connections --json` with the right pid and ports, and vanish when closed
#   connect_events   `connections --watch -o FILE` writes a schema-valid network.connect for a
#                    new outbound connection
#   fanotify_passive `fanotify --mode passive` on a tmpfs this script mounts logs a write there
#   fanotify_enforce `fanotify --mode enforcing --allow-hash H(/bin/true)` runs the allowed copy
#                    and refuses /bin/false's copy with EPERM; counters are printed on exit
# Output files are validated with oisp-validate.  Prints PASS/FAIL per scenario and a final
# `N passed, N failed` line.  Environment: SENSOR (build/oisp-sensor), OISP_VALIDATE
# (../shared/tools/oisp-validate), PY (/usr/bin/python3), HOST_E2E_KEEP=1 keeps the work dir.
set -u
cd "$(dirname "$0")/../.." || exit 2
SENSOR=${SENSOR:-build/oisp-sensor}
VALIDATE=${OISP_VALIDATE:-../shared/tools/oisp-validate}
PY=${PY:-/usr/bin/python3}
WORK=$(mktemp -d /tmp/oisp-host-e2e.XXXXXX)
MNT=$WORK/mnt
passed=0 failed=0 why='' bg=()

cleanup() {
    for p in "${bg[@]}"; do kill -INT "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null; done
    mountpoint -q "$MNT" 2>/dev/null && umount -l "$MNT"
    if [ "${HOST_E2E_KEEP:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

note() { [ -n "$why" ] || why=$1; }
result() {                                   # result NAME: PASS/FAIL from $why
    if [ -z "$why" ]; then echo "PASS $1"; passed=$((passed + 1))
    else echo "FAIL $1: $why"; failed=$((failed + 1)); fi
    why=''
}
wait_for() {                                 # wait_for SECONDS CMD...
    local tries=$(($1 * 10)); shift
    until "$@"; do tries=$((tries - 1)); [ "$tries" -gt 0 ] || return 1; sleep 0.1; done
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
valid() { "$VALIDATE" --quiet "$1" >/dev/null 2>&1 || note "oisp-validate rejects $1: $("$VALIDATE" "$1" 2>&1 | tail -n2)"; }

if ! "$SENSOR" metrics --help >/dev/null 2>&1; then
    echo "FAIL setup: $SENSOR has no 'metrics' command (is it built, with the host commands?)"
    echo "0 passed, 1 failed"
    exit 1
fi

# ---- metrics_json
out=$("$SENSOR" metrics --json --interval 0.3 2>"$WORK/m.err")
echo "$out" | "$PY" -c '
import json, sys
d = json.loads(sys.stdin.read())
assert d["has_rates"], "no rates"
assert d["cpu"]["count"] >= 1 and len(d["cpu"]["cores"]) == d["cpu"]["count"], "cores"
assert d["memory"]["total_bytes"] > 0 and d["memory"]["available_bytes"] > 0, "memory"
assert d["processes"] > 0 and d["threads"] >= d["processes"], "counts"
assert len(d["top_cpu"]) > 0 and len(d["top_rss"]) > 0, "top"
assert all(0 <= c["busy_pct"] <= 100 for c in d["cpu"]["cores"]), "pct range"
' 2>"$WORK/m.py" || note "bad metrics JSON: $(tail -n1 "$WORK/m.py")"
result metrics_json

# ---- metrics_serve
port=$(free_port)
env --default-signal=INT "$SENSOR" metrics --serve "127.0.0.1:$port" --interval 0.2 2>"$WORK/s.err" &
bg+=($!)
if wait_for 10 curl -sf -o "$WORK/prom.txt" "http://127.0.0.1:$port/metrics"; then
    grep -q '^# TYPE oisp_host_cpu_seconds_total counter$' "$WORK/prom.txt" || note "no cpu counter TYPE"
    grep -q '^oisp_host_memory_available_bytes [0-9]' "$WORK/prom.txt" || note "no memory gauge"
    grep -q '^oisp_sensor_process_resident_memory_bytes ' "$WORK/prom.txt" || note "no own RSS"
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing")
    [ "$code" = 404 ] || note "GET /nothing gave $code, not 404"
else
    note "endpoint did not answer: $(tail -n1 "$WORK/s.err")"
fi
if "$SENSOR" metrics --serve "0.0.0.0:$(free_port)" 2>"$WORK/s2.err"; then
    note "served on 0.0.0.0 without a token"
fi
port2=$(free_port)
env --default-signal=INT "$SENSOR" metrics --serve "[::1]:$port2" --token s3cret 2>/dev/null &
bg+=($!)
if wait_for 10 curl -s -o /dev/null "http://[::1]:$port2/metrics"; then
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://[::1]:$port2/metrics")
    [ "$code" = 401 ] || note "no token gave $code, not 401"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer s3cret' "http://[::1]:$port2/metrics")
    [ "$code" = 200 ] || note "right token gave $code, not 200"
else
    note "token endpoint on ::1 did not answer"
fi
result metrics_serve

# ---- connections: a python process holds a listener and a connection on 127.0.0.1 and ::1
cat >"$WORK/conns.py" <<'EOF'
import os, socket, sys, time
out = {}
keep = []
for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
    l = socket.socket(fam); l.bind((host, 0)); l.listen()
    c = socket.create_connection(l.getsockname()[:2]); a, _ = l.accept()
    keep += [l, c, a]
    out[host] = (l.getsockname()[1], c.getsockname()[1])
with open(sys.argv[1], "w") as f:
    for h, (lp, cp) in out.items():
        f.write("%s %d %d\n" % (h, lp, cp))
sys.stdin.read()          # close everything when stdin closes
EOF
mkfifo "$WORK/ctl"
"$PY" "$WORK/conns.py" "$WORK/ports" <"$WORK/ctl" &
cpid=$!
exec 7>"$WORK/ctl"
if wait_for 10 test -s "$WORK/ports"; then
    sleep 0.2
    "$SENSOR" connections --all --json >"$WORK/c1.json" 2>"$WORK/c.err" || note "connections failed: $(tail -n1 "$WORK/c.err")"
    "$PY" - "$WORK/c1.json" "$WORK/ports" "$cpid" <<'EOF' 2>"$WORK/c.py" || note "table: $(tail -n1 "$WORK/c.py")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
pid = int(sys.argv[3])
for line in open(sys.argv[2]):
    host, lp, cp = line.split(); lp, cp = int(lp), int(cp)
    def find(state, lport, pport):
        return [r for r in rows if r["proto"] == "tcp" and r["state"] == state and r["local"]["ip"] == host
                and r["local"]["port"] == lport and r["peer"]["port"] == pport]
    l = find("LISTEN", lp, 0); c = find("ESTAB", cp, lp); a = find("ESTAB", lp, cp)
    assert l and c and a, "missing sockets for %s: %s %s %s" % (host, l, c, a)
    for r in l + c + a:
        assert r.get("pid") == pid, "pid %s != %d" % (r.get("pid"), pid)
        assert r["peer"]["ip"] == (host if r["state"] == "ESTAB" else r["peer"]["ip"])
EOF
    "$SENSOR" connections --listening >"$WORK/l.txt" 2>/dev/null
    grep -q "127.0.0.1:$(awk 'NR==1{print $2}' "$WORK/ports") .*python3\?(pid=$cpid)" "$WORK/l.txt" ||
        note "text listing lacks the IPv4 listener with its pid"
    exec 7>&-
    wait "$cpid" 2>/dev/null
    "$SENSOR" connections --all --json >"$WORK/c2.json" 2>/dev/null
    lp4=$(awk 'NR==1{print $2}' "$WORK/ports")
    if grep -q "\"port\": $lp4" "$WORK/c2.json" && grep "\"port\": $lp4" "$WORK/c2.json" | grep -q '"LISTEN"'; then
        note "listener still listed after close"
    fi
else
    note "python did not open its sockets"
    exec 7>&-
fi
result connections

# ---- connect_events
env --default-signal=INT "$SENSOR" connections --watch --interval 0.2 -o "$WORK/net.jsonl" >"$WORK/w.out" 2>"$WORK/w.err" &
wpid=$!
bg+=($wpid)
if wait_for 10 grep -qs 'watching connections' "$WORK/w.err"; then
    "$PY" -c '
import socket, time
l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen()
c = socket.create_connection(l.getsockname()); a, _ = l.accept()
open("'"$WORK"'/np", "w").write(str(l.getsockname()[1]))
time.sleep(1.0)'
    kill -INT "$wpid"; wait "$wpid" 2>/dev/null
    np=$(cat "$WORK/np")
    grep -q "\"event_type\": \"network.connect\".*\"dest\": {\"ip\": \"127.0.0.1\", \"port\": $np" "$WORK/net.jsonl" ||
        grep -q "\"dest\":{\"ip\":\"127.0.0.1\",\"port\":$np" "$WORK/net.jsonl" ||
        note "no network.connect to port $np in $(wc -l <"$WORK/net.jsonl") events"
    grep -q "^+ tcp .*127.0.0.1:$np" "$WORK/w.out" || note "watch printed no '+' line for the listener"
    [ -s "$WORK/net.jsonl" ] && valid "$WORK/net.jsonl"
else
    note "connections --watch did not start: $(tail -n1 "$WORK/w.err")"
fi
result connect_events

# ---- fanotify: on a tmpfs this script mounts (never on /)
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=32m tmpfs "$MNT"; then
    why="cannot mount a tmpfs (root needed)"; result fanotify_passive
    why="cannot mount a tmpfs (root needed)"; result fanotify_enforce
else
    cp /bin/true "$MNT/true"; cp /bin/false "$MNT/false"
    env --default-signal=INT "$SENSOR" fanotify --path "$MNT" --mode passive -o "$WORK/fp.jsonl" 2>"$WORK/fp.err" &
    fpid=$!
    bg+=($fpid)
    if wait_for 10 grep -qs 'fanotify ready' "$WORK/fp.err"; then
        sh -c "echo written > $MNT/passive.txt"
        "$MNT/true" || note "passive mode: true failed"
        wait_for 5 grep -qs "\"path\": *\"$MNT/passive.txt\"" "$WORK/fp.jsonl" || note "no event for the write"
        kill -INT "$fpid"; wait "$fpid" 2>/dev/null
        grep -q '"event_type": *"file.write"' "$WORK/fp.jsonl" || note "no file.write event"
        grep -q '"event_type": *"process.exec"' "$WORK/fp.jsonl" || note "no process.exec event"
        grep -q 'fanotify counters' "$WORK/fp.err" || note "no counters printed on exit"
        valid "$WORK/fp.jsonl"
    else
        note "fanotify did not start: $(tail -n1 "$WORK/fp.err")"
    fi
    result fanotify_passive

    h=$(sha256sum /bin/true | cut -c1-64)
    env --default-signal=INT "$SENSOR" fanotify --path "$MNT" --mode enforcing --allow-hash "$h" -o "$WORK/fe.jsonl" 2>"$WORK/fe.err" &
    fpid=$!
    bg+=($fpid)
    if wait_for 10 grep -qs 'fanotify ready' "$WORK/fe.err"; then
        "$MNT/true" || note "the allowed copy of true did not run"
        err=$("$PY" -c 'import os, sys
try: os.execv(sys.argv[1], [sys.argv[1]])
except OSError as e: print(e.errno)' "$MNT/false")
        [ "$err" = 1 ] || note "false was not refused with EPERM (got '$err')"
        wait_for 5 grep -qs '"verdict": *"deny"' "$WORK/fe.jsonl" || note "no deny verdict logged"
        kill -INT "$fpid"; wait "$fpid" 2>/dev/null
        grep -q "\"rule\": *\"allow-hash:$h\"" "$WORK/fe.jsonl" || note "allowed exec lacks its rule"
        grep -q '"denied":1' "$WORK/fe.err" || note "counters do not show one denial: $(tail -n1 "$WORK/fe.err")"
        valid "$WORK/fe.jsonl"
    else
        note "fanotify did not start: $(tail -n1 "$WORK/fe.err")"
    fi
    if "$SENSOR" fanotify --path "$MNT" --mode enforcing -o /dev/null 2>/dev/null; then
        note "enforcing mode without an allow rule was accepted"
    fi
    result fanotify_enforce
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
