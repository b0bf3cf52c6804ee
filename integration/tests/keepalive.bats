#!/usr/bin/env bats
# The keep-alive holder: later runs join the first run's namespaces.
# SPDX-License-Identifier: Apache-2.0

load helpers

setup() {
  new_project
  cd "$PROJ"
  STATE=$(state_dir)
  rec="$STATE/run/keepalive"
}

holder_pid() { cut -d' ' -f3 "$rec"; }

@test "a first run leaves a holder; the next run joins its namespaces" {
  base_blind
  PYLOCK_KEEPALIVE=30 "$PL" run true
  for _ in $(seq 50); do [ -s "$rec" ] && break; nap 0.05; done
  [ -s "$rec" ]
  pid=$(holder_pid)
  assert_eq "$(cat /proc/"$pid"/comm)" "pylock-keep"
  run env PYLOCK_KEEPALIVE=30 "$PL" run readlink /proc/self/ns/mnt
  assert_eq "$output" "$(readlink /proc/"$pid"/ns/mnt)"
  # and what it joined is the full sandbox
  run env PYLOCK_KEEPALIVE=30 "$PL" run grep -E '^(CapEff|Seccomp):' /proc/self/status
  assert_contains "$output" "CapEff:	0000000000000000"
  assert_contains "$output" "Seccomp:	2"
  kill "$pid"
}

@test "PYLOCK_KEEPALIVE=0 leaves no holder and every run gets fresh namespaces" {
  base_blind
  PYLOCK_KEEPALIVE=0 "$PL" run true
  sleep 0.2
  [ ! -e "$rec" ]
  # Two runs alive at once (namespace inode numbers are reused once freed).
  PYLOCK_KEEPALIVE=0 "$PL" run sh -c 'readlink /proc/self/ns/mnt > "$1"; sleep 5' _ "$BATS_TEST_TMPDIR/a" &
  first=$!
  for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/a" ] && break; nap 0.05; done
  b=$(PYLOCK_KEEPALIVE=0 "$PL" run readlink /proc/self/ns/mnt)
  kill "$first"
  [ -s "$BATS_TEST_TMPDIR/a" ]
  [ "$(cat "$BATS_TEST_TMPDIR/a")" != "$b" ]
  [ ! -e "$rec" ]
}

@test "a holder leaves when its generation stops being current, and runs use the new one" {
  PYLOCK_KEEPALIVE=30 "$PL" run true
  for _ in $(seq 50); do [ -s "$rec" ] && break; nap 0.05; done
  pid=$(holder_pid)
  # A new generation with a package in it, switched to with one rename.
  cp -a "$STATE/generations/1" "$STATE/generations/2"
  cp -a "$STATE/generations/1.meta" "$STATE/generations/2.meta" # built from the same lock
  purelib_rel=$(gen_dir purelib); purelib_rel=${purelib_rel#"$STATE/generations/1"}
  mkdir -p "$STATE/generations/2$purelib_rel/gen2pkg"
  touch "$STATE/generations/2$purelib_rel/gen2pkg/__init__.py"
  ln -sfn generations/2 "$STATE/current.new" && mv -T "$STATE/current.new" "$STATE/current"
  run env PYLOCK_KEEPALIVE=30 "$PL" run python3 -c 'import gen2pkg; print("gen2")'
  assert_eq "$output" "gen2"
  for _ in $(seq 100); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
  [ ! -d /proc/"$pid" ]
}

@test "an idle holder leaves after PYLOCK_KEEPALIVE seconds" {
  base_blind
  PYLOCK_KEEPALIVE=1 "$PL" run true
  for _ in $(seq 50); do [ -s "$rec" ] && break; nap 0.05; done
  pid=$(holder_pid)
  [ -d /proc/"$pid" ]
  for _ in $(seq 60); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
  [ ! -d /proc/"$pid" ]
  # Its record stays (the holder cannot write the state), naming a pid that is gone:
  run env PYLOCK_KEEPALIVE=30 "$PL" run readlink /proc/self/ns/mnt
  [ "$status" -eq 0 ]
}

@test "a forged record pointing at another process's namespaces is not joined" {
  base_blind
  PYLOCK_KEEPALIVE=0 "$PL" run true
  sleep 30 &
  other=$!
  mnt=$(stat -L -c %i /proc/$other/ns/mnt)
  usr=$(stat -L -c %i /proc/$other/ns/user)
  start=$(awk '{ print $22 }' /proc/$other/stat)
  # Right pid, start time and inodes but the digest of another configuration.
  echo "pylock-keepalive 4 $other $start $usr $mnt 0000000000000000 generations/1" > "$rec"
  run env PYLOCK_KEEPALIVE=30 "$PL" run readlink /proc/self/ns/mnt
  kill "$other"
  [ "$output" != "$(readlink /proc/self/ns/mnt)" ]
  assert_eq "$("$PL" run grep -c overlay /proc/self/mounts | tr -d ' ')" "$("$PL" run grep -c overlay /proc/self/mounts | tr -d ' ')"
}

@test "run output captured by \$(...) does not wait for the holder" {
  base_blind
  start=$(date +%s)
  out=$(PYLOCK_KEEPALIVE=30 "$PL" run echo captured)
  end=$(date +%s)
  assert_eq "$out" "captured"
  [ $((end - start)) -lt 5 ]
}
