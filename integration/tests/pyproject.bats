#!/usr/bin/env bats
# pylock-test: once
# pyproject.toml as the requested set (issue 13): lock reads [project]
# dependencies, optional-dependencies and [dependency-groups]; install and
# remove edit [project] dependencies in place, comments and layout kept;
# nothing in it runs code or writes outside the project.  A lock another
# tool wrote is never emptied: lock and install derive its top level.
# Locked versions are kept unless --upgrade / --upgrade-package; -r FILE's
# hashes must be the ones the registry signs.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load gc_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  python3 "$PYLOCK_BIN/make-wheels.py" --bump "$FIX/wheels/six-1.16.0-py3-none-any.whl" 1.17.0 \
    "$FIX/newer" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  # The locks the tests on a foreign lock start from (see own_lock_of),
  # resolved once here rather than installed in every test; idna's is
  # idna and six's without six.
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  project "$FIX/locks"
  local what
  for what in requests "idna six"; do
    # shellcheck disable=SC2086
    set_requested_in "$FIX/locks/pylock.toml" $what
    "$PL" -q -C "$FIX/locks" lock
    cp "$FIX/locks/pylock.toml" "$FIX/own-lock-${what// /-}.toml"
  done
  lock_without "$FIX/own-lock-idna-six.toml" "$FIX/own-lock-idna.toml" six
}

setup() {
  # A warm cache shared by the tests; each test's projects are its own.
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$FIX/state"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
}

teardown() {
  [ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

project() {
  "$PL" -q init --python "$PY" --registry "${2:-$FIX/reg}" --root "$FIX/trusted-root.json" "$1"
}

# The locked packages, "name==version" sorted by normalized name.
lock_set() {
  python3 - "${1:-$PROJ}/pylock.toml" <<'PY'
import re, sys, tomllib
pkgs = tomllib.load(open(sys.argv[1], 'rb')).get('packages', [])
print(' '.join(sorted('%s==%s' % (re.sub(r'[-_.]+', '-', p['name']).lower(), p['version']) for p in pkgs)))
PY
}

lock_names() {
  lock_set "$@" | sed 's/==[^ ]*//g'
}

# [tool.pylock] requested of the lock, as JSON, or "absent".
lock_requested() {
  python3 -c 'import json, sys, tomllib
t = tomllib.load(open(sys.argv[1], "rb")).get("tool", {}).get("pylock", {})
print(json.dumps(t["requested"]) if "requested" in t else "absent")' "${1:-$PROJ}/pylock.toml"
}

installed_set() {
  "$PL" -C "${1:-$PROJ}" list --json | python3 -c '
import json, re, sys
print(" ".join(sorted("%s==%s" % (re.sub(r"[-_.]+", "-", p["name"]).lower(), p["version"])
                      for p in json.load(sys.stdin)["packages"])))'
}

sha() {
  sha256sum "$FIX/reg/targets/$1" | cut -c1-64
}

# A pyproject.toml with comments, an extra and groups.
write_pyproject() {
  cat >"$PROJ/pyproject.toml" <<'EOF'
# The application.
[project]
name = "app"
version = "0.1"
requires-python = ">=3.9"
dependencies = [
    "idna>=3",  # URLs
    # certificates:
    "certifi",
]

[project.optional-dependencies]
detect = ["chardet"]
all = ["app[detect]"]

[dependency-groups]
test = ["six", {include-group = "lint"}]
lint = ["toml"]

[tool.black]
line-length = 100  # keep me
EOF
}

# own_lock_of REQ...: the lock pylock makes for REQ (resolved in setup_file;
# the sets there only).
own_lock_of() {
  local f
  f="$FIX/own-lock-$(IFS=-; echo "$*").toml"
  [ -f "$f" ] || { echo "own_lock_of $*: no such lock resolved in setup_file" >&2; return 1; }
  cat "$f"
}

# as_foreign: a pylock lock on stdin as another tool leaves it -- created-by
# uv, no requested flags, no [tool.pylock] requested -- with this project's
# registry settings kept (what pylock needs to trust it).
as_foreign() {
  python3 -c '
import re, sys
t = sys.stdin.read()
t = t.replace("created-by = \"pylock\"", "created-by = \"uv\"")
t = re.sub(r"(?m)^#.*\n", "", t)
t = re.sub(r"\n\[packages\.tool\.pylock\]\nrequested = true\n", "\n", t)
t = re.sub(r"(?ms)^requested = \[.*?\]\n", "", t)
sys.stdout.write(t)'
}

# ---- pyproject.toml is the requested set ------------------------------------

@test "lock_resolves_pyprojects_dependencies_extras_and_groups_and_pylock_toml_keeps_no_requested" {
  project "$PROJ"
  write_pyproject
  cp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "the requested set is pyproject.toml's (5 requirements)"
  # idna, certifi; chardet (extra "detect"; "app[detect]" is the project
  # itself); six and toml (group test, including lint).
  assert_eq "$(lock_names)" "certifi chardet idna six toml"
  assert_eq "$(lock_requested)" "absent"
  grep -qx 'requires-python = ">=3.9"' "$PROJ/pylock.toml"
  # lock reads pyproject.toml; it does not write it.
  cmp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  # sync --frozen checks the lock against pyproject.toml's set.
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_set)" "$(lock_set)"
  run --separate-stderr "$PL" -C "$PROJ" lock --check
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # A new dependency in pyproject.toml makes the lock stale for ci.
  sed -i 's/^    "certifi",$/    "certifi",\n    "xmltodict",/' "$PROJ/pyproject.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "'xmltodict' is requested but not locked"
}

@test "install_and_remove_edit_project_dependencies_in_place_keeping_comments_and_layout" {
  project "$PROJ"
  write_pyproject
  cp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  run --separate-stderr "$PL" -C "$PROJ" install 'requests>=2'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # Exactly one line more, in the array's own indentation, after the last entry.
  run diff "$BATS_TEST_TMPDIR/py.before" "$PROJ/pyproject.toml"
  assert_eq "$output" '9a10
>     "requests>=2",'
  assert_contains "$(lock_names)" "requests"
  assert_contains "$(installed_set)" "requests=="
  assert_eq "$(lock_requested)" "absent"
  # The same name again replaces its entry where it is.
  run --separate-stderr "$PL" -C "$PROJ" install 'IDNA[all]>=3.1'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  grep -qx '    "IDNA\[all\]>=3.1",  # URLs' "$PROJ/pyproject.toml"
  run --separate-stderr "$PL" -C "$PROJ" install 'idna>=3'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" remove requests
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # Back to the very bytes it had.
  cmp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  assert_not_contains "$(lock_names)" "requests"
  assert_eq "$(installed_set)" "$(lock_set)"
  # A name declared only in a group is the user's to remove there.
  run --separate-stderr "$PL" -C "$PROJ" remove six
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "'six' is declared in pyproject.toml's [dependency-groups] test"
  cmp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
}

@test "a_failed_resolution_changes_neither_pyproject_nor_the_lock" {
  project "$PROJ"
  write_pyproject
  "$PL" -q -C "$PROJ" lock
  cp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  run --separate-stderr "$PL" -C "$PROJ" install no-such-project
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "no-such-project"
  cmp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
}

@test "a_pyproject_without_project_or_groups_leaves_the_requested_set_in_pylock_toml" {
  project "$PROJ"
  printf '[tool.poetry.dependencies]\nrequests = "^2"\n' >"$PROJ/pyproject.toml"
  cp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
  run --separate-stderr "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_requested)" '["six"]'
  cmp "$PROJ/pyproject.toml" "$BATS_TEST_TMPDIR/py.before"
}

@test "requires_python_the_base_does_not_meet_is_refused_naming_both" {
  project "$PROJ"
  printf '[project]\nname = "app"\nversion = "1"\nrequires-python = ">=4"\ndependencies = ["six"]\n' \
    >"$PROJ/pyproject.toml"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "pyproject.toml requires Python >=4"
  assert_contains "$stderr" "$("$PY" -c 'import platform; print(platform.python_version())')"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
}

# ---- attacks through pyproject.toml (a pull request's) ------------------------

@test "a_direct_reference_in_pyproject_is_refused_before_pip_runs_and_nothing_changes" {
  project "$PROJ"
  mkdir -p "$BATS_TEST_TMPDIR/www"
  cp "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$BATS_TEST_TMPDIR/www/"
  port=$((20000 + RANDOM % 20000))
  python3 -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$port" \
    >"$BATS_TEST_TMPDIR/http.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  : >"$BATS_TEST_TMPDIR/http.log"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  local where
  for where in dependencies optional groups; do
    case $where in
    dependencies) printf '[project]\nname = "app"\nversion = "1"\ndependencies = ["six @ http://127.0.0.1:%s/six-1.16.0-py3-none-any.whl"]\n' "$port" ;;
    optional) printf '[project]\nname = "app"\nversion = "1"\n[project.optional-dependencies]\nx = ["six @ http://127.0.0.1:%s/six-1.16.0-py3-none-any.whl"]\n' "$port" ;;
    groups) printf '[dependency-groups]\ndev = ["six @ http://127.0.0.1:%s/six-1.16.0-py3-none-any.whl"]\n' "$port" ;;
    esac >"$PROJ/pyproject.toml"
    for cmd in lock "install idna"; do
      # shellcheck disable=SC2086
      run --separate-stderr timeout 120 "$PL" -C "$PROJ" $cmd
      [ "$status" -eq 1 ] || { echo "$where $cmd: $status $stderr"; return 1; }
      assert_contains "$stderr" "a direct reference (URL, path or VCS) is not allowed"
      cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
    done
  done
  assert_not_contains "$(cat "$BATS_TEST_TMPDIR/http.log")" "GET /six"
}

@test "no_build_backend_or_project_code_runs_and_dynamic_dependencies_are_refused" {
  project "$PROJ"
  canary="$BATS_TEST_TMPDIR/canary"
  cat >"$PROJ/pyproject.toml" <<'EOF'
[build-system]
requires = []
build-backend = "evil"
backend-path = ["."]

[project]
name = "app"
version = "1"
dynamic = ["dependencies"]
EOF
  for f in evil.py setup.py conftest.py sitecustomize.py; do
    printf 'import pathlib\npathlib.Path(%s).write_text("ran %s")\n' "'$canary'" "$f" >"$PROJ/$f"
  done
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "[project] dynamic names dependencies"
  assert_contains "$stderr" "pylock runs no project code"
  # Static dependencies beside the same backend: locked, the backend never run.
  sed -i 's/^dynamic = .*/dependencies = ["six"]/' "$PROJ/pyproject.toml"
  run --separate-stderr "$PL" -C "$PROJ" install idna
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_names)" "idna six"
  [ ! -e "$canary" ] || { echo "project code ran: $(cat "$canary")"; return 1; }
}

@test "a_pyproject_symlinked_outside_the_project_is_neither_read_nor_written" {
  project "$PROJ"
  outside="$BATS_TEST_TMPDIR/outside.toml"
  printf '[project]\nname = "victim"\nversion = "1"\ndependencies = ["idna"]\n' >"$outside"
  cp "$outside" "$BATS_TEST_TMPDIR/outside.before"
  ln -s "$outside" "$PROJ/pyproject.toml"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  for cmd in lock "install six" "remove idna"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$PL" -C "$PROJ" $cmd
    [ "$status" -eq 1 ] || { echo "$cmd: $status $stderr"; return 1; }
    assert_contains "$stderr" "pyproject.toml is a symbolic link"
  done
  cmp "$outside" "$BATS_TEST_TMPDIR/outside.before"
  [ -L "$PROJ/pyproject.toml" ]
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
}

# ---- never erase a lock --------------------------------------------------------

@test "lock_on_a_foreign_lock_requests_its_top_level_says_so_and_keeps_every_package" {
  project "$PROJ"
  own_lock_of requests | as_foreign >"$BATS_TEST_TMPDIR/foreign.toml"
  cp "$BATS_TEST_TMPDIR/foreign.toml" "$PROJ/pylock.toml"
  before=$(lock_set)
  assert_eq "$(lock_requested)" "absent"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "pylock.toml was written by uv and requests nothing; requesting the 1 of its 6 packages nothing else in it depends on: requests"
  assert_eq "$(lock_set)" "$before"
  assert_eq "$(lock_requested)" '["requests"]'
  grep -qx 'created-by = "pylock"' "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_set)" "$before"
}

@test "install_on_a_foreign_lock_keeps_its_packages_and_adds_the_new_one" {
  project "$PROJ"
  # (The lock of requests: it holds idna, and a foreign lock requests nothing.)
  own_lock_of requests | as_foreign >"$PROJ/pylock.toml"
  before=$(lock_set)
  run --separate-stderr "$PL" -C "$PROJ" install chardet
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # idna is a dependency of requests in the lock: only requests is its top level.
  assert_contains "$stderr" "requesting the 1 of its 6 packages nothing else in it depends on: requests"
  assert_eq "$(lock_requested)" '["chardet", "requests"]'
  assert_eq "$(lock_names)" "certifi chardet charset-normalizer idna requests six urllib3"
  local p
  for p in $before; do assert_contains " $(lock_set) " " $p "; done
  assert_eq "$(installed_set)" "$(lock_set)"
}

@test "an_empty_requested_set_never_empties_a_foreign_lock" {
  project "$PROJ"
  own_lock_of idna six | as_foreign >"$PROJ/pylock.toml"
  printf '[project]\nname = "app"\nversion = "1"\ndependencies = []\n' >"$PROJ/pyproject.toml"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "would empty pylock.toml, which uv wrote with 2 packages; nothing changed"
  assert_contains "$stderr" "hint: declare what the project needs in pyproject.toml"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  # The hint works: declared, the lock keeps them.
  printf '[project]\nname = "app"\nversion = "1"\ndependencies = ["idna", "six"]\n' >"$PROJ/pyproject.toml"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
}

@test "a_foreign_lock_naming_no_registry_is_refused_untouched" {
  project "$PROJ"
  # Neither [tool.pylock] registry nor an index in its packages.
  own_lock_of idna | as_foreign | sed '/^\[tool.pylock\]/,$d' | sed '/^index = /d' >"$PROJ/pylock.toml"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  for cmd in lock "install six"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$PL" -C "$PROJ" $cmd
    [ "$status" -eq 1 ] || { echo "$cmd: $status $stderr"; return 1; }
    assert_contains "$stderr" "hint: name the registry at the end of pylock.toml: [tool.pylock] registry"
    cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  done
  # The hint works: the registry named, the lock keeps its package.
  printf '\n[tool.pylock]\nregistry = "%s"\n' "$FIX/reg" >>"$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3"
}

@test "a_foreign_lock_whose_packages_name_the_index_locks_against_it_and_names_it" {
  project "$PROJ"
  own_lock_of idna | as_foreign | sed '/^\[tool.pylock\]/,$d' >"$PROJ/pylock.toml"
  grep -q '^index = ' "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3"
  grep -q "^registry = \"$FIX/reg\"" "$PROJ/pylock.toml"
}

# ---- keeping locked versions, upgrading ----------------------------------------

@test "lock_keeps_locked_versions_until_upgrade_package_or_upgrade" {
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" # its own registry's versions seen
  project "$PROJ" "$BATS_TEST_TMPDIR/reg"
  # What `install six idna` locks, on this copy of the registry (the lock of
  # setup_file, its registry's name changed): six 1.16.0, the one there is.
  sed "s|$FIX/reg|$BATS_TEST_TMPDIR/reg|g" "$FIX/own-lock-idna-six.toml" >"$PROJ/pylock.toml"
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
  grep -q "^registry = \"$BATS_TEST_TMPDIR/reg\"" "$PROJ/pylock.toml"
  "$PL" -q registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/k.key" \
    "$FIX/newer/six-1.17.0-py3-none-any.whl"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
  run --separate-stderr "$PL" -C "$PROJ" lock --check
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" install idna
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
  run --separate-stderr "$PL" -C "$PROJ" lock --upgrade-package six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3 six==1.17.0"
  "$PL" -q -C "$PROJ" install 'six<1.17'
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
  "$PL" -q -C "$PROJ" install six
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
  run --separate-stderr "$PL" -C "$PROJ" install --upgrade
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3 six==1.17.0"
  assert_eq "$(installed_set)" "idna==3.3 six==1.17.0"
}

# ---- requirements files --------------------------------------------------------

@test "install_r_with_the_signed_hashes_installs_and_a_wrong_hash_is_refused_naming_each" {
  project "$PROJ"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  bad=0000000000000000000000000000000000000000000000000000000000000000
  cat >"$BATS_TEST_TMPDIR/req.txt" <<EOF
# pinned
idna==3.3 \\
    --hash=sha256:$bad
six==1.16.0 --hash=sha256:$bad  # wrong too
EOF
  run --separate-stderr "$PL" -C "$PROJ" install -r "$BATS_TEST_TMPDIR/req.txt"
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "the requirements file's hashes do not match"
  assert_contains "$stderr" "idna 3.3 (the registry signs idna-3.3-py3-none-any.whl"
  assert_contains "$stderr" "six 1.16.0 (the registry signs six-1.16.0-py3-none-any.whl"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  cat >"$BATS_TEST_TMPDIR/req.txt" <<EOF
# pinned
idna==3.3 \\
    --hash=sha256:$bad \\
    --hash=sha256:$(sha idna-3.3-py3-none-any.whl)
six==1.16.0 --hash=sha256:$(sha six-1.16.0-py3-none-any.whl)  # right
EOF
  run --separate-stderr "$PL" -C "$PROJ" install -r "$BATS_TEST_TMPDIR/req.txt"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "idna==3.3 six==1.16.0"
  assert_eq "$(installed_set)" "idna==3.3 six==1.16.0"
  # A dependency the file does not pin by hash is refused in hash mode.
  printf 'requests --hash=sha256:%s\n' "$(sha requests-2.28.1-py3-none-any.whl)" \
    >"$BATS_TEST_TMPDIR/req2.txt"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  run --separate-stderr "$PL" -C "$PROJ" install -r "$BATS_TEST_TMPDIR/req2.txt"
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "urllib3"
  assert_contains "$stderr" "(no --hash for it)"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
}

@test "install_r_refuses_pip_options_and_direct_references_in_the_file" {
  project "$PROJ"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  local line
  for line in "--index-url http://127.0.0.1:1/simple" "-e ." "idna --extra-index-url http://x.invalid" \
    "six @ https://x.invalid/six-1.16.0-py3-none-any.whl" "-r other.txt" "idna --hash=md5:abc"; do
    printf '%s\n' "$line" >"$BATS_TEST_TMPDIR/req.txt"
    run --separate-stderr "$PL" -C "$PROJ" install -r "$BATS_TEST_TMPDIR/req.txt"
    [ "$status" -eq 1 ] || { echo "$line: $status $stderr"; return 1; }
    assert_contains "$stderr" "req.txt line 1"
    cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock.before"
  done
}
