#!/usr/bin/env bash
# run_fuzzer.sh FUZZER SECONDS WORKDIR [SEEDDIR]: a bounded libFuzzer run that
# starts from the checked-in seeds (if any) and keeps what it learns in WORKDIR.
set -euo pipefail
fuzzer="$1" seconds="$2" work="$3" seeds="${4:-}"
mkdir -p "$work/corpus" "$work/artifacts"
dirs=("$work/corpus")
[[ -n "$seeds" && -d "$seeds" ]] && dirs+=("$seeds")
exec "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$work/artifacts/" "${dirs[@]}"
