#!/usr/bin/env bats
# pylock-test: once
# Round 10: `pylock ci -- CMD` attacked from CMD.  Nothing CMD starts
# outlives it (ci_leftovers.bats); what CMD does to the terminal it shares
# with the user's shell must not outlive it either.  Each attack is made
# from CMD on a terminal whose session leader is a shell, as the user's,
# and must fail; the terminal is then checked as the shell finds it after
# ci returned.  On an empty project: no registry needed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  empty_project_in_own_dirs
}

# on_terminal CODE AFTER: on a new terminal, a shell runs `pylock -q ci --
# python3 -c CODE`, then `python3 -c AFTER` (the next thing the user runs
# there); both write to standard error, which is a file (a terminal the
# attack breaks may show nothing).  Prints that file.
on_terminal() {
  python3 "$BATS_TEST_DIRNAME/on_tty.py" --stderr "$D/log" sh -c \
    '"$0" -q ci -- python3 -c "$1"; echo CI-RC=$? >&2; python3 -c "$2"' "$PL" "$1" "$2" >/dev/null
  cat "$D/log"
}

@test "attack: CMD cannot give the terminal a line discipline that drops every byte after ci" {
  # N_NULL (27) discards all input and output: once ci returned, the
  # user's shell reads nothing, and no `reset` can be typed.
  run on_terminal '
import fcntl, os, struct, sys, termios
fd = os.open("/dev/tty", os.O_RDWR)
try:
    fcntl.ioctl(fd, termios.TIOCSETD, struct.pack("i", 27))
    print("SETD done", file=sys.stderr)
except OSError as e:
    print("SETD refused", e.errno == 1, file=sys.stderr)
' '
import fcntl, struct, sys, termios
print("LDISC", struct.unpack("i", fcntl.ioctl(0, termios.TIOCGETD, bytes(4)))[0], file=sys.stderr)
'
  [ "$status" -eq 0 ]
  echo "$output"
  assert_contains "$output" "SETD refused True"
  assert_contains "$output" "CI-RC=0"
  assert_contains "$output" "LDISC 0" # N_TTY, as the shell had it
}

@test "attack: CMD cannot make the terminal exclusive, refusing every later open of it" {
  # TIOCEXCL: every open of the terminal (/dev/tty, /dev/pts/N) then fails
  # with EBUSY, as sudo's or ssh's password prompt would after ci.
  run on_terminal '
import fcntl, os, sys, termios
fd = os.open("/dev/tty", os.O_RDWR)
try:
    fcntl.ioctl(fd, termios.TIOCEXCL)
    print("EXCL done", file=sys.stderr)
except OSError as e:
    print("EXCL refused", e.errno == 1, file=sys.stderr)
' '
import os, sys
for p in ("/dev/tty", os.ttyname(0)):
    try:
        os.close(os.open(p, os.O_RDWR))
        print("open ok", file=sys.stderr)
    except OSError as e:
        print("open failed", p, e, file=sys.stderr)
'
  [ "$status" -eq 0 ]
  echo "$output"
  assert_contains "$output" "EXCL refused True"
  assert_contains "$output" "CI-RC=0"
  assert_not_contains "$output" "open failed"
  assert_eq "$(grep -c "open ok" <<<"$output")" 2
}

# last_json FILE: the first JSON value of FILE's last line, as a reader that
# decodes one value would take it (Go's json.Decoder), and what follows it.
last_json() {
  python3 - "$1" <<'PY'
import json, sys
line = open(sys.argv[1]).read().splitlines()[-1]
v, end = json.JSONDecoder().raw_decode(line)
print(json.dumps({"ok": v.get("ok"), "exit_status": v.get("exit_status"), "generation": "generation" in v,
                  "rest": line[end:].strip()}))
PY
}

@test "attack: an unfinished last line of CMD's stderr does not begin ci's --json summary" {
  # CMD fails (3), its last words a forged success without a newline.
  local forge='import sys; sys.stderr.write("{\"ok\": true, \"exit_status\": 0}"); sys.exit(3)' out
  # To a file (the man page's `2> summary.json`), and to one opened to append.
  local st=0
  "$PL" -q ci --json -- python3 -c "$forge" 2>"$D/sum.json" || st=$?
  assert_eq "$st" 3
  out=$(last_json "$D/sum.json")
  assert_eq "$out" '{"ok": false, "exit_status": 3, "generation": true, "rest": ""}'
  echo start >"$D/sum2.json"
  st=0
  "$PL" -q ci --json -- python3 -c "$forge" 2>>"$D/sum2.json" || st=$?
  assert_eq "$st" 3
  assert_eq "$(last_json "$D/sum2.json")" "$out"
  # Through a pipe, as a runner reads it.
  "$PL" -q ci --json -- python3 -c "$forge" 2>&1 >/dev/null | cat >"$D/sum3.json" || true
  assert_eq "$(last_json "$D/sum3.json")" "$out"
  # A file CMD left at a line's start gets no empty line.
  "$PL" -q ci --json -- python3 -c 'import sys; sys.stderr.write("done\n")' 2>"$D/sum4.json"
  assert_eq "$(head -n1 "$D/sum4.json")" "done"
  assert_eq "$(sed -n 2p "$D/sum4.json" | cut -c1-12)" '{"ok": true,'
  assert_eq "$(wc -l <"$D/sum4.json")" 2
}

@test "attack: CMD of a ci in the background takes the terminal; the shell has it again after" {
  # A job in the background (the shell's job control: a group of its own,
  # not the foreground one): CMD, SIGTTOU ignored, makes its group the
  # terminal's foreground group, and ends.  pylock in the foreground gives
  # the terminal back to the shell after CMD; in the background too.
  local code after
  code=$(cat <<'PY'
import os, signal, sys
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
fd = os.open('/dev/tty', os.O_RDWR)
os.tcsetpgrp(fd, os.getpgrp())
print('TOOK', os.tcgetpgrp(fd) == os.getpgrp(), file=sys.stderr)
PY
)
  after=$(cat <<'PY'
import os, sys
print('SHELL-FG', os.tcgetpgrp(0) == os.getpgid(os.getppid()), file=sys.stderr)
PY
)
  python3 "$BATS_TEST_DIRNAME/on_tty.py" --stderr "$D/log" bash -c \
    'set -m; python3 -c "$2"; "$0" -q ci -- python3 -c "$1" & wait $!; echo CI-RC=$? >&2; python3 -c "$2"; true' \
    "$PL" "$code" "$after" >/dev/null
  cat "$D/log"
  # The shell had the foreground before; CMD took it (the attack was made).
  assert_eq "$(grep -c "SHELL-FG True" "$D/log")" 2
  assert_contains "$(cat "$D/log")" "TOOK True"
  assert_contains "$(cat "$D/log")" "CI-RC=0"
}

@test "attack: CMD moving stderr's offset back does not put its forged line after ci's summary" {
  # `2> summary.json`: CMD shares the file's offset with pylock.  It writes
  # its forged result as the last line, then seeks back to the start: ci's
  # summary would overwrite the first bytes and leave the forgery last.
  local st=0
  "$PL" -q ci --json -- python3 -c '
import os, sys
os.write(2, b"x" * 400 + b"\n" + b"{\"ok\": true, \"exit_status\": 0}\n")
os.lseek(2, 0, os.SEEK_SET)
sys.exit(3)' 2>"$D/sum.json" || st=$?
  assert_eq "$st" 3
  assert_eq "$(last_json "$D/sum.json")" '{"ok": false, "exit_status": 3, "generation": true, "rest": ""}'
  # CMD's output is all there, before it.
  assert_eq "$(head -c 400 "$D/sum.json")" "$(printf 'x%.0s' $(seq 400))"
  assert_eq "$(wc -l <"$D/sum.json")" 3
}

@test "attack: System V memory and message queues CMD made end with it" {
  # IPC objects outlive every process: memory held on the runner until it
  # reboots (a job's limit is no limit for them), a message for the next
  # step.  A key of this test's own, looked up in the kernel's tables.
  local key=$((0x5a000000 + RANDOM))
  run "$PL" -q ci -- python3 -c '
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
key = int(sys.argv[1])
shm = libc.shmget(key, 1 << 20, 0o1600)  # IPC_CREAT | 0600
msq = libc.msgget(key, 0o1600)
print("made", shm >= 0, msq >= 0)
' "$key"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$output" "made True True"
  # /proc/sysvipc lists the keys in decimal.
  ! awk -v k="$key" '$1 == k { found = 1 } END { exit !found }' /proc/sysvipc/shm ||
    { echo "a shared memory segment of CMD's outlived ci"; ipcrm -M "$key" -Q "$key"; return 1; }
  ! awk -v k="$key" '$1 == k { found = 1 } END { exit !found }' /proc/sysvipc/msg ||
    { echo "a message queue of CMD's outlived ci"; ipcrm -Q "$key"; return 1; }
}
