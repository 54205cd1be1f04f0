#!/usr/bin/env bash
# exec_bench.sh: what host-activity tracking costs an unrelated process that
# forks and execs a lot (issue 3's target: <= 5% slower with the default
# scope), and whether --all-processes records every exec or counts what it
# sheds.  A C loop does N fork+exec of /bin/true; it is timed without the
# sensor, with `record` (default scope) and with `record --all-processes`,
# alternating, REPS times; medians are printed.
# usage: bench/exec_bench.sh [N] [REPS]     (root; SENSOR=build/oisp-sensor)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000} REPS=${2:-3}
SENSOR=${SENSOR:-build/oisp-sensor}
OUT=build/bench; mkdir -p $OUT
TMP=$(mktemp -d /tmp/oisp-execbench.XXXXXX)
trap '[ -z "$SP" ] || kill $SP 2>/dev/null; rm -rf $TMP' EXIT
SP=
cat > $TMP/forkexec.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < n; i++) {
        pid_t p = fork();
        if (p == 0) { execl("/bin/true", "true", (char *)0); _exit(127); }
        int st; waitpid(p, &st, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
    return 0;
}
C
gcc -O2 -o $OUT/forkexec $TMP/forkexec.c
start() { env --default-signal=INT "$SENSOR" record -q -o $TMP/ev.jsonl "$@" 2>$TMP/sensor.err & SP=$!
          until grep -q ready $TMP/sensor.err 2>/dev/null; do sleep 0.1; done; }
stop() { kill -INT $SP; wait $SP || true; SP=; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
# process.exec events of /bin/true (by the executable, so an event whose
# arguments could not be read still counts), and how many lack ["true"].
count_execs() {
    python3 - "$1" <<'PY'
import json, sys
n = noargs = 0
for line in open(sys.argv[1]):
    if '"process.exec"' not in line:
        continue
    d = json.loads(line).get("data", {})
    if str(d.get("exe", "")).rsplit("/", 1)[-1] == "true":  # /bin/true or /usr/bin/true
        n += 1
        noargs += d.get("args") != ["true"]
print(f"{n}" + (f" ({noargs} without their arguments)" if noargs else ""))
PY
}
base=() dflt=() all=() recorded=() shed=()
for r in $(seq $REPS); do
    base+=("$($OUT/forkexec $N)")
    rm -f $TMP/ev.jsonl; start; dflt+=("$($OUT/forkexec $N)"); stop
    rm -f $TMP/ev.jsonl; start --all-processes; all+=("$($OUT/forkexec $N)"); stop
    recorded+=("$(count_execs $TMP/ev.jsonl)")
    shed+=("$(grep -o 'shed=[0-9]*' $TMP/sensor.err | cut -d= -f2)")
done
b=$(printf '%s\n' "${base[@]}" | median); d=$(printf '%s\n' "${dflt[@]}" | median)
a=$(printf '%s\n' "${all[@]}" | median)
echo "fork+exec of /bin/true, $N per run, $REPS runs, median us per iteration:"
printf '  without sensor            %8.1f us\n' "$b"
printf '  sensor, default scope     %8.1f us  (%+.1f%%)\n' "$d" "$(echo "($d-$b)*100/$b" | bc -l)"
printf '  sensor, --all-processes   %8.1f us  (%+.1f%%)\n' "$a" "$(echo "($a-$b)*100/$b" | bc -l)"
for i in $(seq 0 $((REPS - 1))); do
    echo "  --all-processes run $((i + 1)): ${recorded[$i]} of $N execs recorded, ${shed[$i]:-0} host records shed"
done
