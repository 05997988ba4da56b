#!/usr/bin/env bash
# Builds unit tests with sanitizers in build dirs of their own and runs them; any report fails
# the test that made it (halt_on_error: no recovery).
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (and LeakSanitizer) on the unit test
#         binaries, not the integration tests, the benchmarks or clang_tidy. Built with clang in
#         build-asan/, the build scripts/ci_fuzz.sh uses too (its libraries carry the fuzzers'
#         coverage hooks, which cost the tests little and save compiling everything twice).
#   tsan: ThreadSanitizer on the executors and the run loop (build-tsan/, GCC:
#         hpo_executors_tests, hpo_engine_tests).
#
#   scripts/ci_sanitizers.sh            both
#   scripts/ci_sanitizers.sh asan       one of them
#   HPO_ASAN_TESTS="hpo_storage_tests hpo_engine_tests" scripts/ci_sanitizers.sh asan
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/sanitizer_build.sh

modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(asan tsan)

# run_tests STAGE DIR SECONDS TARGET...: builds the test binaries TARGET... in DIR, then runs the
# tests they hold when the SECONDS they take (measured on 2 cores, with margin) still fit the CI
# budget (see sanitizer_build.sh). ctest registers a *_NOT_BUILT placeholder for every test
# binary left unbuilt; those and the tests that need the whole build are left out.
run_tests() {
  local stage=$1 dir=$2 seconds=$3
  shift 3
  budget_build "$stage" "$dir" "$@"
  budget_fits "$stage" "$seconds"
  ctest --test-dir "$dir" --output-on-failure -j "$HPO_JOBS" \
    -E "_NOT_BUILT|clang_tidy|layering|doc_commands|torture|installed package"
}

for mode in "${modes[@]}"; do
  case "$mode" in
    asan)
      configure_asan_build
      # shellcheck disable=SC2086
      run_tests asan build-asan 240 ${HPO_ASAN_TESTS:-hpo_model_tests hpo_samplers_tests \
        hpo_storage_tests hpo_executors_tests hpo_engine_tests hpo_report_tests}
      ;;
    tsan)
      export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
      cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="-O1 -g1" \
        -DCMAKE_CXX_FLAGS="-O1 -g1" -DHPO_SANITIZE=thread >/dev/null
      run_tests tsan build-tsan 300 hpo_executors_tests hpo_engine_tests
      ;;
    *)
      echo "ci_sanitizers.sh: unknown mode '$mode' (asan or tsan)" >&2
      exit 2
      ;;
  esac
done
