#!/usr/bin/env bash
# fuzz/run.sh: run one libFuzzer target the way `make fuzz` and `make fuzz-ci`
# do, and record the outcome in BUILD/results/TARGET.txt for fuzz/report.sh.
#
#   fuzz/run.sh BUILD TARGET SECONDS [RUNS]
#
# 1. Replays every committed regression input (tests/data/fuzz-regress/
#    TARGET/*): each must run clean.
# 2. Fuzzes for SECONDS (and at most RUNS inputs if given) from the seeds
#    BUILD/seeds/TARGET and the corpus BUILD/corpus/TARGET, which keeps
#    growing from run to run (FUZZ_FRESH=1: a temporary corpus instead, so
#    a short CI run does not spend its time replaying a large one); a
#    crash, leak, timeout (10 s per input) or memory blow-up (2 GB) is saved
#    under BUILD/crashes/TARGET/.
# FUZZ_OUT (default BUILD) is where logs/, results/ and crashes/ go, so a
# long campaign can keep its own records apart from `make fuzz-ci`.
# The result line holds executions, coverage (libFuzzer's cov: and ft:),
# corpus size, exec/s, and status ok | CRASH | REGRESSION.  Always exits 0
# so every target runs; fuzz/report.sh turns failures into the exit status.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
BUILD=$1 TARGET=$2 SECONDS_=${3:-60} RUNS=${4:-}
OUTD=${FUZZ_OUT:-$BUILD}
BIN=$BUILD/fuzz/fuzz_$TARGET
CORPUS=$BUILD/corpus/$TARGET
SEEDS=$BUILD/seeds/$TARGET
CRASHES=$OUTD/crashes/$TARGET
LOG=$OUTD/logs/$TARGET.log
RESULT=$OUTD/results/$TARGET.txt
mkdir -p "$CORPUS" "$SEEDS" "$CRASHES" "$OUTD/logs" "$OUTD/results"
if [ "${FUZZ_FRESH:-0}" = 1 ]; then
    CORPUS=$(mktemp -d "${TMPDIR:-/tmp}/oisp-fuzz-$TARGET.XXXXXX") || exit 1
    trap 'rm -rf "$CORPUS"' EXIT
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

status=ok detail=""
regress=tests/data/fuzz-regress/$TARGET
nreg=0
if [ -d "$regress" ] && [ -n "$(ls -A "$regress" 2>/dev/null)" ]; then
    nreg=$(find "$regress" -type f | wc -l)
    if ! "$BIN" -runs=1 -timeout=10 -rss_limit_mb=2048 "$regress"/* >"$OUTD/logs/$TARGET.regress.log" 2>&1; then
        status=REGRESSION detail="replay of $regress failed: see $OUTD/logs/$TARGET.regress.log"
    fi
fi

args=(-max_total_time="$SECONDS_" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
      -artifact_prefix="$CRASHES/" -close_fd_mask=1)
[ -n "$RUNS" ] && args+=(-runs="$RUNS")
start=$(date +%s)
"$BIN" "${args[@]}" "$CORPUS" "$SEEDS" >"$LOG" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))

execs=$(awk '/^stat::number_of_executed_units/ { print $2 }' "$LOG" | tail -n 1)
rate=$(awk '/^stat::average_exec_per_sec/ { print $2 }' "$LOG" | tail -n 1)
last=$(grep -E '^#[0-9]+' "$LOG" | grep -E ' cov: ' | tail -n 1)
cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
if [ -z "$execs" ]; then execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last"); fi
if [ "$rc" != 0 ]; then
    status=CRASH
    art=$(grep -oE "$CRASHES/[a-z-]+-[0-9a-f]+" "$LOG" | tail -n 1)
    why=$(grep -m 1 -E 'ERROR: (Address|Leak)Sanitizer|runtime error|fuzz invariant failed|jsonfast and jansson disagree|ERROR: libFuzzer' "$LOG")
    detail="${why:-exit status $rc} ${art:+(input: $art)} log: $LOG"
fi
echo "$TARGET execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} corpus=${corp:-0} exec_per_s=${rate:-0} seconds=$elapsed regress=$nreg status=$status${detail:+ $detail}" >"$RESULT"
echo "fuzz: $(cat "$RESULT")"
exit 0
