#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (-fsanitize=fuzzer,address,undefined)
# in build-asan/ (shared with the ASan unit tests of ci_sanitizers.sh) and runs each for a
# bounded time from its seed corpus, printing its executions per second and total executions.
# Fails when a target finds a crash, a sanitizer report or a broken property; the input that did
# it is kept in build-asan/findings/.
#
#   scripts/ci_fuzz.sh              every target, 30 s each
#   HPO_FUZZ_SECONDS=60 scripts/ci_fuzz.sh spec_fuzz
#   HPO_FUZZ_SEED=1 scripts/ci_fuzz.sh   the same inputs every run (CI: a failure is never luck)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${HPO_FUZZ_SECONDS:-30}"
seed="${HPO_FUZZ_SEED:-0}"  # 0: libFuzzer picks one
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec_fuzz metric_line_fuzz result_file_fuzz enqueue_fuzz)
build=build-asan
source scripts/sanitizer_build.sh
configure_asan_build
budget_build fuzz "$build" "${targets[@]}"
budget_fits fuzz $(( ${#targets[@]} * (seconds + 5) ))

mkdir -p "$build/findings"
status=0
for t in "${targets[@]}"; do
  work="$build/corpus/$t"  # what the run adds; the checked-in seeds stay as they are
  mkdir -p "$work"
  seeds=(tests/fuzz/corpus/"$t")
  extra=()
  if [ "$t" = spec_fuzz ]; then
    seeds+=(tests/data/specs/good tests/data/specs/bad)
    extra+=(-dict=tests/fuzz/spec.dict)
  fi
  log="$build/findings/$t.log"
  if "$build/tests/fuzz/$t" -max_total_time="$seconds" -seed="$seed" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$build/findings/$t-" "${extra[@]}" \
       "$work" "${seeds[@]}" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    status=1
    grep -E "ERROR|property broken|runtime error|deadly signal|Test unit written" "$log" | head -20
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  echo "fuzz $t: ${execs:-?} executions in ${seconds} s, ${rate:-?} exec/s, $result"
done
exit $status
