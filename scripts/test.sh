#!/usr/bin/env bash
# test.sh: installs what is missing, builds confab with clang under
# AddressSanitizer + UndefinedBehaviorSanitizer (and the libFuzzer targets),
# and runs the whole default ctest suite: unit, vectors, integration, short fuzz runs.
#   BUILD_DIR (default build-test), CONFAB_FUZZ_SECONDS (default 15), CTEST_ARGS
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-test}"
"$root/scripts/install-deps.sh" test

cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCONFAB_SANITIZE=ON -DCONFAB_FUZZ=ON -DCONFAB_WERROR=ON -DCONFAB_BUILD_BENCH=OFF \
  -DCONFAB_FUZZ_SECONDS="${CONFAB_FUZZ_SECONDS:-15}" \
  -DCONFAB_SHARED_DIR="${CONFAB_SHARED_DIR:-$root/../shared}" >/dev/null
cmake --build "$build" -j "$(nproc)"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
cd "$build"
# shellcheck disable=SC2086  # CTEST_ARGS is a list of words on purpose
ctest --output-on-failure -j "$(nproc)" ${CTEST_ARGS:-}
