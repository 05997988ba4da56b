# Sourced by ci_sanitizers.sh and ci_fuzz.sh: the clang build with AddressSanitizer,
# UndefinedBehaviorSanitizer and libFuzzer's coverage hooks (build-asan/) that both use, and the
# runtime options that make any report fatal.
HPO_JOBS="${HPO_JOBS:-2}"
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"

configure_asan_build() {
  # -O1 and line tables only: far cheaper to compile than RelWithDebInfo, and assertions stay
  # on. The examples are configured (the integration tests name them) but never built here.
  CC=clang CXX=clang++ cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_C_FLAGS="-O1 -g1" -DCMAKE_CXX_FLAGS="-O1 -g1" -DHPO_SANITIZE=address,undefined \
    -DHPO_FUZZ=ON >/dev/null
}
