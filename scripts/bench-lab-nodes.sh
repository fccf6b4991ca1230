#!/usr/bin/env bash
# bench-lab-nodes.sh: the UDP path benchmark with the real binaries in the
# network lab (issue 6). Builds confab and confab-tracker in Release, then
# tests/lab/node_bench.py sends a file (default 128 MiB) from alice (behind a
# cone NAT) to bob (public) over the lab's emulated link, "rate 100mbit delay
# 20ms" on each WAN link, without loss and with 1% loss: the kernel's TCP
# (iperf3), the node's TCP path and its UDP path, interleaved rounds. Prints a
# Markdown table (also written to $BUILD_DIR/bench-lab-nodes.md). Root only;
# needs ../shared/lab (CONFAB_SHARED_DIR).
# Flags go to the benchmark: --size-mib N, --rounds N, --losses 0,1,
# --links both|a, --no-verify, --keep, --dir DIR, --out FILE.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" bench  # iperf3 and the lab's tools
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCONFAB_SHARED_DIR="${CONFAB_SHARED_DIR:-$root/../shared}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target confab confab-tracker
export CONFAB_SHARED="${CONFAB_SHARED_DIR:-$root/../shared}"
exec python3 "$root/tests/lab/node_bench.py" "$build/tracker/confab-tracker" \
  "$build/peer/confab" --out "$build/bench-lab-nodes.md" "$@"
