#!/usr/bin/env bash
# bench/run.sh: what oisp-sensor costs the program it traces, and what it
# costs itself (`make bench`).
#
# How it works.  It builds a GnuTLS HTTPS server (not traced: the sensor
# probes OpenSSL) and an OpenSSL keep-alive client into build/bench/, then,
# for several repetitions in rotating order, runs the client
#   - saturated for SAT_SECS (requests/s) and
#   - paced at RATE req/s for PACED_SECS (latency per request)
# under three conditions:
#   base    nothing attached;
#   sensor  `oisp-sensor record -o FILE` running;
#   floor   no-op uprobe+uretprobe on SSL_read/SSL_write(_ex) at function
#           entry (shared/tools/uprobe-floor's noop_attach), if it builds:
#           the bare cost of probing the same calls, for reference;
#   sites   no-op uprobe+uretprobe at the sensor's own probe sites (from
#           `oisp-sensor ssl-info --json`; build/bench/probe_cost, built by
#           `make bench`): the traps any capture at those sites pays, so
#           "sensor minus sites" is what the sensor's own work costs.
# Medians across repetitions are reported (the VM is noisy).  For each sensor
# session it also takes the sensor's CPU time (utime+stime from
# /proc/PID/stat over the client runs and the drain after them), its VmRSS
# 2 s after "ready" (with its anonymous part and what the BPF ring buffer
# mappings hold) and its VmHWM at the end, and counts the ai.response
# events that carry the session's unique model name against the requests the
# client completed.
#
# usage: bench/run.sh [--markdown FILE] [--reps N] [--stream] [--no-sensor]
#   env: SENSOR (default build/oisp-sensor), BENCH_SAT_SECS, BENCH_PACED_SECS,
#        BENCH_RATE, BENCH_BODY, BENCH_CONNS, BENCH_CPU (CPU for client and
#        server, default the last; "none" to not pin)
# Client and server share one CPU: on a small VM a request/response
# ping-pong between two CPUs is dominated by cross-CPU wake-ups, whose cost
# swings with whatever else runs; on one CPU the runs compare the probes.
# Exit status: 0 if every run succeeded, 1 otherwise.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
OUT=build/bench
SENSOR=${SENSOR:-build/oisp-sensor}
REPS=5
SAT_SECS=${BENCH_SAT_SECS:-4}
PACED_SECS=${BENCH_PACED_SECS:-4}
RATE=${BENCH_RATE:-200}
BODY=${BENCH_BODY:-2048}
CONNS=${BENCH_CONNS:-1}
BENCH_CPU=${BENCH_CPU:-$(( $(nproc) - 1 ))}
STREAM=0
USE_SENSOR=1
MARKDOWN=""
FLOOR_SRC=${FLOOR_SRC:-../shared/tools/uprobe-floor}

while [ $# -gt 0 ]; do
    case "$1" in
        --markdown) MARKDOWN=${2:?--markdown needs a file}; shift 2 ;;
        --reps) REPS=${2:?--reps needs a number}; shift 2 ;;
        --stream) STREAM=1; shift ;;
        --no-sensor) USE_SENSOR=0; shift ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "bench: unknown argument $1" >&2; exit 2 ;;
    esac
done

TMP=$(mktemp -d "${TMPDIR:-/tmp}/oisp-bench.XXXXXX") || exit 1
SERVER_PID="" SENSOR_PID="" FLOOR_PID="" SITES_PID=""
FAILED=0

cleanup() {
    local p
    for p in $SENSOR_PID $FLOOR_PID $SITES_PID; do
        stop_process "$p" 10 >/dev/null 2>&1
    done
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# ---- build ----------------------------------------------------------------

need_pkg() { # pkg-config name, Debian package
    pkg-config --exists "$1" && return 0
    note "installing $2"
    [ "$(id -u)" = 0 ] || die "$2 is missing and we are not root to install it"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >/dev/null ||
        die "cannot install $2"
}

build() {
    mkdir -p "$OUT"
    need_pkg gnutls libgnutls28-dev
    need_pkg openssl libssl-dev
    gcc -O2 -Wall -Werror -o "$OUT/tls_server" bench/tls_server.c \
        $(pkg-config --cflags --libs gnutls) -lpthread || die "building tls_server failed"
    gcc -O2 -Wall -Werror -o "$OUT/tls_client" bench/tls_client.c -lssl -lcrypto -lpthread ||
        die "building tls_client failed"
    if [ ! -s "$OUT/cert.pem" ] || [ ! -s "$OUT/key.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj /CN=localhost -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null ||
            die "making the self-signed certificate failed"
    fi
}

# The no-op probe tool from shared/, built in a copy (shared/ is read-only).
build_floor() {
    [ -f "$FLOOR_SRC/noop_attach.c" ] || return 1
    mkdir -p "$OUT/floor"
    cp "$FLOOR_SRC"/Makefile "$FLOOR_SRC"/noop.bpf.c "$FLOOR_SRC"/noop_attach.c "$OUT/floor/" || return 1
    make -s -C "$OUT/floor" noop_attach >"$TMP/floor-build.log" 2>&1
}

# ---- helpers --------------------------------------------------------------

field() { # field NAME "RESULT line"
    local kv
    for kv in $2; do
        case "$kv" in "$1="*) echo "${kv#*=}"; return ;; esac
    done
    echo nan
}

cpu_ticks() { # utime + stime of a process, in clock ticks
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo $(( ${12} + ${13} ))
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }
# resident kB of the process's BPF map mappings (the ring buffers, whose data
# pages the kernel maps twice so a record never wraps)
bpfmaps_kb() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { bpf = ($6 == "anon_inode:bpf-map") }
         bpf && $1 == "Rss:" { s += $2 } END { print s + 0 }' "/proc/$1/smaps" 2>/dev/null
}

median() {
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
        else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run_client COND REP MODEL: saturated then paced, with models MODEL-sat and
# MODEL-paced; appends "COND sat REP rps" and "COND paced REP mean p50 p99"
# to $TMP/results and sets DONE_SAT / DONE_PACED to the requests completed
# (warm-ups included: the sensor sees them too).
run_client() {
    local cond=$1 rep=$2 model=$3 line streamflag=""
    [ "$STREAM" = 1 ] && streamflag=--stream
    DONE_SAT=0 DONE_PACED=0
    line=$($PIN "$OUT/tls_client" --port "$PORT" --conns "$CONNS" --body "$BODY" $streamflag \
        --model "$model-sat" --duration "$SAT_SECS" 2>>"$TMP/client.err" | grep '^RESULT')
    if [ -z "$line" ] || [ "$(field errors "$line")" != 0 ]; then
        note "$cond rep $rep: saturated client run failed: $(tail -n 2 "$TMP/client.err")"
        FAILED=1; return 1
    fi
    echo "$cond sat $rep $(field rps "$line")" >>"$TMP/results"
    DONE_SAT=$(( $(field requests "$line") + $(field warmup "$line") ))
    line=$($PIN "$OUT/tls_client" --port "$PORT" --conns "$CONNS" --body "$BODY" $streamflag \
        --model "$model-paced" --duration "$PACED_SECS" --rate "$RATE" 2>>"$TMP/client.err" |
        grep '^RESULT')
    if [ -z "$line" ] || [ "$(field errors "$line")" != 0 ]; then
        note "$cond rep $rep: paced client run failed: $(tail -n 2 "$TMP/client.err")"
        FAILED=1; return 1
    fi
    echo "$cond paced $rep $(field mean_us "$line") $(field p50_us "$line") $(field p99_us "$line")" \
        >>"$TMP/results"
    DONE_PACED=$(( $(field requests "$line") + $(field warmup "$line") ))
}

count_exchanges() { # FILE MODEL: ai.response events whose model starts with MODEL
    [ -f "$1" ] || { echo 0; return; }
    grep -F '"ai.response"' "$1" | grep -cF "\"$2"
}

wait_for_line() { # FILE PATTERN PID SECONDS
    local i
    for (( i = 0; i < $4 * 10; i++ )); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

stop_process() { # PID SECONDS: SIGINT, then SIGKILL after SECONDS; returns its exit status
    local i
    kill -INT "$1" 2>/dev/null
    for (( i = 0; i < $2 * 10; i++ )); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        note "pid $1 did not stop on SIGINT within $2 s: killed"
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        return 124
    fi
    wait "$1"
}

# ---- conditions -----------------------------------------------------------

run_base() {
    run_client base "$1" "bench-$$-base-$1"
}

run_sensor() {
    local rep=$1 model="bench-$$-sensor-$1" file="$TMP/sensor-$1.jsonl" err="$TMP/sensor-$1.err"
    local cpu0 cpu1 idle anon maps peak got prev=-1 i rc sat paced
    "$SENSOR" record -o "$file" 2>"$err" &
    SENSOR_PID=$!
    if ! wait_for_line "$err" 'oisp-sensor: ready' "$SENSOR_PID" 60; then
        note "sensor did not get ready: $(tail -n 3 "$err")"
        stop_process "$SENSOR_PID" 10; SENSOR_PID=""
        FAILED=1; return 1
    fi
    sleep 2 # idle: once the start-up scan's freed memory has gone back (1 s tick)
    idle=$(status_kb "$SENSOR_PID" VmRSS)
    anon=$(status_kb "$SENSOR_PID" RssAnon)
    maps=$(bpfmaps_kb "$SENSOR_PID")
    cpu0=$(cpu_ticks "$SENSOR_PID")
    run_client sensor "$rep" "$model"
    # Let the sensor finish what its ring buffer still holds (at most 10 s).
    for (( i = 0; i < 40; i++ )); do
        got=$(count_exchanges "$file" "$model")
        [ "$got" -ge $(( DONE_SAT + DONE_PACED )) ] && break
        [ "$got" = "$prev" ] && [ "$i" -ge 4 ] && break
        prev=$got
        sleep 0.25
    done
    cpu1=$(cpu_ticks "$SENSOR_PID")
    peak=$(status_kb "$SENSOR_PID" VmHWM)
    stop_process "$SENSOR_PID" 30; rc=$?
    SENSOR_PID=""
    grep -E '^oisp-sensor: (stats|drops)' "$err" | tail -n 2 >"$TMP/last-stats"
    if [ "$rc" != 0 ]; then
        note "sensor exited with status $rc: $(tail -n 3 "$err")"
        FAILED=1
    fi
    sat=$(count_exchanges "$file" "$model-sat")
    paced=$(count_exchanges "$file" "$model-paced")
    # sensor session REP sat_got sat_done paced_got paced_done cpu_ticks clk_tck idle_kB peak_kB anon_kB bpfmaps_kB
    echo "sensor session $rep $sat $DONE_SAT $paced $DONE_PACED $(( cpu1 - cpu0 )) $(getconf CLK_TCK)" \
        "${idle:-nan} ${peak:-nan} ${anon:-nan} ${maps:-nan}" >>"$TMP/results"
    rm -f "$file"
}

run_floor() {
    local rep=$1 libssl
    libssl=$(ldd "$OUT/tls_client" | awk '/libssl\.so/ { print $3 }')
    "$OUT/floor/noop_attach" both "$libssl" SSL_read SSL_write SSL_read_ex SSL_write_ex \
        >"$TMP/floor.out" 2>"$TMP/floor.err" &
    FLOOR_PID=$!
    if ! wait_for_line "$TMP/floor.out" ATTACHED "$FLOOR_PID" 30; then
        note "floor probes did not attach: $(tail -n 2 "$TMP/floor.err")"
        stop_process "$FLOOR_PID" 10 2>/dev/null; FLOOR_PID=""
        HAVE_FLOOR=0; return 0
    fi
    run_client floor "$rep" "bench-$$-floor-$rep"
    stop_process "$FLOOR_PID" 10 2>/dev/null; FLOOR_PID=""
}

# The file offsets of the sensor's data probes in LIBSSL, one per line.
sensor_sites() {
    "$SENSOR" ssl-info --json 2>/dev/null | python3 -c '
import json, os, sys
want = os.path.realpath(sys.argv[1])
for f in json.load(sys.stdin).get("files", []):
    if os.path.realpath(f["path"]) == want:
        for p in f.get("probes", []):
            if p["kind"] == "data":
                print(hex(p["file_offset"]))' "$1"
}

run_sites() {
    local rep=$1 libssl offs
    libssl=$(ldd "$OUT/tls_client" | awk '/libssl\.so/ { print $3 }')
    offs=$(sensor_sites "$libssl")
    if [ -z "$offs" ]; then
        note "the sensor plans no probe in $libssl: no sites reference"
        HAVE_SITES=0; return 0
    fi
    # shellcheck disable=SC2086
    "$OUT/probe_cost" sites "$libssl" $offs >"$TMP/sites.out" 2>"$TMP/sites.err" &
    SITES_PID=$!
    if ! wait_for_line "$TMP/sites.out" ATTACHED "$SITES_PID" 30; then
        note "no-op probes at the sensor's sites did not attach: $(tail -n 2 "$TMP/sites.err")"
        stop_process "$SITES_PID" 10 2>/dev/null; SITES_PID=""
        HAVE_SITES=0; return 0
    fi
    SITES_AT=$(echo $offs)
    run_client sites "$rep" "bench-$$-sites-$rep"
    stop_process "$SITES_PID" 10 2>/dev/null; SITES_PID=""
}

# ---- report ---------------------------------------------------------------

med() { # COND KIND COLUMN: median over repetitions
    awk -v c="$1" -v k="$2" -v col="$3" '$1 == c && $2 == k { print $col }' "$TMP/results" | median
}

fmt() { # printf format, value ("nan" stays "-")
    case "$2" in nan|"") echo "-" ;; *) LC_ALL=C printf "$1" "$2" ;; esac
}

calc() { # EXPR A B [C]: awk arithmetic on a, b, c; "nan" in, "nan" out
    LC_ALL=C awk -v a="${2:-nan}" -v b="${3:-nan}" -v c="${4:-0}" \
        "BEGIN { if (a == \"nan\" || b == \"nan\" || c == \"nan\") print \"nan\"; else print $1 }"
}

report() {
    local sat_b sat_s sat_f sat_t mean_b mean_s mean_f mean_t p50_b p50_s p50_f p99_b p99_s p99_f
    sat_b=$(med base sat 4); sat_s=$(med sensor sat 4); sat_f=$(med floor sat 4); sat_t=$(med sites sat 4)
    mean_b=$(med base paced 4); mean_s=$(med sensor paced 4); mean_f=$(med floor paced 4)
    mean_t=$(med sites paced 4)
    p50_b=$(med base paced 5); p50_s=$(med sensor paced 5); p50_f=$(med floor paced 5)
    p99_b=$(med base paced 6); p99_s=$(med sensor paced 6); p99_f=$(med floor paced 6)

    local sat_got=0 sat_done=0 paced_got=0 paced_done=0 cpu_us="nan" idle="nan" anon="nan" maps="nan" peak="nan"
    if grep -q '^sensor session' "$TMP/results" 2>/dev/null; then
        read -r sat_got sat_done paced_got paced_done < <(awk '$1 == "sensor" && $2 == "session" {
            a += $4; b += $5; c += $6; d += $7 } END { print a + 0, b + 0, c + 0, d + 0 }' "$TMP/results")
        cpu_us=$(awk '$1 == "sensor" && $2 == "session" && $4 + $6 > 0 { print $8 * 1e6 / $9 / ($4 + $6) }' \
            "$TMP/results" | median)
        idle=$(awk '$1 == "sensor" && $2 == "session" { print $10 / 1024 }' "$TMP/results" | median)
        anon=$(awk '$1 == "sensor" && $2 == "session" { print $12 / 1024 }' "$TMP/results" | median)
        maps=$(awk '$1 == "sensor" && $2 == "session" { print $13 / 1024 }' "$TMP/results" | median)
        peak=$(awk '$1 == "sensor" && $2 == "session" { print $11 / 1024 }' "$TMP/results" |
            sort -g | tail -n 1)
    fi

    local rows=()
    row() { rows+=("$1|$2|$3|$4"); }
    row "requests/s, saturated ($CONNS conn)" "$(fmt %.0f "$sat_b")" "$(fmt %.0f "$sat_s")" \
        "$(fmt %+.1f%% "$(calc 'a == 0 ? "nan" : 100 * (b - a) / a' "$sat_b" "$sat_s")")"
    row "latency mean at $RATE req/s (us)" "$(fmt %.1f "$mean_b")" "$(fmt %.1f "$mean_s")" \
        "$(fmt %+.1f "$(calc 'b - a' "$mean_b" "$mean_s")")"
    row "latency p50 at $RATE req/s (us)" "$(fmt %.1f "$p50_b")" "$(fmt %.1f "$p50_s")" \
        "$(fmt %+.1f "$(calc 'b - a' "$p50_b" "$p50_s")")"
    row "latency p99 at $RATE req/s (us)" "$(fmt %.1f "$p99_b")" "$(fmt %.1f "$p99_s")" \
        "$(fmt %+.1f "$(calc 'b - a' "$p99_b" "$p99_s")")"
    if [ "$USE_SENSOR" = 1 ]; then
        row "share captured, saturated" "" \
            "$(fmt %.2f%% "$(calc 'b == 0 ? "nan" : int(10000 * a / b) / 100' "$sat_got" "$sat_done")") ($sat_got/$sat_done)" ""
        row "share captured, $RATE req/s" "" \
            "$(fmt %.2f%% "$(calc 'b == 0 ? "nan" : int(10000 * a / b) / 100' "$paced_got" "$paced_done")") ($paced_got/$paced_done)" ""
        row "sensor CPU per exchange (us)" "" "$(fmt %.1f "$cpu_us")" ""
        row "sensor RSS idle, 2 s after ready (MB)" "" "$(fmt %.1f "$idle")" ""
        row "  of it anonymous (heap, stacks) (MB)" "" "$(fmt %.1f "$anon")" ""
        row "  of it BPF ring buffers (MB)" "" "$(fmt %.1f "$maps")" ""
        row "sensor RSS peak, VmHWM (MB)" "" "$(fmt %.1f "$peak")" ""
    fi
    if [ "$HAVE_FLOOR" = 1 ]; then
        row "floor: requests/s with no-op probes" "$(fmt %.0f "$sat_b")" "$(fmt %.0f "$sat_f")" \
            "$(fmt %+.1f%% "$(calc 'a == 0 ? "nan" : 100 * (b - a) / a' "$sat_b" "$sat_f")")"
        row "floor: latency mean with no-op probes (us)" "$(fmt %.1f "$mean_b")" "$(fmt %.1f "$mean_f")" \
            "$(fmt %+.1f "$(calc 'b - a' "$mean_b" "$mean_f")")"
        row "added latency: sensor / no-op probes (ratio)" "" \
            "$(fmt %.2f "$(calc 'c == a ? "nan" : (b - a) / (c - a)' "$mean_b" "$mean_s" "$mean_f")")" ""
    fi
    if [ "$HAVE_SITES" = 1 ]; then
        row "floor at the sensor's sites: requests/s" "$(fmt %.0f "$sat_b")" "$(fmt %.0f "$sat_t")" \
            "$(fmt %+.1f%% "$(calc 'a == 0 ? "nan" : 100 * (b - a) / a' "$sat_b" "$sat_t")")"
        row "floor at the sensor's sites: latency mean (us)" "$(fmt %.1f "$mean_b")" \
            "$(fmt %.1f "$mean_t")" "$(fmt %+.1f "$(calc 'b - a' "$mean_b" "$mean_t")")"
        row "sensor above its sites' floor, saturated (us/req)" "" \
            "$(fmt %.1f "$(calc 'a == 0 || b == 0 ? "nan" : 1e6 / a - 1e6 / b' "$sat_s" "$sat_t")")" ""
        row "sensor above its sites' floor, paced (us/req)" "" "$(fmt %.1f "$(calc 'a - b' "$mean_s" "$mean_t")")" ""
    fi

    local what="$REPS reps (median), saturated ${SAT_SECS}s, paced $RATE req/s for ${PACED_SECS}s,"
    what="$what body $BODY B, $CONNS connection(s), stream=$STREAM"
    echo
    echo "oisp-sensor benchmark: $what"
    printf '%-52s %14s %22s %10s\n' "" "without" "with sensor" "change"
    local r a b c d
    for r in "${rows[@]}"; do
        IFS='|' read -r a b c d <<<"$r"
        printf '%-52s %14s %22s %10s\n' "$a" "${b:--}" "${c:--}" "${d:--}"
    done
    if [ -s "$TMP/last-stats" ]; then echo "last sensor session said:"; cat "$TMP/last-stats"; fi
    if [ -n "$PIN" ]; then echo "client and server pinned to CPU $BENCH_CPU ($PIN)"; fi
    if [ "$HAVE_FLOOR" = 1 ]; then
        echo "floor: no-op uprobe+uretprobe at entry of SSL_read, SSL_write, SSL_read_ex, SSL_write_ex"
    fi
    if [ "$HAVE_SITES" = 1 ]; then
        echo "sites: no-op uprobe+uretprobe at the sensor's data probes, file offsets $SITES_AT"
    fi
    echo "bare probe costs measured by shared/tools/uprobe-floor are in its README"

    if [ -n "$MARKDOWN" ]; then
        {
            echo "Measured by \`make bench\` on $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs: $what${PIN:+, client and server pinned to CPU $BENCH_CPU}."
            echo
            echo "| Metric | Without sensor | With sensor | Change |"
            echo "|---|---:|---:|---:|"
            for r in "${rows[@]}"; do
                IFS='|' read -r a b c d <<<"$r"
                echo "| $a | ${b:--} | ${c:--} | ${d:--} |"
            done
            if [ "$HAVE_FLOOR" = 1 ]; then
                echo
                echo "Floor: no-op uprobe+uretprobe at the entry of SSL_read, SSL_write, SSL_read_ex" \
                    "and SSL_write_ex (shared/tools/uprobe-floor's noop_attach), same client and load."
            fi
            if [ "$HAVE_SITES" = 1 ]; then
                echo
                echo "Sites: no-op uprobe+uretprobe where the sensor puts its data probes (libssl file" \
                    "offsets $SITES_AT, from \`oisp-sensor ssl-info --json\`; build/bench/probe_cost)," \
                    "same client and load. What the sensor costs above them is its own work."
            fi
        } >"$MARKDOWN" || { note "cannot write $MARKDOWN"; FAILED=1; }
    fi
}

# ---- main -----------------------------------------------------------------

build
HAVE_FLOOR=0 HAVE_SITES=0 SITES_AT=""
if [ "$USE_SENSOR" = 1 ]; then
    if [ -x "$OUT/probe_cost" ]; then HAVE_SITES=1; else note "no sites reference: $OUT/probe_cost is not built"; fi
    [ -x "$SENSOR" ] || die "$SENSOR is not built (run make first, or use --no-sensor)"
    [ "$(id -u)" = 0 ] || die "the sensor needs root"
    if build_floor; then HAVE_FLOOR=1; else note "no floor reference: noop_attach did not build"; fi
fi

PIN=""
if [ "$BENCH_CPU" != none ] && command -v taskset >/dev/null; then PIN="taskset -c $BENCH_CPU"; fi
$PIN "$OUT/tls_server" --cert "$OUT/cert.pem" --key "$OUT/key.pem" --port 0 >"$TMP/server.out" \
    2>"$TMP/server.err" &
SERVER_PID=$!
wait_for_line "$TMP/server.out" '^port ' "$SERVER_PID" 10 || die "server did not start: $(cat "$TMP/server.err")"
PORT=$(awk '/^port / { print $2 }' "$TMP/server.out")

conds=(base)
[ "$USE_SENSOR" = 1 ] && conds+=(sensor)
[ "$HAVE_FLOOR" = 1 ] && conds+=(floor)
[ "$HAVE_SITES" = 1 ] && conds+=(sites)
start=$SECONDS
for (( rep = 1; rep <= REPS; rep++ )); do
    n=${#conds[@]}
    for (( k = 0; k < n; k++ )); do
        cond=${conds[$(( (k + rep - 1) % n ))]}   # rotate the order each repetition
        note "rep $rep/$REPS: $cond"
        "run_$cond" "$rep"
    done
done
note "runs took $(( SECONDS - start )) s"
report
exit "$FAILED"
