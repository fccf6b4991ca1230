#!/usr/bin/env bash
# bench-crypto.sh: Noise handshakes/s and CipherState throughput beside raw
# libsodium, measured in the same run (Release build).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" build
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=OFF \
  -DCONFAB_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target crypto_bench
"$build/tests/bench/crypto_bench" "$@"
