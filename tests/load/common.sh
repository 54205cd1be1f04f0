# tests/load/common.sh: shared by load.sh and soak.sh (sourced, not run).
#
# Builds the benchmark's GnuTLS server and libssl C client (bench/tls_server.c,
# bench/tls_client.c) into build/bench/ when they are missing or older than
# their sources, starts the server (GnuTLS, so the sensor sees only the
# clients' side) and `oisp-sensor record` with a private control socket,
# stops them, and reads the sensor's exit counters.  Callers set TMP and
# SENSOR first.

OUT=build/bench
SERVER_PID="" SENSOR_PID=""

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
    "$SENSOR" record -o "$1" --control "$TMP/control.sock" 2>"$TMP/sensor.err" &
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
