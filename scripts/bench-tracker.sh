#!/usr/bin/env bash
# bench-tracker.sh: the tracker load benchmark (issue 3, item 8). Builds
# confab-tracker and the load generator in Release, then runs the generator,
# which starts a fresh tracker in a temporary state directory, enrolls N
# members, opens N real sessions from 127.0.0.0/8 and prints the table
# (handshakes/s, RSS per member, lookup p50/p99, fan-out to 1,000
# subscribers) beside the targets, with a loopback baseline from the same run.
# Flags go to the generator: --members N (default: what the fd limit allows,
# at most 50,000), --sources K, --window W, --lookups L, --keep-state.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" build
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=OFF \
  -DCONFAB_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target tracker_load_bench confab-tracker
# The generator raises its own soft fd limit to the hard limit; try the shell's too.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec "$build/tests/bench/tracker_load_bench" --tracker "$build/tracker/confab-tracker" "$@"
