# Stopping pylock at a named step of a change (PYLOCK_PAUSE_AT: it sends
# itself SIGSTOP there), for the crash, race and attack tests.  A file that
# loads this keeps the pids it starts in BG (its teardown kills them).
# SPDX-License-Identifier: Apache-2.0

# wait_stopped PID: until PID is stopped (0), or has exited or never stops (1).
wait_stopped() {
  local i line state
  for i in $(seq 1 1200); do
    # The state follows the command's name, which may hold ") ": after the last.
    { IFS= read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    state=${line##*) } state=${state%% *}
    [ "$state" = T ] && return 0
    [ "$state" = Z ] && return 1
    nap 0.05
  done
  return 1
}

# paused STEP CMD...: CMD started with PYLOCK_PAUSE_AT=STEP, stopped there;
# its pid in PAUSED, its stderr in $BATS_TEST_TMPDIR/paused.err.
paused() {
  local step=$1
  shift
  PYLOCK_PAUSE_AT=$step "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/paused.err" &
  PAUSED=$!
  BG+=("$PAUSED")
  wait_stopped "$PAUSED" || { echo "never reached $step: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
}

# resume: let the paused command go on; its status in RESUMED.
resume() {
  kill -CONT "$PAUSED"
  RESUMED=0
  wait "$PAUSED" || RESUMED=$?
}
