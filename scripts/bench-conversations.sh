#!/usr/bin/env bash
# bench-conversations.sh: issue 12's in-process benchmarks of chat protocol 2
# (tests/bench/conversation_bench.cc), built in Release: durable messages/s
# of signed entries (compose and receive) beside raw SQLite, a 10,000-entry
# catch-up of a node that was offline, and fan-out of one message to a group
# of 32 nodes beside 31 x one commit. Flags go to the benchmark:
# --seconds S (per throughput cell), --fanout-runs N, --dir DIR (the disk
# measured; default $TMPDIR or /tmp).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" build
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=OFF \
  -DCONFAB_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target conversation_bench
exec "$build/tests/bench/conversation_bench" "$@"
