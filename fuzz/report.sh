#!/usr/bin/env bash
# fuzz/report.sh: the table of the last fuzz runs (BUILD/results/*.txt, one
# line per target written by fuzz/run.sh).  Exits 1 if any target crashed,
# failed its regression replay, or has no result.
#   fuzz/report.sh BUILD TARGET...
BUILD=$1; shift
fail=0 total=0
printf '%-18s %12s %8s %8s %8s %10s  %s\n' target execs cov ft corpus exec/s status
for t in "$@"; do
    f=$BUILD/results/$t.txt
    if [ ! -s "$f" ]; then
        printf '%-18s %12s %8s %8s %8s %10s  %s\n' "$t" - - - - - "NO RESULT"; fail=1; continue
    fi
    line=$(cat "$f")
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    st=$(get status)
    printf '%-18s %12s %8s %8s %8s %10s  %s\n' "$t" "$(get execs)" "$(get cov)" "$(get ft)" "$(get corpus)" \
        "$(get exec_per_s)" "$st"
    total=$(( total + $(get execs) ))
    if [ "$st" != ok ]; then
        fail=1
        sed -n 's/.* status=[A-Z]* //p' <<<"$line" | sed 's/^/    /'
    fi
done
echo "fuzz: $total executions in all; $([ $fail = 0 ] && echo 'no crashes' || echo 'FAILURES above')"
exit $fail
