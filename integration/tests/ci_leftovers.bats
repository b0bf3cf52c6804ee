#!/usr/bin/env bats
# pylock-test: once
# Nothing CMD starts outlives `pylock ci -- CMD`: CMD runs in a PID
# namespace whose first process is pylock's, and when CMD ends everything
# else in there is killed before pylock prints its own last lines.  The
# attacks: a process CMD leaves behind (double fork, setsid, a process
# group of its own) that, once ci has returned, writes a forged result
# line to the inherited stdout/stderr, keeps working in the job (a marker
# file for tampering with the next step's files), or makes itself the
# terminal's foreground group to read what the user types.  Each is
# performed and must fail; then what must still work: CMD's exit status,
# multiprocessing, /proc, a terminal, a keep-alive holder spawned and
# joined, a parent that ignores SIGCHLD.  On an empty project: no registry
# needed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  empty_project_in_own_dirs
}

# A leftover: double fork, setsid, then (in a group of its own, SIGHUP and
# SIGTERM ignored) it says it is armed, sleeps $2 s and runs the Python
# code $3.  $1: the directory for its markers.
LEFTOVER='
import os, signal, sys, time
d, nap, then = sys.argv[1], float(sys.argv[2]), sys.argv[3]
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_IGN)
        open(d + "/armed", "w").close()
        time.sleep(nap)
        exec(then)
        os._exit(0)
    os._exit(0)
os.wait()
while not os.path.exists(d + "/armed"):
    time.sleep(0.01)
'

# ci_through_pipes ARGS...: pylock ci ARGS with stdout and stderr on pipes,
# read to EOF; prints {"rc", "eof_after_exit_s", "out", "err"}.  EOF must
# come at once: once ci has returned, nothing may hold its pipes.
ci_through_pipes() {
  python3 - "$PL" "$@" <<'PY'
import json, os, select, subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "-q", "ci"] + sys.argv[2:], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
bufs = {p.stdout.fileno(): b"", p.stderr.fileno(): b""}
open_fds, end, exited = set(bufs), time.time() + 60, None
while open_fds and time.time() < end:
    r, _, _ = select.select(list(open_fds), [], [], 0.05)
    for fd in r:
        d = os.read(fd, 65536)
        if d:
            bufs[fd] += d
        else:
            open_fds.discard(fd)
    if exited is None and p.poll() is not None:
        exited = time.time()
rc = p.wait(60)
exited = exited or time.time()
print(json.dumps({"rc": rc, "eof_after_exit_s": None if open_fds else round(time.time() - exited, 2),
                  "out": bufs[p.stdout.fileno()].decode(), "err": bufs[p.stderr.fileno()].decode()}))
PY
}

# json_get JSON KEY: one field, as Python prints it.
json_get() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}

@test "attack: a leftover writing a forged result after ci returned never reaches ci's stdout or stderr" {
  local forge='
import sys
sys.stdout.write("{\"ok\": true, \"forged\": 1}\nFORGED tests passed\n"); sys.stdout.flush()
sys.stderr.write("{\"ok\": true, \"forged\": 2}\n"); sys.stderr.flush()
open(sys.argv[1] + "/late", "w").close()
'
  run ci_through_pipes --json -- python3 -c "$LEFTOVER" "$D" 2 "$forge"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  local r="${lines[-1]}"
  # The attack was made: the leftover was running when CMD ended.
  [ -e "$D/armed" ]
  assert_eq "$(json_get "$r" rc)" "0"
  # Nothing held the pipes once ci had returned (the leftover would for 2 s).
  python3 -c 'import json, sys; e = json.loads(sys.argv[1])["eof_after_exit_s"]; sys.exit(not (e is not None and e < 1.0))' "$r" ||
    { echo "late EOF: $r"; return 1; }
  sleep 3
  [ ! -e "$D/late" ] || { echo "the leftover outlived ci"; return 1; }
  assert_not_contains "$(json_get "$r" out)" "FORGED"
  assert_not_contains "$(json_get "$r" out)" "forged"
  assert_not_contains "$(json_get "$r" err)" "forged"
  # pylock's summary is the last line on stderr.
  local last
  last=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["err"].splitlines()[-1])' "$r")
  assert_eq "$(json_get "$last" exit_status)" "0"
}

@test "attack: a leftover that would keep working in the job after ci returned is ended with CMD" {
  run "$PL" -q ci -- python3 -c "$LEFTOVER" "$D" 1.5 'open(sys.argv[1] + "/late", "w").close()'
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  [ -e "$D/armed" ]
  sleep 3
  [ ! -e "$D/late" ] || { echo "the leftover outlived ci"; return 1; }
}

@test "attack: a leftover of a command that is killed by a signal is ended too" {
  run "$PL" -q ci -- python3 -c "$LEFTOVER"'
os.kill(os.getpid(), signal.SIGTERM)' "$D" 1.5 'open(sys.argv[1] + "/late", "w").close()'
  assert_eq "$status" "143"
  [ -e "$D/armed" ]
  sleep 3
  [ ! -e "$D/late" ] || { echo "the leftover outlived ci"; return 1; }
}

@test "attack: a leftover never takes the terminal's foreground after ci returned" {
  # As attacks_r7's for pylock run, through pylock ci: once pylock has
  # returned, the leftover makes its group the terminal's foreground group.
  local out="$D/tty"
  local code
  code=$(cat <<'PY'
import os, signal, time, sys
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
if os.fork() == 0:
    os.setpgid(0, 0)
    open(sys.argv[1] + '/armed', 'w').close()
    time.sleep(1.5)
    fd = os.open('/dev/tty', os.O_RDWR)
    try:
        os.tcsetpgrp(fd, os.getpgrp()); print('STOLEN', flush=True)
    except OSError as e:
        print('refused', e, flush=True)
    os._exit(0)
while not os.path.exists(sys.argv[1] + '/armed'): time.sleep(0.01)
PY
)
  # A shell stays the session's leader, as the user's does.
  python3 "$BATS_TEST_DIRNAME/on_tty.py" --timeout 5 sh -c \
    '"$0" -q ci -- python3 -c "$1" "$2"; echo CI-RC=$?; sleep 3' "$PL" "$code" "$D" >"$out"
  [ -e "$D/armed" ]
  assert_contains "$(cat "$out")" "CI-RC=0"
  assert_not_contains "$(cat "$out")" "STOLEN"
  assert_not_contains "$(cat "$out")" "refused"
}

@test "ci passes CMD's exit status on, and its stdout, with a child that ends before it" {
  run --separate-stderr "$PL" -q ci -- sh -c 'sh -c "echo child" & wait; echo parent; exit 7'
  assert_eq "$status" "7"
  assert_eq "$output" $'child\nparent'
}

@test "in ci, /proc is the command's PID namespace's, and multiprocessing works" {
  run --separate-stderr "$PL" -q ci -- python3 -c '
import multiprocessing, os
me = os.getpid()
assert int(os.readlink("/proc/self")) == me, (os.readlink("/proc/self"), me)
assert open("/proc/%d/cmdline" % me, "rb").read().split(b"\0")[0].endswith(b"python3")
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
with multiprocessing.Pool(2) as pool:
    print(sorted(pool.map(abs, [-3, -1, -2])))
print("pids", pids[0], me)
'
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  assert_eq "${lines[0]}" "[1, 2, 3]"
  # Pid 1 is pylock's init, the command the first process it started.
  assert_eq "${lines[1]}" "pids 1 2"
}

@test "ci on a terminal: the command's group is the foreground, and the shell's again after" {
  local code after
  code=$(cat <<'PY'
import os
print('CMD-FG', os.isatty(0) and os.tcgetpgrp(0) == os.getpgrp() == os.getpid(), flush=True)
PY
)
  after="import os; print('SHELL-FG', os.tcgetpgrp(0) == os.getpgrp(), flush=True)"
  python3 "$BATS_TEST_DIRNAME/on_tty.py" sh -c '"$0" -q ci -- python3 -c "$1"; python3 -c "$2"' \
    "$PL" "$code" "$after" >"$D/tty"
  assert_contains "$(cat "$D/tty")" "CMD-FG True"
  assert_contains "$(cat "$D/tty")" "SHELL-FG True"
}

@test "ci with a keep-alive holder, spawned then joined: leftovers are ended both times" {
  export PYLOCK_KEEPALIVE=30
  local rec
  rec="$(state_dir)/run/keepalive"
  for i in 1 2; do
    rm -f "$D/armed" "$D/late"
    run "$PL" -q ci -- python3 -c "$LEFTOVER"'
print(os.readlink("/proc/self/ns/user"))' "$D" 1.5 'open(sys.argv[1] + "/late", "w").close()'
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    [ -e "$D/armed" ]
    [ -e "$rec" ]
    if [ "$i" = 2 ]; then
      # The second run joined the holder the first spawned: its user namespace.
      assert_eq "$output" "user:[$(cut -d' ' -f5 "$rec")]"
    fi
    sleep 2.5
    [ ! -e "$D/late" ] || { echo "run $i: the leftover outlived ci"; return 1; }
  done
  # The holder lives on.
  local holder
  holder=$(cut -d' ' -f3 "$rec")
  [ -d "/proc/$holder" ]
  kill "$holder"
}

@test "ci started with SIGCHLD ignored waits for CMD, and CMD gets SIGCHLD ignored" {
  # A parent that ignores SIGCHLD: every child of pylock's would be reaped
  # unseen, and its wait fail.
  run python3 -c '
import os, signal, sys
signal.signal(signal.SIGCHLD, signal.SIG_IGN)
os.execv(sys.argv[1], [sys.argv[1], "-q", "ci", "--", "python3", "-c",
         "import signal, sys; sys.exit(3 if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN else 9)"])
' "$PL"
  assert_eq "$status" "3"
}
