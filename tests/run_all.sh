#!/usr/bin/env bash
# run_all.sh: every test of oisp-sensor, as `make check` runs it: the unit
# tests (plain, then under AddressSanitizer/UBSan/LeakSanitizer when the
# quality targets exist), every end-to-end suite in tests/e2e (real eBPF:
# root), and short fuzz runs.  Each suite's own summary is kept; the last
# line adds them up as "N passed, N failed".
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
passed=0 failed=0 bad_suites=()
log=$(mktemp -d /tmp/oisp-check.XXXXXX)
trap 'rm -rf "$log"' EXIT

# count SUITE LOGFILE STATUS: adds the suite's numbers (cmocka or "N passed, N failed")
count() {
    local name=$1 file=$2 status=$3 p f
    p=$(grep -hoE '^\[  PASSED  \] [0-9]+' "$file" | awk '{s+=$4} END{print s+0}')
    f=$(grep -hoE '^\[  FAILED  \] [0-9]+ test' "$file" | awk '{s+=$4} END{print s+0}')
    read -r p2 f2 < <(grep -hoE '^[0-9]+ passed, [0-9]+ failed' "$file" | awk '{p+=$1; f+=$3} END{print p+0, f+0}')
    p=$((p + p2)) f=$((f + f2))
    if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # a suite that died counts as a failure
    passed=$((passed + p)) failed=$((failed + f))
    [ "$status" -eq 0 ] || bad_suites+=("$name")
    echo "== $name: $p passed, $f failed"
}

suite() {                                    # suite NAME CMD...
    local name=$1; shift
    echo "== $name"
    "$@" 2>&1 | tee "$log/$name.log"
    count "$name" "$log/$name.log" "${PIPESTATUS[0]}"
}

suite unit make --no-print-directory BUILD="$BUILD" unit
if grep -qs '^asan-unit:' mk/*.mk; then suite unit-sanitized make --no-print-directory asan-unit; fi
for s in tests/e2e/run.sh $(ls tests/e2e/*.sh | grep -v '/run.sh$'); do
    [ -f "$s" ] || continue
    suite "$(basename "$s" .sh)" bash "$s"
done
if grep -qs '^fuzz-ci:' mk/*.mk; then suite fuzz make --no-print-directory fuzz-ci; fi

[ ${#bad_suites[@]} -eq 0 ] || echo "suites with failures: ${bad_suites[*]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ ${#bad_suites[@]} -eq 0 ]
