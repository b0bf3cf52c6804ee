#!/usr/bin/env bats
# pylock-test: once
# Attacks on how a sync replaces a cached tree it found damaged: the swap of
# the tree built again for the damaged one, the damaged tree of the other
# kind (a source tree where the sync builds complete trees, a complete tree
# where it builds source trees), concurrent syncs of other projects on the
# same state root, crashes at the pause points, and what sits at a tree's
# name.  Each test performs the attack and asserts that it fails: no damaged
# bytes are imported where the registry's were promised, no project loses a
# package, and `pylock verify` passes.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load pause_helpers
load gc_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/good.key" >/dev/null
  "$PL" -q registry init "$FIX/good" --key "$KEYS/good.key"
  cp "$FIX/good/1.root.json" "$FIX/good-root.json"
  "$PL" -q registry add "$FIX/good" --key "$KEYS/good.key" "$FIX"/wheels/{idna,six}-*.whl
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/good" --root "$FIX/good-root.json" "$FIX/l-good"
  # Locked, not installed: the tests sync in states of their own.
  set_requested_in "$FIX/l-good/pylock.toml" six idna
  "$PL" -q -C "$FIX/l-good" lock
  cp "$FIX/l-good/pylock.toml" "$FIX/lock-good.toml"
  GOOD_IDNA=$(unzip -p "$FIX/wheels/"idna-*.whl idna/core.py | sha256sum | cut -d' ' -f1)
  export GOOD_IDNA
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0 PYLOCK_COMPILE=before-switch
  STATE="$XDG_STATE_HOME/pylock"
  CACHE="$STATE/cache"
  PROJ="$BATS_TEST_TMPDIR/proj"
  P2="$BATS_TEST_TMPDIR/p2"
  BG=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null || true; done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# project DIR: a project at DIR on the registry, the lock of six and idna.
project() {
  "$PL" -q init --python "$PY" --registry "$FIX/good" --root "$FIX/good-root.json" "$1"
  cp "$FIX/lock-good.toml" "$1/pylock.toml"
}

current_n() {
  readlink "$(state_dir "${1:-$PROJ}")/current" | cut -d/ -f2
}

# The cache tree of the wheel whose file name starts with PREFIX, as the
# manifest of project DIR's current generation names it.
tree_of() {
  awk -v w="$1" '$1 == "tree" && index($4, w) == 1 { print $2 }' \
    "$(state_dir "${2:-$PROJ}")/generations/$(current_n "${2:-$PROJ}").manifest"
}

# sha256 of idna/core.py as project DIR's environment imports it.
imported_idna_core() {
  "$PL" -C "${1:-$PROJ}" run python3 -c \
    'import hashlib, idna.core as c; print(hashlib.sha256(open(c.__file__, "rb").read()).hexdigest())'
}

# as_writable DIR CMD...: CMD run with DIR writable, DIR's mode as it was after.
as_writable() {
  local d=$1 mode rc=0
  shift
  mode=$(stat -c %a "$d")
  chmod u+w "$d"
  "$@" || rc=$?
  chmod "$mode" "$d"
  return $rc
}

# damage TREE: idna/core.py in cache tree TREE appended to (its stat
# fingerprint changes); its path in DAMAGED, its sha256 in BAD.
damage() {
  DAMAGED=$(find "$CACHE/trees/$1" -path '*/idna/core.py')
  [ -n "$DAMAGED" ]
  as_writable "$(dirname "$DAMAGED")" sh -c \
    "chmod u+w '$DAMAGED' && echo '# damaged' >>'$DAMAGED' && chmod a-w '$DAMAGED'"
  BAD=$(sha256sum <"$DAMAGED" | cut -d' ' -f1)
  [ "$BAD" != "$GOOD_IDNA" ]
}

# damaged_idna: project $PROJ synced, idna's tree in its cache damaged (its
# name in IDNA), and a second project $P2 made, not yet synced.
damaged_idna() {
  project "$PROJ"
  "$PL" -q -C "$PROJ" sync
  IDNA=$(tree_of idna-)
  damage "$IDNA"
  project "$P2"
}

# source_generation DIR: project DIR synced from source trees, its
# byte-compiling killed before it began: its generation folds into them.
source_generation() {
  PYLOCK_COMPILE=after-switch-wait paused usable "$PL" -C "$1" sync
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  [[ "$(tree_of idna- "$1")" == *.src ]]
}

# Another project's generation, made of source trees (its byte-compiling
# never ran), folds into idna's source tree.  A sync building complete trees
# finds that source tree damaged: it was quarantined at once, though the
# sync builds no source tree again, and the other project lost idna.
@test "attack: a damaged source tree another project folds into stays until built again in its place" {
  project "$PROJ"
  source_generation "$PROJ"
  local src
  src=$(tree_of idna-)
  damage "$src"
  assert_eq "$(imported_idna_core)" "$BAD"
  project "$P2"
  run --separate-stderr "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "the cached source tree of idna 3.3 is damaged"
  # Not "building it again": this sync builds complete trees, not that one.
  assert_contains "$stderr" "not used here; projects still using it get a sound one at their next sync"
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_verified "$P2"
  # The other project still imports its idna (the system's has none to lend).
  [ -d "$CACHE/trees/$src" ]
  assert_eq "$(imported_idna_core)" "$BAD"
  # Its next sync byte-compiles it: the registry's idna.
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_verified
}

# A sync that makes source trees first (compile after the switch) finds a
# complete tree damaged: it quarantined it at once, and every project whose
# generation folds into it lost the package until the byte-compiling built
# it again -- for good, when that was killed.
@test "attack: a damaged complete tree stays for other projects while a sync compiling after the switch builds it again" {
  damaged_idna
  local idna=$IDNA
  PYLOCK_COMPILE=after-switch-wait paused usable "$PL" -C "$P2" sync
  grep -q "the cached tree of idna 3.3 is damaged (.*): building it again with the byte-code, after the switch" \
    "$BATS_TEST_TMPDIR/paused.err" || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$BAD"
  # Killed there: the other project still has idna.
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$BAD"
  # The next sync finishes the byte-compiling: it builds the tree again and
  # swaps it in, and both projects import the registry's idna.
  run --separate-stderr "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_eq "$(ls "$CACHE/quarantine" | wc -l)" 1
  assert_verified "$P2"
  assert_verified
}

# The same, when only --repair's full check sees the damage (one byte
# changed in place, size and mtime kept): the byte-compiling after the
# switch, whose own check is the cheap one, must not link the damaged tree
# and call it repaired.
@test "attack: sync --repair compiling after the switch never links a damaged complete tree only its full check sees" {
  project "$PROJ"
  "$PL" -q -C "$PROJ" sync
  local idna f mt
  idna=$(tree_of idna-)
  f=$(find "$CACHE/trees/$idna" -path '*/idna/core.py')
  mt=$(stat -c %Y "$f")
  as_writable "$(dirname "$f")" sh -c "chmod u+w '$f' && printf '#' | dd of='$f' bs=1 seek=0 conv=notrunc status=none && chmod a-w '$f' && touch -d @$mt '$f'"
  [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "$GOOD_IDNA" ]
  project "$P2"
  "$PL" -q -C "$P2" sync
  run --separate-stderr env PYLOCK_COMPILE=after-switch-wait "$PL" -C "$P2" sync --repair
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "the cached tree of idna 3.3 is damaged"
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  [ "$(tree_of idna- "$P2")" = "$idna" ]
  assert_verified "$P2"
  assert_verified
}

# Killed at the swap, the damaged tree's root unsealed: nothing moved, no
# project lost idna, and the next sync replaces it.
@test "attack: a sync killed with the damaged tree's root unsealed for the swap leaves it to the next" {
  damaged_idna
  local idna=$IDNA
  paused replace "$PL" -C "$P2" sync
  [ "$(stat -c %a "$CACHE/trees/$idna")" = 755 ]
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$BAD"
  run --separate-stderr "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_verified "$P2"
  assert_verified
}

# Two projects' syncs replace the same damaged tree: the one that swaps
# second finds another tree there, the first one's, and takes it; neither
# takes the damaged one, and only one tree is quarantined.
@test "attack: two syncs replacing one damaged tree both end on the registry's bytes" {
  damaged_idna
  local idna=$IDNA p3="$BATS_TEST_TMPDIR/p3"
  project "$p3"
  paused replace "$PL" -C "$P2" sync
  run --separate-stderr "$PL" -C "$p3" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  local p
  for p in "$PROJ" "$P2" "$p3"; do
    assert_eq "$(imported_idna_core "$p")" "$GOOD_IDNA"
    assert_verified "$p"
  done
  assert_eq "$(ls "$CACHE/quarantine" | wc -l)" 1
}

# While a sync waits to swap, the damaged tree's name is made a symbolic
# link to another tree (the other project's fold then follows it): the sync
# never follows it nor takes what it leads to.
@test "attack: a symbolic link put at a damaged tree's name during its swap is never taken" {
  damaged_idna
  local idna=$IDNA six
  six=$(tree_of six-)
  paused replace "$PL" -C "$P2" sync
  mv "$CACHE/trees/$idna" "$CACHE/trees/aside"
  ln -s "$CACHE/trees/$six" "$CACHE/trees/$idna"
  resume
  [ ! -L "$CACHE/trees/$idna" ]
  if [ "$RESUMED" -eq 0 ]; then
    assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
    assert_verified "$P2"
  fi
  run --separate-stderr "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_verified "$P2"
}

# A tree whose marker is damaged (it no longer parses) or gone is damaged
# like one whose files are: it was quarantined (or removed) the moment a
# sync opened it, and every project folding into it lost the package.
@test "attack: a cached tree whose marker is damaged stays for other projects until built again in its place" {
  project "$PROJ"
  "$PL" -q -C "$PROJ" sync
  local idna m
  idna=$(tree_of idna-)
  m="$CACHE/trees/$idna/.complete"
  as_writable "$CACHE/trees/$idna" sh -c "chmod u+w '$m' && echo 'not a marker' >'$m' && chmod a-w '$m'"
  project "$P2"
  paused compiled "$PL" -C "$P2" sync
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_eq "$(ls "$CACHE/quarantine" | wc -l)" 1
  assert_verified "$P2"
  assert_verified
}

@test "attack: a cached tree whose marker is gone stays for other projects until built again in its place" {
  project "$PROJ"
  "$PL" -q -C "$PROJ" sync
  local idna
  idna=$(tree_of idna-)
  as_writable "$CACHE/trees/$idna" rm -f "$CACHE/trees/$idna/.complete"
  project "$P2"
  paused compiled "$PL" -C "$P2" sync
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_verified "$P2"
  assert_verified
}

# A sync --repair that compiles after the switch finds a damaged complete
# tree only its full check sees; killed before its byte-compiling, the tree
# is left where it is (other projects fold into it).  The sync that finishes
# the byte-compiling checks trees the cheap way only: it must still know
# the tree for damaged, never link it.
@test "attack: a damaged tree left for the byte-compiling after the switch is never linked by the sync that finishes it" {
  project "$PROJ"
  "$PL" -q -C "$PROJ" sync
  local idna f mt
  idna=$(tree_of idna-)
  f=$(find "$CACHE/trees/$idna" -path '*/idna/core.py')
  mt=$(stat -c %Y "$f")
  as_writable "$(dirname "$f")" sh -c "chmod u+w '$f' && printf '#' | dd of='$f' bs=1 seek=0 conv=notrunc status=none && chmod a-w '$f' && touch -d @$mt '$f'"
  project "$P2"
  "$PL" -q -C "$P2" sync
  PYLOCK_COMPILE=after-switch-wait paused usable "$PL" -C "$P2" sync --repair
  grep -q "the cached tree of idna 3.3 is damaged" "$BATS_TEST_TMPDIR/paused.err"
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$(sha256sum <"$f" | cut -d' ' -f1)"
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  [ -d "$CACHE/trees/$idna" ]
  run --separate-stderr "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_verified "$P2"
  assert_verified
}

# Where the filesystem has no exchanging rename (renameat2's RENAME_EXCHANGE
# fails EINVAL: the helper no-rename-exchange makes it so), the damaged tree
# goes to quarantine first, then the tree built again takes its name: both
# projects import the registry's bytes, and the damaged tree is kept aside.
@test "a sync where renames cannot exchange replaces a damaged tree: quarantined, then the new one in place" {
  [ -x "$PYLOCK_BIN/no-rename-exchange" ] ||
    { echo "build the helpers: make build/helpers/no-rename-exchange"; return 1; }
  damaged_idna
  local idna=$IDNA
  run --separate-stderr "$PYLOCK_BIN/no-rename-exchange" "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ "$(tree_of idna- "$P2")" = "$idna" ]
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_eq "$(ls "$CACHE/quarantine" | wc -l)" 1
  assert_eq "$(find "$CACHE/quarantine" -path '*/idna/core.py' -exec sha256sum {} + | cut -d' ' -f1)" "$BAD"
  assert_verified "$P2"
  assert_verified
}

# The same, killed in the window that way has: the damaged tree is in
# quarantine and the name is empty.  A project folding into it then fails to
# import idna (it never imports the damaged bytes), and the next sync builds
# the tree again in place.
@test "attack: a sync killed between quarantining a damaged tree and placing the new one leaves no damaged bytes" {
  damaged_idna
  local idna=$IDNA
  paused replace-moved "$PYLOCK_BIN/no-rename-exchange" "$PL" -C "$P2" sync
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  [ ! -e "$CACHE/trees/$idna" ]
  run "$PL" -C "$PROJ" run python3 -c 'import idna.core'
  [ "$status" -ne 0 ]
  assert_contains "$output" "No module named 'idna'"
  run --separate-stderr "$PYLOCK_BIN/no-rename-exchange" "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_idna_core "$P2")" "$GOOD_IDNA"
  assert_eq "$(imported_idna_core)" "$GOOD_IDNA"
  assert_verified "$P2"
  assert_verified
}
