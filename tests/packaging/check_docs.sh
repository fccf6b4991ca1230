#!/usr/bin/env bash
# check_docs.sh ROOT PREFIX: the man pages and bash completions installed under
# ROOT/PREFIX. Each man page renders without groff warnings and documents
# every subcommand the binary lists; each completion, sourced in bash,
# completes a subcommand and a subcommand's options. Exits 1 on a failure.
set -uo pipefail
root="$1"
prefix="$2"
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

for spec in confab:1 confab-tracker:8; do
  exe="${spec%:*}"
  page="$root$prefix/share/man/man${spec#*:}/$exe.${spec#*:}.gz"
  bin="$root$prefix/bin/$exe"
  if [[ ! -f "$page" ]]; then
    bad "$prefix/share/man/man${spec#*:}/$exe.${spec#*:}.gz not installed"
    continue
  fi
  src="$(zcat "$page")"
  grep -q "^$exe \\\\- " <<<"$src" || bad "$exe(${spec#*:}) has no NAME line"
  subs="$("$bin" --help | sed -n '/^Subcommands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')"
  [[ -n "$subs" ]] || bad "$exe --help lists no subcommands"
  for s in $subs; do
    grep -qx "\.SS $s" <<<"$src" || bad "$exe(${spec#*:}) does not document '$s'"
  done
  if command -v man >/dev/null; then
    warnings="$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)"
    [[ -z "$warnings" ]] || bad "$exe(${spec#*:}) renders with warnings: $warnings"
  fi
  echo "$exe(${spec#*:}): $(wc -w <<<"$subs") subcommands documented"
done

complete_words() {  # complete_words FILE WORD...: what bash completes for the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); f="$(complete -p "$1" | sed "s/.*-F \([^ ]*\).*/\1/")"; "$f"; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
comp="$root$prefix/share/bash-completion/completions"
expect() {  # expect WANT WORD...
  local want="$1"; shift
  local got
  got="$(complete_words "$comp/$1" "$@" 2>&1)"
  grep -qx -- "$want" <<<"$got" || bad "completing '$*' gave '$(tr '\n' ' ' <<<"$got")', not $want"
}
for exe in confab confab-tracker; do
  [[ -f "$comp/$exe" ]] || { bad "bash completion for $exe not installed"; continue; }
done
if [[ $fail == 0 ]]; then
  expect up confab u
  expect --listen confab up --l
  expect --passphrase-file confab join --pass
  expect serve confab-tracker se
  expect --state confab-tracker invite --st
  [[ -z "$(complete_words "$comp/confab" confab up --nope)" ]] || bad "completed an option up lacks"
  [[ $fail == 0 ]] && echo "bash completions: subcommands and options complete"
fi
exit "$fail"
