#!/usr/bin/env bats
# pylock-test: once
# pylock ci and signals (issue 12): each signal reaches the command exactly
# once, whether it comes from a terminal, to pylock's process group or to
# pylock alone; the handlers are in place before the fork, so no signal
# leaves the command running without pylock; a killed pylock takes the
# command with it; every signal is named in --json.  A real terminal (a
# pty) for Ctrl-C, Ctrl-Z and an interactive command.  On an empty project:
# no registry needed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  write_driver "$FIX/drive.py"
}

setup() {
  empty_project_in_own_dirs
}

# drive MODE: run the driver (below) for MODE; its last line is the result.
drive() {
  run --separate-stderr timeout 120 python3 "$FIX/drive.py" "$PL" "$D" "$@"
  [ "$status" -eq 0 ] || { echo "driver: $output"; echo "$stderr"; return 1; }
}

# write_driver FILE: the Python program that starts pylock ci, signals it as
# a terminal, a job runner or a user would, and reports what the command saw.
write_driver() {
  cat >"$1" <<'PY'
import json, os, pty, random, select, signal, subprocess, sys, time

pl, d, mode = sys.argv[1], sys.argv[2], sys.argv[3]

# The command: counts each signal it gets, says it is ready, waits for the
# first one and a second more (for a duplicate), then writes the counts.
COUNTER = r'''
import json, os, signal, sys, time
d = sys.argv[1]
hup_ignored = signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
n = {}
def h(sig, frame):
    n[signal.Signals(sig).name] = n.get(signal.Signals(sig).name, 0) + 1
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
    signal.signal(s, h)
ready = {"pid": os.getpid(), "pgid": os.getpgrp(), "hup_ignored": hup_ignored}
open(d + "/ready.tmp", "w").write(json.dumps(ready))
os.rename(d + "/ready.tmp", d + "/ready")
end = time.time() + 30
while not n and time.time() < end:
    time.sleep(0.02)
time.sleep(1.0)
open(d + "/count", "w").write(json.dumps(n, sort_keys=True))
'''

def wait_file(p, proc=None, t=30):
    end = time.time() + t
    while not os.path.exists(p):
        if proc is not None and proc.poll() is not None:
            sys.exit("pylock ended before %s: %s" % (p, proc.returncode))
        if time.time() > end:
            sys.exit("no " + p)
        time.sleep(0.01)

def start(cmd, **kw):
    return subprocess.Popen([pl, "-q", "ci", "--json", "--"] + cmd, stderr=subprocess.PIPE,
                            start_new_session=True, **kw)

def counted(kill):
    """Start the counter under pylock ci in a session of its own, signal it
    with kill(pylock), print the counts and pylock's exit status."""
    p = start(["python3", "-c", COUNTER, d])
    wait_file(d + "/ready", p)
    ready = json.load(open(d + "/ready"))
    # The command runs in a process group of its own, not pylock's.
    assert ready["pgid"] != p.pid and ready["pgid"] == ready["pid"], ready
    kill(p)
    rc = p.wait(60)
    print(json.dumps({"rc": rc, "count": json.load(open(d + "/count"))}, sort_keys=True))

def alive(marker, argv0=None):
    """The processes with marker among their arguments (and argv0 first)."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                argv = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
                if marker.encode() in argv and argv0 in (None, argv[0].decode()):
                    out.append(int(pid))
            except OSError:
                pass
    return out

def none_alive(marker, t=3):
    end = time.time() + t
    while alive(marker) and time.time() < end:
        time.sleep(0.02)
    return alive(marker)

class Pty:
    """A program on a terminal of its own (pty.fork: its own session)."""
    def __init__(self, argv):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execvp(argv[0], argv)
        self.out = b""
    def pump(self, t):
        end = time.time() + t
        while time.time() < end:
            r, _, _ = select.select([self.fd], [], [], 0.02)
            if r:
                try:
                    self.out += os.read(self.fd, 65536)
                except OSError:
                    return
    def expect(self, s, t=30):
        end = time.time() + t
        while s.encode() not in self.out:
            if time.time() > end:
                sys.exit("no %r in %r" % (s, self.out))
            self.pump(0.05)
    def write(self, b):
        os.write(self.fd, b)

if mode == "group-sigint":
    counted(lambda p: os.killpg(p.pid, signal.SIGINT))
elif mode == "pid-sigterm":
    counted(lambda p: os.kill(p.pid, signal.SIGTERM))
elif mode == "pid-sigusr1":
    counted(lambda p: os.kill(p.pid, signal.SIGUSR1))
elif mode == "nohup":
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    counted(lambda p: os.kill(p.pid, signal.SIGTERM))
    print(open(d + "/ready").read())
elif mode == "tty-ctrl-c":
    # An interactive command: it reads a line from the terminal, then Ctrl-C.
    src = 'import sys\nline = input("name? ")\nopen(sys.argv[1] + "/name", "w").write(line)\n' + COUNTER
    t = Pty([pl, "-q", "ci", "--", "python3", "-c", src, d])
    t.expect("name? ")
    t.write(b"alice\n")
    wait_file(d + "/ready")
    t.pump(0.3)
    t.write(b"\x03")
    _, st = os.waitpid(t.pid, 0)
    print(json.dumps({"rc": os.waitstatus_to_exitcode(st), "name": open(d + "/name").read(),
                      "count": json.load(open(d + "/count"))}, sort_keys=True))
elif mode == "tty-ctrl-z":
    # Job control through an interactive bash: Ctrl-Z stops the job (the
    # command stops printing), fg continues it to the end.
    t = Pty(["bash", "--norc", "--noprofile", "-i"])
    t.pump(0.5)
    t.write(b"PS1='$ '\n")
    t.write(("%s -q ci -- python3 -c 'import time\nfor i in range(40): print(\"tick%%d\" %% i, flush=True); time.sleep(0.05)\nprint(\"DONE\")'\n" % pl).encode())
    t.expect("tick3\r")
    t.write(b"\x1a")
    t.expect("Stopped")
    t.pump(0.5)
    at_stop = t.out.count(b"tick")
    t.pump(1.0)
    still = t.out.count(b"tick")
    t.write(b"fg\n")
    t.expect("DONE\r")  # the output, not the echo of print("DONE")
    t.write(b"echo rc=$?\n")
    t.expect("\nrc=")
    t.pump(0.3)
    t.write(b"exit\n")
    t.pump(0.5)
    os.waitpid(t.pid, 0)
    print(json.dumps({"stopped_silent": at_stop == still, "finished": b"tick39" in t.out,
                      "rc0": b"\nrc=0" in t.out}, sort_keys=True))
elif mode == "rtmin2":
    p = start(["python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGRTMIN + 2)"])
    _, err = p.communicate(timeout=60)
    summary = [l for l in err.decode().splitlines() if l.startswith("{")][-1]
    print(json.dumps({"rc": p.returncode, "rtmin2": -(signal.SIGRTMIN + 2),
                      "signal": json.loads(summary)["signal"]}, sort_keys=True))
elif mode == "sigkill":
    marker = "pylock-ci-marker-%d-%d" % (os.getpid(), random.randrange(1 << 30))
    p = start(["python3", "-c", 'import os, sys, time\nopen(sys.argv[1] + "/ready", "w").close()\ntime.sleep(60)', d, marker])
    wait_file(d + "/ready", p)
    # pylock and the command (pylock's own helpers, its forks, too).
    before = [alive(marker, "python3"), [q for q in alive(marker) if q == p.pid]]
    p.kill()
    p.wait(60)
    print(json.dumps({"before": sum(map(len, before)), "after": len(none_alive(marker))}))
elif mode == "sigterm-any-moment":
    # SIGTERM to pylock at some moment of its life, 30 times: whenever pylock
    # ends, no command is left running.
    left, ran = [], 0
    for i in range(30):
        marker = "pylock-ci-marker-%d-%d-%d" % (os.getpid(), i, random.randrange(1 << 30))
        p = start(["python3", "-c", "import time; time.sleep(30)", marker], stdout=subprocess.DEVNULL)
        # At once (before the fork), once the command runs, or any time.
        if i % 3 == 1:
            end = time.time() + 10
            while not alive(marker, "python3") and time.time() < end:
                time.sleep(0.005)
        elif i % 3 == 2:
            time.sleep(random.uniform(0, 0.1))
        ran += bool(alive(marker, "python3"))
        os.kill(p.pid, signal.SIGTERM)
        p.wait(60)
        left += none_alive(marker)
    print(json.dumps({"left": len(left), "ran": ran}))
PY
}

@test "sigint_to_the_process_group_reaches_the_command_exactly_once" {
  # As a terminal's Ctrl-C or a job runner ending the job: to the group.
  drive group-sigint
  assert_eq "${lines[-1]}" '{"count": {"SIGINT": 1}, "rc": 0}'
}

@test "sigterm_to_pylock_alone_reaches_the_command_exactly_once" {
  drive pid-sigterm
  assert_eq "${lines[-1]}" '{"count": {"SIGTERM": 1}, "rc": 0}'
}

@test "sigusr1_to_pylock_alone_reaches_the_command_exactly_once" {
  drive pid-sigusr1
  assert_eq "${lines[-1]}" '{"count": {"SIGUSR1": 1}, "rc": 0}'
}

@test "a_signal_pylock_was_started_ignoring_stays_ignored_for_the_command" {
  # nohup: SIGHUP ignored by pylock's parent stays ignored in the command.
  drive nohup
  assert_eq "${lines[-2]}" '{"count": {"SIGTERM": 1}, "rc": 0}'
  assert_eq "$(json_get "${lines[-1]}" hup_ignored)" "True"
}

@test "ctrl_c_on_a_terminal_reaches_the_command_once_and_it_reads_the_terminal" {
  drive tty-ctrl-c
  assert_eq "${lines[-1]}" '{"count": {"SIGINT": 1}, "name": "alice", "rc": 0}'
}

@test "ctrl_z_stops_the_job_and_fg_continues_it_to_the_end" {
  drive tty-ctrl-z
  assert_eq "${lines[-1]}" '{"finished": true, "rc0": true, "stopped_silent": true}'
}

@test "a_command_killed_by_sigrtmin_plus_2_is_named_in_json_and_ci_dies_the_same_way" {
  drive rtmin2
  assert_eq "$(json_get "${lines[-1]}" signal)" "SIGRTMIN+2"
  assert_eq "$(json_get "${lines[-1]}" rc)" "$(json_get "${lines[-1]}" rtmin2)"
}

@test "sigkill_of_pylock_ci_leaves_no_command_running" {
  drive sigkill
  assert_eq "${lines[-1]}" '{"before": 2, "after": 0}'
}

@test "sigterm_at_any_moment_of_pylock_ci_never_leaves_the_command_running" {
  drive sigterm-any-moment
  assert_eq "$(json_get "${lines[-1]}" left)" "0"
  # The moments covered both sides of the fork.
  [ "$(json_get "${lines[-1]}" ran)" -gt 0 ]
  [ "$(json_get "${lines[-1]}" ran)" -lt 30 ]
}

# json_get JSON KEY: one field, as Python prints it.
json_get() {
  python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"
}
