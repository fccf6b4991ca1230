#!/usr/bin/env bash
# bench-transfer.sh: the file-transfer benchmark (issue 5, item 6). Builds
# confab and confab-tracker in Release, then tests/bench/transfer_bench.py
# runs, in one go on loopback: a tracker and two nodes sending a SIZE file
# (default 2 GiB) that lands on disk with its digest checked; OpenSSH scp of
# the same file to a throwaway sshd on a loopback port, once with
# chacha20-poly1305@openssh.com and once with aes128-gcm@openssh.com; and
# iperf3 as the loopback limit. Prints a Markdown table: MB/s, CPU seconds per
# GB on each side, peak RSS. Flags go to the script: --size-mib N, --runs N,
# --dir DIR (where the files go; default a temporary directory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
"$root/scripts/install-deps.sh" bench
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCONFAB_BUILD_TESTS=OFF \
  -DCONFAB_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target confab confab-tracker
export CONFAB="$build/peer/confab" CONFAB_TRACKER="$build/tracker/confab-tracker"
exec python3 "$root/tests/bench/transfer_bench.py" "$@"
