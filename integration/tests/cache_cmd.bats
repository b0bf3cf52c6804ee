#!/usr/bin/env bats
# pylock-test: once
# pylock cache dir / clean (issue 13): the shared cache is sealed read-only,
# so `rm -rf` cannot remove it; `pylock cache clean` can, under the cache
# lock, without following a symlink or leaving the cache's mount, and the
# environments built from it keep working.  Real registry, real wheels.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/keys"
  "$PL" key generate -o "$FIX/keys/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$FIX/keys/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$FIX/keys/k.key" \
    "$FIX"/wheels/{idna,six,toml}-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  # One lock made once (pip takes seconds); each test syncs it into a
  # state root of its own.
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$FIX/locks"
  "$PL" -q -C "$FIX/locks" install idna six
  cp "$FIX/locks/pylock.toml" "$FIX/lock.toml"
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

# A project trusting the fixture registry, synced from the shared lock.
synced_project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$PROJ"
  cp "$FIX/lock.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  CACHE=$("$PL" cache dir)
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

@test "cache clean empties the sealed cache rm -rf cannot remove, and the environment keeps working" {
  synced_project
  [ -n "$(cache_entries)" ]
  # What a user tries first: thousands of "Permission denied".
  run rm -rf "$CACHE"
  [ "$status" -ne 0 ]
  assert_contains "$output" "Permission denied"
  [ "$(ls "$CACHE/trees" | wc -l)" -eq 2 ] # rm got the wheels, not the sealed trees
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "cache clean removed 2 tree(s)"
  assert_eq "$(cache_entries)" ""
  [ -f "$CACHE/lock" ]
  # The generation's files are hard links: they stay, whole and verified.
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna, six; print(six.__version__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "1.16.0"
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  # The next change fetches and unpacks what it needs again.
  "$PL" -q -C "$PROJ" sync --repair
  [ -n "$(cache_entries)" ]
  run "$PL" -C "$PROJ" run python3 -c 'import idna'
  [ "$status" -eq 0 ]
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
  run --separate-stderr "$PL" -C "$P2" verify
  [ "$status" -eq 0 ]
  run --separate-stderr "$PL" cache clean --wait 5
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(cache_entries)" ""
}

@test "attack: symlinks planted in the cache are removed, never followed" {
  synced_project
  victim="$BATS_TEST_TMPDIR/victim"
  mkdir -p "$victim/dir"
  echo precious >"$victim/file"
  echo precious >"$victim/dir/inner"
  # Whatever could put them there: a link for a tree, for a wheel, for the
  # quarantine, and one inside a (writable again) tree.
  ln -s "$victim/dir" "$CACHE/trees/$(printf 'a%.0s' $(seq 64))-0123456789abcdef"
  ln -s "$victim/file" "$CACHE/wheels/$(printf 'b%.0s' $(seq 64)).whl"
  ln -s "$victim" "$CACHE/quarantine"
  tree=$(find "$CACHE/trees" -mindepth 1 -maxdepth 1 -type d | head -n1)
  chmod u+w "$tree"
  ln -s "$victim" "$tree/zz-link"
  run --separate-stderr "$PL" cache clean
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(cache_entries)" ""
  [ ! -e "$CACHE/quarantine" ] && [ ! -L "$CACHE/quarantine" ]
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
  # A cache directory made unwritable (by hand, say): the next fetch fails.
  chmod 0500 "$CACHE/wheels"
  run --separate-stderr "$PL" -C "$PROJ" sync --repair
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
