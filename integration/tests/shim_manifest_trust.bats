#!/usr/bin/env bats
# pylock-test: once
# The shim manifest is trusted as git trusts a repository: only the caller's or root's, writable
# by nobody else, in a directory nobody else can write, never through a symbolic link.  Attacked
# by a second local user writing one, a group-writable one, a linked one; each refused by the
# front end and by pylock alike, and the attacker's program never runs.  And a shim run inside
# a `pylock run` sandbox.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load other_user_helpers


setup() {
  new_project
  SHIMS="$BATS_TEST_TMPDIR/shims"
  "$PL" shim install --dir "$SHIMS" --python "$PY" >/dev/null 2>&1
  REAL=$(readlink -f "$PY")
  FRONT="$PYLOCK_BIN/pylock-shim"
  [ -x "$FRONT" ] || FRONT=$PL # no front end built: both kinds of link are pylock's
  OUTSIDE="$BATS_TEST_TMPDIR/outside"
  mkdir -p "$OUTSIDE"
}

# links DIR: shims in DIR as links to the front end and, in DIR/legacy, to pylock itself
# (links made before the front end); the manifest is the caller's to write.
links() {
  mkdir -p "$1/legacy"
  local n
  for n in python3 python pip; do
    ln -sfn "$FRONT" "$1/$n"
    ln -sfn "$PL" "$1/legacy/$n"
  done
}

# evil_manifest FILE MARK: a manifest naming FILE.prog, a program that touches MARK, then runs
# python; both world-readable.
evil_manifest() {
  printf '#!/bin/sh\ntouch "%s"\nexec "%s" "$@"\n' "$2" "$REAL" >"$1.prog"
  printf 'python3\t%s\npython\t%s\npip\t%s\t-m pip\n' "$1.prog" "$1.prog" "$1.prog" >"$1"
  chmod 755 "$1.prog"
  chmod 644 "$1"
}

# plant DIR MARK: the second user writes an evil manifest into DIR and DIR/legacy (theirs).
plant() {
  local stage="$PYLOCK_FOREIGN_STICKY_DIR/stage-$BATS_TEST_NUMBER"
  mkdir -p "$stage" && chmod 755 "$stage"
  evil_manifest "$stage/m" "$2"
  as_other sh -c 'cp "$1/m.prog" "$2/evil" && chmod 755 "$2/evil" &&
    sed "s|$1/m.prog|$2/evil|" "$1/m" >"$2/.pylock-shims" &&
    sed "s|$1/m.prog|$2/evil|" "$1/m" >"$2/legacy/.pylock-shims"' _ "$stage" "$1"
  rm -rf "$stage"
  grep -q "$1/evil" "$1/.pylock-shims"
}

# refused DIR WHAT...: python3 from DIR, through the front end and the legacy link, by name and
# by path, with and without PYLOCK_SHIM=off: exit 1, one refusal naming WHAT, nothing run.
refused() {
  local dir=$1 sub via
  shift
  for sub in "" /legacy; do
    for via in name path off; do
      case $via in
      name) run -1 env PATH="$dir$sub:$PATH" python3 -c 'print("PROBE-RAN")' ;;
      path) run -1 "$dir$sub/python3" -c 'print("PROBE-RAN")' ;;
      off) run -1 env PYLOCK_SHIM=off "$dir$sub/python3" -c 'print("PROBE-RAN")' ;;
      esac
      assert_contains "${lines[0]}" "pylock (python3 shim): refusing the shim manifest "
      assert_contains "${lines[0]}" " $dir$sub"
      assert_contains "${lines[0]}" "so someone else could choose what python3 runs; not running anything"
      local w
      for w in "$@"; do assert_contains "${lines[0]}" "$w"; done
      assert_contains "${lines[1]}" "pylock: hint: "
      assert_contains "${lines[1]}" "pylock shim install --dir DIR"
      assert_not_contains "$output" "PROBE-RAN"
    done
  done
}

@test "shim install writes its manifest 0644 and the shims trust it, whatever the umask" {
  local m
  for m in 000 002 077; do
    rm -rf "$BATS_TEST_TMPDIR/u$m"
    (umask "$m" && "$PL" shim install --dir "$BATS_TEST_TMPDIR/u$m" --python "$PY" >/dev/null 2>&1)
    assert_eq "$(stat -c '%a %u' "$BATS_TEST_TMPDIR/u$m/.pylock-shims")" "644 $(id -u)"
    cd "$OUTSIDE"
    run "$BATS_TEST_TMPDIR/u$m/python3" -c 'import sys; print(sys.executable)'
    [ "$status" -eq 0 ]
    assert_eq "$output" "$REAL"
  done
}

@test "attack: shim install refuses a directory others can write, and makes nothing there" {
  local d="$BATS_TEST_TMPDIR/gw"
  mkdir -p "$d"
  chmod 775 "$d"
  run "$PL" shim install --dir "$d" --python "$PY"
  [ "$status" -eq 1 ]
  assert_contains "$output" "refusing to install shims in $d: it is owned by"
  assert_contains "$output" "with mode 0775, so someone else could rewrite the manifest"
  assert_contains "$output" "hint: install them in a directory only you (or root) can write"
  assert_eq "$(ls -A "$d")" ""
  if [ -n "${PYLOCK_FOREIGN_STICKY_DIR:-}" ]; then
    for d in "$PYLOCK_FOREIGN_STICKY_DIR" "$PYLOCK_FOREIGN_DIR"; do
      run "$PL" shim install --dir "$d" --python "$PY"
      [ "$status" -eq 1 ]
      assert_contains "$output" "refusing to install shims in $d: it is owned by root (uid 0) with mode"
      [ ! -e "$d/.pylock-shims" ] && [ ! -e "$d/python3" ]
    done
  fi
}

@test "attack: shim uninstall takes no manifest from a directory others can write, and removes nothing" {
  local d="$BATS_TEST_TMPDIR/un"
  "$PL" shim install --dir "$d" --python "$PY" >/dev/null 2>&1
  # Someone who can write the directory names links of theirs, pointing at a pylock.
  chmod 777 "$d"
  ln -s /nonexistent/pylock "$d/python3.99"
  printf 'python3.99\t/usr/bin/true\n' >>"$d/.pylock-shims"
  before=$(ls -A "$d" | sort)
  run "$PL" shim uninstall --dir "$d"
  [ "$status" -eq 1 ]
  assert_contains "$output" "refusing to take as pylock's the shims' manifest in $d: it is owned by"
  assert_contains "$output" "with mode 0777, so someone else could have written it"
  assert_eq "$(ls -A "$d" | sort)" "$before"
  # Closed again, it removes exactly what install made (and leaves the planted link).
  chmod 755 "$d"
  run "$PL" shim uninstall --dir "$d"
  [ "$status" -eq 0 ]
  [ ! -e "$d/python3" ] && [ ! -e "$d/.pylock-shims" ]
}

@test "attack: another user plants a manifest beside our shims in a sticky directory like /tmp" {
  other_user
  # Root's, mode 1777: the other user cannot touch our links but may add the manifest.
  local d=$PYLOCK_FOREIGN_STICKY_DIR mark="$PYLOCK_FOREIGN_STICKY_DIR/marker-$BATS_TEST_NUMBER"
  links "$d"
  chmod 1777 "$d/legacy"
  plant "$d" "$mark"
  cd "$OUTSIDE"
  refused "$d" "the directory is owned by " " with mode 1777, "
  run -1 "$d/python3" -c 'print("PROBE-RAN")'
  assert_contains "$output" "refusing the shim manifest in $d: the directory is owned by root (uid 0) with mode 1777"
  [ ! -e "$mark" ]
  as_other rm -f "$d/.pylock-shims" "$d/legacy/.pylock-shims" "$d/evil" "$d/legacy/evil"
  rm -rf "$d/legacy" "$d/python3" "$d/python" "$d/pip"
}

@test "attack: a manifest another user owns, in our own directory, is refused: they may rewrite it" {
  other_user
  local d="$PYLOCK_FOREIGN_STICKY_DIR/mine-$BATS_TEST_NUMBER" mark="$PYLOCK_FOREIGN_STICKY_DIR/marker-$BATS_TEST_NUMBER"
  links "$d"
  # Open for a moment (a careless chmod, an archive extracted): the other user writes the
  # manifests; the directories are ours and closed again before the shims run.
  chmod 777 "$d" "$d/legacy"
  plant "$d" "$mark"
  chmod 755 "$d" "$d/legacy"
  cd "$OUTSIDE"
  refused "$d" "it is owned by $OTHER (uid $(id -u "$OTHER")) with mode 0644"
  assert_contains "${lines[1]}" "(chown, chmod go-w $d/legacy/.pylock-shims)"
  [ ! -e "$mark" ]
}

@test "attack: a directory of shims another user owns is refused, even closed to them" {
  other_user
  local d="$PYLOCK_FOREIGN_STICKY_DIR/theirs-$BATS_TEST_NUMBER" mark="$PYLOCK_FOREIGN_STICKY_DIR/marker-$BATS_TEST_NUMBER"
  as_other sh -c 'mkdir -p "$1/legacy" && for n in python3 python pip; do
      ln -s "$2" "$1/$n" && ln -s "$3" "$1/legacy/$n"; done' _ "$d" "$FRONT" "$PL"
  plant "$d" "$mark"
  as_other chmod 555 "$d/legacy" "$d"
  cd "$OUTSIDE"
  refused "$d" "the directory is owned by $OTHER (uid $(id -u "$OTHER")) with mode 0555"
  [ ! -e "$mark" ]
  as_other chmod -R u+w "$d"
  as_other rm -rf "$d"
}

@test "attack: a group- or world-writable manifest is refused, even naming the real interpreter" {
  local mark="$BATS_TEST_TMPDIR/marker" m
  links "$BATS_TEST_TMPDIR/gw"
  evil_manifest "$BATS_TEST_TMPDIR/gw/.pylock-shims" "$mark"
  evil_manifest "$BATS_TEST_TMPDIR/gw/legacy/.pylock-shims" "$mark"
  cd "$OUTSIDE"
  for m in 664 646 666; do
    chmod "$m" "$BATS_TEST_TMPDIR/gw/.pylock-shims" "$BATS_TEST_TMPDIR/gw/legacy/.pylock-shims"
    refused "$BATS_TEST_TMPDIR/gw" "it is owned by $(id -un) (uid $(id -u)) with mode 0$m"
  done
  [ ! -e "$mark" ]
  # The manifest install made, made group-writable: refused too (not a fallback to PATH).
  chmod g+w "$SHIMS/.pylock-shims"
  run -1 "$SHIMS/python3" -c 'print("PROBE-RAN")'
  assert_contains "$output" "refusing the shim manifest $SHIMS/.pylock-shims: it is owned by"
  assert_not_contains "$output" "PROBE-RAN"
  # One that cannot be read: refused as well, never a fallback.
  chmod 0 "$SHIMS/.pylock-shims"
  run -1 "$SHIMS/python3" -c 'print("PROBE-RAN")'
  assert_contains "$output" "cannot check the shim manifest $SHIMS/.pylock-shims: Permission denied; not running anything"
  assert_not_contains "$output" "PROBE-RAN"
  chmod 644 "$SHIMS/.pylock-shims"
  run -0 "$SHIMS/python3" -c 'print("PROBE-RAN")'
  assert_eq "$output" "PROBE-RAN"
}

@test "attack: a manifest that is a symbolic link is refused, never followed" {
  local d="$BATS_TEST_TMPDIR/ln" mark="$BATS_TEST_TMPDIR/marker" target
  links "$d"
  target="$BATS_TEST_TMPDIR/elsewhere"
  evil_manifest "$target" "$mark"
  chmod 644 "$target"
  ln -s "$target" "$d/.pylock-shims"
  ln -s "$target" "$d/legacy/.pylock-shims"
  cd "$OUTSIDE"
  refused "$d" "it is a symbolic link owned by $(id -un)"
  [ ! -e "$mark" ]
  # A link to the good manifest install made: refused all the same.
  ln -sfn "$SHIMS/.pylock-shims" "$d/.pylock-shims"
  run -1 "$d/python3" -c 'print("PROBE-RAN")'
  assert_contains "$output" "refusing the shim manifest $d/.pylock-shims: it is a symbolic link"
}

@test "a hand-made link with no manifest still finds the real interpreter on PATH" {
  local d="$BATS_TEST_TMPDIR/bare"
  links "$d"
  cd "$OUTSIDE"
  run -0 env PATH="$d:$(dirname "$PY"):/usr/bin:/bin" python3 -c 'print("found")'
  assert_eq "$output" "found"
}

# ------------------------------------------------------------- a shim inside `pylock run`

# probe_pkg PROJECT WHERE: a package in PROJECT's current generation saying WHERE.
probe_pkg() {
  local pkg
  pkg="$("$PL" -C "$1" info layer)$(interp purelib "$1" | sed "s|^$(interp prefix "$1")||")/trust_probe"
  mkdir -p "$pkg"
  echo "WHERE = \"$2\"" >"$pkg/__init__.py"
}

# legacy_shims: $SHIMS/legacy, the same manifest with links straight to pylock.
legacy_shims() {
  mkdir -p "$SHIMS/legacy"
  cp "$SHIMS/.pylock-shims" "$SHIMS/legacy/"
  local n
  for n in python3 python pip; do ln -sfn "$PL" "$SHIMS/legacy/$n"; done
}

PROBE='import os, sys
try:
    import trust_probe; where = trust_probe.WHERE
except ImportError:
    where = "none"
print(where, sys.executable, os.readlink("/proc/self/ns/user"), sys.argv[1:])'

@test "inside pylock run a shim runs the environment's interpreter, in the project or out of it" {
  probe_pkg "$PROJ" PROBE-P
  legacy_shims
  local py
  py=$(interp python)
  cd "$PROJ"
  # By path (a #! line, a subprocess naming it): the front end, and a link to pylock.
  run "$PL" run sh -c 'readlink /proc/self/ns/user
    for s in "$1" "$1/legacy"; do
      cd "$3" && "$s/python3" -c "$2" in && cd "$4" && "$s/python3" -c "$2" out &&
        "$s/python" -c "$2" python || exit
    done' _ "$SHIMS" "$PROBE" "$PROJ" "$OUTSIDE"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  local ns=${lines[0]}
  [ "$ns" != "$(readlink /proc/self/ns/user)" ]
  assert_eq "${#lines[@]}" 7
  for i in 1 4; do
    assert_eq "${lines[$i]}" "PROBE-P $py $ns ['in']"
    assert_eq "${lines[$((i + 1))]}" "PROBE-P $py $ns ['out']"
    assert_eq "${lines[$((i + 2))]}" "PROBE-P $py $ns ['python']"
  done
  # Exit status and stdin pass through; pip is the environment's and read-only.
  run "$PL" run sh -c 'echo hi | "$1/python3" -c "import sys; print(input()); sys.exit(7)"' _ "$SHIMS"
  [ "$status" -eq 7 ]
  assert_eq "$output" "hi"
  run "$PL" run "$SHIMS/pip" install six
  [ "$status" -eq 1 ]
  assert_contains "$output" "read-only"
  assert_contains "$output" "pylock install six"
}

@test "inside one project's sandbox a shim never runs another project's environment" {
  local p=$PROJ q="$BATS_TEST_TMPDIR/q" py
  new_project "$q" # sets PROJ
  PROJ=$p
  probe_pkg "$PROJ" PROBE-P
  probe_pkg "$q" PROBE-Q
  py=$(interp python)
  cd "$PROJ"
  # In Q's tree: still P's environment, the one this sandbox holds.
  run "$PL" run sh -c 'cd "$1" && "$2/python3" -c "$3"' _ "$q" "$SHIMS" "$PROBE"
  [ "$status" -eq 0 ]
  assert_contains "$output" "PROBE-P $py "
  # Code in the sandbox naming Q as its project: no sandbox of Q's is found here; refused.
  run "$PL" run sh -c 'cd "$1" && PYLOCK_PROJECT="$1" "$2/python3" -c "$3"' _ "$q" "$SHIMS" "$PROBE"
  [ "$status" -eq 1 ]
  assert_contains "$output" "pylock (python3 shim): inside a sandbox (PYLOCK_PROJECT=$q) that is not that project's own"
  assert_not_contains "$output" "PROBE-Q"
  assert_not_contains "$output" "PROBE-P"
}

@test "attack: code in the sandbox cannot point the shim at a state of its own" {
  probe_pkg "$PROJ" PROBE-P
  local state fake="$BATS_TEST_TMPDIR/fake-state" mark="$BATS_TEST_TMPDIR/fake-ran"
  state=$(dirname "$(dirname "$(state_dir)")")
  printf '#!/bin/sh\ntouch "%s"\n' "$mark" >"$BATS_TEST_TMPDIR/evil-python"
  chmod 755 "$BATS_TEST_TMPDIR/evil-python"
  cd "$PROJ"
  # A copy of the state it can write, its interpreter record naming another program.
  run "$PL" run sh -c 'cp -a "$1" "$2" && chmod -R u+w "$2" &&
    for f in "$2"/projects/*/interp; do
      sed -i "s|^python=.*|python=$3|" "$f" || exit 9
    done &&
    PYLOCK_STATE_DIR="$2" "$4/python3" -c "print(\"PROBE-RAN\")"' _ "$state" "$fake" "$BATS_TEST_TMPDIR/evil-python" "$SHIMS"
  [ "$status" -eq 1 ] || { echo "$output"; return 1; }
  assert_contains "$output" "inside a sandbox (PYLOCK_PROJECT=$PROJ) that is not that project's own"
  [ ! -e "$mark" ]
  # PYLOCK_SHIM=off inside: the manifest's real interpreter, still in the sandbox.
  run "$PL" run sh -c 'readlink /proc/self/ns/user; PYLOCK_SHIM=off "$1/python3" -c "$2"' _ "$SHIMS" "$PROBE"
  [ "$status" -eq 0 ]
  assert_contains "${lines[1]}" " $REAL ${lines[0]} []"
}

@test "outside any sandbox, PYLOCK_PROJECT alone changes nothing: the front end hands over to pylock" {
  probe_pkg "$PROJ" PROBE-P
  cd "$OUTSIDE"
  run env PYLOCK_PROJECT="$PROJ" "$SHIMS/python3" -c "$PROBE"
  [ "$status" -eq 0 ]
  assert_eq "$output" "none $REAL $(readlink /proc/self/ns/user) []"
}

# The shims read at most 8 KiB of manifest (a longer one is none: cut, its last line could name
# a prefix of its program); shim install must not write one they would ignore.  An interpreter
# whose real path is ~1,700 characters makes five entries of more than that.
@test "shim install refuses a manifest longer than the shims read, and writes nothing" {
  deb=$(readlink -f /usr/bin/python3 2>/dev/null) || skip "no /usr/bin/python3 to copy"
  d=$(mktemp -d "$HOME/long.XXXXXX") # not in /tmp: shim install refuses an interpreter there
  for _ in 1 2 3 4 5 6 7 8 9; do d="$d/$(printf 'd%.0s' $(seq 1 190))"; done
  mkdir -p "$d"
  cp "$deb" "$d/python3" # Debian's interpreter runs from anywhere (its prefix is built in)
  "$d/python3" -c pass || skip "a copy of $deb does not run from elsewhere"
  run "$PL" shim install --dir "$BATS_TEST_TMPDIR/long-shims" --python "$d/python3"
  [ "$status" -ne 0 ]
  assert_contains "$output" "more than the 8192 the shims read"
  assert_contains "$output" "hint: the shims name the interpreter by its real path"
  [ ! -e "$BATS_TEST_TMPDIR/long-shims/.pylock-shims" ]
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/long-shims" 2>/dev/null)" ]
  rm -rf "${d%%/ddd*}"
}
