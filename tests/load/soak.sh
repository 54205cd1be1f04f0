#!/usr/bin/env bash
# tests/load/soak.sh: `make soak`.  Does the sensor stay flat over time?
#
# For SOAK_SECONDS (600) it keeps a moderate mixed load going against the
# benchmark's GnuTLS server with `oisp-sensor record` running: the libssl C
# client non-streaming (SOAK_RATE_C, 100 req/s) and streaming (20 req/s),
# python and node (20 req/s each, alternating streaming and not).  Clients
# run in sessions of SOAK_SESSION (30) seconds and then exit, so
# connections and processes come and go all the time, as on a real host.
#
# Every SOAK_INTERVAL (5) seconds it samples the sensor's VmRSS, its open
# file descriptors (/proc/PID/fd) and, through the control socket
# (`oisp-sensor status --json`), the connections it tracks and the files it
# probes.  After the load it waits SOAK_SETTLE (15) s with no clients and
# samples once more.  The sensor captures only the load clients (`record
# --comm`, see common.sh; SOAK_FILTER=0 for every process), but it probes
# every TLS library and binary on the host, so another program starting
# during the soak adds probes (and fds, and memory).
#
# Verdict:
#   RSS slope   least-squares slope of VmRSS over time, after a warm-up
#               (the first fifth of the run, at most 120 s), in kB/min;
#               PASS below SOAK_MAX_SLOPE (50 kB/min: 0.5 MB over 10 min);
#   fds         once the clients are gone the count may not exceed the count
#               at the end of the warm-up plus the fds that came with new
#               probed files (rises between two samples in which the number
#               of probed files rose);
#   connections once the clients are gone the sensor tracks no more
#               connections than before the load began (skipped if the
#               control socket does not answer);
#   exchanges   every answered exchange is in the output, or the drop
#               counters account for it (as in load.sh).
# The samples are kept in SOAK_SAMPLES (a CSV file) when that is set.
#
# Environment: SENSOR (build/oisp-sensor), the SOAK_* above, KEEP_TMP=1 to keep
# the work directory (events, sensor log, samples).  Needs root.
# Exit status 0 on PASS, 1 on FAIL, 2 when it could not run.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
LOG_TAG=soak
SENSOR=${SENSOR:-build/oisp-sensor}
SECS=${SOAK_SECONDS:-600}
INTERVAL=${SOAK_INTERVAL:-5}
SESSION=${SOAK_SESSION:-30}
SETTLE=${SOAK_SETTLE:-15}
RATE_C=${SOAK_RATE_C:-100}
RATE_OTHER=${SOAK_RATE_OTHER:-20}
MAX_SLOPE=${SOAK_MAX_SLOPE:-50}
FILTER=${SOAK_FILTER:-1}
# shellcheck source=tests/load/common.sh
. tests/load/common.sh

[ "$(id -u)" = 0 ] || die "needs root (the sensor loads eBPF programs)"
[ -x "$SENSOR" ] || die "$SENSOR is not built (make all)"
command -v node >/dev/null || die "node is missing"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/oisp-soak.XXXXXX") || exit 2
LOOP_PIDS=()
cleanup() {
    local p
    for p in "${LOOP_PIDS[@]}"; do kill -- "-$p" 2>/dev/null || kill "$p" 2>/dev/null; done
    stop_all
    if [ -n "${KEEP_TMP:-}" ]; then note "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

build_bench_bins
start_server
EVENTS=$TMP/events.jsonl
start_sensor "$EVENTS"
tag="soak$$"

status_fields() { # "connections,probed_files" from the control socket, "-,-" without one
    "$SENSOR" status --json --control "$TMP/control.sock" 2>/dev/null |
        python3 -c 'import json,sys
try:
    s = json.load(sys.stdin); print("%d,%d" % (s["capture"]["connections_open"], len(s.get("targets") or [])))
except Exception: print("-,-")'
}
sample() { # t,rss_kB,fds,connections,probed_files
    local t=$1
    echo "$t,$(status_kb "$SENSOR_PID" VmRSS),$(ls "/proc/$SENSOR_PID/fd" 2>/dev/null | wc -l),$(status_fields)"
}

# client_loop NAME END COMMAND...: sessions of SESSION seconds until END
client_loop() {
    local name=$1 end=$2 left d
    shift 2
    while left=$(( end - $(date +%s) )); [ "$left" -gt 1 ]; do
        d=$(( left < SESSION ? left : SESSION ))
        "$@" --duration "$d" >>"$TMP/$name.out" 2>>"$TMP/$name.err" || echo "FAILED" >>"$TMP/$name.out"
    done
}

echo "t_s,rss_kb,fds,connections,probed_files" >"$TMP/samples.csv"
start=$(date +%s)
sample 0 >>"$TMP/samples.csv"
base_conns=$(status_fields | cut -d, -f1)
end=$(( start + SECS ))
note "$SECS s of mixed load (C $RATE_C + $RATE_OTHER req/s, python and node $RATE_OTHER req/s each," \
     "sessions of $SESSION s), sampling every $INTERVAL s; sensor pid $SENSOR_PID"
set -m # each loop in its own process group, so cleanup can stop it whole
client_loop c-json "$end" "$OUT/tls_client" --port "$PORT" --model "$tag-c-json" --rate "$RATE_C" &
LOOP_PIDS+=($!)
client_loop c-sse "$end" "$OUT/tls_client" --port "$PORT" --model "$tag-c-sse" --stream --rate "$RATE_OTHER" &
LOOP_PIDS+=($!)
client_loop py "$end" python3 tests/load/py_client.py --port "$PORT" --model "$tag-py" --rate "$RATE_OTHER" \
    --comm "$PY_COMM" &
LOOP_PIDS+=($!)
client_loop node "$end" node tests/load/node_client.js --port "$PORT" --model "$tag-node" --rate "$RATE_OTHER" \
    --title "$NODE_COMM" &
LOOP_PIDS+=($!)
set +m
while [ "$(date +%s)" -lt "$end" ]; do
    sleep "$INTERVAL"
    kill -0 "$SENSOR_PID" 2>/dev/null || break
    sample $(( $(date +%s) - start )) >>"$TMP/samples.csv"
done
for p in "${LOOP_PIDS[@]}"; do wait "$p"; done
LOOP_PIDS=()
load_end=$(( $(date +%s) - start ))
sleep "$SETTLE"
final=$(sample $(( $(date +%s) - start )))
alive=1
kill -0 "$SENSOR_PID" 2>/dev/null || alive=0
stop_sensor

# ---- verdict ---------------------------------------------------------------

warm=$(( SECS / 5 < 120 ? SECS / 5 : 120 ))
read -r slope n rss_first rss_last rss_min rss_max < <(awk -F, -v w="$warm" 'NR > 1 && $1 >= w && $2 != "" {
        n++; x = $1 / 60; y = $2; sx += x; sy += y; sxx += x * x; sxy += x * y
        if (n == 1) first = y; last = y
        if (min == "" || y < min) min = y; if (y > max) max = y }
    END { d = n * sxx - sx * sx
          printf "%.1f %d %d %d %d %d\n", (n > 2 && d > 0) ? (n * sxy - sx * sy) / d : 0, n, first, last, min, max }' \
    "$TMP/samples.csv")
fd_warm=$(awk -F, -v w="$warm" 'NR > 1 && $1 >= w { print $3; exit }' "$TMP/samples.csv")
IFS=, read -r _ rss_final fd_final conns_final targets_final <<<"$final"
peak_conns=$(awk -F, 'NR > 1 && $4 != "-" && $4 > m { m = $4 } END { print m + 0 }' "$TMP/samples.csv")
echo "$final" >>"$TMP/samples.csv"
if [ -n "${SOAK_SAMPLES:-}" ]; then cp "$TMP/samples.csv" "$SOAK_SAMPLES"; fi
# fds that came with new probed files after the warm-up (rises between two
# samples in which the number of probed files rose), and the net growth
# beyond that (transient fds, such as a control connection being closed,
# come and go and do not count)
read -r fd_probe_rise targets_warm < <(awk -F, -v w="$warm" 'NR > 2 {
        d = $3 - pf; if ($1 > w && d > 0 && $5 != "-" && $5 > pt) probe += d }
    NR > 1 { if ($1 >= w && tw == "") tw = $5; pf = $3; pt = $5 }
    END { print probe + 0, (tw == "" ? "-" : tw) }' "$TMP/samples.csv")
fd_unexplained=$(( ${fd_final:-0} - ${fd_warm:-0} - fd_probe_rise ))
[ "$fd_unexplained" -gt 0 ] || fd_unexplained=0

echo
echo "oisp-sensor soak test: ${load_end} s of load, then ${SETTLE} s idle; $(( $(wc -l <"$TMP/samples.csv") - 1 )) samples" \
     "$([ "$FILTER" = 1 ] && echo "(sensor capturing the load clients only)")"
echo "RSS after warm-up (${warm} s): first ${rss_first} kB, last ${rss_last} kB, min ${rss_min} kB, max ${rss_max} kB;" \
     "slope ${slope} kB/min over $n samples (limit ${MAX_SLOPE})"
echo "RSS once idle: ${rss_final} kB"
echo "open fds: ${fd_warm} after warm-up, ${fd_final} once the clients were gone; probed files ${targets_warm} -> ${targets_final}" \
     "(added with new probes after the warm-up: ${fd_probe_rise}; growth not explained by them: ${fd_unexplained})"
echo "tracked connections: ${base_conns} before the load, peak ${peak_conns}, ${conns_final} once the clients were gone"
exchange_table "$EVENTS" "C json:$tag-c-json:$(answered "$TMP/c-json.out")" "C sse:$tag-c-sse:$(answered "$TMP/c-sse.out")" \
    "python mixed:$tag-py:$(answered "$TMP/py.out")" "node mixed:$tag-node:$(answered "$TMP/node.out")"
loss_verdict
failed_sessions=$(cat "$TMP"/*.out 2>/dev/null | grep -c '^FAILED')
echo "client sessions failed: ${failed_sessions}; sensor exit status $SENSOR_RC"

verdict=PASS why=()
awk -v s="$slope" -v m="$MAX_SLOPE" 'BEGIN { exit !(s < m) }' || { verdict=FAIL; why+=("RSS slope $slope kB/min >= $MAX_SLOPE"); }
[ "$n" -ge 3 ] || { verdict=FAIL; why+=("too few samples after the warm-up"); }
[ "$fd_unexplained" = 0 ] && [ -n "$fd_final" ] ||
    { verdict=FAIL; why+=("fds grew from $fd_warm to $fd_final, $fd_unexplained more than new probes explain"); }
[ "$LOSS_OK" = 1 ] || { verdict=FAIL; why+=("$LOSS_WHY"); }
if [ "$conns_final" != "-" ] && [ "$base_conns" != "-" ]; then
    [ "$conns_final" -le "$base_conns" ] || { verdict=FAIL; why+=("$conns_final connections still tracked (was $base_conns)"); }
else
    echo "tracked connections: skipped (no answer on the control socket)"
fi
[ "$alive" = 1 ] && [ "$SENSOR_RC" = 0 ] || { verdict=FAIL; why+=("the sensor died or exited with status $SENSOR_RC"); }
[ "$failed_sessions" = 0 ] || { verdict=FAIL; why+=("$failed_sessions client sessions failed"); }
[ "$LOSS_OK" = 1 ] && echo "exchanges: $LOSS_WHY"
echo "soak: $verdict${why:+ (${why[*]})}"
[ "$verdict" = PASS ]
