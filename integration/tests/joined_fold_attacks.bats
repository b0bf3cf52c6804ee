#!/usr/bin/env bats
# pylock-test: once
# The joined run (the front end entering a keep-alive holder's namespaces)
# does not read the generation's folds: it trusts that the run which
# spawned the holder checked them for the same state root and generation,
# and that a generation never changes once built.  Attacks on that: the
# state restored, swapped, re-pointed or rolled back while a holder lives.
# Each attack fails: no fold leading out of the state's cache is followed,
# and nothing planted there is imported.  Also: the cache moved elsewhere
# and linked back.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load store_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/idna-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$FIX/p"
  "$PL" -q -C "$FIX/p" install six idna
  cp "$FIX/p/pylock.toml" "$FIX/lock.toml"
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$FIX/config"
  export PYLOCK_KEEPALIVE=0
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
}

teardown() {
  local p
  for p in $(pgrep -u "$(id -u)" -f "^pylock-keep [0-9]+ $BATS_TEST_TMPDIR/" 2>/dev/null); do
    kill "$p" 2>/dev/null || true
  done
  chmod -R u+rwx "$BATS_TEST_TMPDIR" 2>/dev/null || true
  [ -z "${LINK:-}" ] || rm -f "$LINK"
  [ -z "${MOVED:-}" ] || { chmod -R u+w "$MOVED" 2>/dev/null; rm -rf "$MOVED"; }
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

fold() {
  echo "$(gen_dir purelib)/$1"
}

# start_holder: a first run of PROJ that leaves a keep-alive holder; its pid
# in HOLDER.
start_holder() {
  local rec
  rec="$(state_dir)/run/keepalive"
  PYLOCK_KEEPALIVE=30 "$PL" -C "$PROJ" run true
  for _ in $(seq 50); do [ -s "$rec" ] && break; nap 0.05; done
  HOLDER=$(cut -d' ' -f3 "$rec")
  [ "$(cat "/proc/$HOLDER/comm")" = pylock-keep ] ||
    { echo "no holder: $(cat "$rec")" >&2; return 1; }
}

holder_alive() {
  [ "$(cat "/proc/$HOLDER/comm" 2>/dev/null)" = pylock-keep ]
}

plant() {
  mkdir -p "$1"
  printf 'import os\nopen(os.path.join(%s, "forged-ran"), "w").close()\nprint("FORGED")\n__version__ = "forged"\n' \
    "'$BATS_TEST_TMPDIR'" >"$1/__init__.py"
}

# joined_import: `import idna` through the front end, a holder wanted.
joined_import() {
  run --separate-stderr env PYLOCK_KEEPALIVE=30 "$PL" -C "$PROJ" run python3 -c \
    'import idna; print(idna.__version__)'
}

# The state restored in place (cp -a, rsync, tar -x into the live state)
# from a state of the same project built at another path: the generation
# keeps its name and directory, its folds now lead to the other state's
# cache (gone, and planted by whoever can write there), and the holder
# spawned before the restore still lives and names that generation.
@test "a_generation_restored_in_place_has_its_joined_runs_refused" {
  local other="$BATS_TEST_TMPDIR/other" target live copy
  XDG_STATE_HOME="$other" "$PL" -q -C "$PROJ" sync
  live="$(state_dir)/$(readlink "$(state_dir)/current")"
  copy="$(XDG_STATE_HOME="$other" state_dir)/$(readlink "$(XDG_STATE_HOME="$other" state_dir)/current")"
  start_holder
  chmod -R u+w "$live" "$copy"
  cp -a "$copy/." "$live/"
  target=$(readlink "$(fold idna)")
  assert_contains "$target" "$other/pylock/cache/trees/"
  chmod -R u+w "$other" && rm -rf "$other" && plant "$target"
  holder_alive
  joined_import
  [ "$status" -eq 1 ] || { echo "$status $output $stderr"; return 1; }
  assert_contains "$stderr" "idna leads to $target, outside pylock's cache"
  assert_not_contains "$output$stderr" FORGED
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
}

# The same with only the fold replaced in place, the generation otherwise
# as built.
@test "a_fold_replaced_in_place_has_its_joined_runs_refused" {
  local target new
  start_holder
  target=$(readlink "$(fold idna)")
  new="$BATS_TEST_TMPDIR/elsewhere/pylock/cache/trees/${target#"$STATE/cache/trees/"}"
  plant "$new"
  chmod u+w "$(gen_dir purelib)"
  ln -sfn "$new" "$(fold idna)"
  chmod u-w "$(gen_dir purelib)"
  holder_alive
  joined_import
  [ "$status" -eq 1 ] || { echo "$status $output $stderr"; return 1; }
  assert_contains "$stderr" "idna leads to $new, outside pylock's cache $STATE/cache/trees"
  assert_not_contains "$output$stderr" FORGED
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
}

# The generation directory replaced whole under its name by one whose fold
# leads out (the record in run/ kept): the holder's overlay still shows the
# directory it was made of, but a run must not proceed on a generation whose
# folds lead out of the cache.
@test "a_generation_replaced_under_its_name_has_its_joined_runs_refused" {
  local sd gen target new
  start_holder
  sd=$(state_dir)
  gen=$(readlink "$sd/current")
  target=$(readlink "$(fold idna)")
  new="$BATS_TEST_TMPDIR/elsewhere/pylock/cache/trees/${target#"$STATE/cache/trees/"}"
  plant "$new"
  chmod u+w "$sd/generations"
  cp -a "$sd/$gen" "$sd/$gen.copy"
  mv "$sd/$gen" "$sd/$gen.old"
  mv "$sd/$gen.copy" "$sd/$gen"
  chmod u+w "$(gen_dir purelib)"
  ln -sfn "$new" "$(fold idna)"
  holder_alive
  joined_import
  assert_not_contains "$output$stderr" FORGED
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
  [ "$status" -eq 1 ] || { echo "$status $output $stderr"; return 1; }
  assert_contains "$stderr" "idna leads to $new, outside pylock's cache"
}

# The state root swapped for a copy of itself (moved to another disk and
# back) while a holder lives: in the holder's namespace its read-only bind
# went with the old directory, and the copy at the path is writable there.
# Nothing joins it; no run can write the state, and the folds lead only into
# the state's own cache.
@test "a_state_root_swapped_for_its_copy_is_never_writable_in_a_joined_run" {
  start_holder
  cp -a "$STATE" "$STATE.copy" 2>/dev/null || true
  mv "$STATE" "$STATE.old"
  mv "$STATE.copy" "$STATE"
  chmod -R u+w "$STATE.old"
  plant "$STATE.old/x" # (not reachable by any fold)
  run --separate-stderr env PYLOCK_KEEPALIVE=30 "$PL" -C "$PROJ" run python3 -c '
import os, sys, idna
s = sys.argv[1]
try:
    open(os.path.join(s, "written"), "w").close()
    print("WROTE")
except OSError:
    print("read-only")
print(idna.__version__)' "$STATE"
  [ "$status" -eq 0 ] || { echo "$status $output $stderr"; return 1; }
  assert_eq "$output" "read-only
3.3"
  [ ! -e "$STATE/written" ]
}

# The state reached through a symbolic link re-pointed to a copy made while
# a holder lived (its record and its folds copied with it) after the
# original went: the copy is another root, refused until a sync.
@test "a_state_link_repointed_to_a_copy_has_its_joined_runs_refused" {
  local a="$BATS_TEST_TMPDIR/a" b="$BATS_TEST_TMPDIR/b" target
  LINK="$HOME/.joined-fold-attacks-$BATS_TEST_NUMBER-$$"
  local link="$LINK"
  mkdir -p "$a"
  mv "$XDG_STATE_HOME/pylock" "$a/pylock"
  ln -s "$a" "$link"
  export XDG_STATE_HOME="$link"
  "$PL" -q -C "$PROJ" sync
  start_holder
  target=$(readlink "$(fold idna)")
  cp -a "$a" "$b" 2>/dev/null || true
  ln -sfn "$b" "$link"
  chmod -R u+w "$a" && rm -rf "$a" && plant "$target"
  joined_import
  [ "$status" -eq 1 ] || { echo "$status $output $stderr"; return 1; }
  assert_contains "$stderr" "idna leads to $target, outside pylock's cache $b/pylock/cache/trees"
  assert_not_contains "$output$stderr" FORGED
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
}

# A moved state synced where it is now (a new generation, its folds good)
# with a holder for that, then its previous generation (folds to the old
# place) made current again: the holder is for another generation.
@test "a_previous_generation_made_current_under_a_holder_is_refused" {
  local old="$XDG_STATE_HOME" new="$BATS_TEST_TMPDIR/moved" target prev
  prev=$(readlink "$(state_dir)/current")
  target=$(readlink "$(fold idna)")
  mv "$old" "$new"
  export XDG_STATE_HOME="$new"
  STATE="$new/pylock"
  "$PL" -q -C "$PROJ" sync
  start_holder
  plant "$target"
  # pylock rollback checks the previous generation's folds; by hand:
  chmod u+w "$(state_dir)"
  ln -sfn "$prev" "$(state_dir)/current.new" && mv -T "$(state_dir)/current.new" "$(state_dir)/current"
  joined_import
  [ "$status" -eq 1 ] || { echo "$status $output $stderr"; return 1; }
  assert_contains "$stderr" "idna leads to $target, outside pylock's cache"
  assert_not_contains "$output$stderr" FORGED
  [ ! -e "$BATS_TEST_TMPDIR/forged-ran" ]
}

# Once a hole: sync refuses a state whose cache is a link, but runs followed
# the folds through it.  A user who moves the cache to where caches go
# (~/.cache, which every sandbox may write) and links it back has every
# environment run trees any sandboxed code can change.  Runs are refused
# now, fresh and joined (the holder's stamp holds what the cache is), and
# nothing written there is imported.
@test "a_cache_moved_into_a_sandbox_writable_place_and_linked_back_is_not_followed" {
  local moved="$HOME/.cache/pylock-moved-cache-$BATS_TEST_NUMBER-$$" init
  MOVED=$moved
  [ -d "$HOME/.cache" ] || mkdir -p "$HOME/.cache"
  start_holder
  cp -a "$STATE/cache" "$moved" 2>/dev/null || true # not the write-only lock
  [ -d "$moved/trees" ]
  chmod -R u+w "$STATE/cache" && rm -rf "$STATE/cache"
  ln -s "$moved" "$STATE/cache"
  LINK="$STATE/cache"
  # What code in any sandbox could do there: write into idna's tree.
  init=$(find "$moved/trees" -path '*/idna/__init__.py' | head -1)
  [ -n "$init" ]
  chmod u+w "$(dirname "$init")" "$init"
  printf '\nprint("FORGED")\n' >>"$init"
  holder_alive
  local ka
  for ka in 0 30; do
    run --separate-stderr env PYLOCK_KEEPALIVE=$ka "$PL" -C "$PROJ" run python3 -c \
      'import idna; print(idna.__version__)'
    [ "$status" -eq 1 ] || { echo "keep-alive $ka: $status $output $stderr"; return 1; }
    assert_contains "$stderr" "$STATE/cache is not a directory"
    assert_contains "$stderr" "hint: pylock follows no link in its state"
    assert_not_contains "$output$stderr" FORGED
  done
}

# The cache left a directory, its trees/ moved into ~/.cache and linked
# back: the folds go through trees/ as through the cache, so that link is
# refused as the cache's is, fresh and joined.  (A mount there instead, a
# bind or a FUSE bindfs, is refused as well: tests/test_generations.c, as
# no mount can be made here where pylock would still trust the state.)
@test "a_cache_whose_trees_are_moved_into_a_sandbox_writable_place_and_linked_back_is_not_followed" {
  local moved="$HOME/.cache/pylock-moved-trees-$BATS_TEST_NUMBER-$$" init
  MOVED=$moved
  [ -d "$HOME/.cache" ] || mkdir -p "$HOME/.cache"
  start_holder
  chmod u+w "$STATE/cache"
  mv "$STATE/cache/trees" "$moved"
  ln -s "$moved" "$STATE/cache/trees"
  init=$(find "$moved/" -path '*/idna/__init__.py' | head -1)
  [ -n "$init" ]
  chmod u+w "$(dirname "$init")" "$init"
  printf '\nprint("FORGED")\n' >>"$init"
  holder_alive
  local ka
  for ka in 0 30; do
    run --separate-stderr env PYLOCK_KEEPALIVE=$ka "$PL" -C "$PROJ" run python3 -c \
      'import idna; print(idna.__version__)'
    [ "$status" -eq 1 ] || { echo "keep-alive $ka: $status $output $stderr"; return 1; }
    assert_contains "$stderr" "$STATE/cache/trees is not a directory"
    assert_contains "$stderr" "hint: pylock follows no link in its state"
    assert_not_contains "$output$stderr" FORGED
  done
}
