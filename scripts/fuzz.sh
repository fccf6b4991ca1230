#!/usr/bin/env bash
# fuzz.sh [SECONDS]: builds every libFuzzer target with clang and runs each for
# SECONDS (default 600), keeping the corpus in build-fuzz/tests/fuzz/work/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-600}"
"$root/scripts/install-deps.sh" test
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCONFAB_SANITIZE=ON -DCONFAB_FUZZ=ON \
  -DCONFAB_BUILD_TESTS=OFF -DCONFAB_BUILD_BENCH=OFF -DCONFAB_FUZZ_SECONDS="$seconds" >/dev/null
cmake --build "$build" -j "$(nproc)"
cd "$build"
ctest --output-on-failure -L fuzz
