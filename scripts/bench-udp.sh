#!/usr/bin/env bash
# bench-udp.sh: the UDP transport over loopback (issue 17), in Release.
#   1. One session memory to memory: two udp_transfer processes
#      (tests/tools/udp_transfer.cc) on 127.0.0.1, BENCH_UDP_BYTES (default
#      256 MiB) on the file stream, BENCH_UDP_RUNS runs (default 3). Prints
#      MB/s, and for each side CPU seconds and system calls per MB, counted
#      by `perf stat -e raw_syscalls:sys_enter` (a counter, not a tracer, so
#      it does not slow the run the way strace -c does).
#   2. tests/bench/udp_idle_bench.cc: 1,000 idle sessions beside none, and
#      one active session beside them or alone. Flags go to it
#      (--sessions N --idle-seconds S --round-trips K --bytes B).
# BENCH_UDP_ONLY=transfer|idle runs one part; BENCH_UDP_CC=cubic sends with
# CUBIC instead of BBR.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
bytes="${BENCH_UDP_BYTES:-268435456}"
runs="${BENCH_UDP_RUNS:-3}"
only="${BENCH_UDP_ONLY:-}"
cc="${BENCH_UDP_CC:-bbr}"
"$root/scripts/install-deps.sh" build
# udp_transfer is a test tool, so the tests' CMake is needed too.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=ON \
  -DCONFAB_SANITIZE=OFF -DCONFAB_FUZZ=OFF -DCONFAB_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target udp_transfer udp_idle_bench
tool="$build/tests/tools/udp_transfer"

perf_ok=0
if perf stat -e raw_syscalls:sys_enter -x, true >/dev/null 2>&1; then perf_ok=1; fi
# counted FILE CMD...: CMD under perf's counters (written to FILE) when perf
# works here, else CMD alone.
counted() {
  local file="$1"
  shift
  if [[ $perf_ok == 1 ]]; then
    perf stat -x, -e task-clock,raw_syscalls:sys_enter -o "$file" "$@"
  else
    "$@"
  fi
}

transfer() {
  local dir port_a port_b
  dir="$(mktemp -d)"
  port_a=$((20000 + RANDOM % 20000))
  port_b=$((port_a + 1))
  local receiver
  echo "run MB/s sender_cpu_s receiver_cpu_s sender_syscalls/MB receiver_syscalls/MB"
  for run in $(seq 1 "$runs"); do
    counted "$dir/perf.b" "$tool" --bind "127.0.0.1:$port_b" --key b --peer-key a \
      --expect "$bytes" --timeout 120 >"$dir/out.b" &
    receiver=$!
    sleep 0.3
    counted "$dir/perf.a" "$tool" --bind "127.0.0.1:$port_a" --key a --peer-key b \
      --peer "127.0.0.1:$port_b" --send "$bytes" --cc "$cc" --timeout 120 >"$dir/out.a" || true
    wait "$receiver" || true
    python3 - "$dir" "$bytes" "$run" "$perf_ok" <<'EOF'
import json, sys
d, n, run, perf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1"
a = json.loads(open(f"{d}/out.a").read().strip().splitlines()[-1])
if not a.get("ok"):
    print(f"{run} failed: {a}")
    sys.exit(0)
mb = n / 1e6
def side(s):
    if not perf:
        return "-", "-"
    vals = {}
    for line in open(f"{d}/perf.{s}"):
        parts = line.strip().split(",")
        if len(parts) > 2 and parts[0] and parts[0][0].isdigit():
            vals[parts[2]] = float(parts[0])
    cpu = vals.get("task-clock", 0) / 1e3  # msec -> s
    calls = vals.get("raw_syscalls:sys_enter", 0)
    return f"{cpu:.2f}", f"{calls / mb:,.0f}"
ca, sa = side("a")
cb, sb = side("b")
print(f"{run} {n / a['seconds'] / 1e6:.1f} {ca} {cb} {sa} {sb}")
EOF
    port_a=$((port_a + 2))
    port_b=$((port_b + 2))
  done
  rm -rf "$dir"
}

if [[ -z $only || $only == transfer ]]; then
  echo "== one UDP session over loopback, $((bytes >> 20)) MiB memory to memory, $cc (udp_transfer)"
  transfer | column -t
fi
if [[ -z $only || $only == idle ]]; then
  echo "== idle sessions (udp_idle_bench)"
  "$build/tests/bench/udp_idle_bench" "$@"
fi
