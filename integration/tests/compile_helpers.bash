# Shared by the compile_*.bats files and ux.bats:
# a project of the lock "idna-six" on a cold state root per test, and its generations.
# SPDX-License-Identifier: Apache-2.0

# compile_setup MODE: a state root per test (every sync here starts from a cold
# cache), PYLOCK_COMPILE=MODE, and $PROJ a project of the lock "idna-six".
compile_setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0 PYLOCK_COMPILE="$1"
  PROJ="$BATS_TEST_TMPDIR/proj"
  STATE="$XDG_STATE_HOME/pylock"
  BG=()
  gc_project "$PROJ" idna-six
}

# compile_teardown: the pids left in BG killed, the test's files removable.
compile_teardown() {
  local p
  for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# killed STEP CMD...: CMD stopped at STEP, then killed with SIGKILL.
killed() {
  paused "$@" || return 1
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
}

# current_n: the number of the current generation.
current_n() {
  readlink "$(state_dir)/current" | cut -d/ -f2
}

# bytecode_of N: what generation N's record says of its byte-code.
bytecode_of() {
  sed -n 's/^bytecode=//p' "$(state_dir)/generations/$1.meta"
}

# Python, run inside: every locked package imports, and says whether with
# byte-code, and from where.
IMPORTS='import os, six, idna, idna.core
print("pyc" if os.path.exists(idna.core.__cached__) else "source", idna.core.__file__)'

# assert_usable WHEN: the environment is the lock's (list --json), the
# locked packages import from it, and verify passes.  (Not what imports
# against the bare base: Debian's python3 has six and idna of its own.)
assert_usable() {
  assert_eq "$(list_set)" "$(lock_set)" || { echo "list --json is not the lock ($1)"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c "$IMPORTS"
  [ "$status" -eq 0 ] || { echo "imports ($1): $output $stderr"; return 1; }
  assert_contains "$output" " $(interp purelib)/idna/core.py" || { echo "($1)"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify ($1): $output $stderr"; return 1; }
}

# sync_on_pty [NAME=VALUE...]: `pylock sync` of $PROJ on a terminal of its own
# (pty.fork), with the variables set; all it wrote there on stdout, its status.
sync_on_pty() {
  env "$@" python3 "$BATS_TEST_DIRNAME/on_tty.py" --timeout 600 "$PL" -C "$PROJ" sync
}

# wait_compiled: until `pylock info byte-code` no longer says compiling.
wait_compiled() {
  local i
  for i in $(seq 1 1200); do
    [ "$("$PL" -C "$PROJ" info byte-code)" = compiling ] || return 0
    nap 0.05
  done
  echo "still compiling"
  return 1
}

# wait_gone PID: until PID no longer exists.
wait_gone() {
  local i
  for i in $(seq 1 400); do
    kill -0 "$1" 2>/dev/null || return 0
    nap 0.05
  done
  echo "pid $1 still there"
  return 1
}
