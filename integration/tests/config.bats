#!/usr/bin/env bats
# pylock-test: once
# Configuration files (pylock-config(5)): what they change, what overrides
# them, how mistakes are reported, and that a joining run never reads them.
# SPDX-License-Identifier: Apache-2.0

load helpers

setup() {
  new_project
  cd "$PROJ"
  rec="$(state_dir)/run/keepalive"
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" PYLOCK_SYSCONFDIR="$BATS_TEST_TMPDIR/etc"
  mkdir -p "$XDG_CONFIG_HOME/pylock" "$PYLOCK_SYSCONFDIR"
  unset PYLOCK_KEEPALIVE PYLOCK_STATE_DIR
}

teardown() {
  rm -f "$rec" # the holder, if any, sees its record gone and leaves
}

user_config() { printf '%s\n' "$@" > "$XDG_CONFIG_HOME/pylock/config.toml"; }

wait_for_record() {
  for _ in $(seq 50); do [ -s "$rec" ] && return 0; nap 0.05; done
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
  assert_contains "$output" "keepalive, state-dir, ca-bundle, strict, allow-write, safe-directories"
  [ ! -e "$rec" ]
}

@test "a run that joins a holder still applies the configuration, and a broken one is named" {
  user_config "keepalive = 30"
  "$PL" run true
  wait_for_record
  holder=$(cut -d' ' -f3 "$rec")
  out="$HOME/outside-$BATS_TEST_NUMBER" # /tmp is writable in sandboxes; the home is not
  rm -rf "$out" && mkdir "$out"
  run "$PL" run touch "$out/a"
  [ "$status" -eq 1 ] # not an allowed place
  # A new allow-list is a new shape of sandbox: a new holder, and then joins.
  user_config "keepalive = 30" "allow-write = [\"$out\"]"
  run "$PL" run sh -c 'touch "$1/b" && readlink /proc/self/ns/mnt' _ "$out"
  [ "$status" -eq 0 ]
  [ -e "$out/b" ]
  for _ in $(seq 50); do [ "$(cut -d' ' -f3 "$rec")" != "$holder" ] && break; nap 0.05; done
  holder=$(cut -d' ' -f3 "$rec")
  run "$PL" run sh -c 'touch "$1/c" && readlink /proc/self/ns/mnt' _ "$out"
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(readlink /proc/"$holder"/ns/mnt)"
  [ -e "$out/c" ]
  user_config "this is not TOML"
  run "$PL" run true
  [ "$status" -eq 1 ]
  assert_contains "$output" "$XDG_CONFIG_HOME/pylock/config.toml"
}

@test "state-dir from the configuration holds pylock's state; PYLOCK_STATE_DIR overrides it" {
  user_config "state-dir = \"$BATS_TEST_TMPDIR/state-a\""
  run "$PL" sync
  [ "$status" -eq 0 ]
  [ -d "$BATS_TEST_TMPDIR/state-a/projects" ]
  PYLOCK_STATE_DIR="$BATS_TEST_TMPDIR/state-b" run "$PL" gc
  [ "$status" -eq 0 ]
  [ -d "$BATS_TEST_TMPDIR/state-b/cache/trees" ]
  user_config "state-dir = \"relative\""
  run "$PL" gc
  [ "$status" -eq 1 ]
  assert_contains "$output" "config.toml, line 1: state-dir must be an absolute path"
  user_config "cache-dir = \"$BATS_TEST_TMPDIR/c\""
  run "$PL" gc
  [ "$status" -eq 1 ]
  assert_contains "$output" "cache-dir is no longer a setting"
  assert_contains "$output" "state-dir"
}
