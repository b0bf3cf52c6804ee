#!/usr/bin/env bats
# Compiling after the switch in a detached pylock (issue 15): on a terminal
# (or with PYLOCK_COMPILE=after-switch) sync, install and remove return once
# the environment is usable, and a pylock of their own making, in a session
# of its own with no terminal, holds the change and compile locks from
# before the command returns until its second switch.  What must hold: the
# command returns before the byte-code, says so and how to see it done; the
# detached pylock writes nothing to the terminal; info and verify say
# "compiling" with its pid; a kill of the command before the hand-over
# leaves no process, a kill of the detached pylock at any step leaves the
# generation pending, and the next sync finishes either; a change arriving
# meanwhile waits for it, saying so; code in a run started meanwhile can
# neither signal nor trace it, fake or stall its locks, nor plant its log.
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

# detached CMD...: CMD run with its stderr in $BATS_TEST_TMPDIR/cmd.err (its
# status in CMD_STATUS); the detached pylock's pid, from what it said, in
# DETACHED (and in BG).
detached() {
  CMD_STATUS=0
  "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/cmd.err" || CMD_STATUS=$?
  DETACHED=$(sed -n 's/.* in the background (pid \([0-9]*\);.*/\1/p' "$BATS_TEST_TMPDIR/cmd.err")
  [ -n "$DETACHED" ] || { echo "no detached pylock: $(cat "$BATS_TEST_TMPDIR/cmd.err")"; return 1; }
  BG+=("$DETACHED")
}

# field N PID: field N of /proc/PID/stat (after the command name).
field() {
  sed -E 's/^[0-9]+ \(.*\) //' "/proc/$2/stat" | cut -d' ' -f$(($1 - 2))
}

@test "a sync returns once usable, and a detached pylock of its own session switches to the byte-code" {
  local before n
  before=$(current_n)
  PYLOCK_PAUSE_AT=detached detached "$PL" -C "$PROJ" sync
  [ "$CMD_STATUS" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/cmd.err"; return 1; }
  n=$(current_n)
  [ "$n" != "$before" ]
  assert_contains "$(cat "$BATS_TEST_TMPDIR/cmd.err")" "usable now (generation $n); byte-compiling 2 packages in the background (pid $DETACHED; imports run from source until done): pylock info says when"
  assert_not_contains "$(cat "$BATS_TEST_TMPDIR/cmd.err")" "byte-code compiled"
  wait_stopped "$DETACHED" || { echo "the detached pylock never stopped"; return 1; }
  # Its own session and process group, no controlling terminal, no
  # descriptor of ours (the command returned, its stderr a file here).
  assert_eq "$(field 6 "$DETACHED")" "$DETACHED"
  assert_eq "$(field 5 "$DETACHED")" "$DETACHED"
  assert_eq "$(field 7 "$DETACHED")" 0
  assert_eq "$(readlink "/proc/$DETACHED/fd/2")" "$(state_dir)/compile.log"
  assert_eq "$(readlink "/proc/$DETACHED/fd/0")" /dev/null
  # It holds the locks as its own: info and verify name it.
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiling
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "compiling: generation $n imports from source until pylock (pid $DETACHED)"
  assert_eq "$(bytecode_of "$n")" no
  # Usable meanwhile, from source.
  run "$PL" -C "$PROJ" run python3 -c "$IMPORTS"
  assert_eq "$output" "source $(interp purelib)/idna/core.py"
  kill -CONT "$DETACHED"
  wait_compiled
  wait_gone "$DETACHED"
  [ "$(current_n)" -gt "$n" ]
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_eq "$(readlink "$(state_dir)/previous" | cut -d/ -f2)" "$before"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
  run "$PL" -C "$PROJ" run python3 -c "$IMPORTS"
  assert_eq "$output" "pyc $(interp purelib)/idna/core.py"
  assert_contains "$(cat "$(state_dir)/compile.log")" "byte-code compiled after the switch to generation $n"
  assert_usable "after the byte-code"
  assert_nothing_left
  assert_no_process_left
}

@test "install and remove return once usable and leave the byte-code to a detached pylock" {
  use_lock six
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  detached "$PL" -C "$PROJ" install idna
  [ "$CMD_STATUS" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/cmd.err"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/cmd.err")" "byte-compiling 1 package in the background"
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
  [ -n "$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')" ]
  assert_usable "after install"
  # A remove builds no tree: nothing to compile, it returns compiled.
  run --separate-stderr "$PL" -C "$PROJ" remove idna
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "background"
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_no_process_left
}

@test "a command killed before it hands the compile over leaves no process, and the next sync finishes it" {
  local n
  paused usable "$PL" -C "$PROJ" sync
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  n=$(current_n)
  assert_eq "$(bytecode_of "$n")" no
  assert_no_process_left
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  assert_usable "killed before the hand-over"
  detached "$PL" -C "$PROJ" sync
  [ "$CMD_STATUS" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/cmd.err"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/cmd.err")" "generation $n imports from source: its byte-compiling was interrupted; finishing it"
  assert_contains "$(cat "$BATS_TEST_TMPDIR/cmd.err")" "byte-compiling generation $n in the background (pid $DETACHED"
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_usable "finished in the background"
  assert_nothing_left
  assert_no_process_left
}

@test "a command killed once it handed the compile over does not stop it" {
  paused handed-over "$PL" -C "$PROJ" sync
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_usable "after the command's kill"
  assert_no_process_left
}

@test "the detached pylock killed at each step leaves the generation pending, and the next sync finishes it" {
  kill_loop_on_one_base
  local step n
  for step in $(kill_steps detached compiled complete-built); do
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state-$step"
    STATE="$XDG_STATE_HOME/pylock" PROJ="$BATS_TEST_TMPDIR/proj-$step"
    gc_project "$PROJ" idna-six
    PYLOCK_PAUSE_AT=$step detached "$PL" -C "$PROJ" sync
    [ "$CMD_STATUS" -eq 0 ] || { echo "$step: $(cat "$BATS_TEST_TMPDIR/cmd.err")"; return 1; }
    wait_stopped "$DETACHED" || { echo "never reached $step: $(cat "$(state_dir)/compile.log")"; return 1; }
    n=$(current_n)
    kill -9 "$DETACHED"
    wait_gone "$DETACHED"
    assert_no_process_left
    assert_eq "$(bytecode_of "$n")" no
    assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
    run --separate-stderr "$PL" -C "$PROJ" verify
    [ "$status" -eq 0 ] || { echo "verify at $step: $output $stderr"; return 1; }
    assert_contains "$output" "pending: generation $n imports from source"
    assert_usable "killed at $step"
    run --separate-stderr env PYLOCK_COMPILE=before-switch "$PL" -C "$PROJ" sync
    [ "$status" -eq 0 ] || { echo "$step: $stderr"; return 1; }
    assert_contains "$stderr" "its byte-compiling was interrupted; finishing it"
    assert_eq "$(bytecode_of "$(current_n)")" yes
    [ -n "$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')" ]
    assert_usable "finished after a kill at $step"
    assert_nothing_left
  done
}

@test "a failed compile in the background leaves the generation pending and writes its error to compile.log" {
  # SIGTERM: the detached pylock stops its compiler and fails cleanly, as a
  # command does on Ctrl-C.
  PYLOCK_PAUSE_AT=detached detached "$PL" -C "$PROJ" sync
  wait_stopped "$DETACHED"
  kill -TERM "$DETACHED"
  kill -CONT "$DETACHED"
  wait_gone "$DETACHED"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  assert_contains "$(cat "$(state_dir)/compile.log")" "pylock: sync: byte-compiling in the background stopped by signal 15"
  assert_contains "$(cat "$(state_dir)/compile.log")" "byte-compile it with: pylock sync"
  assert_no_process_left
  assert_nothing_left
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
}

@test "a change arriving while the detached pylock compiles waits for it, saying so, then is made" {
  PYLOCK_PAUSE_AT=detached detached "$PL" -C "$PROJ" sync
  wait_stopped "$DETACHED"
  use_lock six
  (cd "$PROJ" && exec "$PL" sync) >/dev/null 2>"$BATS_TEST_TMPDIR/waiter.err" &
  local waiter=$! i
  BG+=("$waiter")
  for i in $(seq 1 200); do
    grep -q "waiting for another pylock (pid $DETACHED) to finish byte-compiling" "$BATS_TEST_TMPDIR/waiter.err" && break
    nap 0.05
  done
  assert_contains "$(cat "$BATS_TEST_TMPDIR/waiter.err")" "waiting for another pylock (pid $DETACHED) to finish byte-compiling the current generation (usable meanwhile)"
  kill -CONT "$DETACHED"
  wait "$waiter" || { echo "the waiting sync failed: $(cat "$BATS_TEST_TMPDIR/waiter.err")"; return 1; }
  wait_compiled
  assert_eq "$(list_set)" "six==1.16.0"
  assert_eq "$(bytecode_of "$(current_n)")" yes
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_no_process_left
}

@test "on a terminal the command returns while the detached pylock holds no descriptor of it" {
  unset PYLOCK_COMPILE
  # The pty's reader sees the end once every descriptor of the terminal is
  # closed: with the detached pylock stopped, that proves it kept none.
  run sync_on_pty PYLOCK_PAUSE_AT=detached
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  DETACHED=$(sed -n 's/.* in the background (pid \([0-9]*\);.*/\1/p' <<<"$output")
  [ -n "$DETACHED" ] || { echo "$output"; return 1; }
  BG+=("$DETACHED")
  wait_stopped "$DETACHED"
  run bash -c "ls -l /proc/$DETACHED/fd | grep -c -e /dev/pts -e /dev/tty -e ptmx"
  assert_eq "$output" 0
  assert_eq "$(field 7 "$DETACHED")" 0
  kill -CONT "$DETACHED"
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
}

@test "scripts, ci and PYLOCK_COMPILE=after-switch-wait keep the compile in the command" {
  run --separate-stderr env PYLOCK_COMPILE=after-switch-wait "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "background"
  assert_contains "$stderr" "byte-code compiled after the switch"
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_no_process_left
  # No terminal, no PYLOCK_COMPILE: one switch, compiled, when it returns.
  unset PYLOCK_COMPILE
  use_lock six
  run --separate-stderr "$PL" -C "$PROJ" sync
  assert_not_contains "$stderr" "background"
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_no_process_left
}

@test "code in a run started meanwhile can neither signal, trace nor stall the detached pylock, nor plant its log" {
  PYLOCK_PAUSE_AT=detached detached "$PL" -C "$PROJ" sync
  wait_stopped "$DETACHED"
  local sd before
  sd=$(state_dir)
  before=$(sha256sum "$sd/compile.log")
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c '
import ctypes, errno, fcntl, os, signal, sys
pid, sd = int(sys.argv[1]), sys.argv[2]
out = []
def attempt(name, f):
    try:
        f()
        out.append("DONE " + name)
    except OSError as e:
        out.append("%s: %s" % (name, errno.errorcode.get(e.errno, e.errno)))
for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGCONT, signal.SIGSTOP):
    attempt("kill %d" % sig, lambda: os.kill(pid, sig))
    attempt("killpg %d" % sig, lambda: os.killpg(pid, sig))
attempt("mem", lambda: open("/proc/%d/mem" % pid, "rb").read(1))
# Its descriptors (the locks among them) opened again through /proc, if
# the run can see it at all.
try:
    fds = os.listdir("/proc/%d/fd" % pid)
except OSError as e:
    fds = ["0", "1", "2", "3", "4", "5", "6"]
    out.append("list fd: %s" % errno.errorcode.get(e.errno, e.errno))
for fd in fds:
    for flags in (os.O_RDONLY, os.O_WRONLY):
        attempt("reopen fd %s %d" % (fd, flags), lambda: os.close(os.open("/proc/%d/fd/%s" % (pid, fd), flags)))
    attempt("readlink fd " + fd, lambda: os.readlink("/proc/%d/fd/%s" % (pid, fd)))
for f in ("environ", "root/", "cwd/"):
    attempt(f, lambda: os.listdir("/proc/%d/%s" % (pid, f)) if f.endswith("/") else open("/proc/%d/%s" % (pid, f), "rb").read(1))
libc = ctypes.CDLL(None, use_errno=True)
def trace():
    if libc.ptrace(16, pid, 0, 0) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), "ptrace")
attempt("ptrace", trace)
for lock in ("compile.lock", "change.lock"):
    attempt("open " + lock, lambda: os.open(os.path.join(sd, lock), os.O_WRONLY))
log = os.path.join(sd, "compile.log")
attempt("write log", lambda: open(log, "a").write("PWNED"))
attempt("unlink log", lambda: os.unlink(log))
attempt("symlink log", lambda: os.symlink("/tmp/x", log + ".x"))
print("\n".join(out))
' "$DETACHED" "$sd"
  [ "$status" -eq 0 ] || { echo "attack did not run: $output $stderr"; return 1; }
  local said=$output
  echo "$said"
  run ! grep -q DONE <<<"$said"
  [ "$(wc -l <<<"$said")" -ge 30 ]
  # Nothing changed: it is still there and stopped, its log as it was.
  assert_eq "$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$DETACHED/stat")" T
  assert_eq "$(sha256sum "$sd/compile.log")" "$before"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiling
  kill -CONT "$DETACHED"
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_usable "after the attack"
  assert_no_process_left
}

@test "SIGKILLs of the command at random moments leave its change whole, and at most a detached pylock that finishes" {
  kill_loop_on_one_base
  local i delay pid n outcomes=""
  for i in $(seq 1 "$(kill_rounds 8)"); do
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state-$i"
    STATE="$XDG_STATE_HOME/pylock" PROJ="$BATS_TEST_TMPDIR/proj-$i"
    gc_project "$PROJ" idna-six
    delay=$(python3 -c 'import random; print("%.2f" % random.uniform(0.02, 0.6))')
    "$PL" -C "$PROJ" sync >/dev/null 2>"$BATS_TEST_TMPDIR/cmd.err" &
    pid=$!
    BG+=("$pid")
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || true
    # A detached pylock, if the kill came after the hand-over, finishes.
    wait_compiled
    assert_no_process_left || { echo "after a kill at $delay s"; return 1; }
    n=$(current_n 2>/dev/null || true)
    outcomes+="$delay:${n:-none}:$( [ -n "$n" ] && bytecode_of "$n") "
    # Whatever it left, the next sync makes it whole, compiled.
    run --separate-stderr env PYLOCK_COMPILE=before-switch "$PL" -C "$PROJ" sync
    [ "$status" -eq 0 ] || { echo "sync after a kill at $delay s: $stderr"; return 1; }
    assert_eq "$(bytecode_of "$(current_n)")" yes
    assert_usable "after a kill at $delay s"
    assert_nothing_left || { echo "after a kill at $delay s"; return 1; }
  done
  echo "# kills (delay:generation:bytecode): $outcomes" >&3
}
