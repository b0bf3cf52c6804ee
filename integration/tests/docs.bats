#!/usr/bin/env bats
# pylock-test: once
# The documentation matches the binary: every command has a man page, and the
# options `pylock CMD --help` lists are exactly those its man page lists.
# SPDX-License-Identifier: Apache-2.0

load helpers

MAN="$PYLOCK_SCRATCH/man"

setup() {
  [ -d "$MAN" ] || skip "no man pages in $MAN (run: make man)"
}

# Commands, from `pylock --help`.
commands() {
  "$PL" --help | awk '/^Commands:/ { c = 1; next } c && /^$/ { c = 0 } c { print $1 }'
}

# Options of a generated man page: the terms (not the descriptions, which
# are indented with .RS) of its OPTIONS section.
man_options() {
  awk '/^\.SH / { o = ($0 ~ /^\.SH "?OPTIONS"?$/); d = 0; next }
       o && /^\.RS/ { d++ } o && /^\.RE/ { d-- }
       o && d == 0 && /^\\fB-/ { print }' "$1" |
    grep -oE '\\fB--?[A-Za-z][-A-Za-z]*\\fR' | sed -E 's/^\\fB//; s/\\fR$//' | sort -u
}

@test "every command has a man page, and pylock(1) lists every command" {
  [ -f "$MAN/pylock.1" ]
  n=0
  for cmd in $(commands); do
    [ -f "$MAN/pylock-$cmd.1" ] || { echo "no man page for $cmd" >&2; return 1; }
    grep -qx "\\\\fB$cmd\\\\fR" "$MAN/pylock.1" || { echo "pylock(1) lacks $cmd" >&2; return 1; }
    n=$((n + 1))
  done
  [ "$n" -ge 16 ]
}

@test "pylock --help and pylock(1) list the same global options" {
  want=$("$PL" --help | help_options)
  got=$(man_options "$MAN/pylock.1")
  [ -n "$want" ]
  assert_eq "$got" "$want"
}

@test "each command's --help and its man page list the same options" {
  for cmd in $(commands); do
    want=$("$PL" "$cmd" --help | help_options)
    got=$(man_options "$MAN/pylock-$cmd.1")
    [ -n "$want" ] || { echo "$cmd --help lists no option" >&2; return 1; }
    [ "$got" = "$want" ] || {
      echo "pylock $cmd: --help and pylock-$cmd(1) differ:" >&2
      diff <(echo "$want") <(echo "$got") >&2
      return 1
    }
  done
}

@test "the option parser of the test sees what it should (pylock registry)" {
  got=$("$PL" registry --help | help_options | tr '\n' ' ')
  assert_eq "$got" "--accept-edits --add-root-key --bins --expires --help --key --no-project-index --online-key --project-index --remove-root-key --renew-root --root --state --target --targets --threshold --trusted -h "
}

@test "the man pages' sections are the ones they name" {
  for f in "$MAN"/*.[15]; do
    name=$(basename "$f")
    sec=${name##*.} page=${name%.*}
    grep -q "^\.TH \"$page\" \"$sec\"" "$f" || { echo "$name: wrong .TH" >&2; return 1; }
  done
}
