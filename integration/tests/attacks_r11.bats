#!/usr/bin/env bats
# pylock-test: once
# Round 11: what code run by pylock leaves in places it writes (the project,
# another project, /tmp) for a later command to take as the user's word: a
# project of its own below a strict or offline one (whose loosening written
# from inside is refused until the user's sync: integrity_attacks.bats); a
# link at the name of an allow-write place or of a cache in /tmp, which every
# later run resolved to decide what it may write; a git repository of its
# own below the project, whose core.fsmonitor git runs outside.  Each attack
# must fail.  On projects in the home, outside /tmp which default sandboxes
# write; no registry needed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  empty_project_in_home r11
  MARKER=$(mktemp /tmp/pl-r11.XXXXXX)
  # Strict: a private /tmp, where the host's marker is not.
  PROBE="import os; print('host /tmp' if os.path.exists('$MARKER') else 'private /tmp')"
}

teardown() {
  rm -f "$MARKER"
  chmod -R u+w "$W" 2>/dev/null || true
  rm -rf "$W"
}

# plant DIR EXPR: code in a run of $PROJ writes DIR/pylock.toml, its own lock
# as the Python expression EXPR makes it of the text t; the shims in
# $BATS_TEST_TMPDIR/shims, for the user's next python3 there.
plant() {
  "$PL" -q run python3 -c "
import os
t = open('pylock.toml').read()
os.makedirs('$1', exist_ok=True)
open('$1/pylock.toml', 'w').write($2)"
  [ -f "$PROJ/$1/pylock.toml" ]
  "$PL" shim install --dir "$BATS_TEST_TMPDIR/shims" --python "$PY" >/dev/null 2>&1
}

# planted DIR LINE WORD: DIR/pylock.toml has LINE and no WORD (the attack is real).
planted() {
  grep -qx "$2" "$PROJ/$1/pylock.toml" || { echo "no '$2' in $1/pylock.toml"; return 1; }
  ! grep -q "$3" "$PROJ/$1/pylock.toml" || { echo "'$3' still in $1/pylock.toml"; return 1; }
}

# via_shim DIR CODE WANT: python3 -c CODE through the shims, from DIR, fails or prints WANT.
via_shim() {
  run --separate-stderr bash -c "cd '$1' && PATH='$BATS_TEST_TMPDIR/shims':\$PATH python3 -c \"\$0\"" "$2"
  echo "shim in $1: status $status out $output err $stderr"
  [ "$status" -ne 0 ] || assert_eq "$output" "$3"
}

# make_strict: [tool.pylock] strict = true in $PROJ's lock, taken by the user's sync.
make_strict() {
  python3 - "$PROJ/pylock.toml" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read().replace("[tool.pylock]\n", "[tool.pylock]\nstrict = true\n", 1)
open(p, "w").write(t)
PY
  "$PL" -q -C "$PROJ" sync
}

# Code in a strict run plants a project of its own below the strict one: a
# copy of its pylock.toml without `strict`, with auto-sync.  The user's
# next command from that directory (cd tests && python3 -m pytest, through
# the shims; or pylock run) must not run it without the sandbox the
# project asked for: network, the host's /tmp, ~/.cache.
@test "attack: a project planted below a strict one by its code does not run what follows unstrict" {
  make_strict
  assert_eq "$("$PL" -q run python3 -c "$PROBE")" "private /tmp"
  plant tests 't.replace("strict = true\n", "auto-sync = true\n")'
  planted tests "auto-sync = true" strict
  via_shim "$PROJ/tests" "$PROBE" "private /tmp"
  # With the strict project's pylock.toml moved away meanwhile (a process
  # left by its run may put it back after): the same.
  "$PL" -q run mv pylock.toml pylock.toml.away
  local r=0
  via_shim "$PROJ/tests" "$PROBE" "private /tmp" || r=1
  mv "$PROJ/pylock.toml.away" "$PROJ/pylock.toml"
  [ "$r" -eq 0 ]
  # The user's own sync there, then a run: the same.
  "$PL" -q -C "$PROJ/tests" sync 2>/dev/null || true
  run --separate-stderr bash -c "cd '$PROJ/tests' && '$PL' -q run python3 -c \"$PROBE\""
  echo "run: status $status out $output err $stderr"
  [ "$status" -ne 0 ] || assert_eq "$output" "private /tmp"
}

# The same with a project that only keeps its sandboxes off the network.
@test "attack: a project planted below one off the network by its code does not put what follows on it" {
  printf '\n[tool.pylock.sandbox]\nnetwork = false\n' >>"$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  local nets='import socket; print(sorted(n for _, n in socket.if_nameindex()))'
  assert_eq "$("$PL" -q run python3 -c "$nets")" "['lo']"
  plant docs 't.replace("network = false", "").replace("[tool.pylock]\n", "[tool.pylock]\nauto-sync = true\n", 1)'
  planted docs "auto-sync = true" network
  via_shim "$PROJ/docs" "$nets" "['lo']"
  # A project of the user's own beside it (not below it) keeps its own settings.
  "$PL" -q init --python "$PY" "$W/beside"
  run --separate-stderr bash -c "cd '$W/beside' && '$PL' -q run python3 -c '$nets'"
  [ "$status" -eq 0 ]
  assert_not_contains "$output" "['lo']"
}

# The user lets every sandbox write a directory of another project's
# (allow-write = ["~/src/site/public"]: one project builds what the other
# serves), or of the cache (~/.cache/models, for --strict runs, which do
# not write the cache).  Code in a run of that project (or any default
# run, for the cache) writes it, and puts a link there to a directory no
# sandbox may write (~/.local/bin, ~/.ssh): the next run of any project
# must not write that.
@test "attack: an allow-write place replaced by a link from a run does not make the link's target writable" {
  local site="$W/site" public="$W/site/out/public" victim="$W/victim"
  "$PL" -q init --python "$PY" "$site"
  mkdir -p "$public" "$victim" "$XDG_CONFIG_HOME/pylock"
  chmod 700 "$XDG_CONFIG_HOME" "$XDG_CONFIG_HOME/pylock"
  printf 'allow-write = ["%s"]\n' "$public" >"$XDG_CONFIG_HOME/pylock/config.toml"
  local write='import sys
try:
    open(sys.argv[1] + "/planted", "w").write("x")
    print("wrote")
except OSError as e:
    print("refused", e.errno)'
  # Control: the victim is no sandbox's to write; the allowed place is.
  assert_contains "$("$PL" -q run python3 -c "$write" "$victim")" "refused"
  assert_eq "$("$PL" -q run --strict python3 -c "$write" "$public")" "wrote"
  # In its runs the place itself is a mount point; its parent is not.
  "$PL" -q -C "$site" run python3 -c 'import os, sys
os.rename(os.path.dirname(sys.argv[1]), os.path.dirname(sys.argv[1]) + ".old")
os.mkdir(os.path.dirname(sys.argv[1]))
os.symlink(sys.argv[2], sys.argv[1])' "$public" "$victim"
  [ -L "$public" ]
  run --separate-stderr "$PL" -q run --strict python3 -c "$write" "$public"
  echo "status $status out $output err $stderr"
  [ ! -e "$victim/planted" ]
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "allow-write $public: it is reached through the link $public"
  # On the command line, through a link in the project: the same.
  ln -s "$victim" "$PROJ/out"
  run --separate-stderr "$PL" -q run --allow-write out python3 -c "$write" "$victim"
  echo "status $status out $output err $stderr"
  [ ! -e "$victim/planted" ]
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "--allow-write $PROJ/out: it is reached through the link $PROJ/out"
  run --separate-stderr "$PL" -q run python3 -c "$write" "$victim"
  echo "status $status out $output err $stderr"
  [ ! -e "$victim/planted" ]
}

# The project's .git/hooks and .git/config stay read-only in a run, since
# git runs what they name outside any sandbox (trust_boundary.bats).  A
# repository git finds first is one code in a run can make in any
# directory it writes: a .git of its own in a subdirectory of the project
# (or a .git file naming one in /tmp), whose core.fsmonitor git runs on the
# next `git status` there: the user's, or their shell prompt's on `cd`.
# Not closed: a sandbox writes the project, and no mount or Landlock rule
# forbids a name in it; the README lists this among what a run can still do,
# with the project's sources and build files.  The attack is kept, skipped,
# for the day it is closed (PYLOCK_TEST_KNOWN_HOLES=1 runs it: it fails).
@test "attack: a repository planted in a subdirectory by a run gets nothing run by the user's git" {
  [ "${PYLOCK_TEST_KNOWN_HOLES:-}" = 1 ] ||
    skip "known hole, documented (README: what a malicious package can still do)"
  command -v git >/dev/null || skip "no git"
  git -C "$PROJ" init -q
  local ran="$W/fsmonitor-ran"
  "$PL" -q run sh -c '
    git init -q docs &&
    printf "#!/bin/sh\ntouch %s\n" "$1" >docs/.fsm && chmod +x docs/.fsm &&
    git -C docs config core.fsmonitor "$PWD/docs/.fsm"' _ "$ran"
  (cd "$PROJ/docs" && git status >/dev/null 2>&1) || true
  [ ! -e "$ran" ] || { echo "git ran the planted core.fsmonitor outside the sandbox"; return 1; }
}

# The same for the cache every default run writes, when it lies where a
# sandbox writes (XDG_CACHE_HOME=/tmp/$USER/cache, as on machines with a
# small home): code in a run renames its parent and puts a link at its name.
@test "attack: a cache directory in /tmp replaced by a link from a run does not make the link's target writable" {
  local victim="$W/victim"
  mkdir -p "$victim" "$BATS_TEST_TMPDIR/c/cache"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/c/cache"
  local write='import os, sys
try:
    open(os.environ["XDG_CACHE_HOME"] + "/planted", "w").write("x")
    print("wrote")
except OSError as e:
    print("refused", e.errno)'
  assert_eq "$("$PL" -q run python3 -c "$write")" "wrote"
  "$PL" -q run python3 -c 'import os, sys
c = os.environ["XDG_CACHE_HOME"]
os.rename(os.path.dirname(c), os.path.dirname(c) + ".old")
os.mkdir(os.path.dirname(c))
os.symlink(sys.argv[1], c)' "$victim"
  [ -L "$XDG_CACHE_HOME" ]
  run --separate-stderr "$PL" -q run python3 -c "$write"
  echo "status $status out $output err $stderr"
  [ ! -e "$victim/planted" ]
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "cache $XDG_CACHE_HOME: it is reached through the link $XDG_CACHE_HOME"
}
