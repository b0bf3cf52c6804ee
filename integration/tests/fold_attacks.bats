#!/usr/bin/env bats
# pylock-test: once
# Folding (lib/envgen.h): a package's own directory at the top of
# site-packages is one absolute symbolic link into its cached tree.  Attacks
# on that: code inside `pylock run` writing through a fold or redirecting
# it, a moved state whose folds still lead to the old place, a signed wheel
# whose directory would hide the base interpreter's, and a tree a current
# generation folds into changed, removed or unsealed behind pylock's back.
# Each attack fails: nothing but the registry's signed files is imported as
# a locked package, and nothing else changes.
# Comments that say "once a hole" mark attacks that succeeded against the
# first design of folding and were closed since.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load store_helpers
load gc_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/evil"
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  # pipper: a pip/ directory of files the base's pip does not have (its
  # byte-code only), so that no file of it shadows one of the base's.
  python3 - "$FIX/evil" <<'PY'
import base64, hashlib, importlib.util, marshal, os, sys, zipfile
out, di = sys.argv[1], "pipper-1.0.dist-info"
def pyc(src):
    return importlib.util.MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(compile(src, "pip", "exec"))
files = {"pip/__init__.pyc": pyc("import sys\nsys.stderr.write('NOT THE BASE PIP\\n')\n"),
         "pip/__main__.pyc": pyc("import sys\nprint('NOT THE BASE PIP')\nsys.exit(0)\n"),
         di + "/METADATA": b"Metadata-Version: 2.1\nName: pipper\nVersion: 1.0\n",
         di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
h = lambda b: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
rec = "".join("%s,%s,%d\n" % (p, h(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
whl = os.path.join(out, "pipper-1.0-py3-none-any.whl")
with zipfile.ZipFile(whl, "w") as z:
    for p, b in list(files.items()) + [(di + "/RECORD", rec.encode())]:
        z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), b)
open(whl + ".metadata", "wb").write(files[di + "/METADATA"])
PY
  make_wheel "$FIX/evil" dirname 'clash/__init__.py=print("the directory")\n'
  make_wheel "$FIX/evil" filename 'clash=the file\n'
  # foo 1.0 and 2.0, both signed: the tree of one in the other's place.
  python3 - "$FIX/evil" <<'PY'
import base64, hashlib, os, sys, zipfile
h = lambda b: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
for v in ("1.0", "2.0"):
    di = "foo-%s.dist-info" % v
    meta = ("Metadata-Version: 2.1\nName: foo\nVersion: %s\n" % v).encode()
    files = {"foo/__init__.py": ("VERSION = %r\n" % v).encode(), di + "/METADATA": meta,
             di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    rec = "".join("%s,%s,%d\n" % (p, h(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
    whl = os.path.join(sys.argv[1], "foo-%s-py3-none-any.whl" % v)
    with zipfile.ZipFile(whl, "w") as z:
        for p, b in list(files.items()) + [(di + "/RECORD", rec.encode())]:
            z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), b)
    open(whl + ".metadata", "wb").write(meta)
PY
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/idna-*.whl "$FIX"/wheels/certifi-*.whl "$FIX"/evil/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$FIX/p"
  # Locked, not installed: the tests sync in states of their own.
  set_requested_in "$FIX/p/pylock.toml" six idna
  "$PL" -q -C "$FIX/p" lock
  cp "$FIX/p/pylock.toml" "$FIX/lock.toml"
  # The locks the tests change PROJ to (by a sync of a copy, see
  # sync_lock): two resolutions here, the others these without packages.
  local what
  for what in "six idna certifi foo==1.0" "six idna foo==2.0"; do
    # shellcheck disable=SC2086
    set_requested_in "$FIX/p/pylock.toml" $what
    "$PL" -q -C "$FIX/p" lock
    cp "$FIX/p/pylock.toml" "$FIX/lock-${what##*=}.toml"
  done
  grep -qx 'version = "1.0"' "$FIX/lock-1.0.toml" && grep -qx 'version = "2.0"' "$FIX/lock-2.0.toml"
  lock_without "$FIX/lock-1.0.toml" "$FIX/lock-foo1.toml" certifi
  lock_without "$FIX/lock-2.0.toml" "$FIX/lock-foo2.toml"
  lock_without "$FIX/lock-1.0.toml" "$FIX/lock-six-certifi.toml" idna foo
  lock_without "$FIX/lock-1.0.toml" "$FIX/lock-six.toml" idna foo certifi
}

setup() {
  # Each test attacks a state of its own, warm: PROJ synced from it.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$FIX/config"
  export PYLOCK_KEEPALIVE=0
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
}

teardown() {
  local p
  # Holders this test started (their command line names its state).
  for p in $(pgrep -u "$(id -u)" -f "^pylock-keep [0-9]+ $BATS_TEST_TMPDIR/" 2>/dev/null); do
    kill "$p" 2>/dev/null || true
  done
  chmod -R u+rwx "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# sync_lock NAME [DIR]: DIR (default PROJ) changed to setup_file's lock NAME
# (foo1, foo2: six, idna and foo 1.0 or 2.0; six; six-certifi) by a sync, a
# new generation as an install or remove of that set makes.
sync_lock() {
  cp "$FIX/lock-$1.toml" "${2:-$PROJ}/pylock.toml"
  "$PL" -q -C "${2:-$PROJ}" sync
}

# The fold of NAME in the current generation of PROJ.
fold() {
  echo "$(gen_dir purelib)/$1"
}

# purelib, relative to the prefix (where it is in a tree).
purelib_rel() {
  local prefix
  prefix=$(interp prefix)
  interp purelib | sed "s|^$prefix/||"
}

# The cached tree idna's fold leads into (trees/<key>), as a path.
idna_tree() {
  local t
  t=$(readlink "$(fold idna)")
  echo "${t%/lib/*}"
}

# start_holder DIR: a first run of DIR that leaves a keep-alive holder.
start_holder() {
  local rec
  rec="$(state_dir "$1")/run/keepalive"
  PYLOCK_KEEPALIVE=30 "$PL" -C "$1" run true
  for _ in $(seq 50); do [ -s "$rec" ] && break; nap 0.05; done
  [ "$(cat "/proc/$(cut -d' ' -f3 "$rec")/comm")" = pylock-keep ] ||
    { echo "no holder: $(cat "$rec")" >&2; return 1; }
}

# The idna a run of project DIR imports: its version, and "FORGED" if what
# ran was not the registry's.
imported_idna() {
  "$PL" -C "${1:-$PROJ}" run python3 -c 'import idna; print(idna.__version__)'
}

# plant PATH: a forged idna package at PATH (a fold's target), which says
# FORGED and leaves a mark when imported.
plant() {
  mkdir -p "$1"
  printf 'import os\nopen(os.path.join(%s, "forged-ran"), "w").close()\nprint("FORGED")\n__version__ = "forged"\n' \
    "'$BATS_TEST_TMPDIR'" >"$1/__init__.py"
}

# ---- code inside a sandbox ----

# The fold and the tree it leads to, written, created in, re-moded,
# re-timed, renamed, replaced, from inside a run: fresh, --strict, and
# joined to a keep-alive holder.  Everything is refused (the state root is
# read-only there by mount), the tree is as it was, and the next sync finds
# nothing to rebuild.
@test "code_in_a_run_cannot_write_through_a_fold_into_its_tree" {
  local tree before how
  [ -L "$(fold idna)" ]
  tree=$(idna_tree)
  before=$(tree_digest "$tree"; stat -c '%i %a %Y' "$tree" "$tree/$(purelib_rel)/idna")
  start_holder "$PROJ"
  for how in fresh strict joined; do
    local opts=() ka=0
    [ "$how" = strict ] && opts=(--strict)
    [ "$how" = joined ] && ka=30
    run --separate-stderr env PYLOCK_KEEPALIVE=$ka "$PL" -C "$PROJ" run "${opts[@]}" python3 - <<'EOF'
import os, idna
done = []
link = os.path.dirname(idna.__file__)
for d in (link, os.path.realpath(link)):
    f = os.path.join(d, "core.py")
    for what, op in (("write", lambda: open(f, "r+b").write(b"#")),
                     ("append", lambda: open(f, "ab").write(b"#")),
                     ("create", lambda: open(os.path.join(d, "evil.py"), "x").close()),
                     ("chmod", lambda: os.chmod(f, 0o666)),
                     ("chmod-dir", lambda: os.chmod(d, 0o777)),
                     ("utime", lambda: os.utime(f, (0, 0))),
                     ("rename", lambda: os.rename(f, f + ".x")),
                     ("unlink", lambda: os.unlink(f)),
                     ("rename-dir", lambda: os.rename(d, d + ".x")),
                     ("replace", lambda: (os.unlink(d), os.symlink("/tmp", d)))):
        try:
            op()
            done.append("%s %s" % (what, d))
        except OSError:
            pass
print("\n".join(done) or "none")
EOF
    [ "$status" -eq 0 ] || { echo "$how: $stderr"; return 1; }
    assert_eq "$output" "none"
  done
  assert_eq "$(tree_digest "$tree"; stat -c '%i %a %Y' "$tree" "$tree/$(purelib_rel)/idna")" \
    "$before"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "already matches"
  assert_eq "$(imported_idna)" "3.3"
}

# The state root in a place runs may write (~/.cache, /tmp): code renames
# each directory above a fold's target away to build a forged tree in its
# stead, for this run or a later one.  Each is a mount point in the sandbox
# (pinned), so none moves, and no forgery is ever imported.
@test "code_in_a_run_cannot_move_a_directory_above_a_fold_to_forge_its_tree" {
  local place how
  for place in "$HOME/.cache/fold-attacks-$BATS_TEST_NUMBER" "$BATS_TEST_TMPDIR/tmp-state"; do
    export XDG_STATE_HOME="$place/state"
    PROJ="$BATS_TEST_TMPDIR/proj-${place##*/}"
    project "$PROJ"
    [ -L "$(fold idna)" ]
    for how in fresh strict; do
      local opts=()
      [ "$how" = strict ] && opts=(--strict)
      run --separate-stderr "$PL" -C "$PROJ" run "${opts[@]}" python3 - <<'EOF'
import os, idna
target = os.readlink(os.path.dirname(idna.__file__))
moved, d = [], target
while d != "/":
    d = os.path.dirname(d)
    try:
        os.rename(d, d + ".moved")
        moved.append(d)
        os.makedirs(target)
        open(os.path.join(target, "__init__.py"), "w").write("print('FORGED')\n")
    except OSError:
        pass
print("\n".join(moved) or "none")
EOF
      [ "$status" -eq 0 ] || { echo "$place $how: $stderr"; return 1; }
      assert_eq "$output" "none"
    done
    [ ! -e "$place.moved" ] && [ ! -e "$place/state.moved" ]
    assert_eq "$(imported_idna)" "3.3"
    rm -rf "$place" 2>/dev/null || { chmod -R u+w "$place" && rm -rf "$place"; }
  done
}

# ---- a moved or copied state ----

# Once a hole: a fold names its tree by the absolute path the state had when
# the generation was built.  The state moved (another state-dir, a restored
# cache), `pylock run` followed the folds to the old place, which no sandbox
# binds read-only: whoever could write there (another user in /tmp, code run
# before that may write ~/.cache or the project) had their idna imported.
# The run is refused, fresh or through the front end with a holder kept
# from before; sync rebuilds the generation where the state is now.
@test "a_moved_state_has_its_runs_refused_not_its_old_folds_followed" {
  local old="$XDG_STATE_HOME" new="$BATS_TEST_TMPDIR/moved" target ka
  start_holder "$PROJ"
  target=$(readlink "$(fold idna)")
  mv "$old" "$new"
  export XDG_STATE_HOME="$new"
  plant "$target"
  for ka in 0 30; do
    run --separate-stderr env PYLOCK_KEEPALIVE=$ka "$PL" -C "$PROJ" run python3 -c 'import idna'
    [ "$status" -eq 1 ] || { echo "keep-alive $ka: $status $output $stderr"; return 1; }
    assert_contains "$stderr" "idna leads to $target, outside pylock's cache $new/pylock/cache/trees"
    assert_contains "$stderr" "hint: rebuild it where the state is now with: pylock sync"
    assert_not_contains "$output$stderr" FORGED
  done
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "leads out of pylock's cache: building it again"
  assert_eq "$(imported_idna)" "3.3"
  assert_eq "$(readlink "$(fold idna)")" "$new/pylock/cache/trees/${target#"$old/pylock/cache/trees/"}"
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
}

# The same for the resolver: pip runs in a sandbox laid over the current
# generation (a .pth file there may import a folded package).  With the
# state copied elsewhere, and its old copy forged, `pylock install` is
# refused before pip runs; pylock.toml and the generation stay as they were.
@test "a_copied_state_has_the_resolver_refused_not_its_old_folds_followed" {
  local old="$XDG_STATE_HOME" new="$BATS_TEST_TMPDIR/copied" target gen lock
  target=$(readlink "$(fold idna)")
  cp -a "$old" "$new" 2>/dev/null || true # not the write-only locks
  [ -d "$new/pylock/cache/trees" ] && [ -d "$(state_dir)" ]
  export XDG_STATE_HOME="$new"
  chmod -R u+w "$old" && rm -rf "$target" && plant "$target"
  gen=$("$PL" -C "$PROJ" info generation)
  lock=$(sha256sum <"$PROJ/pylock.toml")
  run --separate-stderr "$PL" -C "$PROJ" install certifi
  [ "$status" -eq 1 ] || { echo "$status $output $stderr"; return 1; }
  assert_contains "$stderr" "idna leads to $target, outside pylock's cache $new/pylock/cache/trees"
  assert_not_contains "$stderr" "resolving"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock"
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
}

# ---- a hostile registry ----

# Once a hole: the installer refuses a wheel with a file the base
# interpreter has (pylock-registry(5) SHADOWING), and a directory of the
# generation merges with the base's of that name.  A fold is a link, and a
# link hides the base's directory whole: a signed wheel of pip/__init__.pyc
# and pip/__main__.pyc (no file the base's pip has) replaced the base's pip
# in every run and in the resolver.  Such a name is never folded.
@test "a_signed_wheel_cannot_hide_a_base_package_behind_a_fold" {
  [ -d "$(interp purelib)/pip" ] || skip "the base has no pip in its purelib"
  run --separate-stderr "$PL" -C "$PROJ" install pipper
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -d "$(fold pip)" ] && [ ! -L "$(fold pip)" ]
  [ -L "$(fold idna)" ] # the rest is folded still
  run --separate-stderr "$PL" -C "$PROJ" run python3 -m pip --version
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "from $(interp purelib)/pip "
  assert_not_contains "$output$stderr" "NOT THE BASE PIP"
  # The resolver runs the base's pip too.
  run --separate-stderr "$PL" -C "$PROJ" install certifi
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$output$stderr" "NOT THE BASE PIP"
}

# Two signed wheels, one with a directory `clash`, the other a file of that
# name: the name is in two trees, so neither is folded, and linking finds
# the conflict as it always did, naming both; nothing changes.
@test "a_directory_and_a_file_of_one_name_in_two_wheels_conflict_not_fold" {
  local gen lock
  gen=$("$PL" -C "$PROJ" info generation)
  lock=$(sha256sum <"$PROJ/pylock.toml")
  run --separate-stderr "$PL" -C "$PROJ" install dirname filename
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "site-packages/clash"
  assert_contains "$stderr" "File exists"
  # Named as the conflict it is, between the two distributions.
  assert_contains "$stderr" "conflicting files:"
  assert_contains "$stderr" "is shipped by both "
  assert_contains "$stderr" "dirname-1.0.dist-info"
  assert_contains "$stderr" "filename-1.0.dist-info"
  assert_contains "$stderr" "remove one of the two from the requirements"
  assert_not_contains "$stderr" "damaged"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock"
  [ -z "$(ls -A "$STATE/cache/quarantine" 2>/dev/null)" ]
}

# ---- a process of the user changing the tree a current generation folds into ----

# A file of the tree written (its mtime now): the generation's own
# fingerprint covers its link, not the tree, so the no-op sync checks each
# tree a generation folds into; it finds the change and builds both again.
@test "a_file_of_a_folded_tree_written_is_found_by_the_next_sync" {
  local f
  f="$(idna_tree)/$(purelib_rel)/idna/core.py"
  chmod u+w "$(dirname "$f")" "$f"
  echo 'print("FORGED")' >>"$f"
  chmod a-w "$(dirname "$f")" "$f"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged (a file in it was written, added or removed"
  assert_not_contains "$(tail -c 20 "$(readlink "$(fold idna)")/core.py")" FORGED
  assert_eq "$(imported_idna)" "3.3"
  assert_eq "$(ls "$STATE/cache/quarantine" | wc -l)" 1
}

# A module added to a folded directory of the tree, the directory's times
# put back: the walk of the tree counts the new entry.
@test "a_module_added_to_a_folded_tree_is_found_by_the_next_sync" {
  local d
  d="$(idna_tree)/$(purelib_rel)/idna"
  chmod u+w "$d"
  touch -r "$d" "$BATS_TEST_TMPDIR/when"
  echo 'print("FORGED")' >"$d/evil.py"
  chmod a-w "$d"
  touch -h -r "$BATS_TEST_TMPDIR/when" "$d"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged"
  run "$PL" -C "$PROJ" run python3 -c 'import idna.evil'
  [ "$status" -ne 0 ]
  assert_not_contains "$output" FORGED
}

# The tree moved away (its files, which the generation's .dist-info shares,
# untouched): the fold leads nowhere, so a run fails to import idna
# (nothing else is found in its place), and the next sync builds the tree
# and the generation again.
@test "a_folded_tree_removed_fails_the_import_until_the_next_sync_rebuilds_it" {
  local tree
  tree=$(idna_tree)
  mv "$tree" "$STATE/cache/trees/.gone"
  run "$PL" -C "$PROJ" run python3 -c 'import idna'
  [ "$status" -ne 0 ]
  assert_contains "$output" "No module named 'idna'"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "to a cached tree that is gone: building it again"
  assert_eq "$(imported_idna)" "3.3"
}

# The tree's seal gone (.complete removed, as a killed build leaves a tree)
# and a module added: a tree without its marker is never trusted; it is
# moved aside and built again, and the generation with it.
@test "a_folded_tree_unsealed_is_built_again_not_folded_into" {
  local tree d
  tree=$(idna_tree)
  d="$tree/$(purelib_rel)/idna"
  chmod u+w "$tree" "$d"
  rm "$tree/.complete"
  echo 'print("FORGED")' >"$d/evil.py"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is gone: building it again"
  [ -f "$tree/.complete" ] && [ ! -e "$d/evil.py" ]
  assert_eq "$(imported_idna)" "3.3"
}

# Once a hole: two sealed trees swapped (foo 1.0's and 2.0's) each pass
# their own checks, and trees/<key> names only the wheel's sha256.  The
# generation folding into foo 1.0's key ran 2.0's code under 1.0's
# .dist-info, the no-op sync found nothing, and sync --repair linked the
# same tree again.  Now the no-op sync finds the tree is not the one the
# generation was built from, and the tree in its place is not taken for
# 1.0's (its .dist-info is 2.0's): built again, each project runs its own.
@test "a_folded_tree_swapped_for_another_sealed_tree_is_found_and_built_again" {
  local other="$BATS_TEST_TMPDIR/other" one two
  sync_lock foo1
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$other"
  sync_lock foo2 "$other"
  one=$(readlink "$(fold foo)")
  two=$(readlink "$(PROJ=$other fold foo)")
  one=${one%/lib/*} two=${two%/lib/*}
  chmod u+w "$one" "$two"
  mv "$one" "$one.x" && mv "$two" "$one" && mv "$one.x" "$two"
  chmod a-w "$one" "$two"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "was built again since: building it again"
  assert_contains "$stderr" "(it holds foo-2.0.dist-info, not foo-1.0-py3-none-any.whl)"
  assert_eq "$("$PL" -C "$PROJ" run python3 -c 'import foo; print(foo.VERSION)')" "1.0"
  run --separate-stderr "$PL" -C "$other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$("$PL" -C "$other" run python3 -c 'import foo; print(foo.VERSION)')" "2.0"
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
}

# ---- gc ----

# gc removes a generation no longer current nor previous: its folds are
# links, removed as such, never followed into the tree, which another
# project's current generation still folds into.
@test "gc_removing_a_generation_never_follows_its_folds" {
  local other="$BATS_TEST_TMPDIR/other" tree before old
  project "$other"
  tree=$(idna_tree)
  before=$(tree_digest "$tree")
  old=$("$PL" -C "$PROJ" info layer)
  # The generations remove idna, install certifi and remove certifi make.
  sync_lock six
  sync_lock six-certifi
  sync_lock six
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ ! -e "$old" ]
  assert_eq "$(tree_digest "$tree")" "$before"
  assert_eq "$(imported_idna "$other")" "3.3"
}

# Once a hole: rollback switched to the previous generation without a look
# at the trees it folds into, so a tree gone or written since made an
# environment without that package, or with the changed code.  Now it
# refuses, says why and what to do, and changes nothing.
@test "rollback_refuses_a_previous_generation_whose_folded_tree_changed" {
  local one gen f
  sync_lock foo1
  one=$(readlink "$(fold foo)")
  one=${one%/lib/*}
  sync_lock foo2
  gen=$("$PL" -C "$PROJ" info generation)
  f="$one/$(purelib_rel)/foo/__init__.py"
  chmod u+w "$(dirname "$f")" "$f"
  echo 'print("FORGED")' >>"$f"
  chmod a-w "$(dirname "$f")" "$f"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "the previous generation cannot be rolled back to: generation "
  assert_contains "$stderr" "is damaged (a file in it was written, added or removed"
  assert_contains "$stderr" "run: pylock sync"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  # Gone: the same.
  chmod u+w "$one"
  mv "$one" "$STATE/cache/trees/.gone"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "leads to a cached tree that is gone"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  assert_eq "$("$PL" -C "$PROJ" run python3 -c 'import foo; print(foo.VERSION)')" "2.0"
}
