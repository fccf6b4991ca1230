#!/usr/bin/env bash
# demo.sh: installs what is missing, builds confab in Release and runs the main
# job. Today that is the cryptographic core: the binaries, the Noise vectors
# and a loopback handshake; later work grows it into a tracker and two peers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/install-deps.sh" build

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)"

echo "== binaries"
"$build/tracker/confab-tracker" --version
"$build/peer/confab" --version
echo "== Noise test vectors (../shared/vectors/noise/cacophony.txt)"
"$build/tests/vectors/noise-vectors" "${CONFAB_SHARED_DIR:-$root/../shared}/vectors/noise/cacophony.txt"
