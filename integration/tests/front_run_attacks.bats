#!/usr/bin/env bats
# pylock-test: once
# Attacks on pylock's static front end (bin/pylock) and the layout it brought: where a
# joined `pylock run` could differ from the full program's (lib/pylock/pylock).
# (Once: the interpreter is only the command both programs run; what is compared is theirs.)
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

# What run_front.bats's probe leaves out: descriptors, signals, limits, the umask, and
# the network namespace (-n is added on top of a joined holder).
PROBE='
import os
st = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
for k in ("SigBlk", "SigIgn", "SigCgt", "Seccomp", "NoNewPrivs", "CapBnd"):
    print(k, st.get(k, "-").strip())
print("fds", sorted(os.listdir("/proc/self/fd")))
print("umask", os.umask(0o22))
print(open("/proc/self/limits").read())
print("netdev", sorted(l.split(":")[0].strip() for l in open("/proc/net/dev").readlines()[2:]))
print("netns", os.readlink("/proc/self/ns/net"))
'

@test "a joined run inherits no descriptor, signal state or limit the full program's does not; -n is a network of its own" {
  "$PL" run true
  wait_holder
  local host_net fds
  host_net=$(readlink /proc/self/ns/net)
  # The descriptors a command run without pylock has here: none may be added.
  fds=$(python3 -c 'import os; print("fds", sorted(os.listdir("/proc/self/fd")))' 9>/dev/null)
  for mode in "" -n; do
    # shellcheck disable=SC2086
    front=$("$PL" run $mode python3 -c "$PROBE" 9>/dev/null)
    # shellcheck disable=SC2086
    full=$("$PL_FULL" run $mode python3 -c "$PROBE" 9>/dev/null)
    # Each -n run has a network namespace of its own: the names differ, nothing else.
    diff <(echo "$full" | grep -v '^netns') <(echo "$front" | grep -v '^netns')
    assert_contains "$front" "$fds"
    if [ "$mode" = -n ]; then
      assert_contains "$front" "netdev ['lo']"
      assert_not_contains "$front" "netns $host_net"
    else
      assert_contains "$front" "netns $host_net"
    fi
  done
}

# FAILS on runfront 58475b4 (fixed by the next commit): the front end parsed pylock.toml.
@test "attack: a pylock.toml changed since the sync (a pull request's) is not read by the front end, only by the full program" {
  command -v strace >/dev/null || skip "no strace"
  private_pylock
  "$P/bin/pylock" run true
  wait_holder
  # A pull request's pylock.toml: not what the environment was built from, so the run is
  # the full program's (it says so).  The static front end, which has no PIE and no
  # _FORTIFY_SOURCE, must hand it over without parsing it.
  printf '\n# from a pull request\n' >>pylock.toml
  run strace -f -e trace=openat,execve -o "$BATS_TEST_TMPDIR/trace" \
    "$P/bin/pylock" run sh -c 'echo ran'
  [ "$status" -eq 0 ]
  assert_contains "$output" "changed since the environment"
  assert_contains "$output" "ran"
  # The front end's system calls: everything before it execs the full program.
  front=$(sed "\\|execve(\"$P/bin/../lib/pylock/pylock\"|q" "$BATS_TEST_TMPDIR/trace")
  assert_contains "$front" "execve(\"$P/bin/../lib/pylock/pylock\""
  assert_not_contains "$front" '"pylock.toml"'
  # The full program reads it, as it must.
  grep -q 'openat(.*"pylock.toml"' "$BATS_TEST_TMPDIR/trace"
}

# FAILS on runfront 58475b4 with musl (fixed by the next commit): musl-gcc's -static left
# the front ends at fixed addresses.
@test "the front ends are position-independent (ASLR), as the full program is" {
  local f
  for f in "$PL" "$PYLOCK_BIN/pylock-shim" "$PL_FULL"; do
    f=$(readlink -f "$f")
    # e_type, at offset 16 of the ELF header: 3 is ET_DYN (PIE), 2 ET_EXEC (fixed).
    type=$(od -An -t u2 -j 16 -N 2 "$f" | tr -d ' ')
    echo "$f: e_type $type"
    assert_eq "$type" 3
  done
}

# Cannot run without AppArmor (skipped on the test VM).  Expected to FAIL on runfront
# 58475b4 where pylock's profile is loaded: the profile attaches to the full program only,
# so a command the unconfined front end execs is not stacked with unpriv_pylock.
@test "AppArmor: a joined command is stacked with unpriv_pylock through the front end too" {
  [ -r /sys/kernel/security/apparmor/profiles ] || skip "no AppArmor here"
  grep -q '^unpriv_pylock ' /sys/kernel/security/apparmor/profiles || skip "pylock's profile is not loaded"
  "$PL" run true
  wait_holder
  full=$(PYLOCK_KEEPALIVE=0 "$PL_FULL" run cat /proc/self/attr/current)
  case "$full" in *unpriv_pylock*) ;; *) skip "pylock's profile does not attach to $PL_FULL ($full)" ;; esac
  front=$("$PL" run cat /proc/self/attr/current)
  assert_eq "$front" "$full"
}

# FAILS on runfront 58475b4: the full program is found one directory up from the front
# end's (DIR/../lib/pylock/pylock), and run whoever could put it there.
@test "attack: a full program another user could have put there is not run" {
  private_pylock
  marker="$BATS_TEST_TMPDIR/ran-planted"
  # $P/lib writable by every user (a front end copied into /tmp/x/bin: /tmp/x/../lib is
  # anyone's to make): what is in it could be anyone's.
  printf '#!/bin/sh\ntouch %s\n' "$marker" >"$P/lib/pylock/pylock"
  chmod 0777 "$P/lib"
  for args in "list" "run true" "--version"; do
    # shellcheck disable=SC2086
    run "$P/bin/pylock" $args
    echo "$args -> $status: $output"
    [ "$status" -ne 0 ]
    assert_contains "$output" "writable by other users"
    [ ! -e "$marker" ]
  done
  # The shims' front end finds it the same way.
  cp "$PYLOCK_BIN/pylock-shim" "$P/bin/pylock-shim"
  ln -s pylock-shim "$P/bin/python3"
  run "$P/bin/python3" -c 'print("real")'
  echo "python3 -> $status: $output"
  [ "$status" -eq 126 ]
  assert_contains "$output" "writable by other users"
  [ ! -e "$marker" ]
  chmod 0755 "$P/lib"
  # Owned by the user and writable by nobody else: run.
  run "$P/bin/pylock" list
  [ -e "$marker" ]
  # In a sandbox root's directories show as the overflow uid: still pylock's own.
  cp "$PL_FULL" "$P/lib/pylock/pylock"
  run "$PL" run "$P/bin/pylock" run true
  echo "nested: $status: $output"
  [ "$status" -eq 1 ]
  assert_contains "$output" "already inside the project's environment"
  run "$PL" run "$P/bin/python3" -c 'print("shim in sandbox")'
  echo "shim nested: $status: $output"
  # (What the full program then says is its own: it is run.)
  assert_not_contains "$output" "writable by other users"
  assert_not_contains "$output" "not running"
}

@test "argv the front end's parser and getopt_long could read apart: the same run, the same words to CMD" {
  "$PL" run true
  wait_holder
  # What follows CMD is CMD's, options or not; -- ends pylock's; a CMD that looks like an
  # option after --; -C's value that looks like an option.
  local cases=(
    "run sh -c 'echo \"\$*\"' x --strict -n -C / --"
    "run -n -- sh -c 'echo \"\$*\"' x -s"
    "run -- -s"
    "-q -C $PROJ run -s -n sh -c 'echo strict'"
    "-C$PROJ -q run -- sh -c 'echo ok'"
  )
  local c fo fs o s
  for c in "${cases[@]}"; do
    eval "set -- $c"
    fo=$("$PL" "$@" 2>&1) && fs=0 || fs=$?
    o=$("$PL_FULL" "$@" 2>&1) && s=0 || s=$?
    echo "case: $c -> front $fs: $fo / full $s: $o"
    assert_eq "$fs" "$s"
    assert_eq "$fo" "$o"
    [ "$fs" -eq 127 ] || [ -n "$fo" ]
  done
  assert_eq "$("$PL" run sh -c 'echo "$*"' x --strict -n -C / --)" "--strict -n -C / --"
  # A -C with no value is the full program's to refuse, and nothing runs.
  run "$PL" run sh -c 'echo ran' -C
  assert_eq "$output" "ran"
  run "$PL" -C
  [ "$status" -eq 2 ]
}

@test "a joined run's seccomp filter denies what the full program's denies, --strict too" {
  "$PL" run true
  wait_holder
  "$PL" run --strict true
  wait_holder "$STATE/run/keepalive-strict"
  local mode front full
  cp "$PYLOCK_SCRATCH/tests/probe_syscalls.py" "$PROJ/" # --strict has a /tmp of its own
  for mode in "" --strict; do
    # shellcheck disable=SC2086
    front=$("$PL" run $mode python3 probe_syscalls.py 2>&1)
    # shellcheck disable=SC2086
    full=$("$PL_FULL" run $mode python3 probe_syscalls.py 2>&1)
    diff <(echo "$full") <(echo "$front")
    assert_contains "$front" "unshare(CLONE_NEWUSER) EPERM"
  done
}
