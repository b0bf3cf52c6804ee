#!/usr/bin/env bats
# The shims' static front end (pylock-shim): outside every project it execs the real program
# itself; in every other case it hands the same argv to the pylock beside it, so that what
# runs is exactly what a link straight to pylock ran.  Attacked with manifests naming pylock,
# a missing pylock, a hostile pylock on PATH, another user's project, a setuid copy.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

OTHER=pylocktest2
FRONT="$PYLOCK_BIN/pylock-shim"

setup() {
  [ -x "$FRONT" ] || skip "no pylock-shim beside $PL (built by make)"
  new_project
  SHIMS="$BATS_TEST_TMPDIR/shims"
  "$PL" shim install --dir "$SHIMS" --python "$PY" >/dev/null 2>&1
  REAL=$(readlink -f "$PY")
  pkg=$(gen_dir purelib)/shim_front_probe
  mkdir -p "$pkg"
  echo 'WHERE = "generation"' >"$pkg/__init__.py"
  OUTSIDE="$BATS_TEST_TMPDIR/outside"
  mkdir -p "$OUTSIDE"
  # A hostile pylock, earlier on PATH than anything else: it must never run.
  EVIL="$BATS_TEST_TMPDIR/evil"
  mkdir -p "$EVIL"
  printf '#!/bin/sh\ntouch "%s/ran"\necho EVIL\nexit 99\n' "$EVIL" >"$EVIL/pylock"
  printf '#!/bin/sh\ntouch "%s/ran"\necho EVIL\nexit 99\n' "$EVIL" >"$EVIL/pylock-shim"
  chmod 755 "$EVIL/pylock" "$EVIL/pylock-shim"
}

userns() { readlink /proc/self/ns/user; }

# links DIR TARGET: shims in DIR as symlinks to TARGET, with $SHIMS's manifest.
links() {
  mkdir -p "$1"
  cp "$SHIMS/.pylock-shims" "$1/"
  local n
  for n in python3 python pip pip3; do ln -sfn "$2" "$1/$n"; done
}

# by DIR CMD...: CMD in the working directory $WD with DIR first on PATH (then the hostile one).
by() {
  local dir=$1
  shift
  (cd "$WD" && PATH="$dir:$EVIL:$PATH" timeout 60 "$@")
}

PROBE='import os, sys
try:
    import shim_front_probe; where = "env"
except ImportError:
    where = "real"
print(where, sys.executable, os.environ.get("PYLOCK_PROJECT", "-"), sys.argv[1:])'

@test "shim install links the shims to pylock-shim beside pylock, and to the full pylock when there is none" {
  base_blind
  for n in python3 python pip pip3; do
    assert_eq "$(readlink "$SHIMS/$n")" "$FRONT"
  done
  local solo="$BATS_TEST_TMPDIR/solo"
  mkdir -p "$solo/bin" "$solo/lib/pylock"
  cp "$PL" "$solo/bin/pylock"
  cp "$PL_FULL" "$solo/lib/pylock/pylock"
  "$solo/bin/pylock" shim install --dir "$BATS_TEST_TMPDIR/s2" --python "$PY" >/dev/null 2>&1
  assert_eq "$(readlink "$BATS_TEST_TMPDIR/s2/python3")" "$solo/lib/pylock/pylock"
}

@test "outside a project the front end runs the real interpreter: sys.executable, argv, status, stdin, no namespace" {
  WD=$OUTSIDE
  run by "$SHIMS" python3 -c 'import os, sys; print(sys.executable, os.readlink("/proc/self/ns/user"), sys.argv[1:])' a b
  [ "$status" -eq 0 ]
  assert_eq "$output" "$REAL $(userns) ['a', 'b']"
  run by "$SHIMS" python3 -c 'raise SystemExit(5)'
  [ "$status" -eq 5 ]
  assert_eq "$(echo piped | by "$SHIMS" python3 -c 'print(input().upper())')" "PIPED"
  run by "$SHIMS" pip --version
  [ "$status" -eq 0 ]
  assert_contains "$output" "python $(short_version)"
  [ ! -e "$EVIL/ran" ]
}

@test "inside a project and below it the front end hands over to pylock: the environment runs" {
  mkdir -p "$PROJ/sub/deeper"
  for WD in "$PROJ" "$PROJ/sub/deeper"; do
    run by "$SHIMS" python3 -c "$PROBE" x
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    assert_eq "$output" "env $(interp python) $PROJ ['x']"
    run by "$SHIMS" python3 -c 'import os; print(os.readlink("/proc/self/ns/user"))'
    [ "$output" != "$(userns)" ]
  done
  WD=$PROJ
  run by "$SHIMS" pip install six
  [ "$status" -eq 1 ]
  assert_contains "$output" "read-only"
  [ ! -e "$EVIL/ran" ]
}

@test "every case ends exactly as through a link straight to pylock (output and status)" {
  links "$BATS_TEST_TMPDIR/legacy" "$PL"
  # A group-writable project (refused), a pylock.toml above a directory others can write
  # (not ours to find), a stale environment, PYLOCK_SHIM=off in a project.
  local gw="$BATS_TEST_TMPDIR/gw" open="$BATS_TEST_TMPDIR/open" stale="$BATS_TEST_TMPDIR/stale"
  new_project "$gw"
  chmod g+w "$gw"
  mkdir -p "$open/ww/in"
  cp "$PROJ/pylock.toml" "$open/"
  chmod 777 "$open/ww"
  new_project "$stale"
  echo '# edited' >>"$stale/pylock.toml"
  local case wd env
  for case in "$OUTSIDE|" "$PROJ|" "$gw|" "$open/ww/in|" "$stale|" "$PROJ|PYLOCK_SHIM=off"; do
    WD=${case%%|*} env=${case#*|}
    run by "$BATS_TEST_TMPDIR/legacy" env $env python3 -c "$PROBE" y
    local want_status=$status want=$output
    run by "$SHIMS" env $env python3 -c "$PROBE" y
    [ "$status" -eq "$want_status" ] || { echo "$case: $status, not $want_status: $output"; return 1; }
    assert_eq "$output" "$want"
  done
  # What they were, so that the comparison above compared something.
  WD="$gw" run by "$SHIMS" python3 -c "$PROBE"
  assert_contains "$output" "refusing the project in $gw"
  assert_contains "$output" "real $REAL"
  WD="$open/ww/in" run by "$SHIMS" python3 -c "$PROBE"
  assert_eq "$output" "real $REAL - []"
  WD="$stale" run by "$SHIMS" python3 -c "$PROBE"
  [ "$status" -eq 1 ]
  assert_contains "$output" "changed since its environment was built; run: pylock sync"
  WD="$PROJ" run by "$SHIMS" env PYLOCK_SHIM=off python3 -c "$PROBE"
  assert_eq "$output" "real $REAL - []"
  [ ! -e "$EVIL/ran" ]
}

@test "attack: a pylock.toml another user owns is refused as before, and nothing of theirs runs" {
  id "$OTHER" >/dev/null 2>&1 && (cd / && sudo -n -u "$OTHER" true) 2>/dev/null ||
    skip "needs the second user $OTHER and sudo to act as it (integration/run as root)"
  [ -n "${PYLOCK_FOREIGN_STICKY_DIR:-}" ] || skip "needs integration/run as root (PYLOCK_FOREIGN_STICKY_DIR)"
  local planted="$PYLOCK_FOREIGN_STICKY_DIR/front-$$-$BATS_TEST_NUMBER" lock
  # Their lock names their interpreter, which leaves a marker if it ever runs.
  lock=$(sed -e "s|^python = \".*\"|python = \"$planted/evil-python\"|" \
    -e 's|^\[tool\.pylock\]$|[tool.pylock]\nauto-sync = true|' "$PROJ/pylock.toml")
  (cd / && sudo -n -u "$OTHER" -H -- sh -c 'umask 022; mkdir "$1" "$1/y" && cat >"$1/pylock.toml" &&
    printf "#!/bin/sh\ntouch %s/marker\nexec %s \"\$@\"\n" "$1" "$2" >"$1/evil-python" &&
    chmod 755 "$1/evil-python"' _ "$planted" "$PY" <<<"$lock")
  links "$BATS_TEST_TMPDIR/legacy" "$PL"
  WD="$planted/y" run by "$BATS_TEST_TMPDIR/legacy" python3 -c "$PROBE"
  local want=$output want_status=$status
  WD="$planted/y" run by "$SHIMS" python3 -c "$PROBE"
  [ "$status" -eq "$want_status" ]
  assert_eq "$output" "$want"
  assert_contains "${lines[0]}" "pylock (python3 shim): refusing the project in $planted"
  assert_contains "${lines[0]}" "owned by $OTHER"
  assert_eq "${lines[1]}" "real $REAL - []"
  [ ! -e "$planted/marker" ] && [ ! -e "$EVIL/ran" ]
  (cd / && sudo -n -u "$OTHER" rm -rf "$planted")
}

@test "attack: a manifest naming pylock-shim, pylock or a link to them is refused, no loop" {
  base_blind
  local d="$BATS_TEST_TMPDIR/loop" real
  WD=$OUTSIDE
  for real in "$FRONT" "$PL" "$d/python"; do
    mkdir -p "$d"
    printf 'python3\t%s\npython\t%s\n' "$real" "$PY" >"$d/.pylock-shims"
    ln -sfn "$FRONT" "$d/python3"
    ln -sfn "$FRONT" "$d/python"
    run by "$d" python3 -c 'print("ran")'
    [ "$status" -eq 1 ] || { echo "$real: $status $output"; return 1; }
    assert_eq "$output" "pylock (python3 shim): the shim's manifest names pylock itself ($real); reinstall the shims"
    # By path, and with the bypass: the same.
    run by "$d" env PYLOCK_SHIM=off "$d/python3" -c 'print("ran")'
    [ "$status" -eq 1 ]
    assert_contains "$output" "names pylock itself"
  done
  [ ! -e "$EVIL/ran" ]
}

@test "attack: a hostile pylock earlier on PATH is never run, whatever the case" {
  # A hand-made link with no manifest: the front end hands over to pylock, which looks on
  # PATH for the real python3 and must skip pylock-shim, pylock and the evil ones' names.
  mkdir -p "$BATS_TEST_TMPDIR/bare"
  ln -s "$FRONT" "$BATS_TEST_TMPDIR/bare/python3"
  local wd
  for wd in "$OUTSIDE" "$PROJ"; do
    WD=$wd
    run by "$SHIMS" python3 -c "$PROBE"
    [ "$status" -eq 0 ]
    assert_not_contains "$output" "EVIL"
    run by "$SHIMS" env PYLOCK_SHIM=off python3 -c "$PROBE"
    assert_eq "$output" "real $REAL - []"
  done
  WD=$OUTSIDE
  run by "$BATS_TEST_TMPDIR/bare" env PATH="$BATS_TEST_TMPDIR/bare:$EVIL:$(dirname "$PY"):/usr/bin:/bin" \
    python3 -c 'import sys; print(sys.executable)'
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(dirname "$PY")/python3"
  [ ! -e "$EVIL/ran" ]
}

@test "without the full pylock the front end runs the real interpreter outside projects and names what to reinstall inside" {
  base_blind
  local lone="$BATS_TEST_TMPDIR/lone"
  mkdir -p "$lone"
  cp "$FRONT" "$lone/pylock-shim"
  links "$BATS_TEST_TMPDIR/ls" "$lone/pylock-shim"
  WD=$OUTSIDE
  run by "$BATS_TEST_TMPDIR/ls" python3 -c "$PROBE"
  [ "$status" -eq 0 ]
  assert_eq "$output" "real $REAL - []"
  WD=$PROJ
  run -127 by "$BATS_TEST_TMPDIR/ls" python3 -c "$PROBE"
  assert_eq "$output" "pylock (python3 shim): cannot run $lone/../lib/pylock/pylock: No such file or directory (the shims need the full pylock in lib/pylock/ beside bin/; reinstall pylock)"
  # Any doubt goes to pylock too: a working directory that no longer exists.
  mkdir "$BATS_TEST_TMPDIR/gone"
  run -127 bash -c 'cd "$1" && rmdir "$1" && PATH="$2:$3:$PATH" python3 -c pass' _ \
    "$BATS_TEST_TMPDIR/gone" "$BATS_TEST_TMPDIR/ls" "$EVIL"
  assert_contains "$output" "reinstall pylock"
  # pylock-shim copied over as the full pylock: refused, not a loop.
  mkdir -p "$BATS_TEST_TMPDIR/lib/pylock"
  cp "$FRONT" "$BATS_TEST_TMPDIR/lib/pylock/pylock"
  WD=$PROJ
  run by "$BATS_TEST_TMPDIR/ls" python3 -c pass
  [ "$status" -eq 1 ]
  assert_eq "$output" "pylock (python3 shim): $BATS_TEST_TMPDIR/lib/pylock/pylock is this front end, not pylock; reinstall pylock"
  [ ! -e "$EVIL/ran" ]
}

@test "links made before the front end (straight to pylock) keep working, and shim install moves them over" {
  local old="$BATS_TEST_TMPDIR/old"
  links "$old" "$PL"
  ln -sfn "$PL" "$old/python$(short_version)"
  WD=$OUTSIDE
  run by "$old" python3 -c "$PROBE"
  assert_eq "$output" "real $REAL - []"
  WD=$PROJ
  run by "$old" python3 -c "$PROBE"
  assert_eq "$output" "env $(interp python) $PROJ []"
  run "$PL" shim install --dir "$old" --python "$PY"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$(readlink "$old/python3")" "$FRONT"
  run by "$old" python3 -c "$PROBE"
  assert_eq "$output" "env $(interp python) $PROJ []"
}

@test "a setuid or setgid front end refuses to run; run by its own name it says what it is" {
  base_blind
  local c="$BATS_TEST_TMPDIR/suid"
  mkdir -p "$c"
  cp "$FRONT" "$c/pylock-shim"
  cp "$PL" "$c/pylock"
  chmod 4755 "$c/pylock-shim"
  links "$BATS_TEST_TMPDIR/ss" "$c/pylock-shim"
  WD=$OUTSIDE
  run by "$BATS_TEST_TMPDIR/ss" python3 -c 'print("ran")'
  [ "$status" -eq 1 ]
  assert_contains "$output" "refusing to run: pylock-shim is setuid or setgid"
  assert_not_contains "$output" "ran"
  run "$FRONT" --help
  [ "$status" -eq 2 ]
  assert_contains "$output" "pylock-shim runs as python3, python, python3.X, pip or pip3"
  run "$FRONT" install six
  [ "$status" -eq 2 ]
  assert_not_contains "$output" "six"
}
