#!/usr/bin/env bash
# Checks that `systemd-analyze security --offline=yes` rates the tracker unit
# at an exposure of MAX (default 2.0) or better. Usage: unit_security.sh UNIT [MAX]
# To show the score parser can fail, it first rates a copy of the unit with
# its hardening stripped and requires that copy to score worse than MAX.
# Exits 77 (skipped) when systemd-analyze is missing or lacks --offline.
set -euo pipefail
unit="$1"
max="${2:-2.0}"

if ! command -v systemd-analyze >/dev/null; then
  echo "CONFAB_SKIP: systemd-analyze not installed"
  exit 77
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Prints the overall exposure number, or fails if the output has none.
score() {
  local out
  if ! out="$(systemd-analyze security --offline=yes --no-pager "$1" 2>&1)"; then
    if grep -q -- "--offline" <<<"$out"; then
      echo "CONFAB_SKIP: systemd-analyze has no --offline (systemd < 250)" >&2
      exit 77
    fi
    echo "systemd-analyze security failed on $1:" >&2
    echo "$out" >&2
    exit 1
  fi
  local n
  n="$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9]*\.[0-9]\).*/\1/p' <<<"$out")"
  if [[ -z "$n" ]]; then
    echo "no overall exposure level in the output for $1:" >&2
    echo "$out" >&2
    exit 1
  fi
  echo "$n"
}

name="$(basename "$unit")"
mkdir -p "$tmp/good" "$tmp/bare"
cp "$unit" "$tmp/good/$name"
# Keep only what the service needs to run; drop every hardening setting.
grep -E '^(\[|#|$|Description|After|Wants|Type|User|Group|ExecStart|Restart|RestartSec|LimitNOFILE|StateDirectory|WantedBy)' \
  "$unit" >"$tmp/bare/$name"

bare="$(score "$tmp/bare/$name")"
good="$(score "$tmp/good/$name")"
echo "exposure: $good (limit $max); stripped of hardening: $bare"

if ! awk -v b="$bare" -v m="$max" 'BEGIN { exit !(b > m) }'; then
  echo "FAIL: the stripped unit scores $bare, not worse than $max: the check cannot tell" >&2
  exit 1
fi
if ! awk -v g="$good" -v m="$max" 'BEGIN { exit !(g <= m) }'; then
  echo "FAIL: $name exposure $good is above $max" >&2
  systemd-analyze security --offline=yes --no-pager "$tmp/good/$name" | grep '✗' >&2 || true
  exit 1
fi
echo "PASS: $name exposure $good <= $max"
