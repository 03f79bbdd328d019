#!/bin/sh
# The whole test suite behind `make test`: the layer check, C unit tests, the Valkyria
# suites, the LANGUAGE.md examples, the same again under ASan+UBSan and
# under GC stress, and a short fuzz run of the reader. Each step prints
# its own "N passed, N failed"; the last line adds them all up.
set -u
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
failed_steps=""

run() {
  name=$1; shift
  printf '== %s\n' "$name"
  out=$(mktemp)
  if "$@" >"$out" 2>&1; then rc=0; else rc=$?; fi
  cat "$out"
  cat "$out" >>"$log"
  rm -f "$out"
  if [ "$rc" -ne 0 ]; then
    failed_steps="$failed_steps $name"
    printf '!! step failed: %s (exit %d)\n' "$name" "$rc"
  fi
}

run layers make -s check-layers
run unit make -s -j"$JOBS" test-unit
run valk make -s test-valk
run docs make -s test-docs
run asan make -s -j"$JOBS" test-asan
run gc-stress make -s test-gc-stress
run fuzz-smoke make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
run fuzz-http-smoke make -s fuzz-http FUZZ_SECONDS="${FUZZ_SECONDS:-20}"

passed=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | awk '{s += $1} END {print s + 0}')
failed=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | awk '{s += $3} END {print s + 0}')
echo
if [ -n "$failed_steps" ]; then
  echo "failed steps:$failed_steps"
  [ "$failed" -eq 0 ] && failed=1
fi
echo "$passed passed, $failed failed"
[ -z "$failed_steps" ]
