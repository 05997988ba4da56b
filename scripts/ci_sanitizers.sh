#!/usr/bin/env bash
# Builds unit tests with sanitizers in build dirs of their own and runs them; any report fails
# the test that made it (halt_on_error: no recovery).
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (with LeakSanitizer) on the unit test
#         binaries (build-asan/), not the integration tests, the benchmarks or clang_tidy
#   tsan: ThreadSanitizer on the executors and the run loop (build-tsan/: hpo_executors_tests,
#         hpo_engine_tests)
#
#   scripts/ci_sanitizers.sh            both
#   scripts/ci_sanitizers.sh asan       one of them
#   HPO_ASAN_TESTS="hpo_storage_tests hpo_engine_tests" scripts/ci_sanitizers.sh asan
set -euo pipefail
cd "$(dirname "$0")/.."

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(asan tsan)
jobs="${HPO_JOBS:-2}"

# Builds `targets` in `dir` with `sanitize`, then runs the tests they hold (ctest registers a
# *_NOT_BUILT placeholder for every test binary left unbuilt; those and the tests that need the
# whole build are left out).
run() {
  local dir=$1 sanitize=$2
  shift 2
  # -O1 and line tables only: cheaper to compile than RelWithDebInfo, and assertions stay on.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -g1" \
    -DCMAKE_CXX_FLAGS="-O1 -g1" -DHPO_SANITIZE="$sanitize" -DHPO_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$dir" -j "$jobs" --target "$@"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" -E "_NOT_BUILT|clang_tidy|layering|torture"
}

for mode in "${modes[@]}"; do
  case "$mode" in
    asan)
      export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1:strict_string_checks=1"
      export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
      # shellcheck disable=SC2086
      run build-asan address,undefined ${HPO_ASAN_TESTS:-hpo_model_tests hpo_samplers_tests \
        hpo_storage_tests hpo_executors_tests hpo_engine_tests hpo_report_tests}
      ;;
    tsan)
      export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
      run build-tsan thread hpo_executors_tests hpo_engine_tests
      ;;
    *)
      echo "ci_sanitizers.sh: unknown mode '$mode' (asan or tsan)" >&2
      exit 2
      ;;
  esac
done
