#!/usr/bin/env bats
# pylock-test: once
# pylock cache dir / clean (issue 13): the shared cache is sealed read-only,
# so `rm -rf` cannot remove it; `pylock cache clean` can, under the cache
# lock, without following a symlink or leaving the cache's mount.  It keeps
# every tree a generation names (a generation's package directories are
# symlinks into its trees), so the environments built from it keep working,
# and removes every wheel and every other tree.  Real registry, real wheels.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load gc_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" \
    "$FIX"/wheels/{idna,six,toml}-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  # One lock made once (pip takes seconds); each test syncs it into a
  # state root of its own.
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$FIX/locks"
  "$PL" -q -C "$FIX/locks" install idna six
  cp "$FIX/locks/pylock.toml" "$FIX/lock.toml"
  "$PL" -q -C "$FIX/locks" install toml
  cp "$FIX/locks/pylock.toml" "$FIX/lock-toml.toml"
  lock_without "$FIX/lock.toml" "$FIX/lock-idna.toml" six
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
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

# A project trusting the fixture registry, synced from the shared lock
# (idna and six) or from $FIX/LOCK.toml.
synced_project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$PROJ"
  cp "$FIX/${1:-lock}.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  CACHE=$("$PL" cache dir)
}

# The project's lock: $FIX/LOCK.toml.
use() {
  cp "$FIX/$1.toml" "$PROJ/pylock.toml"
}

# The project's current generation, N.
current_n() {
  readlink "$(state_dir)/current" | cut -d/ -f2
}

# The cache tree of the wheel whose file name starts with PREFIX, as the
# manifest of the project's current generation names it.
tree_of() {
  awk -v w="$1" '$1 == "tree" && index($4, w) == 1 { print $2 }' \
    "$(state_dir)/generations/$(current_n).manifest"
}

# The project's environment imports MODULES and verifies.
env_works() {
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c "import $1"
  [ "$status" -eq 0 ] || { echo "import $1: $stderr"; return 1; }
  assert_verified
}

# Entries of the cache's trees/ and wheels/, one per line.
cache_entries() {
  (cd "$CACHE" && find trees wheels -mindepth 1 -maxdepth 1 | sort)
}

@test "cache dir prints the state root's cache and creates nothing" {
  run --separate-stderr "$PL" cache dir
  [ "$status" -eq 0 ]
  assert_eq "$output" "$XDG_STATE_HOME/pylock/cache"
  [ ! -e "$XDG_STATE_HOME" ]
  PYLOCK_STATE_DIR="$BATS_TEST_TMPDIR/elsewhere" run "$PL" cache dir
  assert_eq "$output" "$BATS_TEST_TMPDIR/elsewhere/cache"
}

@test "cache clean removes every wheel and unused tree, keeps the trees the environment uses, and it keeps working" {
  synced_project
  six=$(tree_of six-)
  [ -n "$six" ]
  [ "$(cache_wheels | wc -l)" -eq 2 ]
  # What a user tries first: thousands of "Permission denied".
  run rm -rf "$CACHE/trees"
  [ "$status" -ne 0 ]
  assert_contains "$output" "Permission denied"
  [ "$(ls "$CACHE/trees" | wc -l)" -eq 2 ]
  # Garbage: a tree no generation names (a copy under another sha256), a
  # partial tree, a damaged entry moved aside.
  junk=$(printf 'f%.0s' $(seq 64))
  cp -a "$CACHE/trees/$six" "$CACHE/trees/$junk-${six#*-}"
  mkdir -p "$CACHE/trees/.tmp-$junk-0000000000000001" "$CACHE/quarantine/$six-1700000000-00000001"
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 1 tree(s), 2 wheel(s) and 2 other entries from "
  assert_contains "$stderr" "; kept 2 tree(s) that environments use (they go with their generations: pylock gc)"
  [ "$(named_trees | wc -l)" -eq 2 ]
  assert_eq "$(cache_trees)" "$(named_trees)"
  assert_eq "$(cache_wheels)" ""
  [ ! -e "$CACHE/quarantine" ]
  [ -f "$CACHE/lock" ]
  [ -f "$CACHE/trees/$six/.complete" ]
  # The generation's folded directories point into the trees it kept.
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna, six; print(six.__version__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "1.16.0"
  assert_verified
  # A second project with the same lock is made of the trees kept: no wheel
  # is fetched, so it builds offline too, and nothing is unpacked.
  P2="$BATS_TEST_TMPDIR/p2"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$P2"
  cp "$FIX/lock.toml" "$P2/pylock.toml"
  run --separate-stderr "$PL" -C "$P2" sync --offline
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "0 fetched, 0 unpacked"
  assert_eq "$(cache_wheels)" ""
  assert_verified "$P2"
  # Again: nothing more to remove.
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 0 tree(s), 0 wheel(s) and 0 other entries"
  assert_eq "$(cache_trees)" "$(named_trees)"
}

# The wheels are gone (cache clean), and the tree a new generation would be
# made of is found damaged: the sync fetches that wheel again, through the
# signature checks, and builds the tree from it; offline, it says it cannot
# and moves nothing.
@test "a kept tree found damaged after cache clean is built again from its wheel, fetched again" {
  synced_project
  six=$(tree_of six-)
  "$PL" -q cache clean
  [ -z "$(cache_wheels)" ]
  f=$(find "$CACHE/trees/$six" -name six.py)
  [ -n "$f" ]
  chmod u+w "$(dirname "$f")" "$f"
  echo 'print("FORGED")' >>"$f"
  chmod a-w "$(dirname "$f")" "$f"
  P2="$BATS_TEST_TMPDIR/p2"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$P2"
  cp "$FIX/lock.toml" "$P2/pylock.toml"
  # Offline, the wheel cannot be had: the sync says so and leaves the tree
  # where it is, for the generation that folds into it (not quarantined).
  run --separate-stderr "$PL" -C "$P2" sync --offline
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "the cached tree of six 1.16.0 is damaged"
  assert_contains "$stderr" "and --offline cannot build it again: its wheel is not in the cache"
  assert_contains "$stderr" "hint: run again without --offline"
  [ -d "$CACHE/trees/$six" ]
  [ -z "$(ls -A "$CACHE/quarantine" 2>/dev/null)" ]
  run --separate-stderr "$PL" -C "$P2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "1 fetched, 1 unpacked"
  assert_eq "$(cache_wheels)" "$(grep -o '[0-9a-f]\{64\}' <<<"$six").whl"
  run --separate-stderr "$PL" -C "$P2" run python3 -c 'import six; print(six.__version__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "1.16.0"
  assert_verified "$P2"
}

@test "cache clean keeps the previous generation's trees for a rollback, and older ones' until pylock gc" {
  synced_project lock-toml
  toml=$(tree_of toml-)
  first=$(current_n)
  [ -n "$toml" ]
  # A sync that drops toml: the previous generation still names its tree.
  use lock
  "$PL" -q -C "$PROJ" sync
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 0 tree(s), 3 wheel(s)"
  assert_contains "$stderr" "kept 3 tree(s)"
  [ -f "$CACHE/trees/$toml/.complete" ]
  "$PL" -q -C "$PROJ" rollback
  use lock-toml
  env_works "idna, six, toml"
  "$PL" -q -C "$PROJ" rollback
  use lock
  env_works "idna, six"
  # One more change: the toml generation is neither current nor previous,
  # but still there (clean removes no generation): its tree stays.
  use lock-idna
  "$PL" -q -C "$PROJ" sync
  [ -d "$(state_dir)/generations/$first" ]
  # That sync was made of the trees kept: it fetched no wheel.
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 0 tree(s), 0 wheel(s)"
  assert_contains "$stderr" "kept 3 tree(s)"
  [ -f "$CACHE/trees/$toml/.complete" ]
  # pylock gc removes that generation (and init's empty one), and the tree
  # only it used with it; six stays, the previous generation's.
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "removed 2 generation(s)"
  assert_contains "$stderr" "1 cache tree(s)"
  [ ! -e "$CACHE/trees/$toml" ]
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 0 tree(s), 0 wheel(s) and 0 other entries"
  assert_contains "$stderr" "kept 2 tree(s)"
  assert_eq "$(cache_trees)" "$(named_trees)"
  env_works idna
  "$PL" -q -C "$PROJ" rollback
  use lock
  env_works "idna, six"
}

@test "cache clean removes the tree a killed sync made, which no generation names, and keeps the used one" {
  synced_project lock-idna
  idna=$(tree_of idna-)
  # A sync adding six, killed once its generation's files are linked, before
  # the generation has its manifest and its name.
  use lock
  paused linked "$PL" -C "$PROJ" sync
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  six=$(cache_trees | grep -vx "$idna")
  [ -n "$six" ] && [ "$(cache_trees | wc -l)" -eq 2 ]
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 1 tree(s), 2 wheel(s)"
  assert_contains "$stderr" "kept 1 tree(s)"
  assert_eq "$(cache_trees)" "$idna"
  assert_eq "$(cache_wheels)" ""
  use lock-idna
  env_works idna
  # The sync done again fetches and unpacks six again.
  use lock
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "1 unpacked"
  env_works "idna, six"
}

@test "cache clean keeps every tree while a generation has no manifest, and says which" {
  synced_project
  cur=$(current_n)
  junk=$(printf 'f%.0s' $(seq 64))
  six=$(tree_of six-)
  cp -a "$CACHE/trees/$six" "$CACHE/trees/$junk-${six#*-}"
  # As an older pylock left it (or damaged).
  rm -f "$(state_dir)/generations/$cur.manifest"
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "kept every cache tree: generation $cur of "
  assert_contains "$stderr" "a sync of that project writes one"
  assert_contains "$stderr" "cache clean removed 0 tree(s), 2 wheel(s)"
  assert_contains "$stderr" "kept 3 tree(s)"
  [ -d "$CACHE/trees/$junk-${six#*-}" ]
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna, six'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "cache clean with no cache yet removes nothing and succeeds" {
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "cache clean waits for a sync using the cache, and removes nothing when it gives up" {
  synced_project
  before=$(cache_entries)
  # A second project's sync, stopped while it holds the cache lock (its
  # wheels fetched, its trees not yet linked).
  P2="$BATS_TEST_TMPDIR/p2"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$P2"
  cp "$FIX/lock.toml" "$P2/pylock.toml"
  PYLOCK_PAUSE_AT=fetched "$PL" -q -C "$P2" sync 2>"$BATS_TEST_TMPDIR/sync.err" &
  pid=$!
  BG+=("$pid")
  wait_stopped "$pid" || { cat "$BATS_TEST_TMPDIR/sync.err"; return 1; }
  run --separate-stderr "$PL" cache clean --wait 1
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "still in use"
  assert_contains "$stderr" "pylock cache clean --wait SECONDS"
  assert_eq "$(cache_entries)" "$before"
  # Let the sync finish; then clean gets the lock.
  kill -CONT "$pid"
  wait "$pid"
  assert_verified "$P2"
  run --separate-stderr "$PL" cache clean --wait 5
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # The generation the sync made names the same trees: they stay.
  assert_contains "$stderr" "kept 2 tree(s)"
  assert_eq "$(cache_trees)" "$(named_trees)"
  assert_eq "$(cache_wheels)" ""
}

@test "attack: symlinks planted in the cache are removed, never followed" {
  synced_project
  victim="$BATS_TEST_TMPDIR/victim"
  mkdir -p "$victim/dir"
  echo precious >"$victim/file"
  echo precious >"$victim/dir/inner"
  # Whatever could put them there: a link for a tree, for a wheel, for the
  # quarantine, and one inside a tree no generation names (a copy, made
  # writable) and one inside a tree a generation names.
  ln -s "$victim/dir" "$CACHE/trees/$(printf 'a%.0s' $(seq 64))-0123456789abcdef"
  ln -s "$victim/file" "$CACHE/wheels/$(printf 'b%.0s' $(seq 64)).whl"
  ln -s "$victim" "$CACHE/quarantine"
  tree=$(find "$CACHE/trees" -mindepth 1 -maxdepth 1 -type d | head -n1)
  copy="$CACHE/trees/$(printf 'c%.0s' $(seq 64))-${tree##*-}"
  cp -a "$tree" "$copy"
  chmod u+w "$copy" "$tree"
  ln -s "$victim" "$copy/zz-link"
  ln -s "$victim" "$tree/zz-link"
  chmod u-w "$tree"
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 2 tree(s), 3 wheel(s) and 1 other entry"
  assert_eq "$(cache_trees)" "$(named_trees)"
  assert_eq "$(cache_wheels)" ""
  [ ! -e "$CACHE/quarantine" ] && [ ! -L "$CACHE/quarantine" ]
  [ -L "$tree/zz-link" ] # kept with its tree, not followed
  assert_eq "$(cat "$victim/file")" "precious"
  assert_eq "$(cat "$victim/dir/inner")" "precious"
  assert_eq "$(stat -c %a "$victim/dir")" "$(stat -c %a "$victim")"
}

@test "attack: code in a sandbox can neither clean nor plant anything in the cache" {
  synced_project
  before=$(cache_entries)
  cd "$PROJ"
  # pylock itself, run from inside: the state root is read-only there.
  run "$PL" run "$PL" cache clean --wait 0
  [ "$status" -ne 0 ]
  run "$PL" run sh -c "ln -s / '$CACHE/trees/evil' || exit 3; echo planted"
  [ "$status" -ne 0 ]
  assert_not_contains "$output" "planted"
  run "$PL" run sh -c "chmod u+w '$CACHE/trees' && echo opened"
  assert_not_contains "$output" "opened"
  assert_eq "$(cache_entries)" "$before"
  [ ! -e "$CACHE/trees/evil" ]
}

@test "a permission error in the cache names pylock cache clean" {
  synced_project
  "$PL" -q cache clean
  # A cache directory made unwritable (by hand, say): the next fetch (of
  # toml, whose tree is not cached) fails.
  chmod 0500 "$CACHE/wheels"
  use lock-toml
  run --separate-stderr "$PL" -C "$PROJ" sync
  chmod 0700 "$CACHE/wheels"
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "Permission denied"
  assert_contains "$stderr" "hint: the cache is sealed read-only; to empty it: pylock cache clean"
}

@test "cache --help, usage errors and an unknown subcommand" {
  run "$PL" cache --help
  [ "$status" -eq 0 ]
  assert_contains "$output" "usage: pylock cache dir"
  run "$PL" cache
  [ "$status" -eq 2 ]
  run "$PL" cache purge
  [ "$status" -eq 2 ]
  assert_contains "$output" "unknown subcommand 'purge'"
  run "$PL" cache clean --wait forever
  [ "$status" -eq 2 ]
  assert_eq "${#lines[@]}" 1
}
