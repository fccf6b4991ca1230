#!/usr/bin/env bash
# `cmake --install BUILD` into a fresh DESTDIR puts both binaries and the
# tracker's systemd unit and the confab user unit in place; the installed binaries run, and the
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
user_unit="$root/lib/systemd/user/confab.service"
if [[ ! -f "$user_unit" ]]; then
  echo "FAIL: $prefix/lib/systemd/user/confab.service not installed" >&2
  exit 1
fi
if [[ "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$user_unit")" != "$prefix/bin/confab" ]]; then
  echo "FAIL: the installed user unit does not run $prefix/bin/confab" >&2
  fail=1
fi
grep -qx 'Type=notify' "$unit" || { echo "FAIL: tracker unit is not Type=notify" >&2; fail=1; }
grep -qx 'Type=notify' "$user_unit" || { echo "FAIL: user unit is not Type=notify" >&2; fail=1; }
# systemd-analyze verify on each installed unit. It wants ExecStart's binary at
# its absolute path, which lives under DESTDIR here (checked above), so each
# copy is verified with ExecStart pointing into DESTDIR.
verify() {  # verify UNIT [--user]
  local copy="$dest/verify/$(basename "$1")"
  mkdir -p "$dest/verify" "$dest/run"
  sed "s|^ExecStart=$prefix/bin/|ExecStart=$root/bin/|" "$1" >"$copy"
  if ! out="$(XDG_RUNTIME_DIR="$dest/run" systemd-analyze "${@:2}" verify --man=no "$copy" 2>&1)" \
      || [[ -n "$out" ]]; then
    echo "FAIL: systemd-analyze verify $(basename "$1"): $out" >&2
    return 1
  fi
  echo "systemd-analyze ${*:2} verify $(basename "$1"): clean"
}
if command -v systemd-analyze >/dev/null; then
  verify "$unit" || fail=1
  verify "$user_unit" --user || fail=1
else
  echo "CONFAB_SKIP: systemd-analyze not installed; units not verified"
fi
"$src/tests/packaging/check_docs.sh" "$dest" "$prefix" || fail=1
if [[ "$fail" == 0 ]]; then
  "$src/tests/packaging/unit_security.sh" "$unit" 2.0 || fail=$?
fi
[[ "$fail" == 0 ]] && echo "PASS: install tree under $prefix"
exit "$fail"
