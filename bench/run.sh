#!/usr/bin/env bash
# bench/run.sh - run each bench/NAME.valk with build/valk and bench/NAME.py
# with python3 (same algorithm), best wall time of $RUNS runs each, and print
# the ratio valk/python. Called by `make bench`. Not a timed test: it only
# fails when a program fails or the two outputs differ.
set -u
cd "$(dirname "$0")/.."

VALK=build/valk
RUNS=${RUNS:-3}
BENCHES=(fib loop strbuild mapfilter)

[ -x "$VALK" ] || { echo "bench: $VALK not built (run make build)" >&2; exit 1; }
# python3 is often a pyenv shim that adds ~0.3 s per start: resolve the real
# interpreter once.
PY=$(python3 -c 'import sys; print(sys.executable)') || { echo "bench: python3 not found" >&2; exit 1; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# time a private copy, so a rebuild during the run cannot disturb it
cp "$VALK" "$TMP/valk" || exit 1
VALK_BIN=$TMP/valk

now() { date +%s.%N; }

# best_time CMD... : runs CMD $RUNS times; sets BEST (seconds) and OUT
# (stdout of the last run); returns non-zero if any run failed.
best_time() {
  BEST=""
  local i t0 t1 dt
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now)
    OUT=$("$@" 2>"$TMP/err") || { sed 's/^/    /' "$TMP/err"; return 1; }
    t1=$(now)
    dt=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$BEST" ] || [ "$(echo "$dt < $BEST" | bc -l)" = 1 ]; then BEST=$dt; fi
  done
}

fmt() { printf '%.3f' "$1"; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
# ratio of times with each interpreter's start-up subtracted
net_ratio() {
  local a b
  a=$(echo "$1 - $vs" | bc -l); b=$(echo "$2 - $ps" | bc -l)
  if [ "$(echo "$a > 0 && $b > 0" | bc -l)" = 1 ]; then ratio "$a" "$b"; else echo "-"; fi
}

echo "valk:   $VALK"
echo "python: $PY ($("$PY" -c 'import platform; print(platform.python_version())'))"
echo "best of $RUNS runs, wall-clock seconds (start-up included)"
echo

status=0
printf '%-12s %9s %9s %8s %8s  %s\n' name valk python ratio "net" check
printf '%-12s %9s %9s %8s %8s  %s\n' ------------ --------- --------- -------- -------- -----

: >"$TMP/empty.valk"
: >"$TMP/empty.py"
best_time "$VALK_BIN" "$TMP/empty.valk" || exit 1; vs=$BEST
best_time "$PY" "$TMP/empty.py" || exit 1; ps=$BEST
printf '%-12s %9s %9s %8s %8s  %s\n' "(start-up)" "$(fmt "$vs")" "$(fmt "$ps")" "$(ratio "$vs" "$ps")" "" "empty program"

for b in "${BENCHES[@]}"; do
  if ! best_time "$VALK_BIN" "bench/$b.valk"; then
    printf '%-12s %s\n' "$b" "valk FAILED"; status=1; continue
  fi
  vt=$BEST vout=$OUT
  if ! best_time "$PY" "bench/$b.py"; then
    printf '%-12s %s\n' "$b" "python FAILED"; status=1; continue
  fi
  pt=$BEST pout=$OUT
  if [ "$vout" = "$pout" ]; then check="ok ($vout)"
  else check="MISMATCH: valk '$vout' python '$pout'"; status=1; fi
  printf '%-12s %9s %9s %8s %8s  %s\n' "$b" "$(fmt "$vt")" "$(fmt "$pt")" "$(ratio "$vt" "$pt")" "$(net_ratio "$vt" "$pt")" "$check"
done
echo
echo "ratio = valk/python wall time; net = the same with each empty-program start-up subtracted"
echo "goal: fib(30) ratio <= 1.5"
exit $status
