#!/usr/bin/env bats
# pylock-test: once
# Configuration files (pylock-config(5)): what they change, what overrides
# them, how mistakes are reported, and that a joining run never reads them.

load helpers

setup() {
  new_project
  cd "$PROJ"
  rec="$PROJ/.pylock/run/keepalive-$(id -u)"
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" PYLOCK_SYSCONFDIR="$BATS_TEST_TMPDIR/etc"
  mkdir -p "$XDG_CONFIG_HOME/pylock" "$PYLOCK_SYSCONFDIR"
  unset PYLOCK_KEEPALIVE PYLOCK_CACHE_DIR
}

teardown() {
  rm -f "$rec" # the holder, if any, sees its record gone and leaves
}

user_config() { printf '%s\n' "$@" > "$XDG_CONFIG_HOME/pylock/config.toml"; }

wait_for_record() {
  for _ in $(seq 50); do [ -s "$rec" ] && return 0; sleep 0.05; done
  return 1
}

@test "keepalive = 0 in the user file starts no holder; PYLOCK_KEEPALIVE overrides it" {
  user_config "keepalive = 0"
  "$PL" run true
  sleep 0.3
  [ ! -e "$rec" ]
  PYLOCK_KEEPALIVE=30 "$PL" run true
  wait_for_record
}

@test "the user file overrides the system file" {
  printf 'keepalive = 0\n' > "$PYLOCK_SYSCONFDIR/config.toml"
  "$PL" run true
  sleep 0.3
  [ ! -e "$rec" ]
  user_config "keepalive = 30"
  "$PL" run true
  wait_for_record
}

@test "a misspelt key fails the command, naming the file, the line and the known keys" {
  user_config "# mine" "keep-alive = 5"
  run "$PL" run true
  [ "$status" -eq 1 ]
  assert_contains "$output" "$XDG_CONFIG_HOME/pylock/config.toml, line 2: unknown key 'keep-alive'"
  assert_contains "$output" "keepalive, cache-dir, ca-bundle"
  [ ! -e "$rec" ]
}

@test "a run that joins a holder reads no configuration file" {
  user_config "keepalive = 30"
  "$PL" run true
  wait_for_record
  user_config "this is not TOML"
  holder=$(cut -d' ' -f3 "$rec")
  run "$PL" run readlink /proc/self/ns/mnt
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(readlink /proc/"$holder"/ns/mnt)"
}

@test "cache-dir from the configuration holds the cache; PYLOCK_CACHE_DIR overrides it" {
  user_config "cache-dir = \"$BATS_TEST_TMPDIR/cache-a\""
  run "$PL" gc # opens the cache (a sync with nothing to change need not)
  [ "$status" -eq 0 ]
  [ -d "$BATS_TEST_TMPDIR/cache-a/wheels" ]
  PYLOCK_CACHE_DIR="$BATS_TEST_TMPDIR/cache-b" run "$PL" gc
  [ "$status" -eq 0 ]
  [ -d "$BATS_TEST_TMPDIR/cache-b/trees" ]
  user_config "cache-dir = \"relative\""
  run "$PL" gc
  [ "$status" -eq 1 ]
  assert_contains "$output" "config.toml, line 1: cache-dir must be an absolute path"
}
