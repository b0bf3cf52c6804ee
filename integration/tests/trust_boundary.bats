#!/usr/bin/env bats
# The trust boundary (issue 8): nothing pylock later trusts is writable from
# inside a sandbox.  Each test performs one attack from inside `pylock run`
# (or from a helper's sandbox: the interpreter probe, pip, compileall) the
# way code of a malicious package would, asserts that it fails, and that
# nothing changed: the cache and the project's state byte for byte, `pylock
# verify`, what a later run imports, and what a fresh project installing the
# same lock from the same cache gets.
#
# The projects live in the home (outside /tmp, which every default sandbox
# may write) and pylock's state in its default place, ~/.local/state/pylock.
# Comments that say "once a hole" mark attacks that succeeded against the
# first design of the state root and were closed since.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  # A directory of the home: no sandbox can write there (bats' own files are in /tmp).
  W=$(mktemp -d "$HOME/trust-boundary.XXXXXX")
  export W PA="$W/projA" PB="$W/projB"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/marks"
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/urllib3-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  export PYLOCK_KEEPALIVE=0
  project "$PA"
  set_requested_in "$PA/pylock.toml" six urllib3
  "$PL" -q -C "$PA" lock
  cp "$PA/pylock.toml" "$FIX/lock.toml"
  "$PL" -q -C "$PA" sync
  project "$PB"
  cp "$FIX/lock.toml" "$PB/pylock.toml"
  "$PL" -q -C "$PB" sync
  R=$("$PL" -C "$PA" info state-root)
  export R
  # What "untouched" means, measured once.
  (cd "$R/cache" && find wheels trees -mindepth 1 -maxdepth 1 | LC_ALL=C sort) >"$FIX/cache.items"
  cache_digest >"$FIX/cache.digest"
  state_digest "$PA" >"$FIX/stateA.digest"
  state_digest "$PB" >"$FIX/stateB.digest"
  tree_digest "$("$PL" -C "$PA" info layer)" >"$FIX/layer.digest"
  "$PL" -C "$PA" run python3 -c "$SEEN" >"$FIX/seen"
  USER_SITE="$HOME/.local/lib/python$(interp version "$PA" | cut -d. -f1-2)"
  export USER_SITE
  grep -q 'six.py' "$FIX/seen"

  # attack.py FILE: each line of FILE is "OP PATH [ARG]"; tries it and prints
  # "OP PATH RESULT", RESULT the errno's name or SUCCEEDED.
  cat >"$FIX/attack.py" <<'PY'
import errno, os, sys

def do(op, path, arg):
    if op == "chmod":
        os.chmod(path, 0o666)
    elif op == "append":
        with open(path, "ab") as f:
            f.write(b"\n# tampered\n")
    elif op == "create":
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    elif op == "mkdir":
        os.mkdir(path)
    elif op == "unlink":
        os.unlink(path)
    elif op == "rename":
        os.rename(path, arg or path + ".moved")
    elif op == "relink":  # replace a symlink, the way pylock switches generations
        os.symlink(arg, path + ".new")
        os.replace(path + ".new", path)
    elif op == "hardlink":  # a second name in a writable place, then chmod through it
        os.link(path, arg)
        os.chmod(arg, 0o666)
    elif op == "reopen":  # read-only open, then write through /proc/self/fd
        fd = os.open(path, os.O_RDONLY)
        os.close(os.open("/proc/self/fd/%d" % fd, os.O_WRONLY | os.O_APPEND))
    elif op == "utime":
        os.utime(path, (0, 0))
    elif op == "listdir":
        os.listdir(path)
    elif op == "read":
        with open(path, "rb") as f:
            f.read(1)
    elif op == "readlink":
        os.readlink(path)
    elif op == "open":
        os.close(os.open(path, os.O_RDONLY))
    elif op == "kill0":
        os.kill(int(path), 0)
    else:
        sys.exit("attack.py: unknown operation " + op)

for line in open(sys.argv[1]):
    op, path, *rest = line.split()
    try:
        do(op, path, rest[0] if rest else None)
        print(op, path, "SUCCEEDED")
    except OSError as e:
        print(op, path, errno.errorcode.get(e.errno, str(e.errno)))
PY
}

setup() {
  export PYLOCK_KEEPALIVE=0
  OPS="$BATS_TEST_TMPDIR/ops"
  BG=()
  cd "$W" || return
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null || true; done
  end_holders
  # Modes a test loosened on purpose.
  chmod g-w "$R/cache/trees" 2>/dev/null || true
  rm -rf "$USER_SITE/site-packages"
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  end_holders
  chmod -R u+w "$W" "$BATS_FILE_TMPDIR" 2>/dev/null || true
  rm -rf "$W"
}

# What a run prints about the code it imports: paths and sha256 of six.py,
# six's byte-code and urllib3's __init__.py.
SEEN='
import hashlib, importlib.util, os, six, urllib3
def h(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest() if os.path.exists(p) else "missing"
pyc = importlib.util.cache_from_source(six.__file__)
print(six.__file__, h(six.__file__), pyc, h(pyc), urllib3.__file__, h(urllib3.__file__))
'

# project DIR: a new project on the base under test, trusting the fixture registry.
project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$1"
}

# One digest of directory trees: every entry's path, type, mode and link
# target, and every file's bytes (one process: tree_digest.py).
tree_digest() {
  python3 "$BATS_TEST_DIRNAME/tree_digest.py" "$@"
}

# The cache as setup_file left it (wheels and trees made later are not counted).
cache_digest() {
  python3 "$BATS_TEST_DIRNAME/tree_digest.py" --items "$FIX/cache.items" "$R/cache"
}

# A project's state but its keep-alive records and change lock.
state_digest() {
  local s
  s=$(state_dir "$1")
  {
    tree_digest "$s/generations"
    readlink "$s/current" "$s/previous"
    cat "$s/interp" "$s/registry-root.json" "$s/path" | sha256sum
  } | sha256sum | cut -d' ' -f1
}

# The environment is what setup_file made: the cache and project A's state
# byte for byte, `pylock verify` passes, a run imports the same code, and a
# fresh project installing the same lock from the cache gets the same files.
assert_untouched() {
  assert_eq "$(cache_digest)" "$(cat "$FIX/cache.digest")"
  assert_eq "$(state_digest "$PA")" "$(cat "$FIX/stateA.digest")"
  run "$PL" -C "$PA" verify
  [ "$status" -eq 0 ] || { echo "verify: $output"; return 1; }
  run "$PL" -C "$PA" run python3 -c "$SEEN"
  assert_eq "$output" "$(cat "$FIX/seen")"
  local fresh="$W/fresh-$BATS_TEST_NUMBER"
  project "$fresh"
  cp "$FIX/lock.toml" "$fresh/pylock.toml"
  "$PL" -q -C "$fresh" sync
  assert_eq "$(tree_digest "$(layer_dir "$fresh")")" "$(cat "$FIX/layer.digest")"
  run "$PL" -C "$fresh" verify
  [ "$status" -eq 0 ] || { echo "verify of a fresh project: $output"; return 1; }
}

# ops: the operations on stdin, into $OPS for attack.py.
ops() {
  cat >"$OPS"
}

# Every operation of $OPS ran and was refused with one of the errnos given.
assert_all_refused() {
  local allowed=" $* " op path res n=0
  while read -r op path res; do
    n=$((n + 1))
    [[ "$allowed" == *" $res "* ]] || { echo "not refused as expected: $op $path -> $res"; return 1; }
  done <<<"$output"
  [ "$n" -eq "$(wc -l <"$OPS")" ] || { echo "attack.py ran $n operations: $output"; return 1; }
}

# start_holder DIR: a first run of DIR that leaves a keep-alive holder; its pid.
start_holder() {
  local rec pid
  rec="$(state_dir "$1")/run/keepalive"
  PYLOCK_KEEPALIVE=30 "$PL" -C "$1" run true
  for _ in $(seq 50); do [ -s "$rec" ] && break; nap 0.05; done
  pid=$(cut -d' ' -f3 "$rec")
  [ "$(cat "/proc/$pid/comm")" = pylock-keep ] || { echo "no holder: $(cat "$rec")" >&2; return 1; }
  echo "$pid"
}

# The holders of this file's projects, ended by pid (their command line names
# the record under our state root).
end_holders() {
  local p
  for p in $(pgrep -u "$(id -u)" -f "^pylock-keep [0-9]+ $R/" 2>/dev/null); do
    kill "$p" 2>/dev/null || true
  done
  return 0
}

# A path of a project's current layer, relative to it: the first match of
# `find -path PATTERN`.
in_layer() {
  (cd "$(layer_dir "$1")" && find -L . -path "$2" | sed 's|^\./||' | head -n 1)
}

# ---------------------------------------------------------------- 1. the cache and the state

@test "from inside a run, no path to the cache, the generation or the state can be written" {
  local la sa six pyc tree_six tree_pyc prefix whl
  la=$(layer_dir "$PA")
  sa=$(state_dir "$PA")
  six=$(in_layer "$PA" '*-packages/six.py')
  pyc=$(in_layer "$PA" '*-packages/__pycache__/six.*.pyc')
  [ -n "$six" ] && [ -n "$pyc" ]
  # The generation's files are hard links into the cache: the same inodes.
  tree_six=$(find "$R/cache/trees" -samefile "$la/$six")
  tree_pyc=$(find "$R/cache/trees" -samefile "$la/$pyc")
  [ -n "$tree_six" ] && [ -n "$tree_pyc" ]
  prefix=$(interp prefix "$PA")
  whl=$(find "$R/cache/wheels" -name '*.whl' | head -n 1)
  local n=0 f
  {
    for f in "$la/$six" "$la/$pyc" "$sa/current/$six" "$tree_six" "$tree_pyc" "$prefix/$six" \
      "$prefix/$pyc" "$whl"; do
      n=$((n + 1))
      echo "chmod $f"
      echo "append $f"
      echo "reopen $f"
      echo "utime $f"
      echo "hardlink $f $PA/stolen-$n"
      echo "rename $f"
      echo "unlink $f"
    done
    echo "create $la/$(dirname "$six")/evil.pth"
    echo "create $prefix/$(dirname "$six")/evil.pth"
    echo "create $(dirname "$tree_six")/evil.pth"
    echo "mkdir $sa/generations/99"
    echo "create $sa/generations/evil"
    echo "rename $la $sa/generations/99"
    echo "relink $sa/current generations/1"
    echo "append $sa/interp"
    echo "append $sa/registry-root.json"
    echo "append $sa/path"
    echo "create $sa/run/keepalive-strict"
    echo "create $sa/evil"
    echo "rename $sa"
    echo "create $R/cache/wheels/evil.whl"
    echo "mkdir $R/cache/trees/evil"
    echo "rename $(dirname "$(dirname "$tree_six")") $R/cache/trees/evil"
    echo "create $R/scratch/evil"
    echo "mkdir $R/scratch/lock-evil"
    echo "create $R/interp/evil"
    echo "create $R/registries/evil"
    echo "create $R/projects/evil"
    echo "create $HOME/.config/pylock/config.toml"
  } | ops
  run "$PL" -C "$PA" run python3 "$FIX/attack.py" "$OPS"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_not_contains "$output" "SUCCEEDED"
  assert_all_refused EROFS EACCES EPERM EXDEV EBUSY
  # Written as the sandbox sees them: read-only mounts, or out of the write allow-list.
  assert_contains "$output" "chmod $la/$pyc EROFS"
  assert_contains "$output" "chmod $tree_six EROFS"
  assert_contains "$output" "create $sa/run/keepalive-strict EROFS"
  [ -z "$(find "$PA" -name 'stolen-*')" ]
  [ ! -e "$HOME/.config/pylock/config.toml" ]
  assert_untouched
}

# Once a hole (closed now; the test keeps it closed): Landlock's allow-list covers writing, creating, renaming and
# removing, not the metadata calls: chmod, chown, utimes and set/removexattr
# succeed on every file of the user outside the allow-list, in default and
# --strict sandboxes alike.  Code in a sandbox makes the home or ~/.bashrc
# writable by everyone (another local user then writes there and runs as
# this one, outside any sandbox), opens ~/.config (whose pylock/ is then
# replaceable), or flips a directory on the way to the state root so that
# pylock refuses to run.  The fix: the read-only mounts of the no-Landlock
# path (mount_allow_list: everything read-only, the writable places bound
# back) in every sandbox, Landlock on top, so that metadata changes fail
# with EROFS outside the allow-list as writes do.
@test "from inside a run, the modes of the user's files outside the allow-list stay as they are" {
  base_blind
  local f="$W/dotfile" strict before m1 m2 m3 bad=
  touch "$f"
  chmod 600 "$f"
  before=$(stat -c '%a %Y' "$f" "$HOME/.local/state" "$HOME/.config")
  read -r m1 m2 m3 <<<"$(stat -c %a "$f" "$HOME/.local/state" "$HOME/.config" | tr '\n' ' ')"
  for strict in "" --strict; do
    run "$PL" -C "$PA" run $strict sh -c '
      chmod 666 "$1"; echo "chmod file: $?"
      touch -d 2001-01-01 "$1"; echo "utime: $?"
      chmod 777 "$2"; echo "chmod state parent: $?"
      chmod 777 "$3"; echo "chmod config parent: $?"' _ "$f" "$HOME/.local/state" "$HOME/.config"
    echo "${strict:-default}: $output"
    local after
    after=$(stat -c '%a %Y' "$f" "$HOME/.local/state" "$HOME/.config")
    chmod "$m1" "$f" && chmod "$m2" "$HOME/.local/state" && chmod "$m3" "$HOME/.config"
    [ "$after" = "$before" ] || bad="$bad ${strict:-default}"
  done
  [ -z "$bad" ] || { echo "modes and times changed from inside the sandbox:$bad"; return 1; }
}

# ---------------------------------------------------------------- 2. the keep-alive holder

@test "the keep-alive holder cannot be traced, read or reached from a run, joined or fresh" {
  base_blind
  local h
  h=$(start_holder "$PA")
  ops <<EOF
listdir /proc/$h/fd
readlink /proc/$h/fd/0
open /proc/$h/fd/0
listdir /proc/$h/root
readlink /proc/$h/root
readlink /proc/$h/cwd
readlink /proc/$h/exe
read /proc/$h/environ
read /proc/$h/mem
open /proc/$h/ns/mnt
open /proc/$h/ns/user
readlink /proc/$h/ns/mnt
kill0 $h
EOF
  local attack="$PYLOCK_BIN/ptrace-attack" joined
  for joined in 30 0; do
    run env PYLOCK_KEEPALIVE=$joined "$PL" -C "$PA" run sh -c '
      readlink /proc/self/ns/mnt
      for m in seize attach vmread mem; do "$1" "$m" "$2"; done
      "$1" self
      python3 "$3" "$4"' _ "$attack" "$h" "$FIX/attack.py" "$OPS"
    [ "$status" -eq 0 ]
    mnt=${lines[0]}
    if [ "$joined" -ne 0 ]; then
      assert_eq "$mnt" "$(readlink "/proc/$h/ns/mnt")" # in the holder's namespaces
    else
      [ "$mnt" != "$(readlink "/proc/$h/ns/mnt")" ]
    fi
    assert_contains "${lines[1]}" "denied: EPERM (PTRACE_SEIZE"
    assert_contains "${lines[2]}" "denied: EPERM (PTRACE_ATTACH"
    assert_contains "${lines[3]}" "denied: EPERM (process_vm_readv"
    assert_contains "${lines[4]}" "denied: EACCES (open /proc/PID/mem"
    # The helper works where the kernel allows it: a child of its own.
    assert_eq "${lines[5]}" "attack succeeded: PTRACE_SEIZE"
    output=$(printf '%s\n' "${lines[@]:6}")
    assert_all_refused EACCES EPERM
  done
  [ -d "/proc/$h" ] # still there, unharmed
  assert_untouched
}

@test "the holder runs with no capabilities, no_new_privs, seccomp, and is not dumpable" {
  base_blind
  local h status_text
  h=$(start_holder "$PA")
  status_text=$(cat "/proc/$h/status")
  local cap
  for cap in CapInh CapPrm CapEff CapBnd CapAmb; do
    assert_contains "$status_text" "$cap:	0000000000000000"
  done
  assert_contains "$status_text" "NoNewPrivs:	1"
  assert_contains "$status_text" "Seccomp:	2"
  # Not dumpable: its /proc files belong to root (uid 0 is not mapped in its
  # user namespace), so even its user cannot read its memory or environment.
  assert_eq "$(stat -c %u "/proc/$h/environ")" 0
  run cat "/proc/$h/environ"
  [ "$status" -ne 0 ]
  # Its descriptors: only root may list them; where that works, /dev/null only.
  if ls "/proc/$h/fd" >/dev/null 2>&1; then
    for f in /proc/"$h"/fd/*; do assert_eq "$(readlink "$f")" /dev/null; done
  else
    run ls "/proc/$h/fd"
    assert_contains "$output" "Permission denied"
  fi
  # Its namespaces are the user's to inspect (that is how a run checks them).
  [ -n "$(readlink "/proc/$h/ns/mnt")" ]
}

@test "a run, fresh, spawning a holder or joined, holds no descriptor the caller did not pass" {
  base_blind
  # The descriptors a command sees, by number and kind (pipes by kind only).
  local fds='for f in /proc/$$/fd/*; do
    t=$(readlink "$f") || continue; case $t in pipe:*) t=pipe ;; esac; echo "${f##*/} $t"; done'
  local expected keep
  run sh -c "$fds" # the same command, run the same way without pylock
  expected=$output
  for keep in 0 30 30; do # fresh; fresh leaving a holder; joining it
    run env PYLOCK_KEEPALIVE=$keep "$PL" -C "$PA" run sh -c "$fds"
    [ "$status" -eq 0 ]
    assert_eq "$output" "$expected"
  done
}

# ---------------------------------------------------------------- 3. other processes of the user

@test "a run cannot reach the host through another process's /proc entries, nor signal it" {
  base_blind
  (cd "$W" && exec sleep 300) &
  BG+=($!)
  local out=$! self=$$ other
  # And a process in another sandbox of the same project.
  PYLOCK_KEEPALIVE=0 "$PL" -C "$PA" run sleep 300 &
  other=$!
  BG+=("$other")
  for _ in $(seq 100); do
    [ "$(readlink "/proc/$other/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] && break
    nap 0.05
  done
  local p
  for p in "$self" "$out" "$other"; do
    cat <<EOF
listdir /proc/$p/root
create /proc/$p/root$W/escape-root
listdir /proc/$p/cwd
create /proc/$p/cwd/escape-cwd
read /proc/$p/environ
readlink /proc/$p/fd/0
open /proc/$p/fd/0
readlink /proc/$p/exe
open /proc/$p/ns/mnt
kill0 $p
EOF
  done | ops
  run "$PL" -C "$PA" run sh -c '
    for p in $2; do "$1" seize "$p"; "$1" mem "$p"; done
    python3 "$3" "$4"' _ "$PYLOCK_BIN/ptrace-attack" "$self $out $other" "$FIX/attack.py" "$OPS"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  local i
  for i in 0 2 4; do
    assert_contains "${lines[$i]}" "denied: EPERM (PTRACE_SEIZE"
    assert_contains "${lines[$((i + 1))]}" "denied: EROFS (open /proc/PID/mem" # /proc is read-only too
  done
  output=$(printf '%s\n' "${lines[@]:6}")
  assert_all_refused EACCES EPERM
  [ ! -e "$W/escape-root" ] && [ ! -e "$W/escape-cwd" ]
  kill -0 "$out" && kill -0 "$other"
  assert_untouched
}

# ---------------------------------------------------------------- 4. the keep-alive record

@test "project B's run does not join project A's holder through a copy of A's record" {
  base_blind
  local ha recb
  ha=$(start_holder "$PA")
  recb="$(state_dir "$PB")/run/keepalive"
  mkdir -p "$(dirname "$recb")"
  cp -p "$(state_dir "$PA")/run/keepalive" "$recb"
  run env PYLOCK_KEEPALIVE=30 "$PL" -C "$PB" run sh -c \
    'readlink /proc/self/ns/mnt; grep " overlay " /proc/self/mountinfo; python3 -c "import six"'
  [ "$status" -eq 0 ]
  [ "${lines[0]}" != "$(readlink "/proc/$ha/ns/mnt")" ]
  assert_contains "$output" "$(layer_dir "$PB")"
  assert_not_contains "$output" "$(layer_dir "$PA")"
  assert_eq "$(state_digest "$PB")" "$(cat "$FIX/stateB.digest")"
}

@test "a record naming another of the user's processes in a user namespace of its own is not joined" {
  base_blind
  local rec h u
  rec="$(state_dir "$PA")/run/keepalive"
  h=$(start_holder "$PA")
  unshare --user --map-current-user --mount sleep 300 &
  u=$!
  BG+=("$u")
  for _ in $(seq 100); do
    [ "$(readlink "/proc/$u/ns/user")" != "$(readlink /proc/self/ns/user)" ] && break
    nap 0.05
  done
  # The right digest and generation, another process's namespaces (and start time).
  read -r magic version _ _ _ _ digest gen <"$rec"
  echo "$magic $version $u $(awk '{ print $22 }' "/proc/$u/stat") $(stat -L -c %i "/proc/$u/ns/user")" \
    "$(stat -L -c %i "/proc/$u/ns/mnt") $digest $gen" >"$rec.new"
  mv "$rec.new" "$rec"
  run env PYLOCK_KEEPALIVE=30 "$PL" -C "$PA" run sh -c '
    readlink /proc/self/ns/mnt
    awk -v p="$1" "\$5 == p" /proc/self/mountinfo
    python3 -c "import six; print(\"six\")"' _ "$(interp prefix "$PA")"
  [ "$status" -eq 0 ]
  [ "${lines[0]}" != "$(readlink "/proc/$u/ns/mnt")" ]
  [ "${lines[0]}" != "$(readlink "/proc/$h/ns/mnt")" ]
  # A sandbox of its own, made by pylock: the overlay of A's layer on the prefix.
  assert_contains "${lines[1]}" " - overlay "
  assert_contains "${lines[1]}" " ro,"
  assert_contains "${lines[1]}" "$(layer_dir "$PA")"
  assert_eq "${lines[2]}" "six"
  assert_untouched
}

@test "a FIFO at the record's path does not hang a run" {
  base_blind
  local rec
  rec="$(state_dir "$PA")/run/keepalive"
  rm -f "$rec"
  mkfifo "$rec"
  run timeout 10 env PYLOCK_KEEPALIVE=30 "$PL" -C "$PA" run python3 -c 'import six; print("ran")'
  [ "$status" -eq 0 ]
  assert_eq "$output" "ran"
  assert_untouched
}

@test "a group-writable record, or a record behind a symlink, is not trusted" {
  base_blind
  local rec h
  rec="$(state_dir "$PA")/run/keepalive"
  h=$(start_holder "$PA")
  chmod g+w "$rec"
  run env PYLOCK_KEEPALIVE=30 "$PL" -C "$PA" run readlink /proc/self/ns/mnt
  [ "$status" -eq 0 ]
  [ "$output" != "$(readlink "/proc/$h/ns/mnt")" ]
  # That run left a holder of its own and a record for it: behind a symlink now.
  h=$(cut -d' ' -f3 "$rec")
  [ "$(cat "/proc/$h/comm")" = pylock-keep ]
  cp -p "$rec" "$BATS_TEST_TMPDIR/record"
  ln -s "$BATS_TEST_TMPDIR/record" "$rec.link"
  mv -T "$rec.link" "$rec"
  run env PYLOCK_KEEPALIVE=30 "$PL" -C "$PA" run readlink /proc/self/ns/mnt
  [ "$status" -eq 0 ]
  [ "$output" != "$(readlink "/proc/$h/ns/mnt")" ]
  assert_untouched
}

@test "a user site created after the holder started stays hidden from joined runs" {
  local h site="$USER_SITE"
  rm -rf "$site/site-packages"
  h=$(start_holder "$PA")
  mkdir -p "$site/site-packages"
  echo 'import sys; print("USER-SITE-RAN", file=sys.stderr)' >"$site/site-packages/zz_user.pth"
  run env PYLOCK_KEEPALIVE=30 "$PL" -C "$PA" run sh -c '
    readlink /proc/self/ns/mnt
    ls -A "$1"
    env -u PYTHONNOUSERSITE python3 -c "import sys; print(\"on sys.path:\", [p for p in sys.path if p.startswith(sys.argv[1])])" "$1"' \
    _ "$site"
  [ "$status" -eq 0 ]
  assert_eq "${lines[0]}" "$(readlink "/proc/$h/ns/mnt")"
  # ls shows nothing: the directory is an empty tmpfs in there.
  assert_eq "${lines[1]}" "on sys.path: []"
  assert_not_contains "$output" "USER-SITE-RAN"
}

# ---------------------------------------------------------------- 5. the working directory

@test "a run started with its cwd in the generation, the state or the cache cannot write there" {
  base_blind
  local la tree d keep
  la=$(layer_dir "$PA")
  tree=$(dirname "$(dirname "$(find "$R/cache/trees" -samefile "$la/$(in_layer "$PA" '*-packages/six.py')")")")
  for d in "$la" "$la/$(dirname "$(in_layer "$PA" '*-packages/six.py')")" "$(state_dir "$PA")" "$R" "$tree"; do
    for keep in 0 30; do
      cd "$d"
      run env PYLOCK_KEEPALIVE=$keep "$PL" -C "$PA" run sh -c \
        'pwd; touch x; echo "touch: $?"; mkdir y; echo "mkdir: $?"; ls -d */ | while read -r s; do touch "$s/x"; echo "sub: $?"; done'
      [ "$status" -eq 0 ]
      assert_eq "${lines[0]}" "$d"
      assert_contains "$output" "Read-only file system"
      assert_not_contains "$output" ": 0"
    done
  done
  cd "$W"
  [ -z "$(find -L "$la" "$(state_dir "$PA")" "$tree" -name x -o -name y)" ]
  assert_untouched
}

@test "from inside a run the project cannot be renamed away and replaced" {
  base_blind
  local before
  before=$(tree_digest "$PA")
  run "$PL" -C "$PA" run sh -c 'mv "$1" "$1.evil"; echo "mv: $?"; mkdir "$1.evil"; echo "mkdir: $?"' _ "$PA"
  assert_contains "$output" "mv: 1"
  assert_contains "$output" "mkdir: 1"
  assert_contains "$output" "Read-only file system"
  [ ! -e "$PA.evil" ]
  assert_eq "$(tree_digest "$PA")" "$before"
  assert_untouched
}

# Once a hole (closed now; the test keeps it closed): the read-only binds of .git/hooks and .git/config sit on .git, which
# is in the project and so may be renamed: `mv .git .git.old` moves the
# protected mounts away with it (rename(2) refuses only mount points
# themselves), and a copy with a hook of the attacker's takes its place; git
# then runs that hook outside any sandbox.  The fix: bind .git itself (and the
# project, when its parent is writable) over itself, so that renaming it
# fails with EBUSY, and check that in a holder's mountinfo too.
@test "from inside a run .git cannot be swapped for a copy with a hook" {
  base_blind
  local p="$W/proj-git" hooks
  new_project "$p"
  git -C "$p" init -q
  hooks=$(tree_digest "$p/.git")
  run "$PL" -C "$p" run sh -c '
    cd "$1"
    echo "#!/bin/sh" > .git/hooks/pre-commit; echo "direct: $?"
    mv .git .git.old; echo "mv: $?"
    cp -r .git.old .git && printf "#!/bin/sh\ntouch %s\n" "$2" > .git/hooks/pre-commit &&
      chmod +x .git/hooks/pre-commit; echo "hook: $?"' _ "$p" "$W/hook-ran"
  assert_contains "$output" "direct: 2"
  [ ! -e "$p/.git.old" ] || { echo ".git was renamed from inside the sandbox: $output"; return 1; }
  assert_eq "$(tree_digest "$p/.git")" "$hooks"
}

# Once a hole (closed now; the test keeps it closed): .git/config stays read-only inside, but the hooks directory it names
# (core.hooksPath: husky, pre-commit setups, a checked-in .githooks/) is in
# the project and writable: a hook written there from inside runs outside
# any sandbox at the user's next commit.  The fix: bind read-only what
# .git/config names that git runs (core.hooksPath, core.fsmonitor) when it
# lies in a writable place, or refuse to run until the user allows it.
@test "hooks in the directory core.hooksPath names stay read-only inside" {
  base_blind
  local p="$W/proj-hookspath"
  new_project "$p"
  git -C "$p" init -q
  git -C "$p" config core.hooksPath .githooks
  mkdir "$p/.githooks"
  run "$PL" -C "$p" run sh -c 'printf "#!/bin/sh\ntouch %s\n" "$2" > "$1/.githooks/pre-commit" &&
    chmod +x "$1/.githooks/pre-commit"; echo "hook: $?"' _ "$p" "$W/hookspath-ran"
  echo "$output"
  [ ! -e "$p/.githooks/pre-commit" ] || {
    git -C "$p" -c user.email=t@t -c user.name=t commit -q --allow-empty -m t || true
    [ ! -e "$W/hookspath-ran" ] || echo "and git ran it outside the sandbox"
    return 1
  }
}

# ---------------------------------------------------------------- 6. whose state and cache

@test "a state root below a directory others can write, or writable by others, is refused" {
  base_blind
  [ -n "$PYLOCK_FOREIGN_DIR" ] || skip "needs integration/run as root (PYLOCK_FOREIGN_DIR)"
  local mine="$PYLOCK_FOREIGN_DIR/tb-$$-$BATS_TEST_NUMBER" marker="$W/marker-$BATS_TEST_NUMBER"
  mkdir -m 700 "$mine"
  # Ours, in a root-owned 0777 directory that is not sticky: anyone may rename it.
  run env PYLOCK_STATE_DIR="$mine/state" "$PL" -C "$PA" run touch "$marker"
  [ "$status" -eq 1 ]
  assert_contains "${lines[0]}" "$PYLOCK_FOREIGN_DIR is owned by uid 0 with mode 0777"
  run env XDG_STATE_HOME="$mine" "$PL" -C "$PA" run touch "$marker"
  [ "$status" -eq 1 ]
  assert_contains "${lines[0]}" "$mine/pylock: $PYLOCK_FOREIGN_DIR is owned by uid 0 with mode 0777"
  mkdir -p "$BATS_TEST_TMPDIR/cfg/pylock"
  echo "state-dir = \"$mine/state\"" >"$BATS_TEST_TMPDIR/cfg/pylock/config.toml"
  run env XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/cfg" "$PL" -C "$PA" run touch "$marker"
  [ "$status" -eq 1 ]
  assert_contains "${lines[0]}" "$PYLOCK_FOREIGN_DIR is owned by uid 0 with mode 0777"
  # Ours, but writable by everyone.
  mkdir -m 777 "$W/open-state"
  chmod 777 "$W/open-state"
  run env PYLOCK_STATE_DIR="$W/open-state" "$PL" -C "$PA" run touch "$marker"
  [ "$status" -eq 1 ]
  assert_contains "${lines[0]}" "$W/open-state is owned by uid $(id -u) with mode 0777"
  [ ! -e "$marker" ]
  assert_untouched
}

@test "a group-writable cache/trees in the user's own state is refused before anything runs" {
  base_blind
  local fresh="$W/fresh-gw" marker="$W/marker-gw"
  project "$fresh"
  cp "$FIX/lock.toml" "$fresh/pylock.toml"
  chmod g+w "$R/cache/trees"
  run "$PL" -C "$fresh" ci -- touch "$marker"
  [ "$status" -eq 1 ]
  # One line names the directory, its owner and its mode.
  assert_contains "$(grep -m1 'is owned by' <<<"$output")" \
    "$R/cache/trees is owned by uid $(id -u) with mode 0720"
  run "$PL" -C "$fresh" sync
  [ "$status" -eq 1 ]
  assert_contains "$(grep -m1 'is owned by' <<<"$output")" \
    "$R/cache/trees is owned by uid $(id -u) with mode 0720"
  [ ! -e "$marker" ]
  chmod g-w "$R/cache/trees"
  assert_untouched
}

@test "a cache prepared by someone else under PYLOCK_CACHE_DIR or XDG_CACHE_HOME is never read" {
  base_blind
  [ -n "$PYLOCK_FOREIGN_DIR" ] || skip "needs integration/run as root (PYLOCK_FOREIGN_DIR)"
  local planted="$PYLOCK_FOREIGN_DIR/tb-cache-$$" fresh="$W/fresh-planted"
  # The old cache layout, filled with the real trees but a tampered six.py.
  mkdir -p "$planted/pylock"
  cp -a "$R/cache/wheels" "$R/cache/trees" "$planted/pylock/"
  chmod -R u+w "$planted"
  find "$planted" -name six.py -exec sh -c 'echo "PLANTED = True" >>"$1"' _ {} \;
  [ -n "$(grep -rl 'PLANTED = True' "$planted")" ]
  chmod -R a+rwX "$planted"
  project "$fresh"
  cp "$FIX/lock.toml" "$fresh/pylock.toml"
  PYLOCK_CACHE_DIR="$planted/pylock" XDG_CACHE_HOME="$planted" "$PL" -q -C "$fresh" sync
  assert_eq "$(PYLOCK_CACHE_DIR="$planted/pylock" "$PL" -C "$fresh" info cache)" "$R/cache"
  assert_eq "$(tree_digest "$(layer_dir "$fresh")")" "$(cat "$FIX/layer.digest")"
  run "$PL" -C "$fresh" run python3 -c 'import six; print(hasattr(six, "PLANTED"))'
  assert_eq "$output" "False"
  chmod -R u+w "$planted" && rm -rf "$planted"
  assert_untouched
}

# Once a hole (closed now; the test keeps it closed): the state root must be the caller's and writable by nobody else, but
# the user configuration ($XDG_CONFIG_HOME/pylock: config.toml and the
# trusted roots of trust.d) is read wherever it points, whoever could write
# it: another user who can write there sets allow-write (here: the home),
# safe-directories, state-dir or a trusted root.  The fix: the same checks as
# the state root (owner, mode, the way to it) for the configuration
# directory, config.toml and trust.d, refusing with one line naming owner
# and mode.
@test "a user configuration others can write is not used" {
  base_blind
  local cfg victim="$W/victim-$BATS_TEST_NUMBER"
  if [ -n "$PYLOCK_FOREIGN_DIR" ]; then
    cfg="$PYLOCK_FOREIGN_DIR/tb-config-$$" # in a root-owned directory anyone may write
  else
    cfg="$W/open-config"
  fi
  mkdir -p "$cfg/pylock" "$victim"
  echo "allow-write = [\"$victim\"]" >"$cfg/pylock/config.toml"
  chmod -R a+rwX "$cfg"
  chmod a+w "$cfg/pylock/config.toml"
  run env XDG_CONFIG_HOME="$cfg" "$PL" -C "$PA" run touch "$victim/marker"
  echo "status $status: $output"
  rm -rf "$cfg"
  [ ! -e "$victim/marker" ] || { echo "a configuration anyone could write made $victim writable"; return 1; }
}

# ---------------------------------------------------------------- 7. another project of the user

@test "a run of project A can write neither project B nor B's state" {
  base_blind
  local lb sb six before
  git -C "$PB" init -q 2>/dev/null || true
  before=$(tree_digest "$PB")
  lb=$(layer_dir "$PB")
  sb=$(state_dir "$PB")
  six=$(in_layer "$PB" '*-packages/six.py')
  ops <<EOF
append $PB/pylock.toml
create $PB/evil
rename $PB/pylock.toml
create $PB/.git/hooks/pre-commit
append $PB/.git/config
rename $PB $PB.evil
append $lb/$six
chmod $lb/$six
relink $sb/current generations/1
create $sb/run/keepalive-strict
append $sb/interp
EOF
  run "$PL" -C "$PA" run python3 "$FIX/attack.py" "$OPS"
  [ "$status" -eq 0 ]
  assert_all_refused EACCES EROFS
  assert_contains "$output" "append $PB/pylock.toml EROFS"
  assert_contains "$output" "chmod $lb/$six EROFS"
  assert_contains "$output" "create $sb/run/keepalive-strict EROFS"
  assert_eq "$(tree_digest "$PB")" "$before"
  assert_eq "$(state_digest "$PB")" "$(cat "$FIX/stateB.digest")"
  run "$PL" -C "$PB" verify
  [ "$status" -eq 0 ]
  assert_untouched
}

# ---------------------------------------------------------------- 8. the helpers' sandboxes

# fake_python PATH PROJECT: an interpreter that, whatever pylock asks of it, first
# tries to leave a marker in the home, pylock's state and cache, the project
# and /tmp, then answers as the real one.  A file fail-STAGE beside it makes
# it stop at that stage instead, printing where it could write.
fake_python() {
  local dir
  dir=$(dirname "$1")
  mkdir -p "$dir"
  cat >"$1" <<EOF
#!/bin/sh
case " \$* " in
*" -m compileall "* | *py_compile*) s=compileall ;;
*" -m pip "*) s=pip ;;
*"import pip"*) s=pip-check ;;
*sysconfig*) s=probe ;;
*) s=other ;;
esac
w=
for d in "$HOME" "$HOME/.cache" "$HOME/.config/pylock" "$R" "$R/cache" "$R/cache/trees" \\
  "$R/cache/wheels" "$R/scratch" "$R/interp" "$R/projects" "$R/registries" "$W" "$2" \\
  "$FIX/marks" /var/tmp; do
  (echo "\$s" > "\$d/tb-marker-\$s") 2>/dev/null && w="\$w \$d"
done
if [ -e "$dir/fail-\$s" ]; then echo "fake-\$s wrote:[\$w]"; exit 3; fi
exec "$PY" "\$@"
EOF
  chmod 755 "$1"
}

assert_no_marker() {
  local found
  found=$(find "$HOME" "$R" "$W" "$FIX/marks" /var/tmp /dev/shm -name 'tb-marker-*' 2>/dev/null || true)
  [ -z "$found" ] || { echo "markers left: $found"; return 1; }
}

@test "an interpreter run by init, lock and sync writes nothing outside its sandboxes" {
  local fake="$W/fakepy/python3" pf="$W/projF"
  fake_python "$fake" "$pf"
  run "$PL" init --python "$fake" --registry "$FIX/reg" --root "$FIX/root.json" "$pf"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$("$PL" -C "$pf" info python)" "$fake"
  set_requested_in "$pf/pylock.toml" six urllib3
  run "$PL" -C "$pf" lock
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run "$PL" -C "$pf" sync
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_no_marker
  # The work was done: a new tree for this interpreter, byte-compiled by it.
  run "$PL" -C "$pf" list
  assert_contains "$output" "six"
  assert_contains "$output" "urllib3"
  [ -n "$(in_layer "$pf" '*-packages/__pycache__/six.*.pyc')" ]
  run "$PL" -C "$pf" verify
  [ "$status" -eq 0 ]
  assert_untouched
}

@test "the probe, pip and compileall each ran the interpreter, and its writes failed there" {
  local fake="$W/fakepy2/python3" pf="$W/projF2"
  fake_python "$fake" "$pf"
  touch "$W/fakepy2/fail-probe"
  run "$PL" init --python "$fake" --registry "$FIX/reg" --root "$FIX/root.json" "$pf"
  [ "$status" -eq 1 ]
  assert_contains "$output" "failed when asked for its install scheme (status 3)"
  rm -rf "$W/fakepy2/fail-probe" "$pf"
  "$PL" -q init --python "$fake" --registry "$FIX/reg" --root "$FIX/root.json" "$pf"
  set_requested_in "$pf/pylock.toml" six
  touch "$W/fakepy2/fail-pip"
  run "$PL" -C "$pf" lock
  [ "$status" -eq 1 ]
  assert_contains "$output" "fake-pip wrote:[]"
  rm "$W/fakepy2/fail-pip"
  # The shared lock, as locked for this interpreter: a sync builds its trees.
  sed "s|^python = \".*\"|python = \"$fake\"|" "$FIX/lock.toml" >"$pf/pylock.toml"
  touch "$W/fakepy2/fail-compileall"
  run "$PL" -C "$pf" sync
  [ "$status" -eq 1 ]
  assert_contains "$output" "fake-compileall wrote:[]"
  assert_no_marker
  assert_untouched
}

@test "an interpreter's probe answer naming a scheme directory beyond its prefix is refused" {
  local fake="$W/fakepy3/python3" pf="$W/projG"
  mkdir -p "$W/fakepy3"
  # The real answer, but purelib one level above the prefix: installing there
  # would put the wheels' files beside the generation (or the cache's tree).
  cat >"$fake" <<EOF
#!/bin/sh
case "\$*" in
*sysconfig*)
  "$PY" "\$@" | awk '/^prefix=/ { p = substr(\$0, 8) } /^purelib=/ { \$0 = "purelib=" p "/.." } { print }'
  exit 0 ;;
esac
exec "$PY" "\$@"
EOF
  chmod 755 "$fake"
  local trees_before
  trees_before=$(ls -A "$R/cache/trees")
  run "$PL" init --python "$fake" --registry "$FIX/reg" --root "$FIX/root.json" "$pf"
  [ "$status" -eq 1 ]
  assert_contains "$output" "is outside the interpreter prefix"
  assert_eq "$(ls -A "$R/cache/trees")" "$trees_before"
  [ -z "$(find "$R/projects" -maxdepth 2 -newer "$fake" -name 'six*')" ]
  assert_untouched
}

# ---------------------------------------------------------------- the old layout

@test "a project in the old .pylock layout is refused by run and moved by sync" {
  local p="$W/proj-old" rel
  mkdir -p "$p"
  cp "$FIX/lock.toml" "$p/pylock.toml"
  rel=$(in_layer "$PA" '*-packages/six.py')
  mkdir -p "$p/.pylock/generations/1/$(dirname "$rel")"
  echo 'import sys; print("PLANTED", file=sys.stderr)' >"$p/.pylock/generations/1/$(dirname "$rel")/zz_planted.pth"
  ln -s generations/1 "$p/.pylock/current"
  sed 's|^python=.*|python=/bin/sh|' "$(state_dir "$PA")/interp" >"$p/.pylock/interp"
  run "$PL" -C "$p" run python3 -c 'print("ran")'
  [ "$status" -eq 1 ]
  assert_contains "$output" "old layout"
  assert_contains "$output" "pylock sync"
  assert_not_contains "$output" "PLANTED"
  assert_not_contains "$output" "ran"
  run "$PL" -C "$p" sync
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "moved this project's environment"
  [ ! -e "$p/.pylock" ]
  assert_eq "$("$PL" -C "$p" info python)" "$PY"
  [ -z "$(find -L "$(layer_dir "$p")" -name zz_planted.pth)" ]
  assert_eq "$(tree_digest "$(layer_dir "$p")")" "$(cat "$FIX/layer.digest")"
  run "$PL" -C "$p" run python3 -c 'import six; print("ran")'
  assert_eq "$output" "ran"
}

# ---------------------------------------------------------------- where the state may live

# Once a hole (closed now; the test keeps it closed): the state root is bound read-only in the sandbox, but only at its own
# path.  When a directory above it is writable there (below /tmp, /var/tmp,
# /dev/shm, ~/.cache, the project or an allow-write path; a HOME in /tmp, as
# in many containers, puts the default ~/.local/state/pylock there), code in
# the sandbox renames that directory away (rename(2) refuses only mount
# points themselves, not their parents) and puts a forged state in its
# place: pylock then trusts it whole (generations, registry roots, TUF
# state, keep-alive records), and the ownership checks pass, since the
# sandbox runs as the user.  Here the forged generation's six.py is changed
# and its RECORD line updated, so that `pylock verify` passes too.  A fix:
# refuse a state root (and configuration directory) with an ancestor inside
# the sandbox's write allow-list, or bind every such ancestor over itself so
# that renaming it fails with EBUSY.
@test "a state root below /tmp cannot be swapped for a forged one from inside a run" {
  base_blind
  local base="$BATS_TEST_TMPDIR/st" p="$W/proj-tmpstate"
  mkdir -m 700 "$base"
  export PYLOCK_STATE_DIR="$base/state"
  run project "$p"
  if [ "$status" -ne 0 ]; then
    # Refusing such a state root closes the hole too.
    assert_contains "$output" "$base"
    return 0
  fi
  cp "$FIX/lock.toml" "$p/pylock.toml"
  "$PL" -q -C "$p" sync
  run "$PL" -C "$p" run sh -c '
    mv "$1" "$1.old" || exit 1
    mkdir -m 700 "$1" && cp -a "$1.old/state" "$1/state" && chmod -R u+w "$1/state" &&
    python3 - "$1/state" <<"PY"
import base64, glob, hashlib, os, sys
six = [p for p in glob.glob(sys.argv[1] + "/projects/*/generations/*/**/six.py", recursive=True)][0]
data = open(six, "rb").read() + b"\nPWNED = True\n"
os.unlink(six)
open(six, "wb").write(data)
rec = glob.glob(os.path.dirname(six) + "/six-*.dist-info/RECORD")[0]
h = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
lines = [("six.py,sha256=%s,%d" % (h, len(data))) if l.startswith("six.py,") else l
         for l in open(rec).read().splitlines()]
os.unlink(rec)
open(rec, "w").write("\n".join(lines) + "\n")
print("forged", six)
PY' _ "$base"
  echo "attack: status $status: $output"
  run "$PL" -C "$p" run python3 -c 'import six; print(getattr(six, "PWNED", False))'
  echo "later run: status $status: $output"
  [ "$status" -ne 0 ] || assert_eq "$output" "False"
  [ ! -e "$base.old" ] || { echo "the state root's parent was renamed from inside the sandbox"; return 1; }
}
