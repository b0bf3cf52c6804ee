#!/usr/bin/env bats
# pylock-test: once
# Corruption (issue 12): damage to a cached file, a cached wheel, a
# generation or the `current` link is found and repaired, never spread to
# another project; every hint pylock prints about it names a command that
# then succeeds (each hint is run here).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
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
  # Each test damages a state of its own.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$FIX/config"
  export PYLOCK_KEEPALIVE=0
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# flip FILE [keep-times]: one byte changed in place; with keep-times the
# file's times are put back (what bits rotting on disk look like).
flip() {
  local f=$1 keep=${2:-}
  local m mode
  m=$(stat -c %y "$f")
  mode=$(stat -c %a "$f")
  chmod u+w "$f"
  python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "r+b").write(b)' "$f"
  chmod "$mode" "$f"
  if [ -n "$keep" ]; then touch -m -d "$m" "$f"; fi
}

imports_six() {
  "$PL" -C "${1:-$PROJ}" run python3 -c 'import six; print(six.__version__)'
}

# run_hint TEXT: the command in the last "pylock: hint:" line of TEXT that
# follows "with: " or ": pylock", run in the project; it must succeed.
run_hint() {
  local cmd
  cmd=$(printf '%s\n' "$1" | sed -n 's/^pylock: hint: .*\(pylock [a-z][^;,(]*\).*$/\1/p' | tail -1)
  [ -n "$cmd" ] || { echo "no command in the hint: $1"; return 1; }
  cmd=${cmd%% }
  echo "# hint: $cmd" >&3
  # shellcheck disable=SC2086
  run --separate-stderr "$PL" -C "$PROJ" ${cmd#pylock }
  [ "$status" -eq 0 ] || { echo "the hint's command failed: $cmd: $stderr"; return 1; }
}

assert_verified() {
  run --separate-stderr "$PL" -C "${1:-$PROJ}" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
}

@test "a_cached_file_written_in_place_is_found_by_sync_quarantined_and_rebuilt" {
  flip "$(six_in_tree)"
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "six.py"
  run_hint "$stderr"
  assert_verified
  # Plain sync finds it too, without hashing: a second project's flip.
  flip "$(six_in_tree)"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "changed since it was built"
  assert_contains "$stderr" "is damaged"
  assert_verified
  [ -n "$(ls "$STATE/cache/quarantine")" ]
  imports_six
}

@test "a_damaged_cached_tree_never_reaches_a_new_project" {
  flip "$(six_in_tree)"
  local other="$BATS_TEST_TMPDIR/other"
  unsynced "$other"
  run --separate-stderr "$PL" -C "$other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged"
  assert_verified "$other"
}

@test "bit_rot_that_keeps_sizes_and_times_is_found_by_verify_and_repaired_by_its_hint" {
  flip "$(six_in_tree)" keep-times
  # Nothing cheap can see this: sync keeps the environment...
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ]
  assert_contains "$stderr" "already matches"
  # ...verify hashes, and its hint repairs.
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "modified: "
  assert_contains "$stderr" "pylock sync --repair"
  run_hint "$stderr"
  assert_verified
  imports_six
}

@test "a_corrupt_cached_wheel_is_quarantined_and_fetched_again_through_the_signature_check" {
  local sha
  sha=$(sha256sum "$FIX"/wheels/six-*.whl | cut -c1-64)
  flip "$STATE/cache/wheels/$sha.whl"
  chmod -R u+w "$STATE/cache/trees" && rm -rf "$STATE/cache/trees/$sha"-*
  local other="$BATS_TEST_TMPDIR/other"
  unsynced "$other"
  run --separate-stderr "$PL" -C "$other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged"
  assert_contains "$stderr" "fetching it again"
  [ "$(sha256sum "$STATE/cache/wheels/$sha.whl" | cut -c1-64)" = "$sha" ]
  assert_verified "$other"
}

@test "a_deleted_current_generation_is_rebuilt_and_run_s_hint_works" {
  local gen
  gen=$("$PL" -C "$PROJ" info layer)
  chmod -R u+w "$gen" && rm -rf "$gen"
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c pass
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "missing"
  run_hint "$stderr"
  assert_contains "$stderr" "is missing: building it again"
  assert_verified
  imports_six
}

@test "a_current_link_that_is_a_regular_file_is_restored" {
  local s
  s=$(state_dir)
  rm "$s/current" && echo junk >"$s/current"
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c pass
  [ "$status" -eq 1 ]
  run_hint "$stderr"
  [ -L "$s/current" ]
  assert_verified
  imports_six
}

@test "a_file_added_to_the_generation_makes_sync_rebuild_it" {
  local purelib
  purelib=$(gen_dir purelib)
  chmod u+w "$purelib"
  echo 'import os' >"$purelib/evil.pth"
  chmod u-w "$purelib"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ]
  assert_contains "$stderr" "changed since it was built"
  [ ! -e "$(gen_dir purelib)/evil.pth" ]
  assert_verified
}

@test "a_generation_without_its_record_is_rebuilt" {
  local s gen
  s=$(state_dir)
  gen=$(readlink "$s/current")
  rm "$s/$gen.meta"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ]
  assert_contains "$stderr" "no record"
  assert_verified
}

# A tree is checked as it is linked (its stat fingerprint, then its
# manifest against the hash its marker holds): what fails either is built
# again before the new generation can become current.
@test "a_cached_tree_whose_manifest_was_rewritten_is_rebuilt_for_a_new_project" {
  local six tree m
  six=$(six_in_tree)
  tree=${six#"$STATE/cache/trees/"}
  tree="$STATE/cache/trees/${tree%%/*}"
  m="$tree/.manifest"
  [ -f "$m" ]
  chmod u+w "$tree" "$m"
  # The attacker's manifest: six.py with another hash, as a swapped file would need.
  python3 -c 'import sys; p = sys.argv[1]; t = open(p).read().splitlines(True)
i = next(k for k, l in enumerate(t) if l.rstrip().endswith("/six.py"))
t[i] = ("0" if t[i][0] != "0" else "1") + t[i][1:]
open(p, "w").write("".join(t))' "$m"
  chmod a-w "$tree" "$m"
  local other="$BATS_TEST_TMPDIR/other"
  unsynced "$other"
  run --separate-stderr "$PL" -C "$other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged (its manifest is not the one it was built with)"
  assert_verified "$other"
  imports_six "$other"
  [ -n "$(ls "$STATE/cache/quarantine")" ]
}

@test "a_file_added_to_a_cached_tree_is_found_while_linking_and_never_linked" {
  local site
  site=$(dirname "$(six_in_tree)")
  chmod u+w "$site"
  echo 'import os; open(os.environ["HOME"] + "/pwned", "w")' > "$site/evil_startup.pth"
  chmod a-w "$site"
  local other="$BATS_TEST_TMPDIR/other"
  unsynced "$other"
  run --separate-stderr "$PL" -C "$other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "written, added or removed since it was built"
  assert_verified "$other"
  run "$PL" -C "$other" run python3 -c 'import os, sys; print([p for p in sys.path if os.path.exists(p + "/evil_startup.pth")])'
  [ "$status" -eq 0 ]
  [ "$output" = "[]" ]
}
