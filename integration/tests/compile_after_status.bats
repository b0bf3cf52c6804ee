#!/usr/bin/env bats
# pylock-test: once
# Compiling after the switch (issue 15), what is said about it: `verify` and
# `info` (and info --json) tell a generation that still imports from source,
# "pending" when no pylock is compiling it (a killed sync) and "compiling"
# while one is (it holds the project's compile lock), and the command each
# names then succeeds; code in a sandbox can neither open nor hold that lock
# (to fake "compiling" or stall the compile); a package's startup hooks are
# announced at the first switch, when its code can first run, not after the
# second, and once; and the default: compiling after the switch only when
# stderr is a terminal.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load gc_helpers
load envcheck
load compile_helpers

setup_file() {
  gc_fixture
  # A wheel with a .pth line that runs code at every interpreter start.
  python3 - "$FIX/ok" <<'PY'
import base64, hashlib, os, sys, zipfile
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
di = "hooked-1.0.dist-info"
files = {"hooked/__init__.py": b"",
         "hooked.pth": b'import sys; sys.stderr.write("HOOK-RAN\\n")\n',
         di + "/METADATA": b"Metadata-Version: 2.1\nName: hooked\nVersion: 1.0\n",
         di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join("%s,%s,%d\n" % (p, digest(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
with zipfile.ZipFile(os.path.join(out, "hooked-1.0-py3-none-any.whl"), "w") as z:
    for p, b in list(files.items()) + [(di + "/RECORD", record.encode())]:
        z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), b)
PY
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX/ok/hooked-1.0-py3-none-any.whl" 2>/dev/null
}

setup() {
  # The compile after the switch in the command itself, as it was before it
  # went to a detached pylock (compile_background.bats): the same code, so
  # its steps can be paused and killed through the command's pid.
  compile_setup after-switch-wait
}

teardown() {
  compile_teardown
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# info_json KEY: KEY's value in `pylock info --json`.
info_json() {
  "$PL" -C "$PROJ" info --json | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# The byte-code line of `pylock info` (its value, after the key).
info_line() {
  "$PL" -C "$PROJ" info | sed -n 's/^byte-code  *//p'
}

# hinted TEXT: the command TEXT names between backquotes, pylock as $PL,
# run in the project; its status in status, its stderr in stderr.
hinted() {
  local cmd
  cmd=$(grep -o '`pylock [^`]*`' <<<"$1" | head -1 | tr -d '`')
  [ -n "$cmd" ] || { echo "no command named in: $1"; return 1; }
  HINTED=$cmd
  # shellcheck disable=SC2086
  run --separate-stderr bash -c 'cd "$1" && shift && exec "$@"' _ "$PROJ" "$PL" ${cmd#pylock }
}

@test "verify and info say pending after a sync killed once usable, and the command they name finishes it" {
  killed usable "$PL" -C "$PROJ" sync
  local n
  n=$(current_n)
  assert_eq "$(bytecode_of "$n")" no
  assert_no_process_left
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "byte-code: pending: generation $n imports from source (its byte-compiling was interrupted); the next \`pylock sync\` finishes it"
  # The summary stays the last line: scripts read it.
  [[ "$(tail -1 <<<"$output")" == ok:* ]]
  local verify_out=$output
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  assert_eq "$(info_json byte-code)" pending
  assert_contains "$(info_line)" "pending: generation $n imports from source"
  # Nothing was compiling, and asking changed nothing.
  assert_eq "$(current_n)" "$n"
  assert_eq "$(bytecode_of "$n")" no
  # The command named, run as it is named: it finishes the byte-code.
  hinted "$verify_out"
  assert_eq "$HINTED" "pylock sync"
  [ "$status" -eq 0 ] || { echo "$HINTED: $stderr"; return 1; }
  assert_contains "$stderr" "its byte-compiling was interrupted; finishing it"
  [ "$(current_n)" -gt "$n" ]
  assert_eq "$(bytecode_of "$(current_n)")" yes
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_not_contains "$output" "byte-code"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
  assert_eq "$(info_json byte-code)" compiled
  assert_eq "$(info_line)" compiled
  assert_nothing_left
}

@test "info's pending hint names a command that succeeds from a killed install too" {
  use_lock six
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
  killed usable "$PL" -C "$PROJ" install idna
  assert_no_process_left
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  hinted "$(info_line)"
  [ "$status" -eq 0 ] || { echo "$HINTED: $stderr"; return 1; }
  assert_eq "$(info_json byte-code)" compiled
  grep -q '^name = "idna"$' "$PROJ/pylock.toml"
  assert_eq "$(list_set)" "$(lock_set)"
}

@test "info says unknown of a generation whose record is gone, and the command it names builds it again" {
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  local n
  n=$(current_n)
  rm "$(state_dir)/generations/$n.meta"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" unknown
  assert_eq "$(info_json byte-code)" unknown
  assert_contains "$(info_line)" "unknown ("
  hinted "$(info_line)"
  assert_eq "$HINTED" "pylock sync"
  [ "$status" -eq 0 ] || { echo "$HINTED: $stderr"; return 1; }
  assert_contains "$stderr" "generation $n has no record of how it was built"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
}

@test "verify and info say compiling while a sync compiles after its switch, and pylock sync waits for it" {
  local step n
  for step in usable compiled complete-built; do
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state-$step"
    STATE="$XDG_STATE_HOME/pylock" PROJ="$BATS_TEST_TMPDIR/proj-$step"
    gc_project "$PROJ" idna-six
    paused "$step" "$PL" -C "$PROJ" sync
    n=$(current_n)
    assert_eq "$(bytecode_of "$n")" no
    run --separate-stderr "$PL" -C "$PROJ" verify
    [ "$status" -eq 0 ] || { echo "verify at $step: $output $stderr"; return 1; }
    assert_contains "$output" "byte-code: compiling: generation $n imports from source until pylock (pid $PAUSED) has compiled it; \`pylock sync\` waits for it"
    assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiling
    assert_eq "$(info_json byte-code)" compiling
    # The command named waits for the compile, then has nothing to do.
    local cmd
    cmd=$(grep -o '`pylock [^`]*`' <<<"$(info_line)" | tr -d '`')
    assert_eq "$cmd" "pylock sync"
    (cd "$PROJ" && exec "$PL" sync) >/dev/null 2>"$BATS_TEST_TMPDIR/waiter.err" &
    local waiter=$!
    BG+=("$waiter")
    local i
    for i in $(seq 1 200); do
      grep -q "waiting for another pylock (pid $PAUSED)" "$BATS_TEST_TMPDIR/waiter.err" && break
      nap 0.05
    done
    assert_contains "$(cat "$BATS_TEST_TMPDIR/waiter.err")" "waiting for another pylock (pid $PAUSED)"
    resume
    [ "$RESUMED" -eq 0 ] || { echo "sync at $step: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
    wait "$waiter" || { echo "the waiting sync failed: $(cat "$BATS_TEST_TMPDIR/waiter.err")"; return 1; }
    assert_contains "$(cat "$BATS_TEST_TMPDIR/waiter.err")" "already matches"
    assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
    assert_eq "$(bytecode_of "$(current_n)")" yes
    assert_nothing_left
  done
}

@test "an install compiling after its switch is compiling to verify, and compiled once it returns" {
  use_lock six
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  paused usable "$PL" -C "$PROJ" install idna
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiling
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "byte-code: compiling: generation $(current_n) imports from source until pylock (pid $PAUSED)"
  resume
  [ "$RESUMED" -eq 0 ] || { echo "install: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
}

@test "code in a sandbox can neither open nor hold the compile lock, to fake compiling or stall a compile" {
  # A compile lock exists once a project compiled after a switch.
  "$PL" -q -C "$PROJ" sync
  [ -e "$(state_dir)/compile.lock" ]
  assert_eq "$(stat -c %a "$(state_dir)/compile.lock")" 200
  use_lock six
  "$PL" -q -C "$PROJ" sync
  # The attack, from inside a run: the compile lock opened every way,
  # flock()ed and lockf()ed; whatever it got, held for a minute after the
  # run returns, by a child that outlives it.
  "$PL" -C "$PROJ" run python3 -c '
import errno, fcntl, os, sys, time
lock, out, held = sys.argv[1], [], []
for flags in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_WRONLY | os.O_TRUNC, os.O_PATH):
    try:
        fd = os.open(lock, flags)
    except OSError as e:
        out.append("open %d: %s" % (flags, errno.errorcode[e.errno]))
        continue
    held.append(fd)
    for name, take in (("flock", lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)),
                       ("flock-sh", lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                       ("lockf", lambda: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB))):
        try:
            take()
            out.append("LOCKED %s %d" % (name, flags))
        except OSError as e:
            out.append("%s %d: %s" % (name, flags, errno.errorcode[e.errno]))
for what, f in (("unlink", lambda: os.unlink(lock)), ("chmod", lambda: os.chmod(lock, 0o666)),
                ("rename", lambda: os.rename(lock, lock + ".x"))):
    try:
        f()
        out.append("CHANGED %s" % what)
    except OSError as e:
        out.append("%s: %s" % (what, errno.errorcode[e.errno]))
print("\n".join(out), flush=True)
if os.fork() == 0:
    os.setsid()
    open(sys.argv[2], "w").write(str(os.getpid()))
    time.sleep(60)
    os._exit(0)
' "$(state_dir)/compile.lock" "$BATS_TEST_TMPDIR/attacker.pid" >"$BATS_TEST_TMPDIR/attack" 2>&1
  local i
  for i in $(seq 1 100); do [ -s "$BATS_TEST_TMPDIR/attacker.pid" ] && break; nap 0.05; done
  BG+=("$(cat "$BATS_TEST_TMPDIR/attacker.pid")")
  cat "$BATS_TEST_TMPDIR/attack"
  run ! grep -q -e LOCKED -e CHANGED "$BATS_TEST_TMPDIR/attack"
  grep -q "open 0: EACCES" "$BATS_TEST_TMPDIR/attack"
  assert_eq "$(stat -c %a "$(state_dir)/compile.lock")" 200
  # While the attacker lives: a sync compiling after its switch (trees not
  # in the cache yet) is not stalled, and a killed one is pending, not
  # "compiling".
  use_lock requests
  killed usable "$PL" -C "$PROJ" sync
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "finishing it"
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" compiled
  assert_eq "$(list_set)" "$(lock_set)"
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
}

HOOK_LINE="hooked 1.0 installs startup hooks: hooked.pth (code that runs at every interpreter start)"

# line_of TEXT FILE: the number of FILE's first line containing TEXT (0: none).
line_of() {
  grep -n -F -- "$1" "$2" | head -1 | cut -d: -f1 | grep . || echo 0
}

@test "an install compiling after its switch names a startup hook at the first switch, when it can first run, and once" {
  use_lock six
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  paused usable "$PL" -C "$PROJ" install hooked
  local err="$BATS_TEST_TMPDIR/paused.err"
  # Once usable, the hook runs at every interpreter start: it was named by then.
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c pass
  [ "$status" -eq 0 ] || { echo "run: $stderr"; return 1; }
  assert_contains "$stderr" "HOOK-RAN"
  assert_contains "$(cat "$err")" "pylock: install: $HOOK_LINE"
  # Before "usable now": when the switch made it current.
  [ "$(line_of "$HOOK_LINE" "$err")" -lt "$(line_of "usable now" "$err")" ] || { cat "$err"; return 1; }
  resume
  [ "$RESUMED" -eq 0 ] || { echo "install: $(cat "$err")"; return 1; }
  assert_contains "$(cat "$err")" "byte-code compiled after the switch"
  assert_eq "$(grep -c "startup hooks" "$err")" 1
}

@test "a sync compiling after its switch names a startup hook at the first switch, and the sync finishing it does not again" {
  use_lock six
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  # The lock with hooked, from an install elsewhere (a state root of its
  # own: hooked's tree is not in this one's cache).
  local other="$BATS_TEST_TMPDIR/other"
  (
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/other-state"
    gc_project "$other" six
    PYLOCK_COMPILE=before-switch "$PL" -q -C "$other" install hooked 2>/dev/null
  )
  cp "$other/pylock.toml" "$PROJ/pylock.toml"
  killed usable "$PL" -C "$PROJ" sync
  local err="$BATS_TEST_TMPDIR/paused.err"
  assert_contains "$(cat "$err")" "pylock: sync: $HOOK_LINE"
  [ "$(line_of "$HOOK_LINE" "$err")" -lt "$(line_of "usable now" "$err")" ] || { cat "$err"; return 1; }
  assert_eq "$("$PL" -C "$PROJ" info byte-code)" pending
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "finishing it"
  assert_not_contains "$stderr" "startup hooks"
}

@test "a sync compiling before its one switch names a startup hook once, as before" {
  use_lock six
  PYLOCK_COMPILE=before-switch "$PL" -q -C "$PROJ" sync
  run --separate-stderr env PYLOCK_COMPILE=before-switch "$PL" -C "$PROJ" install hooked
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "usable now"
  assert_eq "$(grep -c "startup hooks" <<<"$stderr")" 1
  assert_contains "$stderr" "pylock: install: $HOOK_LINE"
}

@test "by default a sync compiles after its switch on a terminal only" {
  unset PYLOCK_COMPILE
  # stderr a file (a script, an editor, ci): one switch, compiled.
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "usable now"
  assert_eq "$(bytecode_of "$(current_n)")" yes
  # stderr a terminal: usable first, then compiled.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state-tty"
  STATE="$XDG_STATE_HOME/pylock" PROJ="$BATS_TEST_TMPDIR/proj-tty"
  gc_project "$PROJ" idna-six
  run sync_on_pty
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  # It returns once usable; the byte-code follows from a detached pylock,
  # which says nothing on the terminal (compile_background.bats).
  assert_contains "$output" "usable now"
  assert_contains "$output" "in the background"
  assert_not_contains "$output" "byte-code compiled after the switch"
  wait_compiled
  assert_eq "$(bytecode_of "$(current_n)")" yes
}
