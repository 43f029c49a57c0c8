#!/usr/bin/env bash
# Runs the libFuzzer targets built by mk/fuzz.mk, one at a time.
#   run.sh smoke 0 TARGET...      each on its corpus and regression inputs
#                                 (every one replayed) plus a few thousand
#                                 mutations; fails on any finding
#   run.sh long SECONDS TARGET... each for SECONDS (or FUZZ_RUNS executions
#                                 when set), keeping what it learns in
#                                 build/fuzz/work/<target>
# Crashing inputs land in build/fuzz/artifacts/<target>/; copy one to
# tests/fuzz/regressions/<target>/ once its bug is fixed. Each run's
# libFuzzer log is build/fuzz/logs/<target>.log; the last lines are printed.
# Extra libFuzzer flags: FUZZ_FLAGS="-max_len=512".
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=$1 secs=$2
shift 2
smoke_runs=${FUZZ_SMOKE_RUNS:-20000}
smoke_secs=${FUZZ_SMOKE_SECONDS:-15}
fail=0
for t in "$@"; do
  bin=build/fuzz/fuzz_$t
  dirs=()
  for d in tests/fuzz/corpus/$t tests/fuzz/regressions/$t; do
    [ -d "$d" ] && dirs+=("$d")
  done
  flags=(-rss_limit_mb=2048 -timeout=10 -print_final_stats=1 -artifact_prefix=build/fuzz/artifacts/$t/)
  [ -f tests/fuzz/dict/$t.dict ] && flags+=(-dict=tests/fuzz/dict/$t.dict)
  mkdir -p build/fuzz/artifacts/$t build/fuzz/logs
  log=build/fuzz/logs/$t.log
  if [ "$mode" = smoke ]; then
    work=$(mktemp -d)
    # the inputs themselves first, each on its own (any failure names it)
    mapfile -t inputs < <(find "${dirs[@]}" -type f ! -name '.*' | sort)
    [ ${#inputs[@]} -gt 0 ] || { echo "fuzz $t: no corpus in tests/fuzz/corpus/$t" >&2; exit 1; }
    set +e
    "$bin" "${flags[@]}" -runs=1 "${inputs[@]}" >"$log" 2>&1
    rc=$?
    [ $rc = 0 ] && "$bin" "${flags[@]}" -runs="$smoke_runs" -max_total_time="$smoke_secs" \
      ${FUZZ_FLAGS:-} "$work" "${dirs[@]}" >>"$log" 2>&1
    rc=$?
    set -e
    rm -rf "$work"
  else
    work=build/fuzz/work/$t
    mkdir -p "$work"
    run=(-max_total_time="$secs")
    [ -n "${FUZZ_RUNS:-}" ] && run=(-runs="$FUZZ_RUNS")
    set +e
    "$bin" "${flags[@]}" "${run[@]}" ${FUZZ_FLAGS:-} "$work" "${dirs[@]}" >"$log" 2>&1
    rc=$?
    set -e
  fi
  done_line=$(grep -E '^#[0-9]+\s+DONE' "$log" | tail -1 | tr -s '\t ' ' ' || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}' || true)
  eps=$(grep -E '^stat::average_exec_per_sec' "$log" | tail -1 | awk '{print $2}' || true)
  if [ $rc = 0 ]; then
    echo "fuzz $t: ok ($mode, ${execs:-?} execs, ${eps:-?}/s) ${done_line}"
  else
    echo "fuzz $t: FAILED (exit $rc) - see $log" >&2
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written|==[0-9]+==' "$log" | head -20 >&2 || true
    fail=1
  fi
done
exit $fail
