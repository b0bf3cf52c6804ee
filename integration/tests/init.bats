#!/usr/bin/env bats
# pylock init: a valid PEP 751 file, the first empty generation, idempotence.
# SPDX-License-Identifier: Apache-2.0

load helpers

@test "init writes a PEP 751 pylock.toml recording the base interpreter" {
  new_project
  run "$PY" -c '
import sys, tomllib
d = tomllib.load(open(sys.argv[1] + "/pylock.toml", "rb"))
t = d["tool"]["pylock"]
print(d["lock-version"], d["created-by"], d["packages"], t["python"], t["python-version"], t["python-prefix"])
' "$PROJ"
  if [ "$status" -ne 0 ]; then
    # Python 3.11+ has tomllib; both bases here do.
    echo "$output"; return 1
  fi
  read -r lv cb pk py ver prefix <<<"$output"
  assert_eq "$lv" "1.0"
  assert_eq "$cb" "pylock"
  assert_eq "$pk" "[]"
  assert_eq "$ver" "$("$PY" -c 'import platform; print(platform.python_version())')"
  assert_eq "$prefix" "$("$PY" -c 'import sys; print(sys.prefix)')"
  [ -x "$py" ]
}

@test "init creates generation 1 with the scheme directories and points current at it" {
  new_project
  assert_eq "$(readlink "$(state_dir)/current")" "generations/1"
  # The project holds pylock.toml and nothing else: the environment is pylock's.
  assert_eq "$(ls -A "$PROJ")" "pylock.toml"
  for d in purelib platlib scripts include; do
    [ -d "$(gen_dir "$d")" ] || { echo "missing $d: $(gen_dir "$d")"; return 1; }
  done
  # Nothing but directories: the environment starts empty.
  assert_eq "$(find "$(state_dir)/generations/1" -not -type d | wc -l)" "0"
}

@test "init on an existing project says so and changes nothing" {
  base_blind
  new_project
  before=$(cd "$PROJ" && find . -printf '%p %s %T@\n' | sort | sha256sum)
  run "$PL" init --python "$PY" "$PROJ"
  [ "$status" -eq 0 ]
  assert_contains "$output" "already a pylock project"
  after=$(cd "$PROJ" && find . -printf '%p %s %T@\n' | sort | sha256sum)
  assert_eq "$after" "$before"
}

@test "init defaults to python3.12 on PATH, else python3" {
  # The links in the home: pylock refuses an interpreter reached through /tmp.
  local t
  t=$(mktemp -d "$HOME/init-path.XXXXXX")
  mkdir -p "$t/a" "$t/b"
  ln -s "$PY" "$t/a/python3"
  ln -s "$PY" "$t/b/python3"
  ln -s "$PY" "$t/b/python3.12"
  PATH="$t/a:/usr/bin:/bin" run "$PL" init "$BATS_TEST_TMPDIR/pa"
  [ "$status" -eq 0 ]
  assert_eq "$(sed -n 's/^python=//p' "$(state_dir "$BATS_TEST_TMPDIR/pa")/interp")" "$t/a/python3"
  PATH="$t/b:/usr/bin:/bin" run "$PL" init "$BATS_TEST_TMPDIR/pb"
  [ "$status" -eq 0 ]
  assert_eq "$(sed -n 's/^python=//p' "$(state_dir "$BATS_TEST_TMPDIR/pb")/interp")" "$t/b/python3.12"
  rm -rf "$t"
}

@test "init --python VERSION finds pythonVERSION on PATH" {
  v=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  PATH="$(dirname "$PY"):/usr/bin:/bin" run "$PL" init --python "$v" "$BATS_TEST_TMPDIR/p"
  [ "$status" -eq 0 ]
  assert_eq "$(sed -n 's/^version=//p' "$(state_dir "$BATS_TEST_TMPDIR/p")/interp" | cut -d. -f1-2)" "$v"
}

@test "init with a missing interpreter fails with the cause and leaves no project" {
  base_blind
  run "$PL" init --python /nonexistent/python3 "$BATS_TEST_TMPDIR/p"
  [ "$status" -eq 1 ]
  assert_contains "$output" "/nonexistent/python3"
  [ ! -e "$BATS_TEST_TMPDIR/p/pylock.toml" ]
}

@test "init refuses a virtual environment's interpreter and names the base" {
  local venv
  venv=$(mktemp -d "$HOME/venv.XXXXXX") # not in /tmp, which pylock refuses first
  "$PY" -m venv --without-pip "$venv"
  run "$PL" init --python "$venv/bin/python3" "$BATS_TEST_TMPDIR/p"
  [ "$status" -eq 1 ]
  assert_contains "$output" "virtual environment"
  assert_contains "$output" "hint:"
  [ ! -e "$BATS_TEST_TMPDIR/p/pylock.toml" ]
  rm -rf "$venv"
}

@test "commands outside any project fail with a hint to init" {
  base_blind
  cd "$BATS_TEST_TMPDIR"
  run "$PL" run true
  [ "$status" -eq 1 ]
  assert_contains "$output" "not inside a pylock project"
  assert_contains "$output" "pylock init"
}
