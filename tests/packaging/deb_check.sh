#!/usr/bin/env bash
# Builds the two .debs with CPack from BUILD_DIR, then:
#  - dpkg -x each into a temp dir: the binaries run (--version), and
#    systemd-analyze verify passes on the units they ship;
#  - as root, installs both with `dpkg --root` into a fresh root this script
#    makes (root-only /etc/passwd, group, shadow, gshadow and an empty dpkg
#    database), maintainer scripts run chrootless with DPKG_ROOT: the tracker's
#    postinst makes the system user `confab` and /var/lib/confab-tracker
#    (owned by it, 0700), a reinstall keeps one user, and removing the
#    package leaves the state directory.
# Usage: deb_check.sh BUILD_DIR [DEBS_DIR]
#   With DEBS_DIR (scripts/build-debs.sh passes its output), the .debs there
#   are checked as built, instead of new ones made with CPack from BUILD_DIR
#   (whose CMakeCache.txt still gives the install prefix).
set -euo pipefail
build="$1"
debs="${2:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prefix="$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")"
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

if [[ -z "$debs" ]]; then
  debs="$work/debs"
  (cd "$build" && cpack -G DEB -B "$debs" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; exit 1; }
fi
one_deb() {  # one_deb GLOB: the single .deb in $debs matching it
  local found=("$debs"/$1)
  [[ ${#found[@]} == 1 && -f "${found[0]}" ]] || { echo "FAIL: want one $1 in $debs, found: ${found[*]}" >&2; exit 1; }
  echo "${found[0]}"
}
peer_deb="$(one_deb 'confab_*.deb')"
tracker_deb="$(one_deb 'confab-tracker_*.deb')"
echo "checking $(basename "$peer_deb") and $(basename "$tracker_deb")"
[[ "$(dpkg-deb -f "$peer_deb" Package)" == confab ]] || bad "confab .deb named $(dpkg-deb -f "$peer_deb" Package)"
[[ "$(dpkg-deb -f "$tracker_deb" Package)" == confab-tracker ]] || bad "tracker .deb misnamed"
dpkg-deb -I "$tracker_deb" postinst >/dev/null || bad "tracker .deb has no postinst"

verify() {  # verify ROOT UNIT [--user]: ExecStart pointed into ROOT (the binary's real place here)
  local copy="$work/verify/$(basename "$2")"
  mkdir -p "$work/verify" "$work/run"
  sed "s|^ExecStart=$prefix/bin/|ExecStart=$1$prefix/bin/|" "$2" >"$copy"
  local out
  if ! out="$(XDG_RUNTIME_DIR="$work/run" systemd-analyze "${@:3}" verify --man=no "$copy" 2>&1)" \
      || [[ -n "$out" ]]; then
    bad "systemd-analyze verify $(basename "$2"): $out"
  else
    echo "systemd-analyze ${*:3} verify $(basename "$2"): clean"
  fi
}
check_tree() {  # check_tree ROOT
  local exe out
  for exe in confab confab-tracker; do
    out="$("$1$prefix/bin/$exe" --version 2>&1)" || true
    [[ "$out" == "$exe "* ]] && echo "installed $exe --version: $out" || bad "$exe --version: '$out'"
  done
  "$(dirname "$0")/check_docs.sh" "$1" "$prefix" || fail=1
  if command -v systemd-analyze >/dev/null; then
    verify "$1" "$1$prefix/lib/systemd/system/confab-tracker.service"
    verify "$1" "$1$prefix/lib/systemd/user/confab.service" --user
  else
    echo "CONFAB_SKIP: systemd-analyze not installed; units not verified"
  fi
}

mkdir -p "$work/x"
dpkg -x "$peer_deb" "$work/x"
dpkg -x "$tracker_deb" "$work/x"
check_tree "$work/x"

if [[ $EUID -ne 0 ]]; then
  echo "CONFAB_SKIP: dpkg --root install needs root; dpkg -x checks only"
  [[ $fail == 0 ]] && exit 77
  exit 1
fi
r="$work/root"
mkdir -p "$r/etc" "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
: >"$r/var/lib/dpkg/status"
echo 'root:x:0:0:root:/root:/bin/sh' >"$r/etc/passwd"
echo 'root:x:0:' >"$r/etc/group"
echo 'root:*:19000:0:99999:7:::' >"$r/etc/shadow"
echo 'root:*::' >"$r/etc/gshadow"
chmod 0640 "$r/etc/shadow" "$r/etc/gshadow"
dpkg_root() { dpkg --root="$r" --force-script-chrootless --force-depends --log=/dev/null "$@"; }
dpkg_root -i "$peer_deb" "$tracker_deb" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; bad "dpkg --root -i"; }
for p in confab confab-tracker; do
  [[ "$(dpkg-query --root="$r" -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] \
    || bad "$p not installed in the fresh root"
done
check_tree "$r"
user="$(grep '^confab:' "$r/etc/passwd" || true)"
IFS=: read -r _ _ uid gid _ home shell <<<"$user"
[[ -n "$user" ]] || bad "postinst made no confab user in the root's /etc/passwd"
[[ "$home" == /var/lib/confab-tracker && "$shell" == /usr/sbin/nologin ]] || bad "confab user: $user"
[[ -n "$uid" && "$uid" -lt 1000 ]] || bad "confab is not a system user (uid $uid)"
st="$(stat -c '%a %u %g' "$r/var/lib/confab-tracker" 2>/dev/null || true)"
[[ "$st" == "700 $uid $gid" ]] && echo "/var/lib/confab-tracker: mode 700, owned by confab ($uid:$gid)" \
  || bad "/var/lib/confab-tracker is '$st', want '700 $uid $gid'"
grep -q "confab-tracker init --org" "$work/dpkg.log" || bad "postinst did not say what to do next"

# Reinstall: postinst again, still one user; remove: binary gone, state kept.
touch "$r/var/lib/confab-tracker/keep"
dpkg_root -i "$tracker_deb" >"$work/dpkg2.log" 2>&1 || { cat "$work/dpkg2.log" >&2; bad "reinstall"; }
[[ "$(grep -c '^confab:' "$r/etc/passwd")" == 1 ]] || bad "reinstall duplicated the confab user"
dpkg_root -r confab-tracker >"$work/dpkg3.log" 2>&1 || { cat "$work/dpkg3.log" >&2; bad "dpkg -r"; }
[[ ! -e "$r$prefix/bin/confab-tracker" ]] || bad "dpkg -r left the tracker binary"
[[ -f "$r/var/lib/confab-tracker/keep" ]] || bad "dpkg -r removed the state directory"
[[ $fail == 0 ]] && echo "PASS: .debs build, unpack, install into a fresh root and remove"
exit "$fail"
