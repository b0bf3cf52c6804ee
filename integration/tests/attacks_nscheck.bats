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
  for _ in $(seq 100); do [ -s "$1" ] && return 0; nap 0.05; done
  return 1
}

# holder_pid: the pid of the project's default holder, once it has recorded itself.
holder_pid() {
  wait_record "$STATE/run/keepalive" && cut -d' ' -f3 "$STATE/run/keepalive"
}

# check_path MODE: WRAP, the command prefix that makes pylock check a holder's mounts MODE's
# way: kernel (statx mount ids, statmount, listmount) or mountinfo (as on a kernel without
# them, through the helper enosys-statmount).
check_path() {
  WRAP=()
  [ "$1" = kernel ] && return 0
  [ -x "$PYLOCK_BIN/enosys-statmount" ] ||
    { echo "build the helpers: make build/helpers/enosys-statmount"; return 1; }
  WRAP=("$PYLOCK_BIN/enosys-statmount")
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
  for _ in $(seq 100); do [ -d /proc/"$spid" ] || break; nap 0.05; done
  [ ! -d /proc/"$spid" ]
  # Code in a default sandbox of the same project, living on (a daemon of a test run).
  PYLOCK_KEEPALIVE=0 "$PL" run sh -c 'echo default > /tmp/pylock-nscheck-mark.$$; echo $$ > "$1"; exec sleep 30' \
    _ "$BATS_TEST_TMPDIR/daemon" 3>&- &
  for _ in $(seq 100); do [ -s "$BATS_TEST_TMPDIR/daemon" ] && break; nap 0.05; done
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

# in_holder PID PYTHON-CODE ARGS...: run the code in one python process that has joined the
# holder's user and mount namespaces from outside (the user owns them: every capability
# there), as code that could reach the holder would; `ns` and `libc` are set up for it.
in_holder() {
  local pid=$1 code=$2
  shift 2
  python3 -c '
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
pid = sys.argv[1]
for ns, flag in (("user", 0x10000000), ("mnt", 0x00020000)):
    fd = os.open("/proc/%s/ns/%s" % (pid, ns), os.O_RDONLY)
    if libc.setns(fd, flag) != 0:
        sys.exit("setns %s: errno %d" % (ns, ctypes.get_errno()))
def check(r, what):
    if r < 0:
        sys.exit("%s: errno %d" % (what, ctypes.get_errno()))
    return r
# x86_64 and aarch64 share these (the new mount API).
SYS_move_mount, SYS_fsopen, SYS_fsconfig, SYS_fsmount = 429, 430, 431, 432
def overlay(target, options, flags=("userxattr",)):
    fs = check(libc.syscall(SYS_fsopen, b"overlay", 1), "fsopen")
    for key, value in options:
        check(libc.syscall(SYS_fsconfig, fs, 1, key.encode(), value.encode(), 0), "fsconfig " + key)
    for flag in flags:
        check(libc.syscall(SYS_fsconfig, fs, 0, flag.encode(), None, 0), "fsconfig " + flag)
    check(libc.syscall(SYS_fsconfig, fs, 6, None, None, 0), "create")
    m = check(libc.syscall(SYS_fsmount, fs, 1, 0x7), "fsmount")  # read-only, nosuid, nodev
    check(libc.syscall(SYS_move_mount, m, b"", -100, target.encode(), 4), "move_mount")
args = sys.argv[2:]
'"$code" "$pid" "$@"
}

# Fails on a0c3e94: the overlay's layers were found in its options with strstr, so an
# overlay of one more layer on top (any directory: here one the sandboxed code could write)
# over the generation and the prefix passed for pylock's, read-only as it is, and a joined
# run imported what that layer held.
@test "attack: an overlay with a layer of its own above the generation's is not joined" {
  local pid prefix layer evil="$BATS_TEST_TMPDIR/evil"
  "$PL" run true
  pid=$(holder_pid)
  prefix=$(interp prefix)
  layer=$(layer_dir)
  mkdir -p "$evil"
  echo planted > "$evil/pylock-evil-mark"
  run in_holder "$pid" '
evil, layer, prefix = args
overlay(prefix, [("lowerdir+", evil), ("lowerdir+", layer), ("lowerdir+", prefix)])
print(open(prefix + "/pylock-evil-mark").read().strip())
print([l for l in open("/proc/self/mountinfo") if " " + prefix + " " in l][-1])
' "$evil" "$layer" "$prefix"
  echo "$output"
  assert_contains "$output" "planted" # the attack worked in there
  run "$PL" -v run sh -c 'cat "$1/pylock-evil-mark"; readlink /proc/self/ns/mnt' _ "$prefix"
  echo "$output"
  assert_not_contains "$output" "planted"
  assert_not_contains "$output" "$(readlink /proc/"$pid"/ns/mnt)"
}

# Fails on a0c3e94 with the mountinfo check (kernels before 6.11, or no statmount): a mount
# over the prefix's parent hides the overlay from every path, but the table still lists the
# overlay at the prefix with nothing on top of it at that point, and that was all the check
# looked at.  Joined runs ran the prefix the covering mount held (a python of its own).  The
# check from the kernel's mount objects walks the path: it refused this already.
@test "attack: a mount over the prefix's parent, hiding the overlay, is not joined (statmount and mountinfo)" {
  local prefix parent mode pid
  prefix=$(interp prefix)
  parent=$(dirname "$prefix")
  [ "$parent" != / ] || skip "the prefix $prefix has no parent but /"
  for mode in kernel mountinfo; do
    check_path "$mode"
    "${WRAP[@]}" "$PL" run true
    pid=$(holder_pid)
    # The check passes on the holder as it is, through either path.
    run "${WRAP[@]}" "$PL" run readlink /proc/self/ns/mnt
    assert_eq "$output" "$(readlink /proc/"$pid"/ns/mnt)"
    run in_holder "$pid" '
parent, prefix = args
if libc.mount(b"tmpfs", parent.encode(), b"tmpfs", 0, b"size=64k") != 0:
    sys.exit("tmpfs: errno %d" % ctypes.get_errno())
os.makedirs(prefix + "/bin")
open(prefix + "/pylock-evil-mark", "w").write("planted\n")
print(open(prefix + "/pylock-evil-mark").read().strip())
' "$parent" "$prefix"
    echo "$mode: $output"
    assert_contains "$output" "planted" # the attack worked in there
    run "${WRAP[@]}" "$PL" -vv run sh -c 'cat "$1/pylock-evil-mark"; readlink /proc/self/ns/mnt' _ "$prefix"
    echo "$mode: $output"
    assert_not_contains "$output" "planted"
    assert_not_contains "$output" "$(readlink /proc/"$pid"/ns/mnt)"
    kill "$pid"
    rm -f "$STATE/run/keepalive"
  done
}

# Mounts put in the holder's namespace, each alone, through both checks: none is joined.
# Fails on a0c3e94 with the mountinfo check for the tmpfs over the state root's parent (the
# table still lists the read-only state at its point, nothing on top of it there): the
# joined run had a writable directory where pylock's state should be.  The others held.
@test "attack: a mount inside the overlay, or over the state's, the configuration's or the user site's parent, is not joined" {
  local prefix purelib site mode target pid
  prefix=$(interp prefix)
  purelib=$(interp purelib)
  site="$HOME/.local/lib/python$(short_version)"
  for mode in kernel mountinfo; do
    check_path "$mode"
    for target in "$purelib" "$(dirname "$(dirname "$STATE")")/.." "$HOME/.config" "$(dirname "$site")"; do
      "${WRAP[@]}" "$PL" run true
      pid=$(holder_pid)
      run in_holder "$pid" '
target, = args
if libc.mount(b"tmpfs", target.encode(), b"tmpfs", 0, b"size=64k") != 0:
    sys.exit("tmpfs: errno %d" % ctypes.get_errno())
print("mounted", os.path.realpath(target))
' "$target"
      echo "$mode $target: $output"
      assert_contains "$output" "mounted"
      run "${WRAP[@]}" "$PL" -vv run readlink /proc/self/ns/mnt
      echo "$mode $target: $output"
      [ "$status" -eq 0 ]
      assert_not_contains "$output" "$(readlink /proc/"$pid"/ns/mnt)"
      assert_contains "$output" "not joined"
      kill "$pid"
      rm -f "$STATE/run/keepalive"
    done
  done
}

# Holds on a0c3e94: the generation is pylock's (signed wheels, no links), but should a layer
# hold links, FIFOs or a FIFO in place of a directory the base has, the holder's walk of the
# merged directories opens none of them (O_NOFOLLOW, O_DIRECTORY: a FIFO is never opened for
# reading) and blocks on none: it records itself, the next run joins it, and, idle, it
# leaves after its time to live (a holder stuck in its walk would never look again).
@test "a generation with links and FIFOs among its directories: the holder does not block on them" {
  local g1="$STATE/generations/1" g2="$STATE/generations/2" rel outside="$BATS_TEST_TMPDIR/outside" pid prefix lib
  prefix=$(interp prefix)
  rel=$(interp purelib); rel=${rel#"$prefix"}
  mkdir -p "$outside/sub"
  cp -a "$g1" "$g2"
  cp -a "$g1.meta" "$g2.meta"
  chmod -R u+w "$g2"
  # (A link at the top of site-packages that is no fold into the cache is
  # refused before any sandbox is made: fold_attacks.bats.  One level down
  # it is the holder's to walk past.)
  mkdir "$g2$rel/zz-dir"
  ln -s "$outside" "$g2$rel/zz-dir/zz-link"
  mkfifo "$g2$rel/zz-fifo"
  lib=$(dirname "$g2$rel")
  mkfifo "$lib/curses" # the base has a directory there
  ln -s "$outside" "$lib/ensurepip"
  ln -sfn generations/2 "$STATE/current.new" && mv -T "$STATE/current.new" "$STATE/current"
  export PYLOCK_KEEPALIVE=2
  run timeout 20 "$PL" run python3 -c 'print("ran")'
  assert_eq "$output" "ran"
  pid=$(holder_pid)
  [ -d /proc/"$pid" ]
  # (What it holds open is not readable from here, not even by its owner: it is not
  # dumpable, and its /proc entries are root's; tests/test_sandbox.c looks at the walk.)
  run "$PL" run sh -c 'python3 -c "print(\"joined\")"; readlink /proc/self/ns/mnt'
  assert_eq "${lines[0]}" "joined"
  assert_eq "${lines[1]}" "$(readlink /proc/"$pid"/ns/mnt)"
  for _ in $(seq 80); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
  [ ! -d /proc/"$pid" ]
}

# Holds on a0c3e94: the record is touched only when its second changed; a holder that runs
# keep using is never reaped under them, though its time to live is shorter than the
# stretch of runs.
@test "a holder in use by runs outlives its time to live; idle, it leaves" {
  local pid t0 ns
  export PYLOCK_KEEPALIVE=2
  "$PL" run true
  pid=$(holder_pid)
  ns=$(readlink /proc/"$pid"/ns/mnt)
  t0=$(date +%s)
  while [ $(($(date +%s) - t0)) -lt 5 ]; do
    assert_eq "$("$PL" run readlink /proc/self/ns/mnt)" "$ns"
    sleep 0.3
  done
  [ -d /proc/"$pid" ]
  for _ in $(seq 50); do [ -d /proc/"$pid" ] || break; sleep 0.1; done
  [ ! -d /proc/"$pid" ]
}

# Holds on a0c3e94: --allow-write naming pylock's state (the records' directory, the state
# root) or configuration leaves them read-only, in a fresh sandbox and in the holder it
# leaves, which the next run with the same option joins.
@test "attack: --allow-write on the records, the state root or the configuration writes none of them, fresh or joined" {
  local root conf w i
  root=$(dirname "$(dirname "$STATE")")
  conf="${XDG_CONFIG_HOME:-$HOME/.config}/pylock"
  mkdir -p "$conf"
  for w in "$STATE/run" "$root" "$conf"; do
    for i in fresh joined; do
      run "$PL" run -w "$w" sh -c 'for d in "$@"; do touch "$d/pylock-nscheck-x" && echo "WROTE $d"; done; readlink /proc/self/ns/mnt' \
        _ "$STATE/run" "$root" "$conf"
      echo "$w $i: $output"
      [ "$status" -eq 0 ]
      assert_not_contains "$output" "WROTE"
      [ ! -e "$STATE/run/pylock-nscheck-x" ] && [ ! -e "$root/pylock-nscheck-x" ] && [ ! -e "$conf/pylock-nscheck-x" ]
    done
    # The second run joined the first one's holder.
    wait_record "$STATE/run/keepalive"
    assert_contains "$output" "$(readlink /proc/"$(cut -d' ' -f3 "$STATE/run/keepalive")"/ns/mnt)"
    kill "$(cut -d' ' -f3 "$STATE/run/keepalive")"
    rm -f "$STATE/run/keepalive"
  done
}

# Fails on a0c3e94: a read-only bind of one of the overlay's own directories over the prefix
# is a mount of the same overlay (its type, flags and layers are pylock's), so both checks
# took it for pylock's, though what the prefix shows is another directory of it.
@test "attack: a bind of one of the overlay's directories over the prefix is not joined (statmount and mountinfo)" {
  local prefix mode pid
  prefix=$(interp prefix)
  for mode in kernel mountinfo; do
    check_path "$mode"
    "${WRAP[@]}" "$PL" run true
    pid=$(holder_pid)
    run in_holder "$pid" '
prefix, = args
MS_BIND, MS_REMOUNT, MS_RDONLY = 4096, 32, 1
if libc.mount((prefix + "/lib").encode(), prefix.encode(), None, MS_BIND, None) != 0 or \
   libc.mount(None, prefix.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None) != 0:
    sys.exit("bind: errno %d" % ctypes.get_errno())
print("bound", sorted(os.listdir(prefix))[:3])
' "$prefix"
    echo "$mode: $output"
    assert_contains "$output" "bound"
    run "${WRAP[@]}" "$PL" -vv run readlink /proc/self/ns/mnt
    echo "$mode: $output"
    assert_not_contains "$output" "$(readlink /proc/"$pid"/ns/mnt)"
    assert_contains "$output" "not joined"
    kill "$pid"
    rm -f "$STATE/run/keepalive"
  done
}

# Fails on a0c3e94: a read-only bind of another directory (one sandboxed code can write
# through another path) over the state root or the configuration is read-only, with nothing
# below it, as both checks want; what it shows is not pylock's state.
@test "attack: another directory bound read-only over the state root or the configuration is not joined" {
  local root conf target pid fake="$BATS_TEST_TMPDIR/fake"
  root=$(dirname "$(dirname "$STATE")")
  conf="${XDG_CONFIG_HOME:-$HOME/.config}/pylock"
  mkdir -p "$conf" "$fake"
  for target in "$root" "$conf"; do
    "$PL" run true
    pid=$(holder_pid)
    run in_holder "$pid" '
fake, target = args
MS_BIND, MS_REMOUNT, MS_RDONLY = 4096, 32, 1
if libc.mount(fake.encode(), target.encode(), None, MS_BIND, None) != 0 or \
   libc.mount(None, target.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY, None) != 0:
    sys.exit("bind: errno %d" % ctypes.get_errno())
print("bound")
' "$fake" "$target"
    echo "$target: $output"
    assert_contains "$output" "bound"
    run "$PL" -vv run readlink /proc/self/ns/mnt
    echo "$target: $output"
    assert_not_contains "$output" "$(readlink /proc/"$pid"/ns/mnt)"
    assert_contains "$output" "not joined"
    kill "$pid"
    rm -f "$STATE/run/keepalive"
  done
}
