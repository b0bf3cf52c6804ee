#!/usr/bin/env bats
# pylock run: what the command sees inside the project's environment.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  new_project
  cd "$PROJ"
}

@test "run executes the base interpreter at its usual path" {
  run "$PL" run python3 -c 'import sys; print(sys.executable, sys.prefix)'
  [ "$status" -eq 0 ]
  read -r exe prefix <<<"$output"
  assert_eq "$prefix" "$(interp prefix)"
  [[ "$exe" == "$(interp prefix)"/* || "$exe" == "$(dirname "$(interp python)")"/* ]]
}

@test "the command runs as the caller's own uid and gid, not root" {
  base_blind
  run "$PL" run sh -c 'echo "$(id -u) $(id -g)"'
  [ "$status" -eq 0 ]
  assert_eq "$output" "$(id -u) $(id -g)"
}

@test "the prefix is a read-only overlay: writing anywhere under it fails" {
  prefix=$(interp prefix)
  run "$PL" run python3 -c '
import errno, os, sys
for p in sys.argv[1:]:
    try:
        open(os.path.join(p, "pylock-write-test"), "w")
        print("WROTE", p)
    except OSError as e:
        print(errno.errorcode[e.errno], p)
' "$prefix" "$(interp purelib)" "$(interp scripts)" "$prefix/lib"
  [ "$status" -eq 0 ]
  assert_not_contains "$output" "WROTE"
  while read -r code path; do
    [[ "$code" == EROFS || "$code" == EACCES ]] || { echo "$code $path"; return 1; }
  done <<<"$output"
  # The generation's own site-packages is in that list: the env is immutable.
  assert_contains "$output" "EROFS $(interp purelib)"
  run "$PL" run sh -c "grep ' $prefix overlay ' /proc/self/mounts"
  assert_contains "$output" "ro,"
}

@test "pylock's state is read-only inside, so the env cannot be changed from within" {
  base_blind
  run "$PL" run python3 -c '
import errno, sys
for path in (sys.argv[1] + "/evil", sys.argv[2] + "/evil"):
    try:
        open(path, "w"); print("WROTE", path)
    except OSError as e:
        print(errno.errorcode[e.errno])
' "$(layer_dir)" "$(state_dir)"
  assert_eq "$output" "EROFS
EROFS"
}

@test "a package placed in the generation's site-packages imports" {
  pkg=$(gen_dir purelib)/pylock_probe_pkg
  mkdir -p "$pkg"
  echo 'WHO = "from the generation"' > "$pkg/__init__.py"
  run "$PL" run python3 -c 'import pylock_probe_pkg as p; print(p.WHO, p.__file__)'
  [ "$status" -eq 0 ]
  assert_contains "$output" "from the generation $(interp purelib)/pylock_probe_pkg/__init__.py"
  # and it is not visible outside the project
  run "$PY" -c 'import pylock_probe_pkg'
  [ "$status" -ne 0 ]
}

@test "a package in the user site (~/.local) does not import, even with PYTHONNOUSERSITE unset" {
  site="$HOME/.local/lib/python$(short_version)/site-packages"
  mkdir -p "$site/pylock_leak_pkg"
  echo 'X = 1' > "$site/pylock_leak_pkg/__init__.py"
  # Outside, the user site works (so the test can tell the difference).
  run "$PY" -c 'import pylock_leak_pkg'
  [ "$status" -eq 0 ]
  run "$PL" run python3 -c 'import pylock_leak_pkg'
  [ "$status" -ne 0 ]
  assert_contains "$output" "No module named 'pylock_leak_pkg'"
  run "$PL" run env -u PYTHONNOUSERSITE python3 -c 'import pylock_leak_pkg'
  [ "$status" -ne 0 ]
  run "$PL" run ls -A "$HOME/.local/lib/python$(short_version)"
  assert_eq "$output" ""
  rm -rf "$site/pylock_leak_pkg"
}

@test "leaking variables are removed and PYLOCK_PROJECT is set" {
  base_blind
  run env PYTHONPATH=/tmp/pp PYTHONHOME=/tmp/ph PYTHONUSERBASE=/tmp/pu VIRTUAL_ENV=/tmp/ve \
    CONDA_PREFIX=/tmp/cp PIP_INDEX_URL=http://evil PIP_REQUIRE_VIRTUALENV=0 KEEP_ME=yes \
    "$PL" run env
  [ "$status" -eq 0 ]
  for v in PYTHONPATH PYTHONHOME PYTHONUSERBASE VIRTUAL_ENV CONDA_PREFIX PIP_INDEX_URL PIP_REQUIRE_VIRTUALENV; do
    assert_not_contains "$output" "$v="
  done
  assert_contains "$output" "KEEP_ME=yes"
  assert_contains "$output" "PYLOCK_PROJECT=$PROJ"
}

@test "all capabilities are dropped, no_new_privs is set and a seccomp filter is loaded" {
  base_blind
  run "$PL" run grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status
  [ "$status" -eq 0 ]
  for f in CapInh CapPrm CapEff CapBnd CapAmb; do
    assert_contains "$output" "$f:	0000000000000000"
  done
  assert_contains "$output" "NoNewPrivs:	1"
  assert_contains "$output" "Seccomp:	2"
}

@test "the seccomp filter answers EPERM to every call the spec denies" {
  base_blind
  run "$PL" run python3 "$PYLOCK_SCRATCH/tests/probe_syscalls.py"
  [ "$status" -eq 0 ]
  echo "$output"
  n=0
  while read -r name code; do
    [ "$code" = EPERM ] || { echo "not denied: $name -> $code"; return 1; }
    n=$((n + 1))
  done <<<"$output"
  [ "$n" -ge 20 ]
  # Outside the sandbox the same probe is not uniformly EPERM (so the test can fail).
  run "$PY" "$PYLOCK_SCRATCH/tests/probe_syscalls.py"
  assert_contains "$output" "unshare(CLONE_NEWUSER) ok"
}

@test "creating a user namespace again fails with EPERM (unshare -U)" {
  base_blind
  run "$PL" run unshare -U true
  [ "$status" -ne 0 ]
  assert_contains "$output" "Operation not permitted"
}

@test "exit statuses pass through: 0 and 3" {
  base_blind
  run "$PL" run python3 -c 'pass'
  [ "$status" -eq 0 ]
  run "$PL" run python3 -c 'raise SystemExit(3)'
  [ "$status" -eq 3 ]
}

@test "death by SIGTERM is seen as a shell sees it (128+15), and as the signal by a parent" {
  base_blind
  run "$PL" run sh -c 'kill -TERM $$'
  [ "$status" -eq 143 ]
  run "$PY" -c '
import subprocess, sys
p = subprocess.run([sys.argv[1], "run", "python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
print(p.returncode)' "$PL"
  assert_eq "$output" "-15"
}

@test "SIGTERM and SIGINT sent to pylock reach the command" {
  base_blind
  for sig in TERM INT; do
    rm -f "$BATS_TEST_TMPDIR/got"
    "$PL" run python3 -c '
import signal, sys, time
def h(n, f):
    open(sys.argv[1], "w").write(signal.Signals(n).name); sys.exit(7)
signal.signal(signal.SIGTERM, h); signal.signal(signal.SIGINT, h)
open(sys.argv[1] + ".ready", "w").close()
time.sleep(30)' "$BATS_TEST_TMPDIR/got" &
    pid=$!
    for _ in $(seq 100); do [ -e "$BATS_TEST_TMPDIR/got.ready" ] && break; nap 0.05; done
    kill -"$sig" "$pid"
    wait "$pid" && st=0 || st=$?
    rm -f "$BATS_TEST_TMPDIR/got.ready"
    assert_eq "$st" 7
    assert_eq "$(cat "$BATS_TEST_TMPDIR/got")" "SIG$sig"
  done
}

@test "a command that does not exist exits 127 with a clear message" {
  base_blind
  run -127 "$PL" run no-such-command-pylock
  [ "$status" -eq 127 ]
  assert_contains "$output" "no-such-command-pylock: No such file or directory"
}

@test "run finds the project from a subdirectory, and -C selects one from elsewhere" {
  base_blind
  mkdir -p "$PROJ/src/deep"
  cd "$PROJ/src/deep"
  run "$PL" run sh -c 'echo "$PYLOCK_PROJECT $(pwd)"'
  assert_eq "$output" "$PROJ $PROJ/src/deep"
  cd "$BATS_TEST_TMPDIR"
  run "$PL" -C "$PROJ" run sh -c 'echo "$PYLOCK_PROJECT"'
  assert_eq "$output" "$PROJ"
}

@test "--no-network cannot reach a server listening on the host's loopback" {
  base_blind
  "$PY" -u -m http.server --bind 127.0.0.1 0 >"$BATS_TEST_TMPDIR/http.log" 2>&1 &
  srv=$!
  port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/http.log" | head -n1)
    [ -n "$port" ] && break
    nap 0.05
  done
  probe='import socket, sys
s = socket.socket()
s.settimeout(3)
try:
    s.connect(("127.0.0.1", int(sys.argv[1]))); print("CONNECTED")
except OSError as e:
    print("REFUSED", e.errno)'
  run "$PL" run python3 -c "$probe" "$port"
  with_net=$output
  run "$PL" run --no-network python3 -c "$probe" "$port"
  without_net=$output
  run "$PL" run --no-network sh -c "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"
  ifaces=$output
  kill "$srv"
  assert_eq "$with_net" "CONNECTED"
  assert_contains "$without_net" "REFUSED"
  assert_eq "$ifaces" "lo"
}

@test "an interactive python3 REPL works on a terminal" {
  command -v script >/dev/null || skip "script(1) is not installed"
  out=$(printf 'print(6 * 7)\nimport sys; print(sys.stdin.isatty())\nexit()\n' |
        timeout 20 script -qec "$PL run python3 -i -q" /dev/null)
  assert_contains "$out" "42"
  assert_contains "$out" "True"
}

@test "pylock shell runs \$SHELL inside the environment" {
  base_blind
  run env SHELL=/bin/sh "$PL" shell <<<'echo "in:$PYLOCK_PROJECT"; grep Seccomp: /proc/self/status'
  [ "$status" -eq 0 ]
  assert_contains "$output" "in:$PROJ"
  assert_contains "$output" "Seccomp:	2"
}

@test "pylock run inside pylock run fails with a clear message" {
  base_blind
  run "$PL" run "$PL" run true
  [ "$status" -eq 1 ]
  assert_contains "$output" "already inside the project's environment"
}
