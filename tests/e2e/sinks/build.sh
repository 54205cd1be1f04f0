#!/usr/bin/env bash
# build.sh: builds the sink test driver (and, with "bench", the sink
# benchmark) with the project's flags, from the sources they use (the
# sinks, `dlq replay` and the event envelope), so that work in progress
# elsewhere in the tree cannot break them.
# usage: tests/e2e/sinks/build.sh [bench]   (run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/../../.."
BUILD=${BUILD:-build}
PKGS="jansson zlib libcrypto libwebsockets rdkafka libcurl"
FLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -O2 -g -Isrc -Itests/e2e/sinks"
SRCS="src/sinks/*.c src/cli/sinkcmds.c src/events/event.c src/events/clock.c src/events/ulid.c src/util/*.c"
# shellcheck disable=SC2046,SC2086
build() { cc $FLAGS ${EXTRA_CFLAGS:-} $(pkg-config --cflags $PKGS) -o "$2" "$1" $SRCS \
          $(pkg-config --libs $PKGS) -lpthread -lm; }
mkdir -p "$BUILD/tests" "$BUILD/bench"
build tests/e2e/sinks/sinkdrive.c "$BUILD/tests/sinkdrive"
if [ "${1:-}" = bench ]; then build bench/sink_bench.c "$BUILD/bench/sink_bench"; fi
