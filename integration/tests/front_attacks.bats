#!/usr/bin/env bats
# Attacks on the shims' front end (pylock-shim) and on pylock acting as a shim: every way of
# making either run the real interpreter, unsandboxed, inside a project.  Each attack asserts
# the project's code never ran outside its sandbox and nothing changed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

FRONT="$PYLOCK_BIN/pylock-shim"

setup() {
  [ -x "$FRONT" ] || skip "no pylock-shim beside $PL (built by make)"
  new_project
  SHIMS="$BATS_TEST_TMPDIR/shims"
  "$PL" shim install --dir "$SHIMS" --python "$PY" >/dev/null 2>&1
  # The project's code: run unsandboxed, it leaves a mark outside the project.
  MARK="$BATS_TEST_TMPDIR/ran-unsandboxed"
  printf 'import os\nif "PYLOCK_PROJECT" not in os.environ:\n    open("%s", "w").close()\nprint("ran", os.environ.get("PYLOCK_PROJECT", "-"))\n' \
    "$MARK" >"$PROJ/app.py"
}

# The project's files, to show an attack changed none of them.
snapshot() { (cd "$PROJ" && find . -mindepth 1 -printf '%p %s %T@\n' | sort); }

@test "attack: faccessat2 failing ENOSYS (Linux < 5.8, a container's seccomp) does not make a project look absent" {
  base_blind
  [ -x "$PYLOCK_BIN/enosys-faccessat2" ] || { echo "build the helpers: make build/helpers/enosys-faccessat2"; return 1; }
  mkdir -p "$PROJ/sub/deeper"
  local before wd
  before=$(snapshot)
  for wd in "$PROJ" "$PROJ/sub/deeper"; do
    run bash -c 'cd "$1" && PATH="$2:$PATH" "$3" python3 "$4/app.py"' _ "$wd" "$SHIMS" \
      "$PYLOCK_BIN/enosys-faccessat2" "$PROJ"
    [ "$status" -eq 0 ] || { echo "$wd: $output"; return 1; }
    assert_eq "$output" "ran $PROJ"
  done
  [ ! -e "$MARK" ]
  assert_eq "$(snapshot)" "$before"
  # Outside every project it still runs the real interpreter, filter or not.
  run bash -c 'cd / && PATH="$1:$PATH" "$2" python3 -c "import os; print(os.environ.get(\"PYLOCK_PROJECT\", \"-\"))"' _ \
    "$SHIMS" "$PYLOCK_BIN/enosys-faccessat2"
  [ "$status" -eq 0 ]
  assert_eq "$output" "-"
}

@test "attack: a working directory deeper than PATH_MAX inside a project is refused, not run unsandboxed" {
  base_blind
  local d deep link
  d=$(printf 'd%.0s' $(seq 200))
  deep="$PROJ"
  for _ in $(seq 22); do deep="$deep/$d"; done
  (cd "$PROJ" && for _ in $(seq 22); do mkdir "$d" && cd "$d" || exit 1; done)
  local before
  before=$(snapshot)
  for link in "$SHIMS" "$BATS_TEST_TMPDIR/direct"; do
    if [ "$link" = "$BATS_TEST_TMPDIR/direct" ]; then
      mkdir -p "$link"
      cp "$SHIMS/.pylock-shims" "$link/"
      ln -s "$PL" "$link/python3"
    fi
    run bash -c 'cd "$1" && for _ in $(seq 22); do cd "$2" || exit 9; done &&
      PATH="$3:$PATH" python3 "$4/app.py"' _ "$PROJ" "$d" "$link" "$PROJ"
    [ "$status" -eq 1 ] || { echo "$link: $status: $output"; return 1; }
    assert_contains "$output" "cannot tell whether this is inside a pylock project; not running the real python3"
  done
  [ ! -e "$MARK" ]
  assert_eq "$(snapshot)" "$before"
}

@test "attack: a deleted directory inside a project does not run ../app.py unsandboxed" {
  base_blind
  mkdir "$PROJ/gone"
  local before
  before=$(snapshot | grep -v '^./gone ')
  run bash -c 'cd "$1" && rmdir "$1" && PATH="$2:$PATH" python3 ../app.py' _ "$PROJ/gone" "$SHIMS"
  [ "$status" -eq 1 ]
  assert_contains "$output" "getcwd: No such file or directory: cannot tell whether this is inside a pylock project"
  [ ! -e "$MARK" ]
  assert_eq "$(snapshot)" "$before"
  # The way out it names works, and is the user's own choice.
  mkdir "$PROJ/gone"
  run bash -c 'cd "$1" && rmdir "$1" && PYLOCK_SHIM=off PATH="$2:$PATH" python3 -c "print(1)"' _ "$PROJ/gone" "$SHIMS"
  assert_eq "$output" "1"
}

@test "attack: a flock on another filesystem's file of the same inode number does not fake compiling" {
  base_blind
  [ -n "${PYLOCK_SMALL_FS:-}" ] && [ -w "$PYLOCK_SMALL_FS" ] ||
    skip "needs the small tmpfs integration/run mounts as root (small inode numbers)"
  unshare -rm true 2>/dev/null || skip "no unshare -rm"
  # A state root whose inode numbers a fresh tmpfs reaches in a moment.
  export XDG_STATE_HOME="$PYLOCK_SMALL_FS/front$BATS_TEST_NUMBER"
  mkdir -m 700 "$XDG_STATE_HOME"
  new_project "$BATS_TEST_TMPDIR/p2"
  local sd n meta
  sd=$(state_dir)
  n=$(readlink "$sd/current" | cut -d/ -f2)
  meta="$sd/generations/$n.meta"
  # Setup, not the attack: a generation left pending by a killed compile.
  chmod u+w "$sd/generations"
  sed -i 's/^bytecode=yes$/bytecode=no/' "$meta"
  grep -qx 'bytecode=no' "$meta" || { echo "no bytecode line: $(cat "$meta")"; return 1; }
  [ -e "$sd/compile.lock" ] || install -m 0200 /dev/null "$sd/compile.lock"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  local before ino
  before=$(cd "$sd" && find . -printf '%p %s %m %T@\n' | sort)
  ino=$(stat -c %i "$sd/compile.lock")
  # The attacker: its own namespaces, a fresh tmpfs, a file of that inode number, flocked.
  mkdir "$BATS_TEST_TMPDIR/mnt"
  unshare -rm sh -c 'mount -t tmpfs a "$1" && cd "$1" && exec python3 -c "
import fcntl, os, sys, time
want = int(sys.argv[1])
while True:
    fd = os.open(\"f\", os.O_CREAT | os.O_RDWR)
    ino = os.fstat(fd).st_ino
    if ino >= want: break
    os.close(fd); os.unlink(\"f\")
fcntl.flock(fd, fcntl.LOCK_EX)
open(sys.argv[2], \"w\").write(str(ino))
time.sleep(120)
" "$2" "$3"' _ "$BATS_TEST_TMPDIR/mnt" "$ino" "$BATS_TEST_TMPDIR/ready" &
  local attacker=$!
  for _ in $(seq 300); do [ -s "$BATS_TEST_TMPDIR/ready" ] && break; sleep 0.1; done
  [ "$(cat "$BATS_TEST_TMPDIR/ready" 2>/dev/null)" = "$ino" ] || {
    kill "$attacker"
    skip "the tmpfs could not reach inode $ino"
  }
  grep -q "FLOCK.*:$ino " /proc/locks || { kill "$attacker"; echo "no such lock listed"; return 1; }
  run "$PL" -C "$PROJ" info byte-code
  local info=$output
  run "$PL" -C "$PROJ" info
  kill "$attacker"
  wait "$attacker" 2>/dev/null || true
  assert_eq "$info" pending
  assert_contains "$output" "byte-code   pending: generation $n imports from source"
  assert_eq "$(cd "$sd" && find . -printf '%p %s %m %T@\n' | sort)" "$before"
}

@test "attack: another user renaming directories above a project mid-search never gets it run unsandboxed" {
  base_blind
  local other=pylocktest2
  id "$other" >/dev/null 2>&1 && (cd / && sudo -n -u "$other" true) 2>/dev/null ||
    skip "needs the second user $other and sudo to act as it (integration/run as root)"
  [ -n "${PYLOCK_FOREIGN_DIR:-}" ] || skip "needs the shared directory integration/run makes as root"
  # A team directory others can write (not sticky), and in it a project of ours: pylock uses
  # it (only the project's own directory must be ours alone).
  local team="$PYLOCK_FOREIGN_DIR/team$BATS_TEST_NUMBER"
  local stop="$team/stop" go="$team/go"
  mkdir -m 777 "$team"
  chmod 777 "$team"
  new_project "$team/proj"
  mkdir "$PROJ/sub"
  printf 'import os\nif "PYLOCK_PROJECT" not in os.environ:\n    open("%s", "w").close()\n' \
    "$MARK" >"$PROJ/app.py"
  chmod 644 "$PROJ/app.py"
  run bash -c 'cd "$1/sub" && PATH="$2:$PATH" python3 ../app.py' _ "$PROJ" "$SHIMS"
  [ "$status" -eq 0 ] || { echo "before the attack: $output"; return 1; }
  [ ! -e "$MARK" ]
  local before
  before=$(snapshot)
  # Ours: in the project's subdirectory before the attack starts, python3 ../app.py over and
  # over while it goes on.
  (cd "$PROJ/sub" || exit 1
    for _ in $(seq 400); do [ -e "$go" ] && break; nap 0.05; done
    for _ in $(seq 150); do
      PATH="$SHIMS:$PATH" python3 ../app.py >/dev/null 2>&1 || true
      [ ! -e "$MARK" ] || break
    done
    true) &
  local victim=$!
  # The other user: a decoy with no pylock.toml, swapped with the project, over and over.
  (cd / && sudo -n -u "$other" python3 -c '
import os, sys, time
team = sys.argv[1]
os.chdir(team)
os.makedirs("decoy/sub", exist_ok=True)
open(sys.argv[3], "w").close()
end = time.time() + 60
while time.time() < end and not os.path.exists(sys.argv[2]):
    for a, b in (("proj", "tmp"), ("decoy", "proj"), ("proj", "decoy"), ("tmp", "proj")):
        try:
            os.rename(a, b)
        except OSError:
            pass
' "$team" "$stop" "$go") &
  local attacker=$!
  wait "$victim"
  touch "$stop"
  wait "$attacker" || true
  # Put back whatever the last swap left (the project may be called tmp or decoy now).
  local n
  for n in tmp decoy; do
    [ -e "$team/$n/pylock.toml" ] && [ ! -e "$team/proj/pylock.toml" ] &&
      (cd / && sudo -n -u "$other" python3 -c 'import os, sys; os.rename(sys.argv[1] + "/proj", sys.argv[1] + "/x"); os.rename(sys.argv[1] + "/" + sys.argv[2], sys.argv[1] + "/proj")' "$team" "$n")
  done
  [ ! -e "$MARK" ] || { echo "the project's code ran unsandboxed"; return 1; }
  assert_eq "$(snapshot)" "$before"
  (cd / && sudo -n -u "$other" rm -rf "$team/decoy" "$team/x" "$team/tmp" "$go")
}

@test "attack: code inside pylock run using the shims (in the project, outside it, in a project it made) never leaves its sandbox nor loops" {
  local fake="$BATS_TEST_TMPDIR/fake" before
  before=$(cd "$(state_dir)" && find . -path ./run -prune -o -path . -o -printf '%p %s %m %T@\n' | sort)
  # In the sandbox: its own user namespace, then each way of running python3 through the shims;
  # each prints the user namespace it ran in (or fails), within a deadline (no loop).
  run timeout 120 "$PL" -C "$PROJ" run env PATH="$SHIMS:$PATH" FAKE="$fake" sh -c '
    ns() { python3 -c "import os; print(os.readlink(\"/proc/self/ns/user\"))" 2>&1; }
    echo "sandbox $(readlink /proc/self/ns/user)"
    echo "project $(cd "$PYLOCK_PROJECT" && timeout 20 python3 -c "import os; print(os.readlink(\"/proc/self/ns/user\"))" 2>&1)"
    echo "outside $(cd / && timeout 20 python3 -c "import os; print(os.readlink(\"/proc/self/ns/user\"))" 2>&1)"
    echo "off $(cd "$PYLOCK_PROJECT" && PYLOCK_SHIM=off timeout 20 python3 -c "import os; print(os.readlink(\"/proc/self/ns/user\"))" 2>&1)"
    mkdir -p "$FAKE" && printf "lock-version = \"1.0\"\n" >"$FAKE/pylock.toml"
    echo "fake $(cd "$FAKE" && timeout 20 python3 -c "import os; print(os.readlink(\"/proc/self/ns/user\"))" 2>&1 | tail -1) status=$?"
  '
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  local sandbox
  sandbox=$(sed -n 's/^sandbox //p' <<<"$output")
  [ -n "$sandbox" ] && [ "$sandbox" != "$(readlink /proc/self/ns/user)" ] || { echo "$output"; return 1; }
  local what line host
  host=$(readlink /proc/self/ns/user)
  # Outside every project, and with PYLOCK_SHIM=off, the front end runs the interpreter: the
  # sandbox's, in the sandbox.
  for what in outside off; do
    line=$(sed -n "s/^$what //p" <<<"$output")
    assert_eq "$line" "$sandbox"
  done
  # In the project, and in a project the code made: run in that same sandbox or refused
  # (pylock inside the sandbox may refuse its state root: see the report), never on the host,
  # never a loop (timeout's 124).
  for what in project fake; do
    line=$(sed -n "s/^$what //p" <<<"$output")
    [ "$line" = "$sandbox" ] || [ "${line#pylock}" != "$line" ] || [[ "$line" == *status=* ]] ||
      { echo "$what: $line"; return 1; }
    assert_not_contains "$line" "$host"
    assert_not_contains "$line" "status=124"
  done
  assert_eq "$(cd "$(state_dir)" && find . -path ./run -prune -o -path . -o -printf '%p %s %m %T@\n' | sort)" "$before"
}
