#!/usr/bin/env bash
# bench-messaging.sh: the messaging benchmark (issue 4, item 9). Builds
# confab, confab-tracker and the delivery benchmark in Release, then runs it:
# a real tracker and a real `confab up` (bob) on loopback, with alice a
# peer::Node inside the benchmark. It prints the round trip of a message to
# its durable acknowledgement (p50/p99 over 2,000 sent one at a time), the
# durable messages/s one way (100,000 queued), an idle node's CPU over 60 s,
# and, from the same run, a plain TCP ping-pong and one durable SQLite
# commit as baselines, beside the targets.
# Flags go to the benchmark: --latency N, --throughput N, --idle-seconds S,
# --dir DIR (where the homes and databases live; default $TMPDIR or /tmp:
# the disk measured), --keep.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" build
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=OFF \
  -DCONFAB_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target delivery_bench confab confab-tracker
exec "$build/tests/bench/delivery_bench" --confab "$build/peer/confab" \
  --tracker "$build/tracker/confab-tracker" "$@"
