#!/usr/bin/env bash
# Installs hpo's build dependencies from Debian 12 packages and builds everything (the `hpo`
# binary, the examples and the tests) into ./build with Ninja. Safe to run again: apt-get
# skips what is installed and Ninja rebuilds only what changed.
#
#   scripts/setup.sh            install + build
#   HPO_SKIP_APT=1 scripts/setup.sh   build only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/build_env.sh

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost-dev libboost-program-options-dev libboost-filesystem-dev
  nlohmann-json3-dev libsqlite3-dev sqlite3 libeigen3-dev libtbb-dev catch2
  libssl-dev openssl libyaml-cpp-dev
  python3 python3-sklearn python3-kubernetes
  # tests of hpo export (Optuna round trip, pandas) and of the report and dashboard in a browser
  python3-optuna python3-pandas chromium
  # the hardening stages (scripts/ci_fuzz.sh, scripts/ci_sanitizers.sh): clang, libFuzzer, sanitizer runtimes
  clang libclang-rt-14-dev
)

if [ "${HPO_SKIP_APT:-0}" != 1 ]; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$HPO_JOBS"
echo "setup: built build/hpo"
