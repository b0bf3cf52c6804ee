#!/usr/bin/env bats
# The python3/pip shims: project-aware inside a project, invisible outside.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup() {
  new_project
  SHIMS="$BATS_TEST_TMPDIR/shims"
  "$PL" shim install --dir "$SHIMS" --python "$PY" >/dev/null 2>&1
  REAL=$(readlink -f "$PY")
  export PATH="$SHIMS:$PATH"
  pkg=$(gen_dir purelib)/shim_probe_pkg
  mkdir -p "$pkg"
  echo 'WHERE = "generation"' > "$pkg/__init__.py"
  OUTSIDE="$BATS_TEST_TMPDIR/outside"
  mkdir -p "$OUTSIDE"
}

userns() { readlink /proc/self/ns/user; }

@test "shim install makes python3, python, python3.X, pip, pip3 and says how to put them on PATH" {
  run env PATH=/usr/bin:/bin "$PL" shim install --dir "$BATS_TEST_TMPDIR/other" --python "$PY"
  [ "$status" -eq 0 ]
  v=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  target=$PL # the front end beside pylock when there is one (shim_front.bats)
  [ -x "$PYLOCK_BIN/pylock-shim" ] && target=$PYLOCK_BIN/pylock-shim
  for n in python3 python "python$v" pip pip3; do
    [ -L "$BATS_TEST_TMPDIR/other/$n" ] || { echo "missing $n"; return 1; }
    assert_eq "$(readlink -f "$BATS_TEST_TMPDIR/other/$n")" "$(readlink -f "$target")"
  done
  assert_contains "$output" "is not on PATH"
  assert_contains "$output" "export PATH=\"$BATS_TEST_TMPDIR/other:\$PATH\""
}

@test "outside a project the shim execs the real interpreter: no namespace, same argv, status, stdin" {
  cd "$OUTSIDE"
  run python3 -c 'import os, sys; print(sys.executable, os.readlink("/proc/self/ns/user"), sys.argv[1:])' a b
  [ "$status" -eq 0 ]
  assert_eq "$output" "$REAL $(userns) ['a', 'b']"
  run python3 -c 'raise SystemExit(5)'
  [ "$status" -eq 5 ]
  assert_eq "$(echo piped | python3 -c 'print(input().upper())')" "PIPED"
  run python3 -c 'import shim_probe_pkg'
  [ "$status" -ne 0 ]
}

@test "inside a project the shim runs its environment, as pylock run would" {
  cd "$PROJ"
  mkdir -p sub && cd sub
  run python3 -c 'import os, sys, shim_probe_pkg; print(shim_probe_pkg.WHERE, os.readlink("/proc/self/ns/user"), os.environ["PYLOCK_PROJECT"], sys.argv[1:])' x
  [ "$status" -eq 0 ]
  read -r where ns project args <<<"$output"
  assert_eq "$where" "generation"
  [ "$ns" != "$(userns)" ]
  assert_eq "$project" "$PROJ"
  assert_eq "$args" "['x']"
  run python3 -c 'raise SystemExit(3)'
  [ "$status" -eq 3 ]
  assert_eq "$(echo in | python3 -c 'print(input() * 2)')" "inin"
  run "$PY" -c '
import subprocess, sys
p = subprocess.run(["python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"])
print(p.returncode)'
  assert_eq "$output" "-15"
  run python3 -c 'import sys; print(sys.executable)'
  assert_eq "$output" "$(interp python)"
}

@test "the shim works as the #! interpreter of scripts, in and out of a project" {
  printf '#!%s/python3\nimport sys\ntry:\n    import shim_probe_pkg; print("in", sys.argv[1:])\nexcept ImportError:\n    print("out", sys.argv[1:])\n' "$SHIMS" > "$BATS_TEST_TMPDIR/s.py"
  chmod +x "$BATS_TEST_TMPDIR/s.py"
  cd "$PROJ"
  assert_eq "$("$BATS_TEST_TMPDIR/s.py" 1 2)" "in ['1', '2']"
  cd "$OUTSIDE"
  assert_eq "$("$BATS_TEST_TMPDIR/s.py" 1 2)" "out ['1', '2']"
  printf '#!/usr/bin/env python3\nimport sys; print(sys.executable)\n' > "$BATS_TEST_TMPDIR/e.py"
  chmod +x "$BATS_TEST_TMPDIR/e.py"
  assert_eq "$("$BATS_TEST_TMPDIR/e.py")" "$REAL"
}

@test "no recursion: the shim directory twice on PATH, a symlinked shim, a hand-made link" {
  cd "$OUTSIDE"
  run env PATH="$SHIMS:$SHIMS:$PATH" timeout 10 python3 -c 'import sys; print(sys.executable)'
  assert_eq "$output" "$REAL"
  mkdir -p "$BATS_TEST_TMPDIR/links"
  ln -s "$SHIMS/python3" "$BATS_TEST_TMPDIR/links/python3"
  run env PATH="$BATS_TEST_TMPDIR/links:$PATH" timeout 10 python3 -c 'import sys; print(sys.executable)'
  assert_eq "$output" "$REAL"
  run timeout 10 "$BATS_TEST_TMPDIR/links/python3" -c 'import sys; print(sys.executable)'
  assert_eq "$output" "$REAL"
  # No manifest at all: the next python3 on PATH that is not pylock.
  mkdir -p "$BATS_TEST_TMPDIR/bare"
  ln -s "$PL" "$BATS_TEST_TMPDIR/bare/python3"
  run env PATH="$BATS_TEST_TMPDIR/bare:$BATS_TEST_TMPDIR/bare:$(dirname "$PY"):/usr/bin:/bin" timeout 10 python3 -c 'print("found the real one")'
  assert_eq "$output" "found the real one"
}

@test "inside pylock run, python3 on PATH reaches the interpreter, not a nested sandbox" {
  cd "$PROJ"
  run "$PL" run sh -c 'python3 -c "import shim_probe_pkg, os; print(shim_probe_pkg.WHERE, os.environ[\"PYLOCK_PROJECT\"])"'
  [ "$status" -eq 0 ]
  assert_eq "$output" "generation $PROJ"
}

@test "PYLOCK_SHIM=off bypasses the shim inside a project" {
  cd "$PROJ"
  run env PYLOCK_SHIM=off python3 -c 'import os; print(os.readlink("/proc/self/ns/user"))'
  assert_eq "$output" "$(userns)"
}

@test "a stale or missing environment prints one line to run pylock sync; auto-sync opts in" {
  base_blind
  cd "$PROJ"
  echo '# edited' >> pylock.toml
  run python3 -c 'print("ran")'
  [ "$status" -eq 1 ]
  assert_eq "$(grep -c . <<<"$output")" "1"
  assert_contains "$output" "changed since its environment was built; run: pylock sync"
  "$PY" - "$PROJ/pylock.toml" <<'PYEOF'
import sys
p = sys.argv[1]
t = open(p).read().replace("[tool.pylock]\n", "[tool.pylock]\nauto-sync = true\n", 1)
open(p, "w").write(t)
PYEOF
  run python3 -c 'import shim_probe_pkg; print("ran")'
  [ "$status" -ne 0 ] # auto-sync built a fresh generation: the hand-placed package is gone
  run python3 -c 'print("ran")'
  assert_eq "$output" "ran"
  rm -f "$(state_dir)/current"
  sed -i '/auto-sync/d' "$PROJ/pylock.toml"
  run python3 -c 'print("ran")'
  [ "$status" -eq 1 ]
  assert_contains "$output" "has no environment yet; run: pylock sync"
}

@test "pip through the shim lists the project's environment and refuses to install" {
  cd "$PROJ"
  run pip --version
  [ "$status" -eq 0 ]
  run pip list
  [ "$status" -eq 0 ]
  assert_contains "$output" "pip"
  run pip install six
  [ "$status" -eq 1 ]
  assert_contains "$output" "read-only"
  assert_contains "$output" "pylock install six"
}

@test "shim install refuses to overwrite, and uninstall to delete, a file it did not create" {
  base_blind
  d="$BATS_TEST_TMPDIR/mixed"
  mkdir -p "$d"
  echo 'not ours' > "$d/pip"
  run "$PL" shim install --dir "$d" --python "$PY"
  [ "$status" -eq 1 ]
  assert_contains "$output" "$d/pip exists and pylock did not create it"
  assert_eq "$(cat "$d/pip")" "not ours"
  [ ! -e "$d/python3" ]
  rm "$d/pip"
  "$PL" shim install --dir "$d" --python "$PY" >/dev/null 2>&1
  # someone replaces one shim with their own file
  rm "$d/pip3" && echo 'theirs' > "$d/pip3"
  echo 'unrelated' > "$d/tool"
  run "$PL" shim uninstall --dir "$d"
  [ "$status" -eq 0 ]
  assert_contains "$output" "left $d/pip3"
  assert_eq "$(ls -A "$d" | sort | tr '\n' ' ')" "pip3 tool "
}
