#!/usr/bin/env bash
# bench/ci.sh - benchmarks of the CI engine (lib/ci.valk, lib/ci/), called by
# `make bench`. Each figure is printed beside a reference measured in the
# same invocation and the goal. Not a timed test: it fails only when a
# program fails, never on a number. Every store (ci/*root*) goes to a
# temporary directory that is deleted at the end.
#
#   1. trigger -> first process start, median and p90 (bench/ci-latency.valk)
#   2. runs/s of one-step runs triggered back to back (bench/ci-throughput.valk)
#   3. `valk ci run` of 10 (exec "true") steps vs bash running /bin/true 10 times
#   4. RSS after 100 and 1,000 short runs in one process (bench/ci-memory.valk)
#   5. 200 concurrent runs of 3 x (exec "sleep" "0.5") (bench/ci-concurrent.valk)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD

VALK=${VALK:-build/valk}  # another build to compare: VALK=path bench/ci.sh
RUNS=${RUNS:-5}            # best of RUNS for 3.
LAT_N=${LAT_N:-200}        # runs for 1.
NOOP_N=${NOOP_N:-1000}     # runs for 2., empty step
TRUE_N=${TRUE_N:-300}      # runs for 2., (exec "true") step
MEM_N=${MEM_N:-1000}       # runs for 4.
CONC_N=${CONC_N:-200}      # concurrent runs for 5.

[ -x "$VALK" ] || { echo "bench: $VALK not built (run make build)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# time a private copy, so a rebuild during the run cannot disturb it
cp "$VALK" "$TMP/valk" || exit 1
V=$TMP/valk

now() { date +%s.%N; }
# awk does the arithmetic: valk prints small floats as 1e-05, which bc rejects
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
ms() { calc '%.2f' "($1) * 1000"; }
ratio() { calc '%.2f' "($1) / ($2)"; }

status=0
fail() { # fail WHAT: report a failed program, its stderr, and remember it
  echo "  FAILED: $1"
  sed 's/^/    /' "$TMP/err"
  status=1
}

# helper NAME ARGS...: runs bench/NAME.valk ARGS... and loads its KEY=VALUE
# lines into K; returns non-zero when the program fails
declare -A K
helper() {
  local name=$1 line
  shift
  K=()
  "$V" "bench/$name.valk" "$@" >"$TMP/out" 2>"$TMP/err" || return 1
  while IFS= read -r line; do
    case "$line" in *=*) K[${line%%=*}]=${line#*=} ;; esac
  done <"$TMP/out"
}

# best CMD...: best wall time (s) of $RUNS runs of CMD in BEST; non-zero if a run failed
best() {
  BEST=""
  local i t0 t1 d
  for ((i = 0; i < RUNS; i++)); do
    t0=$(now)
    "$@" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/out" >>"$TMP/err"; return 1; }
    t1=$(now)
    d=$(calc '%.6f' "$t1 - $t0")
    if [ -z "$BEST" ] || [ "$(calc '%d' "$d < $BEST")" = 1 ]; then BEST=$d; fi
  done
}

echo "== ci engine (lib/ci.valk, lib/ci/)"

# ---- 1. trigger -> first process start
if helper ci-latency "$TMP/store-latency" "$LAT_N"; then
  printf 'trigger -> first process (%d runs):  median %s ms, p90 %s ms | plain (exec "date") in the same process: median %s ms, p90 %s ms | ratio %s, engine adds %s ms  (goal: median < 5 ms)\n' \
    "${K[runs]}" "$(ms "${K[engine_median]}")" "$(ms "${K[engine_p90]}")" \
    "$(ms "${K[ref_median]}")" "$(ms "${K[ref_p90]}")" \
    "$(ratio "${K[engine_median]}" "${K[ref_median]}")" "$(ms "${K[engine_median]} - ${K[ref_median]}")"
  printf '    a whole plain (exec "true"): median %s ms; medians after the trigger: trigger-pipeline returns %s ms, run starts %s ms, first step starts %s ms, its process starts %s ms, run done %s ms\n' \
    "$(ms "${K[ref_true_median]}")" "$(ms "${K[trigger_return_median]}")" "$(ms "${K[run_started_median]}")" "$(ms "${K[step_started_median]}")" \
    "$(ms "${K[engine_median]}")" "$(ms "${K[run_done_median]}")"
else
  fail "bench/ci-latency.valk"
fi

# ---- 2. throughput of one-step runs triggered back to back
if helper ci-throughput "$TMP/store-throughput" "$NOOP_N" "$TRUE_N"; then
  printf 'runs back to back (trigger + await):  empty step %s runs/s (%d runs); (exec "true") step %s runs/s (%d runs) | plain (exec "true") %s/s, ratio %s  (goal >= 200 runs/s)\n' \
    "$(calc '%.0f' "${K[noop_rps]}")" "$NOOP_N" "$(calc '%.0f' "${K[true_rps]}")" "$TRUE_N" \
    "$(calc '%.0f' "${K[plain_true_ps]}")" "$(ratio "${K[true_rps]}" "${K[plain_true_ps]}")"
  printf '    store: SQLite journal_mode=%s, group commit every %s ms with an fsync of the WAL (durable within that window plus one fsync)\n' \
    "${K[journal_mode]}" "${K[commit_delay_ms]}"
  printf '    every run on disk (ci/flush, one fsync) before the next is triggered: empty step %s runs/s, ratio %s\n' \
    "$(calc '%.0f' "${K[noop_flushed_rps]}")" "$(ratio "${K[noop_flushed_rps]}" "${K[noop_rps]}")"
else
  fail "bench/ci-throughput.valk"
fi

# ---- 3. valk ci run of a 10-step pipeline vs bash
printf '/bin/true\n%.0s' {1..10} >"$TMP/ten.sh"
mkdir -p "$TMP/ci-run-cwd"   # `valk ci run` keeps its store in ./.valk
: >"$TMP/empty.valk"
cd "$TMP/ci-run-cwd" && best "$V" ci run "$ROOT/bench/ci-ten.valk"
ok=$?
cd "$ROOT"
if [ "$ok" = 0 ]; then
  ci=$BEST
  if best bash "$TMP/ten.sh"; then
    sh=$BEST
    printf '10-step pipeline of (exec "true"):    valk ci run %s s | bash running /bin/true 10 times %s s | ratio %s  (goal < 1.5, best of %d, start-up included)\n' \
      "$(calc '%.3f' "$ci")" "$(calc '%.3f' "$sh")" "$(ratio "$ci" "$sh")" "$RUNS"
    if best "$V" bench/ci-ten-direct.valk "$TMP/store-direct" bench/ci-ten.valk; then
      direct=$BEST
      if best "$V" "$TMP/empty.valk"; then
        printf '    same pipeline with (run-pipeline ...) in a script %s s (ratio %s); valk start-up (empty program) %s s\n' \
          "$(calc '%.3f' "$direct")" "$(ratio "$direct" "$sh")" "$(calc '%.3f' "$BEST")"
      else
        fail "valk (empty program)"
      fi
    else
      fail "bench/ci-ten-direct.valk"
    fi
  else
    fail "bash $TMP/ten.sh"
  fi
else
  fail "valk ci run bench/ci-ten.valk"
fi

# ---- 4. memory of 1,000 short runs in one process
if helper ci-memory "$TMP/store-memory" "$MEM_N"; then
  printf '%d short runs in one process:        VmRSS %.1f MB after 100, %.1f MB after %d, growth %.1f MB (%.1f KB per run) | at start %.1f MB  (goal: growth < 10 MB, no crash)\n' \
    "$MEM_N" "$(calc '%f' "${K[rss_100_kb]} / 1024")" "$(calc '%f' "${K[rss_n_kb]} / 1024")" "$MEM_N" \
    "$(calc '%f' "(${K[rss_n_kb]} - ${K[rss_100_kb]}) / 1024")" \
    "$(calc '%f' "(${K[rss_n_kb]} - ${K[rss_100_kb]}) / ($MEM_N - 100)")" "$(calc '%f' "${K[rss_start_kb]} / 1024")"
  printf '    open fds %s after 100, %s after %d; runs kept in ci/*runs*: %s\n' "${K[fds_100]}" "${K[fds_n]}" "$MEM_N" "${K[runs_in_memory]}"
else
  fail "bench/ci-memory.valk"
fi

# ---- 5. concurrent runs
printf 'for i in $(seq %d); do (sleep 0.5; sleep 0.5; sleep 0.5) & done; wait\n' "$CONC_N" >"$TMP/conc.sh"
if helper ci-concurrent "$TMP/store-concurrent" "$CONC_N"; then
  t0=$(now); bash "$TMP/conc.sh"; t1=$(now)
  sh=$(calc '%f' "$t1 - $t0")
  printf '%d concurrent runs, 3 x (exec "sleep" "0.5"): wall %s s | bash %d x (sleep 0.5; sleep 0.5; sleep 0.5) & + wait %s s | ratio %s  (goal: close to 1.5 s)\n' \
    "$CONC_N" "$(calc '%.2f' "${K[wall]}")" "$CONC_N" "$(calc '%.2f' "$sh")" "$(ratio "${K[wall]}" "$sh")"
  printf '    %d fibers running the same 3 plain (exec "sleep" "0.5"): %s s; engine: all triggered after %s s, last first step started at %s s, runs ended between %s and %s s\n' \
    "$CONC_N" "$(calc '%.2f' "${K[ref_fibers]}")" "$(calc '%.2f' "${K[triggered]}")" \
    "$(calc '%.2f' "${K[last_first_step_start]}")" "$(calc '%.2f' "${K[first_run_end]}")" "$(calc '%.2f' "${K[last_run_end]}")"
else
  fail "bench/ci-concurrent.valk"
fi

exit $status
