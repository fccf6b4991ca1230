#!/usr/bin/env bash
# udp_bench.sh UDP_TRANSFER: file throughput over confab's UDP transport beside
# TCP over the same emulated link (issue 6, item 6): peer-a behind a cone NAT,
# peer-b with a public address, and on peer-a's uplink "rate 100mbit delay
# 20ms" (each direction, so 40 ms RTT) with 0% and 1% loss. TCP is the lab's
# throughput.py (the kernel's TCP with its default congestion control: BBR on
# the development VM, see /proc/sys/net/ipv4/tcp_congestion_control) for
# BENCH_TCP_SECONDS;
# UDP moves BENCH_UDP_BYTES (64 MiB by default). Build
# udp_transfer in Release for meaningful figures. Root only; exit 77 if the
# lab cannot be built here. Prints a table and the UDP/TCP ratio per row.
set -uo pipefail
tool="$(readlink -f "${1:-build/tests/tools/udp_transfer}")"
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
shared="$(readlink -f "${CONFAB_SHARED:-${CONFAB_SHARED_DIR:-$here/../../../shared}}")"
L="$shared/lab/netlab"
T="$shared/lab/tools"
PY="${NETLAB_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}"
[[ -x "$tool" ]] || { echo "udp_bench: no udp_transfer at $tool"; exit 1; }
[[ $EUID -eq 0 && -x "$L" ]] || { echo "SKIP: udp_bench needs root and $L"; exit 77; }
export NETLAB_PREFIX="${NETLAB_PREFIX:-cfbbench}" NETLAB_QUIET=1
LOG="$(mktemp -d /tmp/udp-bench.XXXXXX)"
trap '"$L" down >/dev/null 2>&1; rm -rf "$LOG"' EXIT
jget() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

printf "%-8s %12s %12s %8s\n" loss "TCP Mbit/s" "UDP Mbit/s" "UDP/TCP"
for loss in 0 1; do
  spec="rate 100mbit delay 20ms"
  [[ $loss != 0 ]] && spec="$spec loss ${loss}%"
  "$L" up --nat-a cone --nat-b none --wan-a "$spec" >"$LOG/up" 2>&1 || { cat "$LOG/up"; exit 1; }
  eval "$("$L" env)"
  ( "$L" exec peer-b "$PY" "$T/throughput.py" server --port 5201 >/dev/null 2>&1 & )
  sleep 0.5
  tcp_json="$("$L" exec peer-a "$PY" "$T/throughput.py" client "$NETLAB_PEER_B_IP" --port 5201 \
    --seconds "${BENCH_TCP_SECONDS:-20}" --json 2>/dev/null | tail -n1)"
  tcp="$(jget "$tcp_json" mbit_s)"
  bytes="${BENCH_UDP_BYTES:-67108864}"
  "$L" exec peer-b "$tool" --bind 0.0.0.0:7651 --key b --peer-key a --expect "$bytes" \
    --timeout 600 >"$LOG/b" 2>&1 &
  pb=$!
  sleep 0.3
  udp_json="$("$L" exec peer-a "$tool" --bind 0.0.0.0:7651 --key a --peer-key b \
    --peer "$NETLAB_PEER_B_IP:7651" --send "$bytes" --timeout 600 2>/dev/null | tail -n1)"
  wait $pb
  udp="$(jget "$udp_json" mbit_s)"
  echo "  tcp: $tcp_json" >&2
  echo "  udp: $udp_json" >&2
  printf "%-8s %12.1f %12.1f %8.2f\n" "${loss}%" "${tcp:-0}" "${udp:-0}" \
    "$("$PY" -c "import sys; t=float(sys.argv[1] or 0); u=float(sys.argv[2] or 0); print(u/t if t else 0)" "$tcp" "$udp")"
done
