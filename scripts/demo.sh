#!/usr/bin/env bash
# demo.sh: installs what is missing, builds confab in Release and runs the main
# job on loopback: a tracker for a demo organisation, two workstations (alice
# and bob, each with its own CONFAB_HOME) enrolled with one-time invite codes,
# both online, one status change seen by the other, and ops' view of it all.
# Everything lives in a temporary directory that is removed at the end.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh" build

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target confab confab-tracker noise-vectors tracker_probe

tracker="$build/tracker/confab-tracker"
confab="$build/peer/confab"
probe="$build/tests/tools/tracker_probe"
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

step "alice and bob come online; alice follows bob"
mkfifo "$work/alice.in" "$work/bob.in"
CONFAB_HOME="$work/alice" "$probe" <"$work/alice.in" >"$work/alice.events" 2>/dev/null &
pids+=($!)
exec 3>"$work/alice.in"
CONFAB_HOME="$work/bob" "$probe" <"$work/bob.in" >"$work/bob.events" 2>/dev/null &
pids+=($!)
exec 4>"$work/bob.in"
echo "subscribe bob" >&3
sleep 1
echo "status away back at two" >&4
sleep 1
echo "what alice heard about bob:"
grep '"bob"' "$work/alice.events" | sed 's/^/  /' || true

step "ops: who is enrolled and online"
"$tracker" users --state "$work/tracker"

step "ops: revoke bob; his session ends at once"
"$tracker" revoke bob --state "$work/tracker" --reason "demo"
sleep 1
"$tracker" users --state "$work/tracker"
echo "quit" >&3 || true
exec 3>&- 4>&-
echo
echo "Done. The tracker log is below; messages and files between peers come with the node (confab up)."
sed 's/^/  /' "$work/tracker.log"
