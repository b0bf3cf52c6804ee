#!/usr/bin/env bats
# pylock-test: once
# make stress: 100 SIGKILLs at random moments of install, remove, sync and
# rollback (cold and warm cache), each followed by the checks of
# tests/crash.bats: the lock and the environment agree, verify passes, no
# process of pylock's is left, and after the next command no scratch and
# no temporary file.  Prints how the kills fell (old or new state kept).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load envcheck

KILLS=${PYLOCK_STRESS_KILLS:-100}

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  # The key in the home's keys directory (helpers.bash): pylock refuses
  # private keys under /tmp, where $FIX is.
  "$PL" key generate -o "$KEYS/stress.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/stress.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/stress.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  STATE="$XDG_STATE_HOME/pylock"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

check() {
  assert_no_process_left || { echo "$1"; return 1; }
  assert_agree "$1"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$1: next sync: $stderr"; return 1; }
  assert_nothing_left || { echo "$1"; return 1; }
}

@test "stress: ${KILLS} SIGKILLs at random moments of install, remove, sync and rollback" {
  "$PY" -I -c "$DISTS" >"$FIX/bare.set"
  local i op delay pid before after kept_old=0 kept_new=0 finished=0
  local ops=("install six" "install idna" "remove six" "sync" "rollback" "install requests")
  for i in $(seq 1 "$KILLS"); do
    op=${ops[RANDOM % ${#ops[@]}]}
    if [ $((RANDOM % 4)) -eq 0 ]; then
      chmod -R u+w "$STATE/cache" 2>/dev/null && rm -rf "$STATE/cache"
    fi
    before=$(sha256sum "$PROJ/pylock.toml" | cut -c1-64)
    delay=$((RANDOM % 3000))
    # shellcheck disable=SC2086
    "$PL" -q -C "$PROJ" $op >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
    if kill -9 "$pid" 2>/dev/null; then :; else finished=$((finished + 1)); fi
    wait "$pid" || true
    after=$(sha256sum "$PROJ/pylock.toml" | cut -c1-64)
    if [ "$before" = "$after" ]; then kept_old=$((kept_old + 1)); else kept_new=$((kept_new + 1)); fi
    check "kill $i ($op after ${delay} ms)"
  done
  echo "# stress: $KILLS kills; lock kept $kept_old times, changed $kept_new; $finished runs ended before their kill" >&3
}
