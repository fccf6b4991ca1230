#!/usr/bin/env bash
# Fails when a file includes a header from a module it may not depend on.
# Ranks (STYLE.md A1): proto, common/base < common/{crypto,wire,net} <
# common/{channel,datagram,store} < tracker, peer. datagram is the sans-I/O
# UDP session core: crypto and base only, never net. Rank-2 modules never include each
# other, except that crypto may use proto for the certificate message.
# peer/ (docs/design.md, "Modules"): store < contacts < reach < {chat, transfer}
# < control < node < cli, with tracker_link beside them on common/ alone;
# chat and transfer never include each other.
set -euo pipefail
root="${1:-$(dirname "$0")/..}"
cd "$root"

# allowed[module]="modules it may include from"
declare -A allowed=(
  [common/base]="common/base"
  [common/crypto]="common/base common/crypto proto"
  [common/wire]="common/base common/wire"
  [common/net]="common/base common/net"
  [common/datagram]="common/base common/crypto common/datagram"
  [common/udp]="common/base common/crypto common/net common/datagram common/udp proto"
  [common/channel]="common/base common/crypto common/wire common/net common/channel proto"
  [common/store]="common/base common/store"
  [common/config]="common/base common/config"
  [common/protocol]="common/base common/protocol proto"
  [tracker]="common proto tracker"
  [peer]="common proto peer/cli"
  [peer/store]="common proto peer/store"
  [peer/contacts]="common proto peer/store peer/contacts"
  [peer/tracker_link]="common proto peer/tracker_link"
  [peer/reach]="common proto peer/store peer/contacts peer/reach"
  [peer/chat]="common proto peer/store peer/contacts peer/reach peer/chat"
  [peer/transfer]="common proto peer/store peer/contacts peer/reach peer/transfer"
  [peer/control]="common proto peer/store peer/contacts peer/reach peer/chat peer/transfer peer/tracker_link peer/control"
  [peer/node]="common proto peer/store peer/contacts peer/reach peer/chat peer/transfer peer/tracker_link peer/control peer/node"
  [peer/cli]="common proto peer/store peer/contacts peer/reach peer/chat peer/transfer peer/tracker_link peer/control peer/node peer/cli"
)

fail=0
checked=0
while IFS= read -r -d '' file; do
  module=""
  for m in "${!allowed[@]}"; do
    if [[ "$file" == "$m/"* && ${#m} -gt ${#module} ]]; then module="$m"; fi
  done
  [[ -n "$module" ]] || continue
  while IFS= read -r inc; do
    ok=0
    for a in ${allowed[$module]}; do
      if [[ "$inc" == "$a/"* ]]; then ok=1; fi
    done
    checked=$((checked + 1))
    if [[ $ok -eq 0 ]]; then
      echo "layering: $file includes \"$inc\", which $module may not depend on" >&2
      fail=1
    fi
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done < <(find common tracker peer \( -name "*.h" -o -name "*.cc" \) -print0)

# peer/'s top level holds main() and the build only: code lives in a module.
while IFS= read -r -d '' file; do
  case "$file" in peer/main.cc | peer/CMakeLists.txt) ;;
    *) echo "layering: $file sits at peer/'s top level, outside every module" >&2; fail=1 ;;
  esac
done < <(find peer -maxdepth 1 -type f -print0)

echo "layering: $checked includes checked"
exit $fail
