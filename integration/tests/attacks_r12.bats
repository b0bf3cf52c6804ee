#!/usr/bin/env bats
# pylock-test: once
# Round 12: the checks round 11 added, attacked by code in a run.  A link
# at the name of an allow-write place is refused when it lies in a project
# or where every sandbox writes; a run still going can swap one in between
# the check and the resolution, or before the mount.  Each attack must
# fail.  On projects in the home; no registry needed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  empty_project_in_home r12
  SITE="$W/site" PUBLIC="$W/site/out/public" VICTIM="$W/victim"
  "$PL" -q init --python "$PY" "$SITE"
  mkdir -p "$PUBLIC" "$VICTIM" "$XDG_CONFIG_HOME/pylock"
  chmod 700 "$XDG_CONFIG_HOME" "$XDG_CONFIG_HOME/pylock"
  printf 'allow-write = ["%s"]\n' "$PUBLIC" >"$XDG_CONFIG_HOME/pylock/config.toml"
  WRITE='import sys
try:
    open(sys.argv[1] + "/planted", "w").write("x")
    print("wrote")
except OSError as e:
    print("refused", e.errno)'
}

teardown() {
  chmod -R u+w "$W" 2>/dev/null || true
  rm -rf "$W"
}

# A run left going (a dev server, a watcher) swaps the allow-write place's
# parent with one holding a link to the victim at its name, over and over
# (renameat2 RENAME_EXCHANGE: one of the two is always there; the place
# itself is a mount point in the run, its parent is not).  Every later run checks the name for links
# and then resolves it again: one that sees the directory at the check and
# the link at realpath() binds the victim writable.
@test "attack: an allow-write place swapped with a link while runs start does not make the link's target writable" {
  mkdir "$SITE/out2" && ln -s "$VICTIM" "$SITE/out2/public"
  "$PL" -q -C "$SITE" run python3 -c 'import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
end = time.time() + float(sys.argv[3])
while time.time() < end:
    for _ in range(1000):
        libc.renameat2(-100, a, -100, b, 2)' "$SITE/out" "$SITE/out2" 40 &
  local flipper=$! i
  for i in $(seq 1 40); do
    "$PL" -q run python3 -c "$WRITE" "$VICTIM" >/dev/null 2>&1 || true
    [ ! -e "$VICTIM/planted" ] || break
  done
  kill "$flipper" 2>/dev/null || true
  wait "$flipper" 2>/dev/null || true
  echo "after $i runs"
  [ ! -e "$VICTIM/planted" ]
}
