#!/usr/bin/env bash
# bench/perf_table.sh: `make bench`.  Runs every benchmark once, prints the
# figures and writes them, with the machine they were measured on, to
# docs/PERFORMANCE.md (generated: edit this script, not that file).
#
# What it runs (about 14 minutes on a 2-CPU VM):
#   0. build/bench/probe_cost self: what one no-op uprobe costs a call here,
#      on an emulated instruction and on a 5-byte nop, and one syscall.
#   1. bench/run.sh three times: keep-alive libssl client against a GnuTLS
#      server, saturated and paced at 200 req/s, without the sensor, with
#      `oisp-sensor record`, and with no-op probes at function entry and at
#      the sensor's own sites (the floors):
#        2 KB request bodies; 64 KB request bodies; SSE streaming answers.
#      This gives the overhead on the traced client, the share of exchanges
#      captured, the sensor's CPU per exchange and its RSS idle and at peak.
#   2. build/bench/decode_bench: recorded TLS streams replayed through the
#      connection table, HTTP parser, decoders, redaction and event
#      serialisation, one thread (MB/s per core).
#   3. bench/sink_bench.sh: the five sinks at once (if present).
#   4. bench/host_bench.sh: host metrics sampling and fanotify costs (if present).
#   5. bench/exec_bench.sh: fork+exec storm with and without the sensor.
# A step that fails is reported as failed in the table; the others still run.
#
# Environment: PERF_OUT (docs/PERFORMANCE.md), PERF_REPS (3, repetitions of
# each bench/run.sh configuration), PERF_QUICK=1 (one short repetition of
# everything, to try the script).  Needs root and `make all` first.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT_MD=${PERF_OUT:-docs/PERFORMANCE.md}
REPS=${PERF_REPS:-3}
QUICK=${PERF_QUICK:-0}
SENSOR=${SENSOR:-build/oisp-sensor}
export SENSOR
[ "$(id -u)" = 0 ] || { echo "bench: needs root" >&2; exit 2; }
[ -x "$SENSOR" ] || { echo "bench: $SENSOR is not built (make all)" >&2; exit 2; }
TMP=$(mktemp -d "${TMPDIR:-/tmp}/oisp-perf.XXXXXX") || exit 2
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

SAT=4 PACED=4 DECODE_S=1 SINK_N=100000 HOST_SAMPLES=20 HOST_OPENS=100000 HOST_RUNS=3 EXEC_N=250 EXEC_PAIRS=40
if [ "$QUICK" = 1 ]; then
    REPS=1 SAT=1 PACED=1 DECODE_S=0.2 SINK_N=5000 HOST_SAMPLES=3 HOST_OPENS=10000 HOST_RUNS=1 EXEC_N=100 EXEC_PAIRS=2
fi

STEPS=()   # name|status|seconds
step() { # NAME LOGFILE COMMAND...: runs it, records status and time
    local name=$1 log=$2 t0 rc
    shift 2
    echo "bench: -- $name" >&2
    t0=$(date +%s)
    "$@" >"$log" 2>"$log.err"
    rc=$?
    STEPS+=("$name|$rc|$(( $(date +%s) - t0 ))")
    cat "$log"
    [ "$rc" = 0 ] || { echo "bench: $name failed (status $rc):" >&2; tail -n 5 "$log.err" >&2; }
    return 0
}
step_status() { local s; for s in "${STEPS[@]}"; do [ "${s%%|*}" = "$1" ] && { cut -d'|' -f2 <<<"$s"; return; }; done; echo -; }

# ---- the machine -----------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
cores=$(nproc)
mem_gb=$(awk '/^MemTotal/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)
kernel=$(uname -r)
distro=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}")
when=$(date -u '+%Y-%m-%d %H:%M UTC')
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src bpf 2>/dev/null || commit="$commit (with uncommitted changes in src/ or bpf/)"
openssl_v=$(openssl version 2>/dev/null | awk '{ print $1, $2 }')
started=$(date +%s)

# ---- 0. one probe ----------------------------------------------------------

make -s build/bench/probe_cost >&2 || true
step probes "$TMP/probes.txt" build/bench/probe_cost self

# ---- 1. the traced client ------------------------------------------------

runbench() { # NAME BODY [--stream]
    local name=$1 body=$2
    shift 2
    BENCH_BODY=$body BENCH_SAT_SECS=$SAT BENCH_PACED_SECS=$PACED \
        step "run.sh $name" "$TMP/run-$name.txt" bash bench/run.sh --reps "$REPS" --markdown "$TMP/run-$name.md" "$@"
}
runbench 2k 2048
runbench 64k 65536
runbench sse 2048 --stream

# ---- 2. offline decode -----------------------------------------------------

make -s build/bench/decode_bench >&2 || true
step decode "$TMP/decode.txt" build/bench/decode_bench --seconds "$DECODE_S" --rounds 3

# ---- 3-5. sinks, host monitoring, exec storms --------------------------------

if [ -f bench/sink_bench.sh ]; then step sinks "$TMP/sinks.txt" bash bench/sink_bench.sh "$SINK_N"; fi
if [ -f bench/host_bench.sh ]; then
    SAMPLES=$HOST_SAMPLES OPENS=$HOST_OPENS RUNS=$HOST_RUNS step host "$TMP/host.txt" bash bench/host_bench.sh
fi
step exec "$TMP/exec.txt" bash bench/exec_bench.sh "$EXEC_N" "$EXEC_PAIRS"
total=$(( $(date +%s) - started ))

# ---- the summary against the targets ------------------------------------

cell() { # MDFILE ROW-PREFIX COLUMN (1 = label): the trimmed cell, "-" if none
    [ -f "$1" ] || { echo -; return; }
    awk -F'|' -v k="$2" -v c="$(( $3 + 1 ))" '{ l = $2; gsub(/^ +| +$/, "", l) }
        index(l, k) == 1 { v = $c; gsub(/^ +| +$/, "", v); print (v == "" ? "-" : v); exit }' "$1"
}
num() { sed -n 's/^[^0-9+-]*\([+-]\{0,1\}[0-9][0-9.]*\).*/\1/p' <<<"$1" | head -n 1; }
check() { # VALUE OP LIMIT -> yes / no / -
    [ -n "$1" ] && [ "$1" != - ] || { echo -; return; }
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { r = op == "<=" ? v <= l : op == "<" ? v < l : op == ">=" ? v >= l : v > l
        print r ? "yes" : "no" }'
}
all_of() { # SHARE-CELL "P% (A/B)" -> yes if A == B > 0, no, or -
    local ab
    ab=$(sed -n 's/.*(\([0-9]*\)\/\([0-9]*\)).*/\1 \2/p' <<<"$1")
    [ -n "$ab" ] || { echo -; return; }
    awk -v a="${ab% *}" -v b="${ab#* }" 'BEGIN { print (b > 0 && a == b) ? "yes" : "no" }'
}
decode_mb() { sed -n "s/^RESULT workload=$1 .* mb_s=\([0-9.]*\).*/\1/p" "$TMP/decode.txt" 2>/dev/null; }

R2=$TMP/run-2k.md
sat_change=$(cell "$R2" "requests/s, saturated" 4)
share_sat=$(cell "$R2" "share captured, saturated" 3)
share_paced=$(cell "$R2" "share captured, 200" 3)
share_64k=$(cell "$TMP/run-64k.md" "share captured, saturated" 3)
share_sse=$(cell "$TMP/run-sse.md" "share captured, saturated" 3)
change_64k=$(cell "$TMP/run-64k.md" "requests/s, saturated" 4)
change_sse=$(cell "$TMP/run-sse.md" "requests/s, saturated" 4)
sites_change=$(cell "$R2" "floor at the sensor's sites: requests/s" 4)
cpu_x=$(cell "$R2" "sensor CPU per exchange" 3)
rss_idle=$(cell "$R2" "sensor RSS idle" 3)
peaks=$(for f in "$TMP"/run-*.md; do cell "$f" "sensor RSS peak" 3; done | grep -v '^-$' | sort -g | tail -n 1)
mix_mb=$(decode_mb mix) long_mb=$(decode_mb long_context_64k_sse)
exec_cost=$(sed -n 's/.*median of the pairs: \([-+0-9.]*\)%, 95% interval \([-+0-9.]*\)% to \([-+0-9.]*\)%.*/\1 \2 \3/p' "$TMP/exec.txt" 2>/dev/null)
read -r exec_med exec_lo exec_hi <<<"${exec_cost:-- - -}"
sat_drop=$(num "$sat_change")
sat_drop=${sat_drop:+$(awk -v v="$sat_drop" 'BEGIN { print -v }')}

summary() {
    echo "| Target (DESIGN.md section 5) | Measured | Met |"
    echo "|---|---:|:---:|"
    echo "| Traced 2 KB keep-alive client loses at most 5% of requests/s (saturated) | ${sat_change:--} | $(check "$sat_drop" '<=' 5) |"
    echo "| 100% of exchanges captured at full load (saturated, 2 KB) | ${share_sat:--} | $(all_of "$share_sat") |"
    echo "| 100% of exchanges captured at 200 req/s | ${share_paced:--} | $(all_of "$share_paced") |"
    echo "| 100% captured at full load, 64 KB bodies | ${share_64k:--} | $(all_of "$share_64k") |"
    echo "| 100% captured at full load, SSE answers | ${share_sse:--} | $(all_of "$share_sse") |"
    echo "| (requests/s change, saturated: 64 KB bodies; SSE answers) | ${change_64k:--}; ${change_sse:--} | |"
    echo "| (the same 2 KB client with no-op probes at the sensor's sites: the floor of any capture there) | ${sites_change:--} | |"
    echo "| Sensor CPU per captured exchange < 25 us | ${cpu_x:--} us | $(check "$(num "$cpu_x")" '<' 25) |"
    echo "| Sensor RSS idle < 20 MB | ${rss_idle:--} MB | $(check "$(num "$rss_idle")" '<' 20) |"
    echo "| Sensor RSS at full load < 100 MB (peak of all runs) | ${peaks:--} MB | $(check "$(num "${peaks:--}")" '<' 100) |"
    echo "| Offline decode >= 200 MB/s per core (mix of workloads) | ${mix_mb:--} MB/s | $(check "${mix_mb:--}" '>=' 200) |"
    echo "| Offline decode, 64 KB long-context requests | ${long_mb:--} MB/s | $(check "${long_mb:--}" '>=' 200) |"
    echo "| Unrelated fork+exec loop at most 5% slower, default scope (median of pairs; 95% interval) | ${exec_med}% (${exec_lo}% to ${exec_hi}%) | $(check "$(num "$exec_med")" '<=' 5) |"
}

section_run() { # NAME TITLE
    echo "### $2"
    echo
    if [ -s "$TMP/run-$1.md" ]; then cat "$TMP/run-$1.md"; else echo "(failed: $(tail -n 2 "$TMP/run-$1.txt.err" 2>/dev/null | tr '\n' ' '))"; fi
    echo
}

verbatim() { # NAME FILE: the output as a code block (with a note if the step failed)
    local st
    st=$(step_status "$1")
    if [ "$st" = - ]; then
        echo "(not run: the benchmark is not in this tree)"
    elif [ -s "$2" ]; then
        echo '```'
        cat "$2"
        echo '```'
        [ "$st" = 0 ] || echo "(the script exited with status $st: $(tail -n 3 "$2.err" 2>/dev/null | tr '\n' ' '))"
    else
        echo "(failed, status $st: $(tail -n 3 "$2.err" 2>/dev/null | tr '\n' ' '))"
    fi
    echo
}

decode_table() {
    if [ "$(step_status decode)" != 0 ]; then verbatim decode "$TMP/decode.txt"; return; fi
    echo "| Workload | Bytes per exchange | MB/s (1 core) | Exchanges/s | us per exchange | Event bytes per exchange |"
    echo "|---|---:|---:|---:|---:|---:|"
    sed -n 's/^RESULT //p' "$TMP/decode.txt" | while read -r line; do
        g() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $line"; }
        echo "| $(g workload) | $(g bytes_per_exchange) | $(g mb_s) | $(g exchanges_s) | $(g us_per_exchange) | $(g event_bytes_per_exchange) |"
    done
    echo
}

mkdir -p "$(dirname "$OUT_MD")"
{
    echo "# oisp-sensor performance"
    echo
    echo "Generated by \`make bench\` (bench/perf_table.sh) in one run of ${total} s; do not edit by hand."
    echo
    echo "| Machine | |"
    echo "|---|---|"
    echo "| Date | $when |"
    echo "| CPU | ${cpu_model:-unknown} |"
    echo "| Cores | $cores |"
    echo "| Memory | $mem_gb GB |"
    echo "| Kernel | $kernel |"
    echo "| Distribution | $distro |"
    echo "| OpenSSL | $openssl_v |"
    echo "| Sensor | commit $commit |"
    [ "$QUICK" = 1 ] && echo "| Mode | PERF_QUICK=1: one short repetition, not for publication |"
    echo
    echo "## Summary"
    echo
    summary
    echo
    echo "## What one probe costs here"
    echo
    echo "build/bench/probe_cost self: a call to a three-instruction function, bare and with no-op BPF uprobes"
    echo "on its first instruction: a push, which the kernel emulates after the int3 trap, and a 5-byte nop,"
    echo "which kernels with optimized uprobes turn into a call and a syscall; then with a uretprobe added."
    echo
    verbatim probes "$TMP/probes.txt"
    echo "## Overhead on traced clients"
    echo
    echo "A keep-alive HTTPS/1.1 client on libssl (bench/tls_client.c) posts OpenAI-style chat requests to a"
    echo "GnuTLS server (bench/tls_server.c, not traced), saturated for ${SAT} s and paced at 200 req/s for"
    echo "${PACED} s, $REPS repetition(s) per condition in rotating order, medians reported.  \"Share captured\""
    echo "counts the ai.response events carrying the run's model name against the requests the client completed."
    echo "Sensor CPU per exchange is its utime+stime over the client runs and the drain after them."
    echo
    section_run 2k "2 KB request bodies, JSON answers"
    section_run 64k "64 KB request bodies, JSON answers"
    section_run sse "2 KB request bodies, SSE streaming answers (16 events each, one TLS record per event)"
    echo "## Offline decode throughput"
    echo
    echo "build/bench/decode_bench: recorded TLS streams (requests and responses built from tests/data/decode,"
    echo "SSE answers one record per event, JSON in records of at most 16 KiB) replayed through the real pipeline:"
    echo "conn_table_record, HTTP/1.1 parser, provider detection and decoding, OISP envelope, redaction (the"
    echo "default safe mode) and JSON serialisation, one thread, best of 3 rounds of ${DECODE_S} s.  MB/s counts"
    echo "request and response bytes."
    echo
    decode_table
    echo "## Sink throughput"
    echo
    echo "bench/sink_bench.sh: JSONL, WebSocket, OTLP, webhook and Kafka (mock cluster) sinks at once, $SINK_N events."
    echo
    verbatim sinks "$TMP/sinks.txt"
    echo "## Host monitoring"
    echo
    echo "bench/host_bench.sh: metrics sampling at 1 s ($HOST_SAMPLES samples) and fanotify cost per open ($HOST_OPENS opens, $HOST_RUNS runs)."
    echo
    verbatim host "$TMP/host.txt"
    echo "## Exec storms"
    echo
    echo "bench/exec_bench.sh: fork+exec of /bin/true, $EXEC_PAIRS interleaved pairs of $EXEC_N-exec blocks without and with the sensor, then one loop of $((EXEC_N * EXEC_PAIRS)) with --all-processes."
    echo
    verbatim exec "$TMP/exec.txt"
    echo "## Steps"
    echo
    echo "| Step | Status | Seconds |"
    echo "|---|---|---:|"
    for s in "${STEPS[@]}"; do
        IFS='|' read -r n st sec <<<"$s"
        echo "| $n | $([ "$st" = 0 ] && echo ok || echo "failed ($st)") | $sec |"
    done
    echo
    echo "Load (\`make load\`) and soak (\`make soak\`) tests are long runs; their results are reported in the issue notes."
} >"$OUT_MD"

echo
echo "== summary ($OUT_MD, ${total} s)"
summary | sed 's/^| //; s/ |$//; s/ | /  |  /g'
failed=0
for s in "${STEPS[@]}"; do [ "$(cut -d'|' -f2 <<<"$s")" = 0 ] || failed=1; done
exit $failed
