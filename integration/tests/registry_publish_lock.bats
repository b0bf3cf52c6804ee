#!/usr/bin/env bats
# pylock-test: once
# One publisher at a time: `pylock registry add` and `index` runs on the same
# registry wait for each other instead of each publishing over what the other
# added (two adds of 10 wheels each left 10 signed, both exiting 0), and the
# lock cannot be held by anyone but the publisher.  Nothing here depends on
# the base interpreter, so the file runs once.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k1.key" >/dev/null
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  REG="$BATS_TEST_TMPDIR/reg"
  BG=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  true
}

# signed NAME: the registry in $REG signs target NAME (a client check, from its first root).
signed() {
  run --separate-stderr "$PL" registry verify "$REG" --root "$REG/1.root.json" \
    --state "$BATS_TEST_TMPDIR/state-$RANDOM" --target "$1"
  [ "$status" -eq 0 ] || { echo "$1 not signed: $stderr"; return 1; }
}

# add_two_at_once: a first add of idna paused holding the registry, a second
# add of six started meanwhile; both must be signed in the end.
add_two_at_once() {
  paused registry-publish "$PL" registry add "$REG" --key "$KEYS/k1.key" \
    "$FIX/wheels/idna-3.3-py3-none-any.whl"
  "$PL" registry add "$REG" --key "$KEYS/k1.key" "$FIX/wheels/six-1.16.0-py3-none-any.whl" \
    2>"$BATS_TEST_TMPDIR/second.err" &
  local second=$!
  BG+=("$second")
  local i
  for i in $(seq 1 200); do
    grep -q 'waiting' "$BATS_TEST_TMPDIR/second.err" && break
    nap 0.05
  done
  assert_contains "$(cat "$BATS_TEST_TMPDIR/second.err")" "another pylock is publishing to $REG; waiting for it"
  kill -0 "$second" # still waiting, not done
  resume
  [ "$RESUMED" -eq 0 ]
  wait "$second"
  signed idna-3.3-py3-none-any.whl
  signed six-1.16.0-py3-none-any.whl
  "$PL" -q registry verify "$REG" --root "$REG/1.root.json" --state "$BATS_TEST_TMPDIR/vs" --targets
}

@test "two adds at once both publish (one targets.json)" {
  "$PL" -q registry init "$REG" --key "$KEYS/k1.key" --no-project-index
  add_two_at_once
}

@test "two adds at once both publish (hashed bins, pages)" {
  "$PL" -q registry init "$REG" --key "$KEYS/k1.key" --bins 16
  add_two_at_once
}

@test "an index waits for an add, and keeps what it added" {
  "$PL" -q registry init "$REG" --key "$KEYS/k1.key" --bins 16 --no-project-index
  paused registry-publish "$PL" registry add "$REG" --key "$KEYS/k1.key" \
    "$FIX/wheels/idna-3.3-py3-none-any.whl"
  "$PL" registry index "$REG" --key "$KEYS/k1.key" 2>"$BATS_TEST_TMPDIR/index.err" &
  local ix=$!
  BG+=("$ix")
  local i
  for i in $(seq 1 200); do
    grep -q 'waiting' "$BATS_TEST_TMPDIR/index.err" && break
    nap 0.05
  done
  assert_contains "$(cat "$BATS_TEST_TMPDIR/index.err")" "waiting for it"
  resume
  [ "$RESUMED" -eq 0 ]
  wait "$ix"
  signed idna-3.3-py3-none-any.whl
  # The page of the wheel the add published exists and is signed.
  signed simple/idna/index.json
}

@test "a lock file others can read is refused, and the hint's fix works" {
  "$PL" -q registry init "$REG" --key "$KEYS/k1.key" --no-project-index
  [ "$(stat -c %a "$REG/.pylock-publish.lock")" = 600 ]
  chmod 644 "$REG/.pylock-publish.lock"
  local before
  before=$(cat "$REG/timestamp.json")
  run --separate-stderr "$PL" registry add "$REG" --key "$KEYS/k1.key" \
    "$FIX/wheels/idna-3.3-py3-none-any.whl"
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "not a lock file of yours alone"
  assert_contains "$stderr" "remove it"
  [ "$(cat "$REG/timestamp.json")" = "$before" ] # nothing published
  rm "$REG/.pylock-publish.lock"
  "$PL" -q registry add "$REG" --key "$KEYS/k1.key" "$FIX/wheels/idna-3.3-py3-none-any.whl"
  signed idna-3.3-py3-none-any.whl
}

@test "a symlink at the lock file is not followed" {
  "$PL" -q registry init "$REG" --key "$KEYS/k1.key" --no-project-index
  rm "$REG/.pylock-publish.lock"
  echo keep > "$BATS_TEST_TMPDIR/victim"
  ln -s "$BATS_TEST_TMPDIR/victim" "$REG/.pylock-publish.lock"
  run --separate-stderr "$PL" registry add "$REG" --key "$KEYS/k1.key" \
    "$FIX/wheels/idna-3.3-py3-none-any.whl"
  [ "$status" -ne 0 ]
  [ "$(cat "$BATS_TEST_TMPDIR/victim")" = keep ]
}
