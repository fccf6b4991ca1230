#!/usr/bin/env bash
# udp_lab_test.sh UDP_TRANSFER: confab's UDP path through real NATs in the
# network lab (../shared/lab/netlab: namespaces, NAT, link emulator).
#
#   1. cone/cone:           the lab's holepunch.py smoke test, then
#                           udp_transfer punches through both NATs and moves
#                           UDP_LAB_BYTES (default 64 MiB) with integrity
#   2. cone/cone, 50 ms and 2% loss on each WAN link (200 ms RTT, ~4% loss
#                           on the path): a chat line and UDP_LAB_DEGRADED_BYTES
#                           (default 64 MiB; BBR moves it in ~15 s here)
#   3. symmetric/symmetric: both ends report "no direct path" (exit 2)
#   4. cone-a / no NAT at b: works
#   5. cone/cone with 3 s NAT mapping timeouts and 8 s of silence before the
#      file: 1 s keepalives hold the mappings open; a control run with 60 s
#      keepalives fails, so the test does show the keepalives at work
#
# Prints one PASS/FAIL line per check and exits 0 when all pass, 1 when one
# fails, and 77 (ctest's SKIP_RETURN_CODE) with a reason when this host cannot
# build the lab: not root, no namespaces, no nft/iptables
# (scripts/install-deps.sh lab). CI on our machines runs it as root.
set -uo pipefail
tool="$(readlink -f "${1:-build/tests/tools/udp_transfer}")"
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
shared="$(readlink -f "${CONFAB_SHARED:-${CONFAB_SHARED_DIR:-$here/../../../shared}}")"
L="$shared/lab/netlab"
T="$shared/lab/tools"
PY="${NETLAB_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}"
BYTES="${UDP_LAB_BYTES:-67108864}"
DEGRADED_BYTES="${UDP_LAB_DEGRADED_BYTES:-67108864}"
PORT=7651

skip() {
  echo "SKIP: udp_lab_test: $*"
  exit 77
}
[[ -x "$tool" ]] || { echo "udp_lab_test: no udp_transfer at $tool (build it first)"; exit 1; }
[[ -x "$L" ]] || skip "no network lab at $L (set CONFAB_SHARED_DIR)"
[[ $EUID -eq 0 ]] || skip "needs root to create network namespaces (CI runs it as root)"
command -v nft >/dev/null || command -v iptables >/dev/null ||
  skip "neither nft nor iptables is installed (scripts/install-deps.sh lab)"
probe="cfbprobe$$"
if ! ip netns add "$probe" 2>/dev/null; then
  skip "this host cannot create network namespaces (a container without NET_ADMIN/SYS_ADMIN?)"
fi
ip netns del "$probe"

export NETLAB_PREFIX="${NETLAB_PREFIX:-cfbudp}" NETLAB_QUIET=1
LOG="$(mktemp -d /tmp/udp-lab.XXXXXX)"
trap '"$L" down >/dev/null 2>&1; rm -rf "$LOG"' EXIT
PASS=0
FAIL=0
ok() { echo "PASS: $*"; PASS=$((PASS + 1)); }
bad() { echo "FAIL: $*"; FAIL=$((FAIL + 1)); }
jget() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

up() {
  if ! "$L" up "$@" >"$LOG/up.log" 2>&1; then
    cat "$LOG/up.log"
    bad "netlab up $*"
    return 1
  fi
  eval "$("$L" env)"
}

# transfer BYTES TIMEOUT HANDSHAKE_TIMEOUT [KEEPALIVE IDLE]: peer-a sends
# BYTES to peer-b (after IDLE seconds of silence); each initiates to the
# other's public (NAT) and LAN address at once. Sets RA RB (exit codes) and
# JA JB (JSON results).
transfer() {
  local bytes="$1" timeout="$2" hs="$3" keepalive="${4:-15}" idle="${5:-0}" pa pb
  "$L" exec peer-b "$tool" --bind "0.0.0.0:$PORT" --key b --peer-key a \
    --peer "$NETLAB_NAT_A_IP:$PORT" --peer "$NETLAB_PEER_A_IP:$PORT" \
    --expect "$bytes" --timeout "$timeout" --handshake-timeout "$hs" \
    --keepalive "$keepalive" >"$LOG/b" 2>&1 &
  pb=$!
  "$L" exec peer-a "$tool" --bind "0.0.0.0:$PORT" --key a --peer-key b \
    --peer "$NETLAB_NAT_B_IP:$PORT" --peer "$NETLAB_PEER_B_IP:$PORT" \
    --send "$bytes" --timeout "$timeout" --handshake-timeout "$hs" \
    --keepalive "$keepalive" --idle "$idle" >"$LOG/a" 2>&1 &
  pa=$!
  wait $pa
  RA=$?
  wait $pb
  RB=$?
  JA="$(tail -n1 "$LOG/a")"
  JB="$(tail -n1 "$LOG/b")"
  echo "  a: $JA"
  echo "  b: $JB"
}

echo "== cone / cone"
if up --nat cone; then
  ( "$L" exec tracker "$PY" "$T/holepunch.py" rendezvous --port 3478 >/dev/null 2>&1 & )
  sleep 0.5
  "$L" exec peer-a "$PY" "$T/holepunch.py" udp --rendezvous "$NETLAB_TRACKER_IP" --session s1 \
    --name x --port 41000 --timeout 5 >"$LOG/ha" 2>&1 &
  ha=$!
  "$L" exec peer-b "$PY" "$T/holepunch.py" udp --rendezvous "$NETLAB_TRACKER_IP" --session s1 \
    --name y --port 41001 --timeout 5 >"$LOG/hb" 2>&1
  hb=$?
  wait $ha
  [[ $? -eq 0 && $hb -eq 0 ]] && ok "lab smoke: holepunch.py punches cone/cone" ||
    { bad "lab smoke: holepunch.py punches cone/cone"; tail -n1 "$LOG/ha" "$LOG/hb"; }
  transfer "$BYTES" 300 10
  [[ "$RA$RB" == 00 ]] && ok "cone/cone: $BYTES bytes over UDP through both NATs, intact" ||
    bad "cone/cone: $BYTES bytes over UDP through both NATs"
fi

echo "== cone / cone, 50 ms and 2% loss on each WAN link"
if up --nat cone --wan "delay 50ms loss 2%"; then
  transfer "$DEGRADED_BYTES" 300 20
  [[ "$RA$RB" == 00 ]] && ok "degraded cone/cone: chat and $DEGRADED_BYTES bytes, intact" ||
    bad "degraded cone/cone: chat and $DEGRADED_BYTES bytes"
fi

echo "== symmetric / symmetric"
if up --nat symmetric; then
  transfer 1024 60 6
  reason="$(jget "$JA" reason)"
  [[ "$RA$RB" == 22 && "$reason" == "no direct path"* ]] &&
    ok "symmetric/symmetric: both ends say there is no direct path" ||
    bad "symmetric/symmetric: expected 'no direct path' (exit 2) on both ends"
fi

echo "== cone / no NAT"
if up --nat-a cone --nat-b none; then
  transfer 4194304 120 10
  [[ "$RA$RB" == 00 ]] && ok "cone/none: 4 MiB over UDP, intact" || bad "cone/none: 4 MiB over UDP"
fi

echo "== cone / cone, NAT mappings time out after 3 s"
if up --nat cone --udp-timeout 3; then
  transfer 1048576 40 10 1 8
  [[ "$RA$RB" == 00 ]] && ok "keepalives every 1 s hold the NAT mappings through 8 s of silence" ||
    bad "keepalives every 1 s hold the NAT mappings through 8 s of silence"
  "$L" down >/dev/null 2>&1
  up --nat cone --udp-timeout 3 &&
    transfer 1048576 20 10 60 8
  [[ "$RA" != 0 ]] && ok "control: without keepalives the mappings expire and the file cannot pass" ||
    bad "control: without keepalives the transfer should have failed"
fi

echo "$PASS passed, $FAIL failed"
[[ $FAIL -eq 0 ]]
