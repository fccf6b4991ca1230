#!/usr/bin/env bash
# install-deps.sh [build|test|bench|lab]: installs, with apt, whatever confab
# needs that this Debian 12 machine lacks. Idempotent, and silent when all is there.
#   build: compilers and libraries     test: + clang/libFuzzer, tools the tests drive
#          (postgresql: the tracker's PostgreSQL tests start their own server;
#          prometheus for promtool, ~19 MB download)
#   bench: + the baselines the benchmarks compare against
#   lab:   + what ../shared/lab/netlab needs (namespaces, NAT, link emulator):
#          the firewall front ends (the NATs are nft or iptables rules), iproute2
#          (ip netns, veth, tbf), ping, ps/kill and nsenter; test includes it, so
#          the lab tests can run wherever the test profile was installed
set -euo pipefail
profile="${1:-build}"

packages=(
  g++ cmake ninja-build pkg-config git
  libsodium-dev libssl-dev libuv1-dev libprotobuf-dev protobuf-compiler libsqlite3-dev libpq-dev
  libcli11-dev libtomlplusplus-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libreadline-dev
  catch2 python3 libsystemd-dev help2man
)
lab_packages=(iptables nftables iproute2 iputils-ping procps util-linux)
case "$profile" in
  build) ;;
  test) packages+=(clang libclang-rt-14-dev clamav b3sum postgresql prometheus "${lab_packages[@]}") ;;
  bench) packages+=(clang libclang-rt-14-dev clamav b3sum postgresql openssh-server openssh-client iperf3 "${lab_packages[@]}") ;;
  lab) packages+=("${lab_packages[@]}") ;;
  *) echo "install-deps.sh: unknown profile '$profile' (build, test, bench, lab)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null; then sudo=(sudo); else
    echo "install-deps.sh: need root to install: ${missing[*]}" >&2; exit 1
  fi
else
  sudo=()
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
