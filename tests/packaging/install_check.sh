#!/usr/bin/env bash
# `cmake --install BUILD` into a fresh DESTDIR puts both binaries and the
# tracker's systemd unit in place; the installed binaries run, and the
# installed unit names the installed binary and keeps its hardening score.
# Usage: install_check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
src="$2"
dest="$(mktemp -d)"
trap 'rm -rf "$dest"' EXIT

DESTDIR="$dest" cmake --install "$build" >"$dest.log" 2>&1 || { cat "$dest.log" >&2; rm -f "$dest.log"; exit 1; }
rm -f "$dest.log"
prefix="$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")"
root="$dest$prefix"

fail=0
for exe in confab confab-tracker; do
  if [[ ! -x "$root/bin/$exe" ]]; then
    echo "FAIL: $prefix/bin/$exe not installed" >&2
    fail=1
    continue
  fi
  out="$("$root/bin/$exe" --version)"
  echo "$exe --version: $out"
  [[ "$out" == "$exe "* ]] || { echo "FAIL: $exe --version printed '$out'" >&2; fail=1; }
done

unit="$root/lib/systemd/system/confab-tracker.service"
if [[ ! -f "$unit" ]]; then
  echo "FAIL: $prefix/lib/systemd/system/confab-tracker.service not installed" >&2
  exit 1
fi
exec_start="$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")"
if [[ "$exec_start" != "$prefix/bin/confab-tracker" ]]; then
  echo "FAIL: the installed unit runs '$exec_start', not $prefix/bin/confab-tracker" >&2
  fail=1
fi
if [[ "$fail" == 0 ]]; then
  "$src/tests/packaging/unit_security.sh" "$unit" 2.0 || fail=$?
fi
[[ "$fail" == 0 ]] && echo "PASS: install tree under $prefix"
exit "$fail"
