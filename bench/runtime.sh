#!/usr/bin/env bash
# bench/runtime.sh - runtime benchmarks (fibers and processes), called by
# `make bench` after bench/run.sh. Prints figures and ratios against a
# reference measured in the same run; never fails on a number.
set -u
cd "$(dirname "$0")/.."
VALK=build/valk
PY=$(python3 -c 'import sys; print(sys.executable)')
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
best() { # best wall time of 3 runs of a command
  local b="" i t0 t1 d
  for i in 1 2 3; do
    t0=$(now); "$@" >/dev/null 2>&1; t1=$(now); d=$(secs "$t0" "$t1")
    if [ -z "$b" ] || [ "$(echo "$d < $b" | bc -l)" = 1 ]; then b=$d; fi
  done
  echo "$b"
}

echo "== runtime"
cat >"$TMP/true1000.sh" <<'SH'
for i in $(seq 1000); do /bin/true; done
SH
v=$(best "$VALK" bench/exec1000.valk)
b=$(best bash "$TMP/true1000.sh")
printf '1000 x (exec "true"):      valk %.3fs  bash loop %.3fs  ratio %.2f  (goal <= 1.2)\n' "$v" "$b" "$(echo "$v / $b" | bc -l)"

cat >"$TMP/sleep1000.sh" <<'SH'
for i in $(seq 1000); do sleep 0.2 & done; wait
SH
/usr/bin/time -f '%e %M' -o "$TMP/t" "$VALK" bench/spawn1000.valk >/dev/null
read -r vw vm <"$TMP/t"
/usr/bin/time -f '%e %M' -o "$TMP/t" bash "$TMP/sleep1000.sh"
read -r bw bm <"$TMP/t"
printf '1000 concurrent spawns:    valk %.2fs, peak RSS %d KB  bash & + wait %.2fs, peak RSS %d KB  ratio %.2f\n' \
  "$vw" "$vm" "$bw" "$bm" "$(echo "$vw / $bw" | bc -l)"

printf 'idle fibers:               %s  (goal <= 64 KB)\n' "$("$VALK" bench/idle-fibers.valk)"
vs=$("$VALK" bench/switch.valk)
ps=$("$PY" bench/switch.py)
printf 'fiber switch:              valk %s\n                           python asyncio %s\n' "$vs" "$ps"
