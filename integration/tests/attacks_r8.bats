#!/usr/bin/env bats
# pylock-test: once
# Attacks on what `pylock registry add/index/withdraw/sign` sign again,
# by anyone who can write the registry's directory or the directories
# above it (code in a sandbox of a project that holds it, an object store).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export PYLOCK_KEEPALIVE=0
  "$PL" key generate >/dev/null
  # The registry sits below a directory a sandbox can write (a project's).
  PROJ="$BATS_TEST_TMPDIR/proj"
  REG="$PROJ/pub/reg"
  mkdir -p "$PROJ/pub"
  SIXW=six-1.16.0-py3-none-any.whl IDNAW=idna-3.3-py3-none-any.whl
  SIX="$FIX/wheels/$SIXW" IDNA="$FIX/wheels/$IDNAW"
  CERTIFI="$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

make_reg() {
  "$PL" -q registry init "$REG" "$@"
  "$PL" -q registry add "$REG" "$SIX"
}

reg_digest() {
  (cd "$1" && find . -mindepth 1 -printf '%p %y %m\n' | LC_ALL=C sort &&
    find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

@test "attack: a directory above the registry swapped for a link does not shed pylock's record" {
  make_reg
  cp -a "$REG" "$BATS_TEST_TMPDIR/then"
  "$PL" -q registry withdraw "$REG" six==1.16.0
  # The attacker puts the older registry (six still published) back, under
  # another real path: pub becomes a link to a directory of theirs.
  mkdir "$PROJ/other"
  cp -a "$BATS_TEST_TMPDIR/then" "$PROJ/other/reg"
  mv "$PROJ/pub" "$PROJ/pub.was"
  ln -s other "$PROJ/pub"
  local before
  before=$(reg_digest "$PROJ/other/reg")
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "signed the older registry put back: $status $stderr"; return 1; }
  assert_contains "$stderr" "timestamp.json changed since it was signed"
  assert_eq "$(reg_digest "$PROJ/other/reg")" "$before"
}
