#!/usr/bin/env bats
# pylock-test: once
# Every download has a deadline proportional to its signed length (issue 10,
# item 5): 30 s plus the length at 64 KiB/s (pylock-registry(5)), besides
# the stall check.  A server that trickles a wheel, targets.json or a
# .metadata at 200 bytes/s (above the 100 bytes/s under which a transfer
# counts as stalled: that check alone would wait it out) is given up on
# when the deadline passes, with one error naming the file and the
# deadline; nothing it sent is trusted or kept.  PYLOCK_FETCH_DEADLINE_FLOOR
# (a test knob that can only shorten the floor) keeps the tests short; one
# test waits out the real 30 s floor.  Nothing here depends on the base
# interpreter, so the file runs once.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" \
    "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$FIX/wheels/idna-3.3-py3-none-any.whl"
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  SIX=six-1.16.0-py3-none-any.whl
  export SIX
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
}

teardown() {
  badserver_stop
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# verify URL [options]: the client workflow against the trusted root, timed
# (TOOK, in seconds), never allowed to hang.
verify() {
  local t0=$SECONDS
  run --separate-stderr timeout 120 "$PL" registry verify "$@" --root "$FIX/trusted-root.json" \
    --state "$BATS_TEST_TMPDIR/tufstate"
  TOOK=$((SECONDS - t0))
}

@test "a wheel trickled above the stall threshold fails at its deadline, not when it ends" {
  # six is 10,253 bytes: at 200 bytes/s, 51 s; its deadline with a 2 s floor
  # is 2.2 s.
  badserver_start trickle "$FIX/reg" "$SIX"
  PYLOCK_FETCH_DEADLINE_FLOOR=2 verify "$BAD_URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "/targets/$SIX: not received within its deadline of 2.2 s (2 s, and 10253 bytes at 64 KiB/s)"
  assert_contains "$output" "failed: 1 of"
  [ "$TOOK" -lt 15 ] || { echo "took ${TOOK}s"; return 1; }
  # The server was still sending: it was the deadline, not curl's stall check.
  assert_contains "$stderr" "bytes came"
  assert_not_contains "$stderr" "Operation too slow"
}

@test "a trickled targets.json fails at its deadline, and nothing of it is trusted" {
  badserver_start trickle "$FIX/reg" targets.json
  PYLOCK_FETCH_DEADLINE_FLOOR=2 verify "$BAD_URL"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "/targets.json: not received within its deadline of 2.0 s"
  [ "$TOOK" -lt 15 ] || { echo "took ${TOOK}s"; return 1; }
}

@test "install from a trickling registry fails at the deadline and leaves the project as it was" {
  badserver_start trickle "$FIX/reg" "$SIX"
  "$PL" -q init --python "$PY" --registry "$BAD_URL" --root "$FIX/trusted-root.json" "$PROJ"
  local before t0=$SECONDS
  before=$(sha256sum <"$PROJ/pylock.toml"; cd "$(state_dir)" && find . ! -name lock ! -name change.lock ! -path './run/*' | sort)
  PYLOCK_FETCH_DEADLINE_FLOOR=2 run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  local took=$((SECONDS - t0))
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  # pip reads the PEP 658 .metadata first; either file may be the one held back.
  assert_contains "$stderr" "$SIX"
  assert_contains "$stderr" "not received within its deadline"
  [ "$took" -lt 30 ] || { echo "took ${took}s"; return 1; }
  assert_eq "$(sha256sum <"$PROJ/pylock.toml"; cd "$(state_dir)" && find . ! -name lock ! -name change.lock ! -path './run/*' | sort)" "$before"
}

@test "a fast server is unaffected by a short floor" {
  badserver_start trickle "$FIX/reg" no-such-file
  PYLOCK_FETCH_DEADLINE_FLOOR=1 verify "$BAD_URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "verified: 7 targets" # 2 wheels, .metadata, pages; the marker
}

@test "the real deadline is 30 s plus the length at 64 KiB/s; the knob cannot lengthen it" {
  # The same trickle: 51 s to send six; the real deadline gives up at 30.2 s.
  badserver_start trickle "$FIX/reg" "$SIX"
  PYLOCK_FETCH_DEADLINE_FLOOR=100000 verify "$BAD_URL" --targets # longer is ignored
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "/targets/$SIX: not received within its deadline of 30.2 s (30 s, and 10253 bytes at 64 KiB/s)"
  [ "$TOOK" -ge 29 ] && [ "$TOOK" -lt 45 ] || { echo "took ${TOOK}s"; return 1; }
}
