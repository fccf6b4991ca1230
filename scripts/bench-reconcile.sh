#!/usr/bin/env bash
# bench-reconcile.sh: the idle reconcile benchmark (issue 12). Builds
# tests/bench/reconcile_bench.cc in Release and prints, for 10 to 10,000
# shared conversations, the messages and bytes of one reconcile round when
# nothing, one or ten conversations changed. Flags go to the benchmark:
# --max N.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" build
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=OFF \
  -DCONFAB_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target reconcile_bench
exec "$build/tests/bench/reconcile_bench" "$@"
