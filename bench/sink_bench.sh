#!/usr/bin/env bash
# sink_bench.sh: runs bench/sink_bench.c (all five sinks at once) against
# the test receivers of tests/e2e/sinks/receiver.py in --discard mode on
# 127.0.0.1: once unpaced (as fast as emission goes) and once paced at
# 20,000 events/s.  usage: bench/sink_bench.sh [EVENTS]
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
N=${1:-200000}
tests/e2e/sinks/build.sh bench || exit 1
TMP=$(mktemp -d "${TMPDIR:-/tmp}/oisp-sinkbench.XXXXXX")
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT
for m in otlp webhook; do
    python3 tests/e2e/sinks/receiver.py "$m" --discard --port-file "$TMP/$m.port" --out "$TMP/$m" \
        --lifetime 900 &
    PIDS+=($!)
done
for _ in $(seq 100); do [ -s "$TMP/otlp.port" ] && [ -s "$TMP/webhook.port" ] && break; sleep 0.05; done
O="http://127.0.0.1:$(cat "$TMP/otlp.port")"
W="http://127.0.0.1:$(cat "$TMP/webhook.port")/hook"
echo "== unpaced"
build/bench/sink_bench --otlp "$O" --webhook "$W" --events "$N" --dir "$TMP"
echo "== paced at 20000 events/s"
build/bench/sink_bench --otlp "$O" --webhook "$W" --events "$N" --rate 20000 --dir "$TMP"
