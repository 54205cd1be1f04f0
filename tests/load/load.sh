#!/usr/bin/env bash
# tests/load/load.sh: `make load`.  Does the sensor lose anything at the
# highest rate this machine sustains, and if it does, does it say so?
#
# For LOAD_SECONDS (60) it runs, all at once and all saturated, against the
# benchmark's GnuTLS server (not traced):
#   - the libssl C client (bench/tls_client.c), non-streaming, 2 KB bodies;
#   - the same C client, streaming (SSE answers, one TLS record per event);
#   - python (tests/load/py_client.py, http.client over the system libssl),
#     and node (tests/load/node_client.js, node's static OpenSSL), each on
#     LOAD_CONNS (2) keep-alive connections, alternating streaming and
#     non-streaming requests,
# with `oisp-sensor record` running.  Each client uses its own model name,
# which the server echoes, so its exchanges can be counted in the output.
#
# Afterwards it waits until the sensor's output stops growing, stops the
# sensor (SIGINT) and compares, per client, the exchanges the server
# answered (the client read a complete 200 response) with the ai.request
# and ai.response events of that model.  The result is
#   PASS (lossless)   every answered exchange has its ai.response;
#   PASS (accounted)  some are missing, and the sensor's exit counters
#                     (`oisp-sensor: drops ...`) account for them: requests
#                     seen without a response <= requests_without_response,
#                     and exchanges with no event at all <= records lost in
#                     the kernel (ring full, unreadable memory, map full) +
#                     responses_without_request;
#   FAIL              a loss the counters do not explain, a duplicate
#                     (more events than exchanges), a client error, or the
#                     sensor failing.
# The sensor captures only the four clients (`record --comm`, see
# common.sh), so the counters speak of them alone; LOAD_FILTER=0 captures
# every process (the counters then include other TLS traffic on the host;
# the per-model event counts stay exact).
#
# Environment: SENSOR (build/oisp-sensor), LOAD_SECONDS (60), LOAD_CONNS (2),
# LOAD_BODY (2048), LOAD_FILTER (1).  Needs root.  Exit status 0 on PASS, 1 on FAIL, 2 when
# it could not run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
LOG_TAG=load
SENSOR=${SENSOR:-build/oisp-sensor}
SECS=${LOAD_SECONDS:-60}
CONNS=${LOAD_CONNS:-2}
BODY=${LOAD_BODY:-2048}
FILTER=${LOAD_FILTER:-1}
# shellcheck source=tests/load/common.sh
. tests/load/common.sh

[ "$(id -u)" = 0 ] || die "needs root (the sensor loads eBPF programs)"
[ -x "$SENSOR" ] || die "$SENSOR is not built (make all)"
command -v node >/dev/null || die "node is missing"
command -v python3 >/dev/null || die "python3 is missing"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/oisp-load.XXXXXX") || exit 2
CLIENT_PIDS=()
cleanup() {
    local p
    for p in "${CLIENT_PIDS[@]}"; do kill "$p" 2>/dev/null; done
    stop_all
    if [ -n "${KEEP_TMP:-}" ]; then note "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_bench_bins
start_server
EVENTS=$TMP/events.jsonl
start_sensor "$EVENTS"
tag="load$$"
M_CJSON=$tag-c-json M_CSSE=$tag-c-sse M_PY=$tag-py M_NODE=$tag-node

note "$SECS s at full rate: C client (json, sse), python and node ($CONNS connections each), sensor pid $SENSOR_PID"
cpu0=$(cpu_ticks "$SENSOR_PID")
t0=$(date +%s.%N)
"$OUT/tls_client" --port "$PORT" --conns 1 --body "$BODY" --model "$M_CJSON" --duration "$SECS" \
    >"$TMP/c-json.out" 2>"$TMP/c-json.err" &
CLIENT_PIDS+=($!)
"$OUT/tls_client" --port "$PORT" --conns 1 --body "$BODY" --stream --model "$M_CSSE" --duration "$SECS" \
    >"$TMP/c-sse.out" 2>"$TMP/c-sse.err" &
CLIENT_PIDS+=($!)
python3 tests/load/py_client.py --port "$PORT" --conns "$CONNS" --body "$BODY" --model "$M_PY" \
    --duration "$SECS" --comm "$PY_COMM" >"$TMP/py.out" 2>"$TMP/py.err" &
CLIENT_PIDS+=($!)
node tests/load/node_client.js --port "$PORT" --conns "$CONNS" --body "$BODY" --model "$M_NODE" \
    --duration "$SECS" --title "$NODE_COMM" >"$TMP/node.out" 2>"$TMP/node.err" &
CLIENT_PIDS+=($!)
client_fail=0
for p in "${CLIENT_PIDS[@]}"; do wait "$p" || client_fail=1; done
CLIENT_PIDS=()
t1=$(date +%s.%N)

# Let the sensor finish what its ring buffer still holds: until the output
# has not grown for 2 s (at most 60 s).
prev=-1 still=0
for (( i = 0; i < 120 && still < 4; i++ )); do
    n=$(wc -l <"$EVENTS" 2>/dev/null || echo 0)
    if [ "$n" = "$prev" ]; then still=$((still + 1)); else still=0; fi
    prev=$n
    sleep 0.5
done
cpu1=$(cpu_ticks "$SENSOR_PID")
peak_kb=$(status_kb "$SENSOR_PID" VmHWM)
stop_sensor

# ---- figures ---------------------------------------------------------------

secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
echo
echo "oisp-sensor load test: ${secs} s, 4 clients at once, body $BODY B$([ "$FILTER" = 1 ] && echo ", sensor capturing the clients only (--comm)")"
exchange_table "$EVENTS" "C json:$M_CJSON:$(answered "$TMP/c-json.out")" "C sse:$M_CSSE:$(answered "$TMP/c-sse.out")" \
    "python mixed:$M_PY:$(answered "$TMP/py.out")" "node mixed:$M_NODE:$(answered "$TMP/node.out")"
echo "exchanges answered per second: $(awk -v n="$TOTAL_ANSWERED" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')"
cpu_us=$(awk -v d="$(( cpu1 - cpu0 ))" -v t="$(getconf CLK_TCK)" -v n="$TOTAL_RESP" \
    'BEGIN { if (n > 0) printf "%.1f", d * 1e6 / t / n; else print "-" }')
echo "sensor: CPU ${cpu_us} us per captured exchange, peak RSS $(( ${peak_kb:-0} / 1024 )) MB, exit status $SENSOR_RC"
loss_verdict
grep -E '^oisp-sensor: (drops|sink) ' "$TMP/sensor.err" | sed 's/^/  /'

verdict=PASS why=$LOSS_WHY
if [ "$client_fail" != 0 ]; then
    verdict=FAIL why="a client failed: $(cat "$TMP"/*.err | grep -v '^$' | tail -n 3 | tr '\n' ' ')"
elif [ "$SENSOR_RC" != 0 ]; then
    verdict=FAIL why="the sensor exited with status $SENSOR_RC: $(tail -n 3 "$TMP/sensor.err" | tr '\n' ' ')"
elif [ "$LOSS_OK" != 1 ]; then
    verdict=FAIL
fi
echo "load: $verdict ($why)"
[ "$verdict" = PASS ]
