#!/usr/bin/env bats
# pylock-test: once
# First contact (issue 13): -v says what each step does, a status line on a
# terminal (and nothing extra elsewhere), Ctrl-C during install, lock or
# sync stops pylock and pip together and leaves the project as it was,
# install and verify count files alike, and the README's tour works when
# pasted.  Real registry, real wheels, real pip, a real pty.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"
load compile_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" \
    "$FIX"/wheels/{requests,urllib3,idna,charset_normalizer,certifi,click,six,toml}-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$FIX/locks"
  "$PL" -q -C "$FIX/locks" install requests
  cp "$FIX/locks/pylock.toml" "$FIX/lock-requests.toml"
  write_driver "$FIX/drive.py"
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  BG=()
}

teardown() {
  badserver_stop
  local p
  for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null || true; done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "${1:-$PROJ}"
}

# What a change must leave as it was: pylock.toml's bytes, the project's
# generations (and where current points), pylock's scratch directories.
snapshot() {
  local st
  st=$(state_dir)
  sha256sum "$PROJ/pylock.toml"
  ls -A "$st/generations"
  readlink "$st/current"
  ls -A "$XDG_STATE_HOME/pylock/scratch" 2>/dev/null || true
}

# write_driver FILE: runs pylock in a session of its own (as a shell runs a
# job), on a pty or not, and interrupts it as a terminal's Ctrl-C does
# (SIGINT to its process group) once pip runs, or once it stopped itself at
# a PYLOCK_PAUSE_AT step.  Prints a JSON result.
write_driver() {
  cat >"$1" <<'PY'
import json, os, pty, select, signal, subprocess, sys, time

mode, args = sys.argv[1], sys.argv[2:]

def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid:
                out.append(int(d))
    return out

def tree(pid):
    out = []
    for c in children(pid):
        out += [c] + tree(c)
    return out

def cmdline(pid):
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""

def alive(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

def state(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"

res = {}
if mode == "pty":  # run on a terminal; collect everything it writes
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(args[0], args)
    out = b""
    while True:
        try:
            r, _, _ = select.select([fd], [], [], 120)
            chunk = os.read(fd, 65536) if r else b""
        except OSError:
            chunk = b""
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    res = {"status": os.waitstatus_to_exitcode(status), "output": out.decode(errors="replace")}
else:  # "pip": interrupt while pip resolves; "paused": once stopped at its step;
       # "after": a few seconds in
    p = subprocess.Popen(args, stderr=subprocess.PIPE, start_new_session=True)
    seen, t0 = [], time.time()
    while time.time() - t0 < 60:
        if mode == "pip":
            seen = [c for c in tree(p.pid) if " -m pip install " in cmdline(c)]
            if seen:
                break
        elif mode == "paused" and state(p.pid) == "T":
            break
        elif mode == "after" and time.time() - t0 > 3:
            break
        if p.poll() is not None:
            break
        time.sleep(0.02)
    below = tree(p.pid)
    os.killpg(p.pid, signal.SIGINT)
    if mode == "paused":
        os.killpg(p.pid, signal.SIGCONT)
    t_int = time.time()
    _, err = p.communicate(timeout=60)
    t1 = time.time()
    res_took = t1 - t_int
    while time.time() - t1 < 5 and any(alive(c) for c in below):
        time.sleep(0.05)
    res = {"status": p.returncode, "stderr": err.decode(errors="replace"),
           "pip_seen": len(seen), "below": len(below), "took": round(res_took, 1),
           "left": [cmdline(c) for c in below if alive(c)]}
print(json.dumps(res))
PY
}

# drive MODE CMD...: the driver's JSON result in DRIVEN.
drive() {
  DRIVEN=$(timeout 180 python3 "$FIX/drive.py" "$@")
}

field() {
  python3 -c 'import json, sys; v = json.loads(sys.argv[1])[sys.argv[2]]; print(v if isinstance(v, str) else json.dumps(v))' "$DRIVEN" "$1"
}

@test "-v says what each step does: the registry's versions, the resolver's command, each wheel's checks, the mounts" {
  project
  run --separate-stderr "$PL" -v -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "pylock: registry $FIX/reg, anchored to "
  assert_contains "$stderr" ": root v1 (expires "
  assert_contains "$stderr" "timestamp v"
  assert_contains "$stderr" "pylock: resolver (sandboxed, no network, writes only its work directory): $PY -I -c <pylock's pip driver> -m pip install --dry-run"
  assert_contains "$stderr" " six"
  assert_contains "$stderr" "pylock: six 1.16.0: six-1.16.0-py3-none-any.whl is a target $FIX/reg signs: "
  assert_contains "$stderr" "pylock: six 1.16.0: six-1.16.0-py3-none-any.whl checked: zip entries safe"
  assert_contains "$stderr" "pylock: sandbox: mount overlay on $(interp prefix), read-only, top layer "
  assert_contains "$stderr" "pylock: sandbox: bind $XDG_STATE_HOME/pylock read-only"
  assert_not_contains "$stderr" "debug:"
  # Not a terminal: no status line, not a byte of it.
  assert_not_contains "$stderr" $'\r'
  assert_not_contains "$stderr" $'\e['
  # Without -v: none of it.
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/six.toml"
  project "$BATS_TEST_TMPDIR/p2"
  cp "$BATS_TEST_TMPDIR/six.toml" "$BATS_TEST_TMPDIR/p2/pylock.toml"
  run --separate-stderr "$PL" -C "$BATS_TEST_TMPDIR/p2" sync
  [ "$status" -eq 0 ]
  assert_not_contains "$stderr" "is a target"
  assert_not_contains "$stderr" "sandbox:"
  assert_not_contains "$stderr" "registry $FIX/reg, anchored"
  # -vv: more (each writable place of the sandbox).
  run --separate-stderr "$PL" -vv -C "$PROJ" run true
  [ "$status" -eq 0 ]
  assert_contains "$stderr" "pylock: debug: sandbox: writable: $PROJ"
}

@test "install and verify count the environment's files alike" {
  project
  run --separate-stderr "$PL" -C "$PROJ" install requests
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  installed=$(echo "$stderr" | sed -nE 's/.*install: generation [0-9]+, [0-9]+ packages \(.*, ([0-9]+) files\)$/\1/p')
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ]
  checked=$(echo "$output" | sed -nE 's/^ok: [0-9]+ packages, ([0-9]+) files checked;.*/\1/p')
  [ -n "$installed" ] && [ -n "$checked" ]
  assert_eq "$checked" "$installed"
  # And both are the files the environment really holds.
  assert_eq "$(find -L "$(layer_dir)" -type f | wc -l)" "$installed"
}

@test "on a terminal: a spinner with the step and elapsed time, then [i/n] per wheel" {
  project
  drive pty "$PL" -C "$PROJ" install click
  [ "$(field status)" -eq 0 ] || { field output; return 1; }
  out=$(field output)
  assert_contains "$out" $'\r\e[K'
  # Cut to the terminal's 80 columns, never its elapsed time.
  [[ $out =~ $'\r\e[K'[-/\|\\]\ resolving\ 1\ requirement\(s\)\ against\ [^$'\r']*\ \(([0-9]+\.[0-9])\ s\) ]]
  # It turned while pip ran (one pip run now takes well under a second).
  [ "$(grep -o $'\r\e\[K[-/|\\] resolving' <<<"$out" | sort -u | wc -l)" -ge 2 ]
  assert_contains "$out" "..."
  assert_contains "$out" "[1/1] getting click-8.1.3-py3-none-any.whl"
  assert_contains "$out" "unpacking and compiling click 8.1.3"
  clean=$(printf '%s' "$out" | tr -d '\r' | sed 's/\x1b\[K//g')
  assert_contains "$clean" "pylock: install: generation"
  # The status line is gone by the end: the last line is the summary, or on
  # a terminal (byte-code compiled after the switch, in a detached pylock)
  # what followed it.
  last=$(tail -n1 <<<"$clean")
  [[ $last == "pylock: install: generation"* ||
    $last == "pylock: usable now (generation "*"in the background"* ]] || { echo "last: $last"; return 1; }
  wait_compiled
}

@test "on a terminal with -q: nothing at all" {
  project
  cp "$FIX/lock-requests.toml" "$PROJ/pylock.toml"
  drive pty "$PL" -q -C "$PROJ" sync
  [ "$(field status)" -eq 0 ]
  assert_eq "$(field output)" ""
  wait_compiled
}

@test "Ctrl-C while pip resolves an install: pylock and pip stop together, nothing changes, 130" {
  project
  before=$(snapshot)
  drive pip "$PL" -C "$PROJ" install click
  [ "$(field pip_seen)" -ge 1 ] || { field stderr; return 1; }
  assert_eq "$(field status)" 130
  assert_eq "$(field left)" "[]"
  err=$(field stderr)
  assert_contains "$err" "pylock: install: resolver sandbox: interrupted (Ctrl-C)"
  assert_contains "$err" "hint: nothing changed"
  assert_not_contains "$err" "Interrupted system call"
  assert_eq "$(snapshot)" "$before"
  # And the project works on: the same install, not interrupted.
  run "$PL" -q -C "$PROJ" install click
  [ "$status" -eq 0 ]
}

@test "Ctrl-C while pip resolves a lock: pylock.toml stays as it was, 130" {
  project
  cp "$FIX/lock-requests.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  # Ask for more than is locked, so lock must resolve.
  sed -i 's/^requested = \["requests"\]/requested = ["requests", "toml"]/' "$PROJ/pylock.toml"
  grep -q '"toml"' "$PROJ/pylock.toml"
  before=$(snapshot)
  drive pip "$PL" -C "$PROJ" lock
  [ "$(field pip_seen)" -ge 1 ] || { field stderr; return 1; }
  assert_eq "$(field status)" 130
  assert_eq "$(field left)" "[]"
  assert_eq "$(snapshot)" "$before"
}

@test "Ctrl-C while a sync unpacks: no partial generation, the current one stays, 130" {
  project
  cp "$FIX/lock-requests.toml" "$PROJ/pylock.toml"
  before=$(snapshot)
  # Stopped after the first wheel is unpacked (a cold cache), then Ctrl-C.
  drive paused env PYLOCK_PAUSE_AT=unpacked "$PL" -C "$PROJ" sync
  assert_eq "$(field status)" 130
  assert_contains "$(field stderr)" "interrupted (Ctrl-C)"
  assert_eq "$(snapshot)" "$before"
  [ -z "$(find "$(state_dir)/generations" -maxdepth 1 -name '.*')" ]
  run "$PL" -q -C "$PROJ" sync
  [ "$status" -eq 0 ]
}

@test "Ctrl-C while a download stalls: pylock stops at once, not at the stall timeout, 130" {
  badserver_start stall "$FIX/reg" "six-1.16.0-py3-none-any.whl"
  "$PL" -q init --python "$PY" --registry "$BAD_URL" --root "$FIX/trusted-root.json" "$PROJ"
  before=$(snapshot)
  drive after "$PL" -C "$PROJ" install six
  assert_eq "$(field status)" 130
  python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) < 3 else 1)' "$(field took)" ||
    { echo "took $(field took) s after Ctrl-C"; return 1; }
  assert_contains "$(field stderr)" "interrupted (Ctrl-C)"
  assert_eq "$(snapshot)" "$before"
}

@test "the README's tour works when pasted" {
  readme="$PYLOCK_SCRATCH/README.md"
  [ -f "$readme" ] || skip "no README.md in $PYLOCK_SCRATCH"
  [ "$PY" = /usr/bin/python3 ] || skip "the tour names /usr/bin/python3: it runs on that base"
  work="$BATS_TEST_TMPDIR/tour"
  mkdir -p "$work/dist"
  cp "$FIX"/wheels/*.whl "$work/dist/"
  # The tour's block, its commands run one after the other in one shell (cd
  # carries over), each one's status noted after it on fd 3.
  awk '/^## A five-minute tour/ { t = 1 } t && /^```sh$/ { c = 1; next } c && /^```$/ { exit } c' \
    "$readme" | grep -vE '^(#|$)' >"$BATS_TEST_TMPDIR/tour.sh"
  [ "$(wc -l <"$BATS_TEST_TMPDIR/tour.sh")" -ge 15 ]
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    printf '%s\necho "$? %d" >&3\n' "$line" "$n"
  done <"$BATS_TEST_TMPDIR/tour.sh" >"$BATS_TEST_TMPDIR/tour-run.sh"
  (cd "$work" && PATH="$PYLOCK_BIN:$PATH" bash "$BATS_TEST_TMPDIR/tour-run.sh" \
    3>"$BATS_TEST_TMPDIR/statuses" </dev/null >"$BATS_TEST_TMPDIR/tour.out" 2>&1) || true
  "$PYLOCK_BIN/pylock" shim uninstall >/dev/null 2>&1 || true
  # Every line ran; each succeeded but doctor's (this machine may lack
  # something) and the three that say they end in an error, which did.
  assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/statuses")" "$(wc -l <"$BATS_TEST_TMPDIR/tour.sh")"
  while read -r st k; do
    line=$(sed -n "${k}p" "$BATS_TEST_TMPDIR/tour.sh")
    case $line in
    'pylock doctor'*) ;;
    *'# error:'*) [ "$st" -ne 0 ] || { echo "should have failed: $line"; return 1; } ;;
    *) [ "$st" -eq 0 ] || { echo "failed ($st): $line"; cat "$BATS_TEST_TMPDIR/tour.out"; return 1; } ;;
    esac
  done <"$BATS_TEST_TMPDIR/statuses"
  assert_contains "$(cat "$BATS_TEST_TMPDIR/tour.out")" "Read-only file system"
}
