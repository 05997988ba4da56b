# Sourced by ci_sanitizers.sh and ci_fuzz.sh: the clang build with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage hooks (build-asan/) that both use, the
# runtime options that make any report fatal, and the CI time budget.
source scripts/build_env.sh
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

configure_asan_build() {
  # -O1 and line tables only: far cheaper to compile than RelWithDebInfo, and assertions stay
  # on. The examples are configured (the integration tests name them) but never built here.
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS="-O1 -g1" -DCMAKE_CXX_FLAGS="-O1 -g1" -DHPO_SANITIZE=address,undefined \
    -DHPO_FUZZ=ON >/dev/null
}

# The CI time budget. .ci/run sets HPO_CI_DEADLINE (seconds since the epoch) so that the
# hardening stages after the test suite cannot push CI past its limit: a stage whose build or
# run no longer fits is skipped with a line that says so, never cut off half way, and the
# calling script exits 0 there. Without HPO_CI_DEADLINE (by hand) nothing is skipped.
budget_left() {
  echo $(( ${HPO_CI_DEADLINE:-0} - $(date +%s) ))
}

budget_skip() {  # STAGE WHY
  echo "hardening: $1 SKIPPED: $2, to stay within CI's time limit (by hand: scripts/${0##*/})"
  exit 0
}

# budget_fits STAGE SECONDS: goes on when SECONDS more fit before the deadline.
budget_fits() {
  [ -z "${HPO_CI_DEADLINE:-}" ] && return 0
  local left
  left=$(budget_left)
  [ "$left" -ge "$2" ] || budget_skip "$1" "it needs about $2 s and $left s are left"
}

# budget_build STAGE DIR TARGET...: builds within what is left of the budget (ninja, which stops
# its compilers when timeout stops it). A build that does not finish in time, as on a cold
# compiler cache, skips the stage; a compile error fails the calling script as usual.
budget_build() {
  local stage=$1 dir=$2
  shift 2
  if [ -z "${HPO_CI_DEADLINE:-}" ]; then
    ninja -C "$dir" -j "$HPO_JOBS" "$@"
    return
  fi
  local left status=0
  left=$(budget_left)
  [ "$left" -gt 0 ] || budget_skip "$stage" "no time is left for its build"
  timeout "$left" ninja -C "$dir" -j "$HPO_JOBS" "$@" || status=$?
  [ "$status" != 124 ] || budget_skip "$stage" "its build did not finish in the $left s left"
  return "$status"
}
