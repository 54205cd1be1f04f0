# tests/load/common.sh: shared by load.sh and soak.sh (sourced, not run).
#
# Builds the benchmark's GnuTLS server and libssl C client (bench/tls_server.c,
# bench/tls_client.c) into build/bench/ when they are missing or older than
# their sources, starts the server (GnuTLS, so the sensor sees only the
# clients' side) and `oisp-sensor record` with a private control socket,
# stops them, reads the sensor's exit counters, and sets the per-client
# exchange counts against them (exchange_table, loss_verdict).  Callers set
# TMP and SENSOR first.
#
# By default the sensor captures only the load clients (`record --comm` for
# tls_client and the renamed python and node processes, CLIENT_COMMS), so
# its drop counters speak of them alone and other TLS traffic on the host
# cannot blur the figures; FILTER=0 captures every process instead.

OUT=build/bench
SERVER_PID="" SENSOR_PID=""
PY_COMM=oisp-load-py NODE_COMM=oisp-load-node
CLIENT_COMMS=(tls_client "$PY_COMM" "$NODE_COMM")

note() { echo "${LOG_TAG:-load}: $*" >&2; }
die() { note "$*"; exit 2; }

build_bench_bins() {
    mkdir -p "$OUT"
    pkg-config --exists gnutls || die "libgnutls28-dev is missing (scripts/deps.sh test installs it)"
    if [ ! -x "$OUT/tls_server" ] || [ bench/tls_server.c -nt "$OUT/tls_server" ]; then
        gcc -O2 -Wall -Werror -o "$OUT/tls_server" bench/tls_server.c \
            $(pkg-config --cflags --libs gnutls) -lpthread || die "building tls_server failed"
    fi
    if [ ! -x "$OUT/tls_client" ] || [ bench/tls_client.c -nt "$OUT/tls_client" ]; then
        gcc -O2 -Wall -Werror -o "$OUT/tls_client" bench/tls_client.c -lssl -lcrypto -lpthread ||
            die "building tls_client failed"
    fi
    if [ ! -s "$OUT/cert.pem" ] || [ ! -s "$OUT/key.pem" ]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
            -subj /CN=localhost -keyout "$OUT/key.pem" -out "$OUT/cert.pem" 2>/dev/null ||
            die "making the self-signed certificate failed"
    fi
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

start_server() { # [extra tls_server args]
    "$OUT/tls_server" --cert "$OUT/cert.pem" --key "$OUT/key.pem" --port 0 "$@" >"$TMP/server.out" \
        2>"$TMP/server.err" &
    SERVER_PID=$!
    wait_for_line "$TMP/server.out" '^port ' "$SERVER_PID" 10 || die "server did not start: $(cat "$TMP/server.err")"
    PORT=$(awk '/^port / { print $2 }' "$TMP/server.out")
}

start_sensor() { # OUTPUT_FILE
    local filter=() c
    if [ "${FILTER:-1}" = 1 ]; then for c in "${CLIENT_COMMS[@]}"; do filter+=(--comm "$c"); done; fi
    "$SENSOR" record -o "$1" --control "$TMP/control.sock" "${filter[@]}" 2>"$TMP/sensor.err" &
    SENSOR_PID=$!
    wait_for_line "$TMP/sensor.err" 'oisp-sensor: ready' "$SENSOR_PID" 60 ||
        die "the sensor did not get ready: $(tail -n 5 "$TMP/sensor.err")"
}

stop_sensor() { # sets SENSOR_RC; SIGINT, then SIGKILL after 60 s
    local i
    SENSOR_RC=0
    [ -n "$SENSOR_PID" ] || return 0
    kill -INT "$SENSOR_PID" 2>/dev/null
    for (( i = 0; i < 600; i++ )); do
        kill -0 "$SENSOR_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SENSOR_PID" 2>/dev/null; then
        note "the sensor did not stop on SIGINT within 60 s: killed"
        kill -KILL "$SENSOR_PID" 2>/dev/null
    fi
    wait "$SENSOR_PID"
    SENSOR_RC=$?
    SENSOR_PID=""
}

stop_all() {
    stop_sensor
    if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    SERVER_PID=""
}

# counter NAME...: the first of these keys found on the sensor's exit lines
# ("oisp-sensor: drops k=v ...", "stats", "capture"); 0 if none.  Several
# names cover the older and newer spellings of one counter.
counter() {
    local k v
    for k in "$@"; do
        v=$(grep -E '^oisp-sensor: (drops|stats|capture) ' "$TMP/sensor.err" | tr ' ' '\n' |
            sed -n "s/^$k=\([0-9]*\)$/\1/p" | tail -n 1)
        if [ -n "$v" ]; then echo "$v"; return; fi
    done
    echo 0
}

field() { # NAME "RESULT k=v ..." line
    local kv
    for kv in $2; do
        case "$kv" in "$1="*) echo "${kv#*=}"; return ;; esac
    done
    echo 0
}

status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    echo $(( ${12} + ${13} ))
}

answered() { # client output file -> exchanges completed over all its RESULT lines (warm-ups included)
    local line n=0
    while read -r line; do
        n=$(( n + $(field requests "$line") + $(field warmup "$line") ))
    done < <(grep '^RESULT' "$1" 2>/dev/null)
    echo "$n"
}

# exchange_table EVENTS "name:model:answered"...: one line per client with
# its ai.request / ai.response events, and the totals in TOTAL_ANSWERED,
# TOTAL_REQ, TOTAL_RESP, MISSING (answered without ai.response), REQ_ONLY
# (ai.request without ai.response), NO_EVENT (answered without ai.request),
# DUP (clients with more events than exchanges).
exchange_table() {
    local events=$1 c name model ans q r p models=()
    shift
    for c in "$@"; do models+=("$(cut -d: -f2 <<<"$c")"); done
    python3 tests/load/count_events.py "$events" "${models[@]}" >"$TMP/counts"
    TOTAL_ANSWERED=0 TOTAL_REQ=0 TOTAL_RESP=0 MISSING=0 REQ_ONLY=0 NO_EVENT=0 DUP=0
    printf '%-26s %10s %12s %12s %10s %9s\n' client answered ai.request ai.response missing partial
    for c in "$@"; do
        IFS=: read -r name model ans <<<"$c"
        q=$(sed -n "s/^$model requests=\([0-9]*\).*/\1/p" "$TMP/counts")
        r=$(sed -n "s/^$model .*responses=\([0-9]*\).*/\1/p" "$TMP/counts")
        p=$(sed -n "s/^$model .*partial=\([0-9]*\).*/\1/p" "$TMP/counts")
        printf '%-26s %10d %12d %12d %10d %9d\n' "$name" "$ans" "$q" "$r" $(( ans - r )) "$p"
        TOTAL_ANSWERED=$(( TOTAL_ANSWERED + ans )) TOTAL_REQ=$(( TOTAL_REQ + q )) TOTAL_RESP=$(( TOTAL_RESP + r ))
        if [ "$r" -gt "$ans" ] || [ "$q" -gt "$ans" ]; then DUP=$(( DUP + 1 )); fi
        if [ "$ans" -gt "$r" ]; then MISSING=$(( MISSING + ans - r )); fi
        if [ "$q" -gt "$r" ]; then REQ_ONLY=$(( REQ_ONLY + q - r )); fi
        if [ "$ans" -gt "$q" ]; then NO_EVENT=$(( NO_EVENT + ans - q )); fi
    done
    printf '%-26s %10d %12d %12d %10d\n' "all" "$TOTAL_ANSWERED" "$TOTAL_REQ" "$TOTAL_RESP" "$MISSING"
}

# loss_verdict: prints the sensor's loss counters and sets LOSS_OK (1 when
# nothing is missing or the counters account for what is) and LOSS_WHY.
# Accounted means: requests seen without a response <= requests_without_
# response, and exchanges with no event at all <= records lost in the kernel
# (ring full, unreadable memory, maps full) + responses_without_request.
loss_verdict() {
    local ring args rd offm ctrl gaps perr no_resp no_req kernel_lost
    ring=$(counter ring_full_records ring)
    args=$(counter args_map_full args_map)
    rd=$(counter user_read_failed read)
    offm=$(counter offset_map_full offset_map)
    ctrl=$(counter control_records ctrl)
    gaps=$(counter stream_gaps gaps)
    perr=$(counter http_parse_errors parse_errors)
    no_resp=$(counter requests_without_response no_response)
    no_req=$(counter responses_without_request no_request)
    kernel_lost=$(( ring + args + rd + offm + ctrl ))
    echo "sensor drop counters: records lost in the kernel $kernel_lost (ring full $ring, args map $args," \
        "unreadable $rd, offset map $offm, control $ctrl); stream gaps $gaps, HTTP parse errors $perr," \
        "requests without response $no_resp, responses without request $no_req"
    LOSS_OK=1
    if [ "$DUP" != 0 ]; then
        LOSS_OK=0 LOSS_WHY="more events than exchanges for some client (duplicates)"
    elif [ "$MISSING" = 0 ]; then
        LOSS_WHY="lossless: every answered exchange has its ai.request and ai.response"
    elif [ "$REQ_ONLY" -le "$no_resp" ] && [ "$NO_EVENT" -le $(( kernel_lost + no_req )) ]; then
        LOSS_WHY="accounted: $MISSING exchanges missing; $REQ_ONLY requests without response <= $no_resp counted,"
        LOSS_WHY="$LOSS_WHY $NO_EVENT exchanges without events <= $(( kernel_lost + no_req )) records lost + unpaired responses"
    else
        LOSS_OK=0
        LOSS_WHY="unaccounted loss: $MISSING exchanges missing ($REQ_ONLY with a request event only, $NO_EVENT with none)"
        LOSS_WHY="$LOSS_WHY but the counters say requests_without_response=$no_resp, kernel records lost=$kernel_lost,"
        LOSS_WHY="$LOSS_WHY responses_without_request=$no_req"
    fi
}
