#!/usr/bin/env bats
# pylock-test: once
# A pull request is hostile input (issue 11, part 1): on a CI runner,
# `pylock ci` and `pylock sync --frozen` build the environment of a
# checkout whose pylock.toml the pull request wrote.  They run only an
# interpreter the runner chose (pylock ci --python, or one root installed,
# reached through names only root or the runner's user can change, none in
# the checkout), and anchor the registry only to a root the runner trusts
# (pylock trust, --trusted), never to one the checkout brings or one trusted
# on first use.  Each test performs one attack as a pull request would and
# asserts that it fails, naming the cause and the fix, that the attacker's
# code never ran (its markers do not exist) and its wheel was never fetched.
#
# Two real signed registries are served by nginx: A, the project's, signs
# six and idna; B, the attacker's, signs a six of the same file name whose
# six.py writes a marker when imported.  Each test is a fresh runner: a state
# root and a trust store of its own under the home, and a fresh checkout.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  W=$(mktemp -d "$HOME/pr-runner.XXXXXX")
  export W PYLOCK_KEEPALIVE=0 MARKS="$FIX/marks"
  mkdir -p "$MARKS" "$FIX/www" "$FIX/evil"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  evil_six "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$FIX/evil/six-1.16.0-py3-none-any.whl" \
    "$MARKS/six-ran" "$W/six-ran"
  local k
  for k in a b; do
    "$PL" key generate -o "$KEYS/$k.key" >/dev/null
    "$PL" -q registry init "$FIX/www/$k" --key "$KEYS/$k.key"
  done
  "$PL" -q registry add "$FIX/www/a" --key "$KEYS/a.key" \
    "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$FIX/wheels/idna-3.3-py3-none-any.whl"
  "$PL" -q registry add "$FIX/www/b" --key "$KEYS/b.key" "$FIX/evil/six-1.16.0-py3-none-any.whl"
  cp "$FIX/www/a/1.root.json" "$FIX/a-root.json"
  cp "$FIX/www/b/1.root.json" "$FIX/b-root.json"
  nginx_start "$FIX/nginx" "$FIX/www"
  export A="$NGINX_HTTP/a" B="$NGINX_HTTP/b"
  # The project's lock, and the attacker's, as their authors made them on
  # their own machines.
  export PYLOCK_STATE_DIR="$W/authors" XDG_CONFIG_HOME="$W/authors-config"
  "$PL" -q init --python "$PY" --registry "$A" --root "$FIX/a-root.json" "$W/project"
  "$PL" -q -C "$W/project" install six idna
  cp "$W/project/pylock.toml" "$FIX/a.lock"
  "$PL" -q init --python "$PY" --registry "$B" --root "$FIX/b-root.json" "$W/attacker"
  "$PL" -q -C "$W/attacker" install six
  cp "$W/attacker/pylock.toml" "$FIX/b.lock"
  GOOD_SIX=$(unzip -p "$FIX/wheels/six-1.16.0-py3-none-any.whl" six.py | sha256sum | cut -d' ' -f1)
  export GOOD_SIX
}

teardown_file() {
  nginx_stop
  chmod -R u+w "$W" 2>/dev/null || true
  rm -rf "$W"
}

# A fresh runner: its own state root and trust store; $CO a fresh checkout
# of LOCK (default: the project's), with tools/python3, an interpreter the
# pull request ships (a script that leaves a marker, then runs the real one).
setup() {
  export PYLOCK_STATE_DIR XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  PYLOCK_STATE_DIR=$(mktemp -d "$W/runner.XXXXXX")
  CO=$(mktemp -d "$W/checkout.XXXXXX")
  checkout "$FIX/a.lock"
  rm -f "$MARKS"/*
  LOG_AT=$(wc -l <"$NGINX_DIR/access.log")
}

# checkout LOCK: $CO's pylock.toml is LOCK; tools/python3 the pull request's.
checkout() {
  cp "$1" "$CO/pylock.toml"
  mkdir -p "$CO/tools"
  printf '#!/bin/sh\necho "ran: $*" >>"%s"\necho ran >>"%s"\nexec "%s" "$@"\n' \
    "$MARKS/python-ran" "$CO/python-ran" "$PY" >"$CO/tools/python3"
  chmod 755 "$CO/tools/python3"
}

# set_tool FILE KEY VALUE: [tool.pylock] KEY = "VALUE" in FILE (replaced or added).
set_tool() {
  python3 - "$@" <<'PY'
import json, re, sys
path, key, value = sys.argv[1:]
text = open(path).read()
line = "%s = %s" % (key, json.dumps(value))
text, n = re.subn(r"(?m)^%s = .*$" % re.escape(key), line.replace("\\", "\\\\"), text)
if n == 0:
    text = text.replace("\n[tool.pylock]\n", "\n[tool.pylock]\n" + line + "\n")
open(path, "w").write(text)
PY
}

trust_project_root() {
  "$PL" -q trust add "$FIX/a-root.json" --name corp >/dev/null
}

# Nothing the pull request brought ran: no marker of its interpreter or of
# the attacker's six.
assert_attacker_never_ran() {
  local m
  for m in "$MARKS/python-ran" "$CO/python-ran" "$MARKS/six-ran" "$W/six-ran" "$CO/six-ran"; do
    [ ! -e "$m" ] || { echo "the attacker's code ran: $m: $(cat "$m")"; return 1; }
  done
}

# What nginx served since the test began.
served() {
  tail -n +"$((LOG_AT + 1))" "$NGINX_DIR/access.log"
}

# The runner made no environment for the checkout.
assert_no_environment() {
  run "$PL" -C "$CO" info layer
  [ "$status" -ne 0 ] || [ -z "$(find "$output" -name 'six*')" ] ||
    { echo "an environment was built: $output"; return 1; }
}

# ---------------------------------------------------------------- the interpreter

@test "a pull request naming an interpreter in its checkout: ci and sync --frozen refuse, it never runs" {
  trust_project_root
  cd "$CO"
  local py forms=("tools/python3" "$CO/tools/python3" "$(dirname "$PY")/../../../..$CO/tools/python3"
    "/proc/self/cwd/tools/python3")
  for py in "${forms[@]}"; do
    set_tool "$CO/pylock.toml" python "$py"
    for args in "ci -- true" "sync --frozen"; do
      # shellcheck disable=SC2086
      run --separate-stderr timeout 120 "$PL" -C "$CO" $args
      [ "$status" -eq 1 ] || { echo "$py, $args: status $status: $stderr"; return 1; }
      assert_contains "$stderr" "$py"
      assert_contains "$stderr" "hint: on a runner, choose the interpreter: pylock ci --python PATH"
      assert_attacker_never_ran
      assert_no_environment
    done
  done
  [ -z "$(served)" ] || { echo "fetched: $(served)"; return 1; }
  # The runner's own interpreter: the checkout's is never even looked at.
  run --separate-stderr timeout 120 "$PL" -C "$CO" sync --frozen --python "$PY"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci --python "$PY" -- python3 -c 'import six'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_attacker_never_ran
}

@test "a link in the checkout to the runner's own interpreter is refused: code run in its sandbox could repoint it" {
  trust_project_root
  # Its target is root's and outside the checkout; the link is not.  Once
  # a hole: ci took it, and the command it ran (the pull request's tests,
  # in the sandbox, where the checkout is writable) repointed it at the
  # pull request's script for the next compileall over the cache.
  ln -s "$PY" "$CO/tools/py"
  set_tool "$CO/pylock.toml" python "$CO/tools/py"
  local why="interpreter $CO/tools/py: it is reached through the project $CO, which code in its sandboxes can change"
  refused_with "$why" "$CO" ci -- ln -sf python3 "$CO/tools/py"
  assert_contains "$stderr" "hint: on a runner, choose the interpreter: pylock ci --python PATH"
  assert_eq "$(readlink "$CO/tools/py")" "$PY"
  refused_with "$why" "$CO" sync --frozen
  # The user's own sync of such a checkout too.
  refused_with "$why" "$CO" sync
  assert_contains "$stderr" "hint: name an interpreter outside the project that only root or you can change"
  assert_no_environment
  assert_attacker_never_ran
  [ -z "$(served)" ] || { echo "fetched: $(served)"; return 1; }
}

@test "a pull request naming a user-owned interpreter outside the checkout: refused on a runner, --python works" {
  trust_project_root
  mkdir -p "$W/userpy"
  cp "$CO/tools/python3" "$W/userpy/python3"
  set_tool "$CO/pylock.toml" python "$W/userpy/python3"
  for args in "ci -- true" "sync --frozen"; do
    # shellcheck disable=SC2086
    run --separate-stderr timeout 120 "$PL" -C "$CO" $args
    [ "$status" -eq 1 ] || { echo "$args: status $status: $stderr"; return 1; }
    assert_contains "$stderr" "pylock.toml names the interpreter $W/userpy/python3 (owned by uid $(id -u)): on a runner"
    assert_contains "$stderr" "hint: on a runner, choose the interpreter: pylock ci --python PATH"
    assert_attacker_never_ran
    assert_no_environment
  done
  # The runner's choice: the lock's python is not used at all.
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci --python "$PY" --json -- \
    python3 -c 'import hashlib, six; print(hashlib.sha256(open(six.__file__, "rb").read()).hexdigest())'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "$GOOD_SIX"
  assert_contains "$stderr" '"ok": true'
  assert_attacker_never_ran
}

@test "an interpreter reached through a link in a directory others can write is refused before it runs" {
  [ -n "$PYLOCK_FOREIGN_DIR" ] || skip "needs the root-owned world-writable directory integration/run makes as root"
  trust_project_root
  # Whoever can write that directory can repoint the link between pylock's
  # check and its exec; today it points at the runner's interpreter.
  local link
  link=$(mktemp -u "$PYLOCK_FOREIGN_DIR/pybin.XXXXXX")
  ln -s "$(dirname "$PY")" "$link"
  set_tool "$CO/pylock.toml" python "$link/$(basename "$PY")"
  for args in "ci -- true" "sync --frozen"; do
    # shellcheck disable=SC2086
    run --separate-stderr timeout 120 "$PL" -C "$CO" $args
    [ "$status" -eq 1 ] || { echo "$args: status $status: $stderr"; rm -f "$link"; return 1; }
    assert_contains "$stderr" "interpreter $link/$(basename "$PY"): $link lies in $PYLOCK_FOREIGN_DIR (owned by uid 0, mode 0777), where someone else could replace it"
    assert_no_environment
  done
  # The same for the user's own pylock sync, and for the runner's --python.
  run --separate-stderr timeout 120 "$PL" -C "$CO" sync
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "$link lies in $PYLOCK_FOREIGN_DIR"
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci --python "$link/$(basename "$PY")" -- true
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "$link lies in $PYLOCK_FOREIGN_DIR"
  rm -f "$link"
  assert_no_environment
}

# ---------------------------------------------------------------- the registry root

@test "a pull request moving the registry to the attacker's and pinning its keys, its root shipped in the checkout: refused before any fetch" {
  checkout "$FIX/b.lock"
  # The attacker's root, where an old pylock kept the project's, and beside it.
  mkdir -p "$CO/.pylock"
  cp "$FIX/b-root.json" "$CO/.pylock/registry-root.json"
  cp "$FIX/b-root.json" "$CO/root.json"
  local why="no root this runner trusts vouches for $B"
  refused_with "$why" "$CO" ci -- python3 -c 'import six'
  assert_contains "$stderr" "hint: trust the registry's root on this runner: pylock trust add ROOT.json --name NAME"
  refused_with "$why" "$CO" sync --frozen
  # The shipped root was kept only as one trusted on first use.
  ls "$PYLOCK_STATE_DIR"/projects/"$(basename "$CO")"-*/registry-root.tofu
  [ -z "$(served)" ] || { echo "fetched: $(served)"; return 1; }
  # The runner trusts the project's registry: still not the attacker's.
  trust_project_root
  refused_with "$why" "$CO" ci -- python3 -c 'import six'
  refused_with "$why" "$CO" sync --frozen
  [ -z "$(served)" ] || { echo "fetched: $(served)"; return 1; }
  # Naming the runner's root, by option or in pylock.toml: the attacker's
  # metadata is not signed by it, and no wheel is fetched.
  refused_with "timestamp.json: signature threshold not met" "$CO" ci --trusted corp -- python3 -c 'import six'
  set_tool "$CO/pylock.toml" registry-trusted corp
  refused_with "timestamp.json: signature threshold not met" "$CO" ci -- python3 -c 'import six'
  refused_with "timestamp.json: signature threshold not met" "$CO" sync --frozen
  if served | grep -q '\.whl'; then echo "a wheel was fetched: $(served)"; return 1; fi
  assert_attacker_never_ran
  assert_no_environment
}

@test "the project's own lock on a runner that trusts its root: ci works and its summary names the root" {
  trust_project_root
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci --json -- \
    python3 -c 'import hashlib, six; print(hashlib.sha256(open(six.__file__, "rb").read()).hexdigest())'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "$GOOD_SIX"
  assert_contains "$stderr" "\"root\": \"corp ($XDG_CONFIG_HOME/pylock/trust.d/corp.json)\""
  # The wheels came from the registry, not from where the lock's url says.
  served | grep -q "GET /a/targets/six-1.16.0-py3-none-any.whl"
  assert_attacker_never_ran
}

@test "the lock's wheel urls are not where wheels come from: a url on the attacker's server is never asked" {
  trust_project_root
  pin "$CO/pylock.toml" six url="$B/targets/six-1.16.0-py3-none-any.whl"
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci -- python3 -c 'import six'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  if served | grep -q "/b/"; then echo "the attacker's server was asked: $(served)"; return 1; fi
  served | grep -q "GET /a/targets/six-1.16.0-py3-none-any.whl"
  assert_attacker_never_ran
}

@test "a pull request moving the registry to a mirror replaying its old signed metadata does not bring back a withdrawn wheel" {
  trust_project_root
  # The project's registry (signed by A's keys, A's root), and what an
  # attacker saved of it while six was still published: signed, unexpired.
  cp -a "$FIX/www/a" "$FIX/www/r$BATS_TEST_NUMBER"
  local U="$NGINX_HTTP/r$BATS_TEST_NUMBER" M="$NGINX_HTTP/r$BATS_TEST_NUMBER-mirror" dev="$W/dev$BATS_TEST_NUMBER"
  sed "s|$A|$U|g" "$FIX/a.lock" >"$BATS_TEST_TMPDIR/lock"
  checkout "$BATS_TEST_TMPDIR/lock"
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci -- true
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  "$PL" -q init --python "$PY" --registry "$U" --root "$FIX/a-root.json" "$dev"
  cp "$BATS_TEST_TMPDIR/lock" "$dev/pylock.toml"
  "$PL" -q -C "$dev" sync
  cp -a "$FIX/www/r$BATS_TEST_NUMBER" "$FIX/www/r$BATS_TEST_NUMBER-mirror"
  # Its maintainer withdraws six; the runner and the developer see it.
  "$PL" -q registry withdraw "$FIX/www/r$BATS_TEST_NUMBER" --key "$KEYS/a.key" six==1.16.0
  refused_with "six-1.16.0-py3-none-any.whl is not signed by $U (withdrawn" "$CO" ci -- true
  refused_with "six-1.16.0-py3-none-any.whl is not signed by $U (withdrawn" "$dev" sync
  local env
  env=$(tree_digest "$(state_dir "$dev")/generations")
  # The pull request: the same lock, the registry at the mirror.  Once a
  # hole: the versions seen were kept per address, so a new address started
  # from nothing and took the old metadata, six and all.
  sed "s|$U|$M|g" "$BATS_TEST_TMPDIR/lock" >"$BATS_TEST_TMPDIR/pr.lock"
  checkout "$BATS_TEST_TMPDIR/pr.lock"
  refused_with "version rollback" "$CO" ci -- true
  refused_with "version rollback" "$CO" sync --frozen
  cp "$BATS_TEST_TMPDIR/pr.lock" "$dev/pylock.toml"
  refused_with "version rollback" "$dev" sync
  assert_eq "$(tree_digest "$(state_dir "$dev")/generations")" "$env"
  if served | grep -q "GET /r$BATS_TEST_NUMBER-mirror/targets/"; then echo "a target was fetched from the mirror"; return 1; fi
}

@test "a registry-trusted name that is a path is refused before anything is read" {
  local name
  for name in "../../etc/x" "/etc/passwd" "corp/../corp" ".corp"; do
    set_tool "$CO/pylock.toml" registry-trusted "$name"
    refused_with "invalid trusted root name \"$name\"" "$CO" ci -- true
    refused_with "invalid trusted root name \"$name\"" "$CO" sync --frozen
  done
  [ -z "$(served)" ] || { echo "fetched: $(served)"; return 1; }
  assert_no_environment
}

@test "a trusted root behind a link into a directory others can write is not trusted" {
  [ -n "$PYLOCK_FOREIGN_DIR" ] || skip "needs the root-owned world-writable directory integration/run makes as root"
  local planted
  planted=$(mktemp "$PYLOCK_FOREIGN_DIR/root.XXXXXX")
  cp "$FIX/a-root.json" "$planted"
  mkdir -p "$XDG_CONFIG_HOME/pylock/trust.d"
  ln -s "$planted" "$XDG_CONFIG_HOME/pylock/trust.d/corp.json"
  refused_with "another user could replace what is below it" "$CO" ci --trusted corp -- true
  # Nor is it found by the keys pylock.toml pins.
  refused_with "no root this runner trusts vouches for $A" "$CO" ci -- true
  rm -f "$planted"
  [ -z "$(served)" ] || { echo "fetched: $(served)"; return 1; }
  assert_no_environment
}

@test "a root trusted on first use is not enough for ci or sync --frozen; a root the runner trusts is" {
  # An interactive sync of a fresh checkout anchors to the root whose keys
  # pylock.toml pins, and says so.
  run --separate-stderr timeout 120 "$PL" -C "$CO" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "pylock: trusting the registry root $A/1.root.json (version 1), signed by the 1 root key(s) pylock.toml pins"
  [ -e "$(state_dir "$CO")/registry-root.tofu" ]
  local why="no root this runner trusts vouches for $A"
  refused_with "$why" "$CO" ci -- true
  refused_with "$why" "$CO" sync --frozen
  trust_project_root
  run --separate-stderr timeout 120 "$PL" -C "$CO" ci --json -- true
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" '"root": "corp ('
  assert_attacker_never_ran
}

@test "an interactive sync keeps the project's own root: a pull request moving it to the attacker's registry and keys is refused" {
  local env
  "$PL" -q init --python "$PY" --registry "$A" --root "$FIX/a-root.json" "$W/dev"
  CO="$W/dev"
  checkout "$FIX/a.lock"
  "$PL" -q -C "$CO" sync
  env=$(tree_digest "$(state_dir "$CO")/generations")
  checkout "$FIX/b.lock"
  LOG_AT=$(wc -l <"$NGINX_DIR/access.log")
  for args in "sync" "install idna"; do
    # shellcheck disable=SC2086
    run --separate-stderr timeout 120 "$PL" -C "$CO" $args
    [ "$status" -eq 1 ] || { echo "$args: status $status: $stderr"; return 1; }
    assert_contains "$stderr" "timestamp.json: signature threshold not met"
    assert_not_contains "$stderr" "trusting the registry root"
  done
  if served | grep -q '\.whl'; then echo "a wheel was fetched: $(served)"; return 1; fi
  assert_eq "$(tree_digest "$(state_dir "$CO")/generations")" "$env"
  assert_attacker_never_ran
}
