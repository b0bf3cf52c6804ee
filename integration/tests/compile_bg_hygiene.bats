#!/usr/bin/env bats
# pylock-test: once
# The detached byte-compiler's hygiene (issues 12 and 15): it leaves the
# caller's working directory (a process living on in it would keep it busy
# for an unmount and alive after a delete), still finishes when the caller
# named the project by a relative path and then removed the directory it
# ran from, and every line that says a compile runs or stopped in the
# background names its log, compile.log in the project's state; never a
# log that is about an older compile.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load gc_helpers
load envcheck
load compile_helpers

setup_file() {
  gc_fixture
}

setup() {
  compile_setup after-switch
}

teardown() {
  compile_teardown
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# detached_pid TEXT: the detached pylock's pid, from what the command said.
detached_pid() {
  sed -n 's/.* in the background (pid \([0-9]*\);.*/\1/p' <<<"$1" | head -1
}

@test "the detached compiler leaves the caller's working directory, which can then go, and still finishes" {
  local caller err n
  caller="$BATS_TEST_TMPDIR/caller"
  mkdir "$caller"
  err="$BATS_TEST_TMPDIR/cmd.err"
  # The project named relative to the caller's directory.
  (cd "$caller" && PYLOCK_PAUSE_AT=detached "$PL" -C ../proj sync >/dev/null 2>"$err") ||
    { cat "$err"; return 1; }
  DETACHED=$(detached_pid "$(cat "$err")")
  [ -n "$DETACHED" ] || { echo "no detached pylock: $(cat "$err")"; return 1; }
  BG+=("$DETACHED")
  wait_stopped "$DETACHED" || { echo "never stopped: $(cat "$(state_dir)/compile.log")"; return 1; }
  n=$(current_n)
  # Out of the caller's directory before the command returned: "/", which
  # pins nothing.
  assert_eq "$(readlink "/proc/$DETACHED/cwd")" /
  [ "$(readlink "/proc/$DETACHED/cwd")" != "$caller" ]
  # The caller's directory goes: no process of pylock's keeps it alive.
  rmdir "$caller"
  run bash -c "ls -l /proc/[0-9]*/cwd 2>/dev/null | grep -F -- '$caller'"
  assert_eq "$output" ""
  kill -CONT "$DETACHED"
  wait_compiled
  wait_gone "$DETACHED"
  [ "$(current_n)" -gt "$n" ]
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_contains "$(cat "$(state_dir)/compile.log")" "byte-code compiled after the switch to generation $n"
  assert_usable "after a compile whose caller's directory went"
  assert_nothing_left
  assert_no_process_left
}

@test "on a terminal the command names compile.log, and info and verify name it while it compiles and once it stopped" {
  unset PYLOCK_COMPILE
  local caller sd log n
  caller="$BATS_TEST_TMPDIR/caller"
  mkdir "$caller"
  sd=$(state_dir)
  log="$sd/compile.log"
  # sync_on_pty is a function: run it here, from the caller's directory.
  pushd "$caller" >/dev/null
  run sync_on_pty PYLOCK_PAUSE_AT=detached
  popd >/dev/null
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  DETACHED=$(detached_pid "$output")
  [ -n "$DETACHED" ] || { echo "$output"; return 1; }
  BG+=("$DETACHED")
  n=$(current_n)
  assert_contains "$output" "usable now (generation $n); byte-compiling 2 packages in the background (pid $DETACHED; imports run from source until done): pylock info says when; its log: $log"
  wait_stopped "$DETACHED"
  assert_eq "$(readlink "/proc/$DETACHED/cwd")" /
  assert_eq "$(readlink "/proc/$DETACHED/fd/2")" "$log"
  # While it compiles: verify and info name the log.
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "compiling: generation $n imports from source until pylock (pid $DETACHED) has compiled it (its log: $log); \`pylock sync\` waits for it"
  assert_contains "$("$PL" -C "$PROJ" info)" "(its log: $log)"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiling
  # Killed: pending, and the lines name the log, which says what ran.
  kill -9 "$DETACHED"
  wait_gone "$DETACHED"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "pending: generation $n imports from source (its byte-compiling was interrupted; its log: $log); the next \`pylock sync\` finishes it"
  assert_contains "$("$PL" -C "$PROJ" info)" "its log: $log"
  [ -f "$log" ]
  # The command the hint names finishes it.
  run --separate-stderr env PYLOCK_COMPILE=before-switch "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_usable "finished after the detached compiler's kill"
  assert_no_process_left
}

@test "a compile that stopped in the command itself does not name an older background log" {
  local log n
  # A background compile that finished leaves its log...
  use_lock six
  PYLOCK_PAUSE_AT= "$PL" -C "$PROJ" sync 2>"$BATS_TEST_TMPDIR/cmd.err" || { cat "$BATS_TEST_TMPDIR/cmd.err"; return 1; }
  BG+=("$(detached_pid "$(cat "$BATS_TEST_TMPDIR/cmd.err")")")
  wait_compiled
  log="$(state_dir)/compile.log"
  [ -f "$log" ]
  # ...then a change that compiles in the command is killed once usable.
  use_lock idna-six
  export PYLOCK_COMPILE=after-switch-wait
  killed usable "$PL" -C "$PROJ" sync
  n=$(current_n)
  assert_eq "$(bytecode_of "$n")" no
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "pending: generation $n imports from source (its byte-compiling was interrupted); the next \`pylock sync\` finishes it"
  assert_not_contains "$output" compile.log
  assert_not_contains "$("$PL" -C "$PROJ" info)" compile.log
  assert_no_process_left
}
