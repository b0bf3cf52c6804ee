#!/usr/bin/env bats
# pylock-test: once
# Attacks on the keep-alive holder as of 2026-12-01: the merged directories it holds open
# (pl_keepalive_warm), the check of its mount namespace from the kernel's mount objects
# (pl_sandbox_check_ns, and its mountinfo fallback) before a run joins it, and its record,
# touched once a second.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  new_project
  cd "$PROJ"
  STATE=$(state_dir)
  export PYLOCK_KEEPALIVE=30
}

teardown() {
  local r p
  for r in "$STATE/run/keepalive" "$STATE/run/keepalive-strict"; do
    p=$(cut -d' ' -f3 "$r" 2>/dev/null) && kill "$p" 2>/dev/null
  done
  [ -z "${DAEMON:-}" ] || kill "$DAEMON" 2>/dev/null
  true
}

# wait_record FILE: until a holder has recorded itself there.
wait_record() {
  for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.05; done
  return 1
}

# Fails on a0c3e94: a record names its holder by pid and namespace inode numbers only, and
# the kernel gives both to others once the holder and its namespaces are gone.  A strict
# holder leaves (TTL, or killed); the next default sandbox of the project gets the freed
# inode numbers (the lowest free ones) and code in it forks until it has the holder's pid
# (32768 by default).  Every check passes: same overlay, state, configuration, devpts, user
# site, working directory; the next strict run would share the default sandbox's /tmp with
# that code.  The record is modelled as that reuse leaves it: the dead holder's, with the
# pid and inode numbers of the code's process (the inode numbers are most often the very
# same: the test prints both).
@test "attack: a strict run does not join a default sandbox that took a dead strict holder's pid and namespace numbers" {
  local srec="$STATE/run/keepalive-strict" spid daemon_ns
  "$PL" run --strict true
  wait_record "$srec"
  spid=$(cut -d' ' -f3 "$srec")
  stat -L -c %i /proc/"$spid"/ns/user /proc/"$spid"/ns/mnt | tr '\n' ' ' > "$BATS_TEST_TMPDIR/held"
  kill "$spid"
  for _ in $(seq 100); do [ -d /proc/"$spid" ] || break; sleep 0.05; done
  [ ! -d /proc/"$spid" ]
  # Code in a default sandbox of the same project, living on (a daemon of a test run).
  PYLOCK_KEEPALIVE=0 "$PL" run sh -c 'echo default > /tmp/pylock-nscheck-mark.$$; echo $$ > "$1"; exec sleep 30' \
    _ "$BATS_TEST_TMPDIR/daemon" 3>&- &
  for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/daemon" ] && break; sleep 0.05; done
  DAEMON=$(cat "$BATS_TEST_TMPDIR/daemon")
  daemon_ns=$(readlink /proc/"$DAEMON"/ns/mnt)
  local usr mnt
  usr=$(stat -L -c %i /proc/"$DAEMON"/ns/user)
  mnt=$(stat -L -c %i /proc/"$DAEMON"/ns/mnt)
  echo "the dead holder's: $(cat "$BATS_TEST_TMPDIR/held"); the code's: $usr $mnt"
  awk -v p="$DAEMON" -v u="$usr" -v m="$mnt" '{ $3 = p; $5 = u; $6 = m; print }' "$srec" > "$srec.new"
  chmod 600 "$srec.new"
  mv "$srec.new" "$srec"
  cat "$srec"
  run "$PL" -v run --strict sh -c 'readlink /proc/self/ns/mnt; ls /tmp'
  echo "$output"
  rm -f /tmp/pylock-nscheck-mark."$DAEMON"
  [ "$status" -eq 0 ]
  assert_not_contains "$output" "$daemon_ns"
  assert_not_contains "$output" "pylock-nscheck-mark.$DAEMON"
}
