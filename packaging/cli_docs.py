#!/usr/bin/env python3
"""Man page extras and bash completion for a CLI11 program, from its --help.

  cli_docs.py completion EXE OUT    bash completion for EXE's subcommands and options
  cli_docs.py man-include EXE OUT   a help2man --include file: each subcommand's
                                    --help as a SUBCOMMANDS section, FILES, SEE ALSO

Generated at build time from the binary itself, so neither can drift from
the options the program really takes (CLI11 is the one source of truth).
"""
import os
import re
import subprocess
import sys

# "  -x,--flag TYPE[=default] [REQUIRED]   description": a value when TYPE follows.
OPTION = re.compile(r"^  (-\S+)( [A-Z])?")
SECTION = re.compile(r"^([A-Z][A-Za-z ]+):$")


def help_text(exe, *sub):
    r = subprocess.run([exe, *sub, "--help"], capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    if r.returncode != 0:
        raise SystemExit(f"{exe} {' '.join(sub)} --help exited {r.returncode}: {r.stderr}")
    return r.stdout


def parse(text):
    """(options [(flags, takes_value)], subcommands [(name, description)])."""
    options, subs, section = [], [], None
    for line in text.splitlines():
        m = SECTION.match(line)
        if m:
            section = m.group(1).lower()
            continue
        if section == "options":
            m = OPTION.match(line)
            if m:
                options.append((m.group(1).split(","), bool(m.group(2))))
        elif section == "subcommands":
            m = re.match(r"^  (\S+)\s+(.*)$", line)
            if m:
                subs.append((m.group(1), m.group(2)))
    return options, subs


FILE_HINT = re.compile(r"file|state|dir|--to$|home")


def completion(exe, name):
    options, subs = parse(help_text(exe))
    func = "_" + re.sub(r"\W", "_", name)
    top = " ".join([f for flags, _ in options for f in flags] + [s for s, _ in subs])
    lines = [f"# bash completion for {name}; generated from `{name} --help` by packaging/cli_docs.py",
             f"{func}() {{",
             '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}" sub="" i',
             "  for ((i = 1; i < COMP_CWORD; i++)); do",
             '    case "${COMP_WORDS[i]}" in -*) ;; *) sub="${COMP_WORDS[i]}"; break ;; esac',
             "  done",
             "  local words files=0",
             '  case "$sub" in',
             f'    "") words="{top}" ;;']
    value_opts = {}
    for s, _ in subs:
        sub_options, _ = parse(help_text(exe, s))
        flags = [f for fl, _ in sub_options for f in fl]
        lines.append(f'    {s}) words="{" ".join(flags)}" ;;')
        for fl, takes in sub_options:
            if takes:
                for f in fl:
                    value_opts.setdefault(f, bool(FILE_HINT.search(f)))
    lines += ['    *) words="" ;;', "  esac"]
    file_opts = "|".join(sorted(f for f, is_file in value_opts.items() if is_file))
    plain_opts = "|".join(sorted(f for f, is_file in value_opts.items() if not is_file))
    lines.append('  case "$prev" in')
    if file_opts:
        lines.append(f'    {file_opts}) COMPREPLY=($(compgen -f -- "$cur")); return ;;')
    if plain_opts:
        lines.append(f"    {plain_opts}) COMPREPLY=(); return ;;")
    lines.append("  esac")
    lines += ['  if [[ -n "$sub" && "$cur" != -* ]]; then files=1; fi',
              '  COMPREPLY=($(compgen -W "$words" -- "$cur"))',
              '  if [[ $files == 1 ]]; then COMPREPLY+=($(compgen -f -- "$cur")); fi',
              "}",
              f"complete -o filenames -F {func} {name}", ""]
    return "\n".join(lines)


def man_include(exe, name):
    _, subs = parse(help_text(exe))
    out = ["[SUBCOMMANDS]"]
    for s, desc in subs:
        text = help_text(exe, s)
        body = [l for l in text.splitlines()[1:] if not l.startswith("With no subcommand")]
        out.append(f".SS {s}\n{desc}.\n.PP\n.nf\n" +
                   "\n".join(l.replace("\\", "\\\\").replace("-", "\\-") for l in body).strip("\n") +
                   "\n.fi")
    if name == "confab":
        out.append("[FILES]\n.TP\n.I ~/.confab\nThe home (CONFAB_HOME overrides): identity key, "
                   "certificate, confab.db, config.toml, node.sock.\n.TP\n"
                   ".I /usr/lib/systemd/user/confab.service\nThe user unit: "
                   "systemctl \\-\\-user enable \\-\\-now confab.")
        out.append("[SEE ALSO]\n.BR confab\\-tracker (8)")
    else:
        out.append("[FILES]\n.TP\n.I /var/lib/confab\\-tracker\nThe state directory: "
                   "tracker.toml, keys, the directory database.\n.TP\n"
                   ".I /lib/systemd/system/confab\\-tracker.service\nThe system unit "
                   "(Type=notify, hardened).")
        out.append("[SEE ALSO]\n.BR confab (1)")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("completion", "man-include"):
        raise SystemExit(__doc__)
    kind, exe, out = sys.argv[1:]
    name = os.path.basename(exe)
    text = completion(exe, name) if kind == "completion" else man_include(exe, name)
    with open(out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
