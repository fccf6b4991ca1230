#!/usr/bin/env bash
# build-debs.sh [OUT_DIR]: the release .debs, confab and confab-tracker, built
# in build-deb/ (Release, installed under /usr, libsystemd required for
# sd_notify, xz-compressed), copied to OUT_DIR (default: dist/) and checked
# there by tests/packaging/deb_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-dist}"
./scripts/install-deps.sh build
cmake -S . -B build-deb -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCONFAB_REQUIRE_SYSTEMD=ON -DCONFAB_REQUIRE_MAN=ON -DCONFAB_BUILD_TESTS=OFF -DCONFAB_BUILD_BENCH=OFF \
  -DCONFAB_DEB_COMPRESSION=xz
cmake --build build-deb --target confab confab-tracker confab_cli_docs
(cd build-deb && cpack -G DEB -B "$PWD/debs")
mkdir -p "$out"
cp build-deb/debs/*.deb "$out"/
ls -l "$out"/*.deb
# The packaging test on exactly these .debs: they unpack, run --version,
# their units verify and (as root) they install into a fresh root, make the
# tracker's user and state directory, reinstall and remove. 77: not root,
# so the dpkg --root part was skipped (the rest passed).
rc=0
tests/packaging/deb_check.sh build-deb "$out" || rc=$?
if [[ $rc == 77 ]]; then
  echo "build-debs: dpkg --root install check skipped (needs root)"
elif [[ $rc != 0 ]]; then
  echo "build-debs: the packaging check failed on $out" >&2
  exit "$rc"
fi
