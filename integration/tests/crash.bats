#!/usr/bin/env bats
# pylock-test: once
# Crashes (issue 12): install, remove, sync and rollback killed with SIGKILL
# at every named step of the change (PYLOCK_PAUSE_AT stops pylock exactly
# there, so every step is hit, not only the slowest; make check kills at
# every third step, which ones changing with the day, make stress at every
# step: see kill_steps in helpers.bash), and what must hold
# after each kill and after the next command:
#   - before anything else runs: pylock.toml and the environment agree (what
#     imports inside `pylock run` is what `list --json` says is what the
#     lock pins), and `verify` passes;
#   - no process of pylock's is left (the resolver, byte-compilers);
#   - the next command finishes the change or undoes it, says which, and
#     leaves no scratch directory or temporary file anywhere;
#   - the lock is the new one exactly when the kill came after the commit.
# A longer version with random kill times is `make stress`.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load envcheck

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/idna-*.whl "$FIX"/wheels/certifi-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  # Two locks, resolved once: six, and six + idna.
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$FIX/p"
  "$PL" -q -C "$FIX/p" install six
  cp "$FIX/p/pylock.toml" "$FIX/lock-six.toml"
  "$PL" -q -C "$FIX/p" install idna
  cp "$FIX/p/pylock.toml" "$FIX/lock-six-idna.toml"
  # What the bare base interpreter has of its own.
  "$PY" -I -c "$DISTS" >"$FIX/bare.set"
}

setup() {
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  STATE="$XDG_STATE_HOME/pylock"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# The idna wheel and tree out of the cache, so that a sync fetches and unpacks.
cold_idna() {
  local sha
  sha=$(sha256sum "$FIX"/wheels/idna-*.whl | cut -c1-64)
  chmod -R u+w "$STATE/cache/trees" 2>/dev/null || true
  rm -rf "$STATE/cache/wheels/$sha.whl" "$STATE/cache/trees/$sha"-*
}

# kill_at STEP CMD...: run CMD with PYLOCK_PAUSE_AT=STEP, SIGKILL it there.
kill_at() {
  local step=$1
  shift
  PYLOCK_PAUSE_AT=$step "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/killed.err" &
  local pid=$!
  if ! wait_stopped "$pid"; then
    wait "$pid" || true
    echo "step $step was never reached: $(cat "$BATS_TEST_TMPDIR/killed.err")"
    return 1
  fi
  kill -9 "$pid"
  wait "$pid" || true
}

# check_kill OP STEP OLD NEW: after a kill at STEP of OP that changes the
# lock from OLD to NEW (files), the invariants; then the next command.
check_kill() {
  local op=$1 step=$2 old=$3 new=$4 want
  assert_no_process_left || { echo "after $op at $step"; return 1; }
  assert_agree "$op at $step, before the next command"
  # The commit point is the rename of the lock: before it, the old lock.
  case $step in committed | switched) want=$new ;; *) want=$old ;; esac
  cmp -s "$PROJ/pylock.toml" "$want" || { echo "$op at $step: pylock.toml is not $want"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "sync after $op at $step: $stderr"; return 1; }
  case $op:$step in
  install:recorded | remove:recorded) assert_contains "$stderr" "undid an interrupted change" ;;
  install:committed | remove:committed) assert_contains "$stderr" "finished an interrupted change" ;;
  esac
  assert_nothing_left || { echo "after $op at $step and a sync"; return 1; }
  assert_agree "$op at $step, after a sync"
}

@test "install_killed_at_each_step_leaves_lock_and_environment_agreeing" {
  local step
  for step in $(kill_steps resolved staged fetched compiled unpacked linked built recorded committed \
    switched); do
    cp "$FIX/lock-six.toml" "$PROJ/pylock.toml"
    "$PL" -q -C "$PROJ" sync
    cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/old.toml"
    cold_idna
    kill_at "$step" "$PL" -C "$PROJ" install idna
    check_kill install "$step" "$BATS_TEST_TMPDIR/old.toml" "$FIX/lock-six-idna.toml"
  done
}

@test "remove_killed_at_each_step_leaves_lock_and_environment_agreeing" {
  local step
  for step in $(kill_steps resolved staged linked built recorded committed switched); do
    cp "$FIX/lock-six-idna.toml" "$PROJ/pylock.toml"
    "$PL" -q -C "$PROJ" sync
    cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/old.toml"
    kill_at "$step" "$PL" -C "$PROJ" remove idna
    check_kill remove "$step" "$BATS_TEST_TMPDIR/old.toml" "$FIX/lock-six.toml"
  done
}

@test "sync_killed_at_each_step_keeps_the_old_generation_until_the_switch" {
  local step before
  for step in $(kill_steps fetched compiled unpacked linked built switch); do
    cp "$FIX/lock-six.toml" "$PROJ/pylock.toml"
    "$PL" -q -C "$PROJ" sync
    before=$("$PL" -C "$PROJ" info generation)
    cold_idna
    cp "$FIX/lock-six-idna.toml" "$PROJ/pylock.toml"
    kill_at "$step" "$PL" -C "$PROJ" sync
    assert_no_process_left
    # sync changes no lock: the environment is the old one, stale for the lock.
    assert_eq "$("$PL" -C "$PROJ" info generation)" "$before"
    run --separate-stderr "$PL" -C "$PROJ" sync
    [ "$status" -eq 0 ] || { echo "sync after a kill at $step: $stderr"; return 1; }
    assert_nothing_left
    assert_agree "sync at $step"
  done
}

@test "rollback_killed_before_its_switch_changes_nothing" {
  cp "$FIX/lock-six.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  "$PL" -q -C "$PROJ" install idna
  local before
  before=$("$PL" -C "$PROJ" info generation)
  kill_at rollback "$PL" -C "$PROJ" rollback
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$before"
  assert_agree "rollback"
  "$PL" -q -C "$PROJ" rollback
  assert_eq "$(list_set)" "$(cd "$FIX" && PROJ=$FIX/p lock_set | grep six)"
}

@test "a_killed_resolver_leaves_no_pip_and_its_scratch_is_swept_by_the_next_command" {
  cp "$FIX/lock-six.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  "$PL" -C "$PROJ" install idna 2>/dev/null &
  local pid=$! i
  # Kill it while pip runs (its scratch directory exists).
  for i in $(seq 1 400); do
    [ -n "$(find "$STATE/scratch" -mindepth 1 -maxdepth 1 2>/dev/null)" ] && break
    nap 0.02
  done
  [ -n "$(find "$STATE/scratch" -mindepth 1 -maxdepth 1)" ] || { echo "pip never started"; return 1; }
  kill -9 "$pid"
  wait "$pid" || true
  assert_no_process_left
  cmp -s "$PROJ/pylock.toml" "$FIX/lock-six.toml"
  "$PL" -q -C "$PROJ" sync
  assert_nothing_left
}
