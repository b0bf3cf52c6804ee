#!/usr/bin/env bats
# pylock's front end (bin/pylock, static): `pylock run` joined to a keep-alive holder is its
# own work; everything else is the full program's (lib/pylock/pylock).
# SPDX-License-Identifier: Apache-2.0

load helpers
load front_helpers
bats_require_minimum_version 1.5.0

setup() {
  front_setup
}

teardown() {
  front_teardown
}

# What a command sees of its sandbox, without the numbers that differ between two
# mount namespaces (mount ids) or two processes.
PROBE='
import os, sys
st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
for k in ("Uid", "Gid", "CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters"):
    print(k, st.get(k, "-").strip())
for l in open("/proc/self/mountinfo"):
    f = l.split()
    sep = f.index("-")
    print("mount", f[4], f[5].split(",")[0], f[sep + 1], f[sep + 2])
print("maps", open("/proc/self/uid_map").read().split(), open("/proc/self/gid_map").read().split())
print("cwd", os.getcwd())
print("path", sys.path)
for k in sorted(os.environ):
    if k not in ("_", "SHLVL", "OLDPWD", "PYLOCK_KEEPALIVE"):
        print("env", k, os.environ[k])
for p in (os.getcwd() + "/w", os.environ["HOME"] + "/w", "/etc/w", sys.prefix + "/w", "/tmp/pl-front-w"):
    try:
        os.close(os.open(p, os.O_WRONLY | os.O_CREAT, 0o600)); os.unlink(p); print("write", p, "ok")
    except OSError as e:
        print("write", p, e.errno)
'

@test "a joined run is the front end's alone: it runs with the full program unreadable" {
  base_blind
  private_pylock
  "$P/bin/pylock" run true
  wait_holder
  pid=$(cut -d' ' -f3 "$rec")
  chmod 000 "$P/lib/pylock/pylock"
  run "$P/bin/pylock" run python3 -c 'import os; print("joined", os.readlink("/proc/self/ns/mnt"))'
  [ "$status" -eq 0 ]
  assert_eq "$output" "joined $(readlink /proc/"$pid"/ns/mnt)"
  # The global options a joined run takes: -C/--project DIR, -q.
  cd /
  for g in "-C $PROJ" "-C$PROJ" "--project $PROJ" "--project=$PROJ" "-q -C $PROJ"; do
    # shellcheck disable=SC2086
    run "$P/bin/pylock" $g run -n -- python3 -c 'print("joined")'
    [ "$status" -eq 0 ]
    assert_eq "$output" "joined"
  done
  cd "$PROJ"
  run "$P/bin/pylock" run --strict -- sh -c 'echo strict-to-full'
  [ "$status" -eq 126 ] # a --strict holder is another one: none yet, the full program's work
  assert_contains "$output" "cannot run $P/bin/../lib/pylock/pylock"
  assert_not_contains "$output" "strict-to-full"
}

@test "everything but a joined run is handed to the full program, before anything is changed" {
  base_blind
  private_pylock
  "$P/bin/pylock" run true
  wait_holder
  chmod 000 "$P/lib/pylock/pylock"
  # Each of these must reach the full program (which cannot run now: 126, named),
  # and none may run the command.
  local cases=(
    "run --allow-write $BATS_TEST_TMPDIR echo ran"
    "run -sn echo ran"
    "run --help"
    "run"
    "-v run echo ran"
    "-qv run echo ran"
    "--proj $PROJ run echo ran"
    "list"
    "--version"
  )
  for c in "${cases[@]}"; do
    # shellcheck disable=SC2086
    run "$P/bin/pylock" $c
    echo "case: $c -> $status: $output"
    [ "$status" -eq 126 ]
    assert_contains "$output" "cannot run $P/bin/../lib/pylock/pylock"
    assert_not_contains "$output" "ran"
  done
  # No holder to join: PYLOCK_KEEPALIVE=0, or a lock changed since the sync.
  run env PYLOCK_KEEPALIVE=0 "$P/bin/pylock" run echo ran
  [ "$status" -eq 126 ]
  assert_not_contains "$output" "ran"
  touch -d '+1 min' pylock.toml
  run "$P/bin/pylock" run echo ran
  [ "$status" -eq 126 ]
  assert_not_contains "$output" "ran"
  chmod 755 "$P/lib/pylock/pylock"
  # The full program, given the same: the note the front end left to it.
  run "$P/bin/pylock" run echo ran
  [ "$status" -eq 0 ]
  assert_contains "$output" "changed since the environment"
  assert_contains "$output" "ran"
}

@test "the front end's sandbox is the full program's: mounts, capabilities, seccomp, writes, environment" {
  "$PL" run true
  wait_holder
  for mode in "" --strict --no-network; do
    # shellcheck disable=SC2086
    "$PL" run $mode true # the holder of that mode
    if [ "$mode" = --strict ]; then wait_holder "$STATE/run/keepalive-strict"; else wait_holder; fi
    # shellcheck disable=SC2086
    front=$("$PL" run $mode python3 -c "$PROBE")
    # shellcheck disable=SC2086
    full=$("$PL_FULL" run $mode python3 -c "$PROBE")
    # shellcheck disable=SC2086
    fresh=$(PYLOCK_KEEPALIVE=0 "$PL_FULL" run $mode python3 -c "$PROBE")
    diff <(echo "$full") <(echo "$front")
    diff <(echo "$fresh") <(echo "$front")
    assert_contains "$front" "CapEff 0000000000000000"
    assert_contains "$front" "NoNewPrivs 1"
    assert_contains "$front" "write /etc/w 30" # EROFS
  done
}

@test "a script without #! runs through /bin/sh, as through the full program" {
  base_blind
  "$PL" run true
  wait_holder
  printf 'echo "via sh: $0 $1"\n' >"$PROJ/noshebang"
  chmod 755 "$PROJ/noshebang"
  run "$PL" run ./noshebang arg
  [ "$status" -eq 0 ]
  assert_eq "$output" "via sh: ./noshebang arg"
  assert_eq "$("$PL_FULL" run ./noshebang arg)" "via sh: ./noshebang arg"
}

@test "a command not found or not runnable: the full program's message and status" {
  base_blind
  "$PL" run true
  wait_holder
  printf '#!/bin/sh\necho no\n' >"$PROJ/notexec"
  chmod 644 "$PROJ/notexec"
  local fs fo s o
  for cmd in no-such-command-xyz ./notexec ./missing; do
    fo=$("$PL" run "$cmd" 2>&1) && fs=0 || fs=$?
    o=$("$PL_FULL" run "$cmd" 2>&1) && s=0 || s=$?
    assert_eq "$fs" "$s"
    assert_eq "$fo" "$o"
  done
  run -127 "$PL" run no-such-command-xyz
  assert_contains "$output" "pylock: run: no-such-command-xyz: No such file or directory"
  run "$PL" run ./notexec
  [ "$status" -eq 126 ]
}

@test "attack: a forged holder record is not joined by the front end, which hands over to the full program" {
  base_blind
  private_pylock
  "$P/bin/pylock" run true
  wait_holder
  kill "$(cut -d' ' -f3 "$rec")"
  # Namespaces of another process of ours, not a child of our user namespace, named
  # by a record pylock did not write (its mode and owner are right: the user's own).
  sleep 30 &
  other=$!
  mnt=$(stat -L -c %i /proc/$other/ns/mnt)
  usr=$(stat -L -c %i /proc/$other/ns/user)
  start=$(awk '{ print $22 }' /proc/$other/stat)
  gen=$(readlink "$STATE/current")
  digest=$(cut -d' ' -f7 "$rec")
  printf 'pylock-keepalive 4 %s %s %s %s %s %s\n' "$other" "$start" "$usr" "$mnt" "$digest" "$gen" >"$rec"
  chmod 600 "$rec"
  chmod 000 "$P/lib/pylock/pylock"
  run "$P/bin/pylock" run sh -c 'echo joined-forged'
  kill "$other"
  [ "$status" -eq 126 ]
  assert_not_contains "$output" "joined-forged"
}

@test "attack: a holder whose mount namespace lost the read-only state is not joined by the front end" {
  base_blind
  private_pylock
  "$P/bin/pylock" run true
  wait_holder
  pid=$(cut -d' ' -f3 "$rec")
  # The user owns the holder's user namespace: from outside, put a writable directory
  # over the state root in there, as code that could reach the holder would want to.
  # (mount(2) itself: util-linux's mount refuses a uid other than 0.  Remounting the
  # state read-write is refused by the kernel: the sandbox's mounts are locked.)
  mkdir "$BATS_TEST_TMPDIR/fake"
  # One process: setns, then mount(2) (an exec would drop the capabilities the
  # owner has in there; util-linux's mount also refuses a uid other than 0).
  run python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
pid, fake, root = sys.argv[1:]
for ns, flag in (("user", 0x10000000), ("mnt", 0x00020000)):
    fd = os.open("/proc/%s/ns/%s" % (pid, ns), os.O_RDONLY)
    if libc.setns(fd, flag) != 0:
        sys.exit("setns %s: errno %d" % (ns, ctypes.get_errno()))
MS_REMOUNT, MS_BIND = 32, 4096
if libc.mount(b"none", root.encode(), None, MS_REMOUNT | MS_BIND, None) == 0:
    print("remounted the state read-write")
elif libc.mount(fake.encode(), root.encode(), None, MS_BIND, None) != 0:
    sys.exit("bind: errno %d" % ctypes.get_errno())
open(root + "/x", "w").close()
print("writable")
' "$pid" "$BATS_TEST_TMPDIR/fake" "$(dirname "$(dirname "$STATE")")"
  echo "$output"
  assert_contains "$output" "writable" # the attack worked in there
  chmod 000 "$P/lib/pylock/pylock"
  run "$P/bin/pylock" run sh -c 'echo joined-tampered'
  [ "$status" -eq 126 ]
  assert_not_contains "$output" "joined-tampered"
}
