#!/bin/sh
# The whole test suite behind `make test`: C unit tests, the Valkyria
# suites, the LANGUAGE.md examples, the same suites under ASan+UBSan and
# under GC stress, and a short reader fuzz run. Ends with a total line.
set -u
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
pass=0
fail=0
failed_steps=""

step() {
  name=$1; shift
  printf '== %s\n' "$name"
  if "$@"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    failed_steps="$failed_steps $name"
    printf '!! step failed: %s\n' "$name"
  fi
}

step unit make -s -j"$JOBS" test-unit
step valk make -s test-valk
step docs make -s test-docs
step asan make -s -j"$JOBS" test-asan
step gc-stress make -s test-gc-stress
step fuzz-smoke make -s fuzz FUZZ_SECONDS=${FUZZ_SECONDS:-20}

echo
if [ "$fail" -ne 0 ]; then
  echo "failed steps:$failed_steps"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
