#!/usr/bin/env bash
# demo.sh: installs what is missing, builds confab in Release and runs the main
# job on loopback: a tracker for a demo organisation, three workstations
# (alice, bob and carol, each with its own CONFAB_HOME) enrolled with one-time
# invite codes, their nodes up, messages both ways directly between them,
# a group (#lunch) whose message reaches bob from carol's node while its
# author alice is offline, presence changing (away, back online, offline once revoked), ops' view of it
# all and the revocation of carol.
#
# At the end the tracker and alice's and bob's nodes keep running, so you can
# carry on in the console (`confab`); the script prints the exact commands,
# and the one that stops everything and removes the demo's directory.
# DEMO_CLEANUP=1 stops and removes everything at the end instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$(realpath -m "${BUILD_DIR:-$root/build}")"  # absolute: the closing commands use it
"$root/scripts/install-deps.sh" build

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target confab confab-tracker noise-vectors

tracker="$build/tracker/confab-tracker"
confab="$build/peer/confab"
work="$(mktemp -d /tmp/confab-demo.XXXXXX)"
pids=()
keep=0  # set once the demo succeeded: leave the tracker and nodes running
cleanup() {
  [[ $keep -eq 1 ]] && return
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

step "binaries"
"$tracker" --version
"$confab" --version

step "Noise test vectors (../shared/vectors/noise/cacophony.txt)"
"$build/tests/vectors/noise-vectors" "${CONFAB_SHARED_DIR:-$root/../shared}/vectors/noise/cacophony.txt" | tail -1

step "ops: create the organisation's tracker and start it on loopback"
"$tracker" init --org "Demo Org" --state "$work/tracker" --listen 127.0.0.1:0
setsid "$tracker" serve --state "$work/tracker" >/dev/null 2>"$work/tracker.log" &
pids+=($!)
for _ in $(seq 50); do [[ -s "$work/tracker/tracker.addr" ]] && break; sleep 0.1; done
echo "tracker listening on $(cat "$work/tracker/tracker.addr")"

for who in alice bob carol; do
  step "ops: invite $who; $who joins from a workstation"
  code="$("$tracker" invite "$who" --state "$work/tracker" | tail -n 1)"
  echo "invite code: ${code:0:32}..."
  CONFAB_HOME="$work/$who" "$confab" join "$code" </dev/null
done

step "alice, bob and carol start their nodes (confab up): direct, end-to-end encrypted chat"
# pids: 0 the tracker, 1 alice, 2 bob, 3 carol.
start_node() {
  local who="$1" slot="$2"
  # setsid: the nodes outlive this script (see the end) and ignore its Ctrl-C.
  CONFAB_HOME="$work/$who" setsid "$confab" up --listen 127.0.0.1:0 </dev/null \
    >/dev/null 2>"$work/$who.log" &
  pids[$slot]=$!
}
await_node() {
  for _ in $(seq 100); do grep -q "node up as" "$work/$1.log" && break; sleep 0.1; done
  grep "node up as" "$work/$1.log" | sed 's/^/  /'
}
stop_node() {
  kill "${pids[$2]}" 2>/dev/null || true
  wait "${pids[$2]}" 2>/dev/null || true
  echo "  $1's node stopped"
}
start_node alice 1
start_node bob 2
start_node carol 3
for who in alice bob carol; do await_node "$who"; done
as() { local who="$1"; shift; CONFAB_HOME="$work/$who" "$confab" "$@"; }

# Waits until alice's `confab who` shows NAME with STATUS.
await_who() {
  for _ in $(seq 50); do
    as alice who | grep -Eq "^$1 +$2( |$)" && return 0
    sleep 0.2
  done
  echo "demo: alice never saw $1 as $2" >&2
  return 1
}

as alice msg bob "Hi bob, lunch at noon?" >/dev/null
as alice msg carol "Hi carol, the report is in the usual place." >/dev/null
await_who bob online
await_who carol online
echo "alice's view of her contacts (presence from the tracker):"
as alice who | sed 's/^/  /'

step "presence changes: bob steps away, answers, and is back"
as bob status away "back at two"
await_who bob away
echo "alice's view once bob is away:"
as alice who | sed 's/^/  /'
as bob msg alice "Yes! See you there." >/dev/null
for _ in $(seq 50); do as alice history bob --json | grep -q '"See you there' && break; sleep 0.2; done
as bob status online
await_who bob online
echo "alice's view once bob is back:"
as alice who | sed 's/^/  /'

echo "alice's conversation with bob (states: queued, sent, delivered):"
as alice history bob | sed 's/^/  /'
echo "bob's conversation with alice:"
as bob history alice | sed 's/^/  /'
echo "how alice reaches bob, and her node's view of the network (here: loopback, no NAT):"
as alice who --verbose | sed 's/^/  /'
as alice status --verbose | sed 's/^/  /'

step "a group: every member's node keeps it, and any member passes it on"
as alice group create lunch bob carol
for who in bob carol; do
  for _ in $(seq 100); do as "$who" groups | grep -q lunch && break; sleep 0.2; done
done
echo "bob's view of the group:"
as bob group show '#lunch' | sed 's/^/  /'
echo "bob goes offline; alice writes to the group, then goes offline too:"
stop_node bob 2
as alice msg '#lunch' "Table for three at noon, by the window." >/dev/null
for _ in $(seq 100); do as carol history '#lunch' | grep -q "by the window" && break; sleep 0.2; done
echo "  carol has it:"
as carol history '#lunch' | sed 's/^/    /'
stop_node alice 1
echo "bob comes back while alice is away; carol's node passes alice's message on:"
start_node bob 2
await_node bob
for _ in $(seq 150); do as bob history '#lunch' | grep -q "by the window" && break; sleep 0.2; done
as bob history '#lunch' | sed 's/^/  /'
as bob history '#lunch' | grep -q "by the window" || { echo "demo: bob never got the group message" >&2; exit 1; }
start_node alice 1
await_node alice
await_who bob online

step "ops: who is enrolled and online"
"$tracker" users --state "$work/tracker"

step "ops: revoke carol; her session ends at once, and alice sees her go offline"
"$tracker" revoke carol --state "$work/tracker" --reason "demo"
await_who carol offline
"$tracker" users --state "$work/tracker"
echo "alice's view:"
as alice who | sed 's/^/  /'

if [[ "${DEMO_CLEANUP:-0}" == 1 ]]; then
  echo
  echo "Done (DEMO_CLEANUP=1: everything stopped and removed)."
  exit 0
fi
kill "${pids[3]}" 2>/dev/null || true  # carol's node: revoked, nothing left to do
keep=1
stop="kill ${pids[0]} ${pids[1]} ${pids[2]} 2>/dev/null; rm -rf $work"
echo "$stop" >"$work/stop.sh"
cat <<EOT

Done. The tracker and alice's and bob's nodes are still running (logs in $work).
Carry on in the console, one terminal each (type /help there; /open bob, and
then plain lines go to bob):

  CONFAB_HOME=$work/alice $confab      # alice's console
  CONFAB_HOME=$work/bob $confab        # bob's console

The other commands work alongside, for example:

  CONFAB_HOME=$work/bob $confab status away lunch
  CONFAB_HOME=$work/alice $confab history bob

When you are done, stop everything and remove the demo's directory:

  bash $work/stop.sh
EOT
