#!/usr/bin/env bash
# demo.sh: installs what is missing, builds confab in Release and runs the main
# job on loopback: a tracker for a demo organisation, two workstations (alice
# and bob, each with its own CONFAB_HOME) enrolled with one-time invite codes,
# their nodes up, messages both ways directly between them, a status change,
# ops' view of it all and a revocation.
# Everything lives in a temporary directory that is removed at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh" build

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target confab confab-tracker noise-vectors

tracker="$build/tracker/confab-tracker"
confab="$build/peer/confab"
work="$(mktemp -d /tmp/confab-demo.XXXXXX)"
pids=()
cleanup() {
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
"$tracker" serve --state "$work/tracker" 2>"$work/tracker.log" &
pids+=($!)
for _ in $(seq 50); do [[ -s "$work/tracker/tracker.addr" ]] && break; sleep 0.1; done
echo "tracker listening on $(cat "$work/tracker/tracker.addr")"

for who in alice bob; do
  step "ops: invite $who; $who joins from a workstation"
  code="$("$tracker" invite "$who" --state "$work/tracker" | tail -n 1)"
  echo "invite code: ${code:0:32}..."
  CONFAB_HOME="$work/$who" "$confab" join "$code" </dev/null
done

step "alice and bob start their nodes (confab up): direct, end-to-end encrypted chat"
for who in alice bob; do
  CONFAB_HOME="$work/$who" "$confab" up --listen 127.0.0.1:0 </dev/null 2>"$work/$who.log" &
  pids+=($!)
done
for who in alice bob; do
  for _ in $(seq 100); do grep -q "node up as" "$work/$who.log" && break; sleep 0.1; done
  grep "node up as" "$work/$who.log" | sed 's/^/  /'
done
as() { local who="$1"; shift; CONFAB_HOME="$work/$who" "$confab" "$@"; }

as alice msg bob "Hi bob, lunch at noon?" >/dev/null
as bob status away "back at two"
sleep 1
as bob msg alice "Yes! See you there." >/dev/null
for _ in $(seq 50); do as alice history bob --json | grep -q '"See you there' && break; sleep 0.2; done

echo "alice's view of her contacts:"
as alice who | sed 's/^/  /'
echo "alice's conversation with bob (states: queued, sent, delivered):"
as alice history bob | sed 's/^/  /'
echo "bob's conversation with alice:"
as bob history alice | sed 's/^/  /'

step "ops: who is enrolled and online"
"$tracker" users --state "$work/tracker"

step "ops: revoke bob; his session ends at once"
"$tracker" revoke bob --state "$work/tracker" --reason "demo"
sleep 1
"$tracker" users --state "$work/tracker"
echo
echo "Done. To carry on by hand: run a tracker and 'confab up' as above, then"
echo "'confab msg NAME TEXT', 'confab history NAME', 'confab who', 'confab status away lunch'."
