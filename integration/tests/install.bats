#!/usr/bin/env bats
# Installing (issue 4), the real binary end to end on each base interpreter,
# from a registry signed over the fixture wheels: install, upgrade, remove,
# rollback and a byte-stable lock, seen the same way by pylock and by pip
# inside the environment; pylock ci on a fresh checkout; a wheel tampered
# after locking; SIGKILL at any point of a sync; concurrent installs; runs
# during a sync; a full disk; PEP 751 locks written by other tools.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  python3 "$PYLOCK_BIN/make-wheels.py" --bump "$FIX/wheels/six-1.16.0-py3-none-any.whl" 1.17.0 \
    "$FIX/newer" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  # Locks made once (pip's resolution takes seconds), copied into the
  # projects that only need to sync them.  Tests share a warm cache unless
  # a cold one matters to them.
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$FIX/locks"
  local what
  for what in requests "idna six"; do
    # shellcheck disable=SC2086
    set_requested_in "$FIX/locks/pylock.toml" $what
    "$PL" -q -C "$FIX/locks" lock
    cp "$FIX/locks/pylock.toml" "$FIX/lock-${what// /-}.toml"
  done
  # What the bare base ships in its purelib itself (pip on Python 3.12).
  local purelib
  purelib=$(sed -n 's/^purelib=//p' "$(state_dir "$FIX/locks")/interp")
  "$PY" -m pip --disable-pip-version-check list --format json --path "$purelib" >"$FIX/base.json"
}

setup() {
  # pylock's state (cache included) is shared and warm, unless a test
  # needs a cold one; each test's projects have their own paths in it.
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$FIX/state"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  BG=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  if [ -n "${SMALL:-}" ]; then
    chmod -R u+w "$SMALL" 2>/dev/null || true
    rm -rf "$SMALL"
  fi
  # Cache trees are sealed read-only: let bats remove what the test made.
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# project DIR [REGISTRY]: a new project on the base under test trusting the
# fixture registry (or a copy of it at REGISTRY).
project() {
  "$PL" -q init --python "$PY" --registry "${2:-$FIX/reg}" --root "$FIX/trusted-root.json" "$1"
}

# use_lock NAME [DIR]: one of setup_file's locks as DIR's pylock.toml.
use_lock() {
  cp "$FIX/lock-$1.toml" "${2:-$PROJ}/pylock.toml"
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

# What the current generation holds, per pylock list --json, like lock_set.
installed_set() {
  "$PL" -C "${1:-$PROJ}" list --json | python3 -c '
import json, re, sys
print(" ".join(sorted("%s==%s" % (re.sub(r"[-_.]+", "-", p["name"]).lower(), p["version"])
                      for p in json.load(sys.stdin)["packages"])))'
}

current() {
  readlink "$(state_dir "${1:-$PROJ}")/current"
}

# No partial generation (.N.tmp) is left in the project's state.
assert_no_partial_generation() {
  local left
  left=$(find "$(state_dir "${1:-$PROJ}")/generations" -maxdepth 1 -name '.*.tmp')
  [ -z "$left" ] || { echo "partial generation left: $left"; return 1; }
}

assert_verified() {
  run --separate-stderr "$PL" -C "${1:-$PROJ}" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
  assert_contains "$output" "ok: "
}

# pip inside pylock run sees exactly the lock (pip list, pip show -f, pip check).
assert_pip_agrees() {
  run --separate-stderr "$PL" -C "${1:-$PROJ}" run python3 "$BATS_TEST_DIRNAME/pip_agrees.py" \
    "${1:-$PROJ}/pylock.toml" "$(interp purelib "${1:-$PROJ}")" "$FIX/base.json"
  [ "$status" -eq 0 ] || { echo "$output"; echo "$stderr"; return 1; }
}

# json_field JSON KEY: one top-level field of a JSON object.
json_field() {
  python3 -c 'import json, sys; v = json.loads(sys.argv[1]).get(sys.argv[2]); print(json.dumps(v) if isinstance(v, (bool, type(None))) else v)' "$1" "$2"
}

flip_middle_byte() {
  python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' "$1"
}

# ---- install, upgrade, remove, rollback, lock ---------------------------

@test "install_requests_pulls_its_dependencies_and_pip_in_the_env_agrees_with_the_lock" {
  project "$PROJ"
  run --separate-stderr "$PL" -C "$PROJ" install requests
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_names)" "certifi charset-normalizer idna requests six urllib3"
  assert_eq "$(installed_set)" "$(lock_set)"
  # requests imports from the environment (not from a copy the base may have).
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import requests; print(requests.__file__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "$(interp purelib)/requests/__init__.py"
  assert_pip_agrees
  assert_verified
}

@test "install_of_a_newer_version_in_the_registry_upgrades_the_package" {
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg" # its own registry: it gets a newer six
  # A fork signed with the same keys is the same repository to TUF (whose
  # versions seen are kept per root): its own state, not to roll the
  # fixture registry back for the tests after this one.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  project "$PROJ" "$BATS_TEST_TMPDIR/reg"
  "$PL" -q -C "$PROJ" install six
  assert_eq "$(installed_set)" "six==1.16.0"
  "$PL" -q registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/k.key" \
    "$FIX/newer/six-1.17.0-py3-none-any.whl"
  run --separate-stderr "$PL" -C "$PROJ" install 'six>=1.17'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(lock_set)" "six==1.17.0"
  assert_eq "$(installed_set)" "six==1.17.0"
  grep -qx 'requested = \["six>=1.17"\]' "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import six; print(six.__version__, six.__file__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "1.17.0 $(interp purelib)/six.py"
  [ ! -e "$(gen_dir purelib)/six-1.16.0.dist-info" ]
  assert_pip_agrees
  assert_verified
}

@test "remove_takes_the_dependencies_nothing_else_needs_with_it" {
  project "$PROJ"
  "$PL" -q -C "$PROJ" install requests idna
  assert_eq "$(lock_names)" "certifi charset-normalizer idna requests six urllib3"
  run --separate-stderr "$PL" -C "$PROJ" remove requests
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # idna is requested itself: it stays; the rest only requests needed.
  assert_eq "$(lock_names)" "idna"
  assert_eq "$(installed_set)" "$(lock_set)"
  for gone in requests urllib3 certifi charset_normalizer six.py; do
    [ ! -e "$(gen_dir purelib)/$gone" ] || { echo "$gone is still installed"; return 1; }
  done
  assert_pip_agrees
  assert_verified
  # A dependency is not a requested package: removing it is refused.
  run --separate-stderr "$PL" -C "$PROJ" remove six
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "'six' is not a requested package"
}

@test "rollback_returns_the_previous_package_set_and_twice_returns_again" {
  base_blind
  project "$PROJ"
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  first=$(current) first_set=$(installed_set)
  use_lock requests
  "$PL" -q -C "$PROJ" sync
  second=$(current) second_set=$(installed_set)
  [ "$first_set" != "$second_set" ]
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(current)" "$first"
  assert_eq "$(installed_set)" "$first_set"
  # pylock run sees the rolled-back set.
  run --separate-stderr "$PL" -C "$PROJ" run python3 -m pip list --format freeze --path "$(interp purelib)"
  assert_not_contains "$output" "requests=="
  assert_contains "$output" "six==1.16.0"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(current)" "$second"
  assert_eq "$(installed_set)" "$second_set"
  assert_verified
}

@test "lock_of_the_same_input_gives_identical_bytes_and_relocking_does_not_rewrite" {
  base_blind
  project "$PROJ"
  project "$BATS_TEST_TMPDIR/other"
  "$PL" -q -C "$PROJ" install requests
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" install requests
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/other/pylock.toml"
  cmp "$PROJ/pylock.toml" "$FIX/lock-requests.toml"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before"
  before=$(stat -c '%i %Y.%y' "$PROJ/pylock.toml")
  sleep 1.1 # a rewrite would show in the mtime's seconds as well
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "up to date"
  run --separate-stderr "$PL" -C "$PROJ" install requests
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before"
  assert_eq "$(stat -c '%i %Y.%y' "$PROJ/pylock.toml")" "$before"
}

# ---- pylock ci ---------------------------------------------------------------

@test "ci_on_a_fresh_checkout_with_an_empty_cache_rebuilds_the_env_and_runs" {
  mkdir "$BATS_TEST_TMPDIR/checkout"
  use_lock requests "$BATS_TEST_TMPDIR/checkout" # only pylock.toml, as in a repository
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/empty-state"
  cd "$BATS_TEST_TMPDIR/checkout"
  # The runner trusts the registry's root; pylock.toml only pins its keys.
  "$PL" -q trust add "$FIX/trusted-root.json" --name fixture
  run --separate-stderr "$PL" ci --json -- python3 -c 'import requests; print(requests.__file__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  PROJ="$BATS_TEST_TMPDIR/checkout"
  assert_eq "$output" "$(interp purelib)/requests/__init__.py"
  summary=$(tail -n 1 <<<"$stderr")
  assert_eq "$(json_field "$summary" ok)" "true"
  assert_eq "$(json_field "$summary" exit_status)" "0"
  assert_eq "$(json_field "$summary" packages)" "6"
  assert_eq "$(json_field "$summary" fetched)" "6"
  assert_eq "$(json_field "$summary" unpacked)" "6"
  [ "$(json_field "$summary" files)" -gt 100 ]
  assert_eq "$(json_field "$summary" error)" "null"
  assert_contains "$(json_field "$summary" root)" "fixture ("
  python3 -c 'import json, sys; p = json.loads(sys.argv[1])["phases_ms"]; assert set(p) == {"sync", "verify", "run"} and all(v > 0 for v in p.values()), p' "$summary"
  assert_eq "$(installed_set)" "$(lock_set)"
  [ "$(find "$XDG_STATE_HOME/pylock/cache/wheels" -name '*.whl' | wc -l)" -eq 6 ]
  assert_verified
  # Again, with nothing to build: the same environment, and its files still counted.
  local files
  files=$(json_field "$summary" files)
  run --separate-stderr "$PL" ci --json -- true
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  summary=$(tail -n 1 <<<"$stderr")
  assert_eq "$(json_field "$summary" unpacked)" "0"
  assert_eq "$(json_field "$summary" files)" "$files"
}

@test "ci_passes_the_command_exit_status_and_death_by_signal_through" {
  base_blind
  project "$PROJ"
  use_lock idna-six
  cd "$PROJ"
  run --separate-stderr "$PL" ci --json -- python3 -c 'import sys, six; sys.exit(3)'
  [ "$status" -eq 3 ] || { echo "$stderr"; return 1; }
  summary=$(tail -n 1 <<<"$stderr")
  assert_eq "$(json_field "$summary" exit_status)" "3"
  assert_eq "$(json_field "$summary" ok)" "false"
  # Killed by SIGTERM: pylock ci dies of it too (not exit 143), per waitpid.
  run --separate-stderr python3 -c '
import subprocess, sys
p = subprocess.run([sys.argv[1], "ci", "--json", "--", "python3", "-c",
                    "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"],
                   stderr=subprocess.PIPE, text=True)
print(p.returncode)
print(p.stderr.strip().splitlines()[-1])' "$PL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "${lines[0]}" "-15"
  assert_eq "$(json_field "${lines[1]}" signal)" "SIGTERM"
  assert_eq "$(json_field "${lines[1]}" exit_status)" "null"
}

@test "ci_refuses_a_stale_lock_without_running_the_command" {
  base_blind
  project "$PROJ"
  use_lock idna-six
  set_requested_in "$PROJ/pylock.toml" idna six requests # changed, not re-locked
  cd "$PROJ"
  before=$(current)
  run --separate-stderr "$PL" ci --json -- touch "$BATS_TEST_TMPDIR/ran"
  [ "$status" -eq 1 ]
  [ ! -e "$BATS_TEST_TMPDIR/ran" ]
  assert_contains "$stderr" "stale"
  assert_contains "$stderr" "'requests' is requested but not locked"
  summary=$(grep '^{' <<<"$stderr")
  assert_eq "$(json_field "$summary" ok)" "false"
  assert_contains "$(json_field "$summary" error)" "stale"
  assert_eq "$(current)" "$before"
}

# ---- nothing unverified gets in, nothing is lost ------------------------------

@test "sync_refuses_a_wheel_tampered_after_locking_and_keeps_the_current_generation" {
  base_blind
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  project "$PROJ" "$BATS_TEST_TMPDIR/reg"
  "$PL" -q -C "$PROJ" install idna
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/idna.toml"
  set_requested_in "$PROJ/pylock.toml" idna six
  "$PL" -q -C "$PROJ" lock
  before=$(current)
  flip_middle_byte "$BATS_TEST_TMPDIR/reg/targets/six-1.16.0-py3-none-any.whl"
  uncache_but_current
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "six-1.16.0-py3-none-any.whl"
  assert_contains "$stderr" "sha256"
  assert_eq "$(current)" "$before"
  assert_no_partial_generation
  # The tampered bytes did not reach the cache, not even as a temporary file.
  bad=$(sha256sum "$BATS_TEST_TMPDIR/reg/targets/six-1.16.0-py3-none-any.whl" | cut -c1-64)
  for w in "$XDG_STATE_HOME"/pylock/cache/wheels/* "$XDG_STATE_HOME"/pylock/cache/wheels/.[!.]*; do
    [ -e "$w" ] || continue
    [ "$(sha256sum "$w" | cut -c1-64)" != "$bad" ] || { echo "tampered wheel cached as $w"; return 1; }
    [[ "$(basename "$w")" != .* ]] || { echo "temporary file left: $w"; return 1; }
  done
  # The environment is still exactly the lock it was built from.
  cp "$BATS_TEST_TMPDIR/idna.toml" "$PROJ/pylock.toml"
  assert_verified
  assert_eq "$(installed_set)" "$(lock_set)"
}

# One sync killed at a random moment; then: current is a whole generation,
# exactly the lock it was built from (its N.meta names that lock's sha256),
# and the next sync succeeds.
@test "sigkill_at_random_points_of_a_sync_leaves_the_old_or_the_new_generation_never_a_mix" {
  kill_loop_on_one_base
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  project "$PROJ"
  local locks=("$FIX/lock-requests.toml" "$FIX/lock-idna-six.toml") sums=() i
  for i in 0 1; do sums[i]=$(sha256sum "${locks[i]}" | cut -c1-64); done
  cp "${locks[1]}" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  local old=0 new=0 cold delay target gen meta which
  for i in $(seq 1 "$(kill_rounds 8)"); do # 100 more rounds in make stress (crash_loop.bats)
    target=${locks[i % 2]}
    cold=$(((i / 2) % 2)) # two cold, two warm, ...
    if [ "$cold" -eq 1 ]; then
      uncache_but_current
    fi
    delay=$((cold ? RANDOM % 700 : RANDOM % 40))
    before=$(current)
    cp "$target" "$PROJ/pylock.toml"
    "$PL" -q -C "$PROJ" sync 2>/dev/null &
    pid=$!
    sleep "$(printf '0.%03d' "$delay")"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || true
    gen=$(current)
    [[ "$gen" =~ ^generations/[0-9]+$ ]] || { echo "round $i: current is '$gen'"; return 1; }
    [ -d "$(state_dir)/$gen" ] || { echo "round $i: $gen does not exist"; return 1; }
    meta=$(sed -n 's/^lock-sha256=//p' "$(state_dir)/$gen.meta")
    if [ "$meta" = "${sums[0]}" ]; then which=0; elif [ "$meta" = "${sums[1]}" ]; then which=1; else
      echo "round $i: $gen.meta names no known lock ($meta)"; return 1
    fi
    if [ "$gen" = "$before" ]; then old=$((old + 1)); else new=$((new + 1)); fi
    # Exactly the lock it was built from, every file as its RECORD says.
    cp "${locks[which]}" "$PROJ/pylock.toml"
    assert_verified || { echo "round $i (cold=$cold, ${delay} ms): $gen is not whole"; return 1; }
    cp "$target" "$PROJ/pylock.toml"
    run --separate-stderr "$PL" -C "$PROJ" sync
    [ "$status" -eq 0 ] || { echo "round $i: sync after the kill: $stderr"; return 1; }
    assert_no_partial_generation
    assert_verified
  done
  echo "# SIGKILL: $old kills left the old generation, $new the new one" >&3
}

@test "concurrent_installs_in_one_project_serialize_and_both_land" {
  base_blind
  project "$PROJ"
  cd "$PROJ"
  "$PL" install six 2>"$BATS_TEST_TMPDIR/a.err" &
  a=$!
  BG+=("$a")
  # Start the second once the first holds the change lock.
  for _ in $(seq 500); do
    # change.lock is mode 0200: probed through a write-only descriptor.
    if [ -e "$(state_dir)/change.lock" ]; then
      { flock -n 9 || break; } 9>>"$(state_dir)/change.lock"
    fi
    nap 0.01
  done
  "$PL" install idna 2>"$BATS_TEST_TMPDIR/b.err" &
  b=$!
  BG+=("$b")
  wait "$a" || { cat "$BATS_TEST_TMPDIR/a.err"; return 1; }
  wait "$b" || { cat "$BATS_TEST_TMPDIR/b.err"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/b.err")" "waiting for another pylock (pid $a)"
  # Neither install undid the other.
  grep -A3 '^\[tool.pylock\]' "$PROJ/pylock.toml" | grep -q '"six"'
  grep -A3 '^\[tool.pylock\]' "$PROJ/pylock.toml" | grep -q '"idna"'
  assert_eq "$(lock_names)" "idna six"
  assert_eq "$(installed_set)" "$(lock_set)"
  assert_verified
}

@test "a_run_started_before_a_sync_keeps_its_generation_after_the_switch_and_gc" {
  base_blind
  project "$PROJ"
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  started=$(current)
  "$PL" -C "$PROJ" run python3 -c '
import os, sys, time
open(sys.argv[1] + "/ready", "w").close()
while not os.path.exists(sys.argv[1] + "/go"):
    time.sleep(0.02)
import six
with open(six.__file__) as f:
    f.read()
print(six.__version__, six.__file__)' "$BATS_TEST_TMPDIR" >"$BATS_TEST_TMPDIR/out" 2>&1 &
  BG+=($!)
  for _ in $(seq 500); do [ -e "$BATS_TEST_TMPDIR/ready" ] && break; nap 0.02; done
  [ -e "$BATS_TEST_TMPDIR/ready" ]
  # Two changes without six: the generation the run uses is neither
  # current nor previous any more; gc must still leave it.
  set_requested_in "$PROJ/pylock.toml" idna
  "$PL" -q -C "$PROJ" lock
  "$PL" -q -C "$PROJ" sync
  use_lock requests
  "$PL" -q -C "$PROJ" sync
  [ "$(current)" != "$started" ]
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "1 kept: in use"
  [ -d "$(state_dir)/$started" ]
  touch "$BATS_TEST_TMPDIR/go"
  wait "${BG[0]}" || { cat "$BATS_TEST_TMPDIR/out"; return 1; }
  assert_eq "$(cat "$BATS_TEST_TMPDIR/out")" "1.16.0 $(interp purelib)/six.py"
  # Once it has ended, gc removes it.
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ ! -e "$(state_dir)/$started" ]
}

# ---- a full disk (a small tmpfs integration/run mounts for the user) ----------

small_fs_or_skip() {
  [ -n "${PYLOCK_SMALL_FS:-}" ] && [ -w "$PYLOCK_SMALL_FS" ] ||
    skip "no small filesystem (integration/run mounts one when run as root)"
  SMALL="$PYLOCK_SMALL_FS/t$BATS_TEST_NUMBER"
  mkdir "$SMALL"
}

# fill_leaving KIB: one file takes all but KIB KiB of the small filesystem.
fill_leaving() {
  local avail
  avail=$(df -k --output=avail "$PYLOCK_SMALL_FS" | tail -n 1 | tr -d ' ')
  fallocate -l $(((avail - $1) * 1024)) "$SMALL/filler"
}

@test "a_project_on_another_filesystem_than_pylocks_state_links_the_cache_there" {
  base_blind
  small_fs_or_skip
  PROJ="$SMALL/proj"
  project "$PROJ"
  use_lock idna-six
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # The generation lives with the cache, in the state: hard links, nothing
  # of the environment on the project's filesystem.
  f="$(gen_dir purelib)/six.py"
  [ "$(stat -c %h "$f")" -gt 1 ]
  assert_eq "$(stat -c %d "$f")" "$(stat -c %d "$XDG_STATE_HOME/pylock")"
  assert_eq "$(find "$SMALL" -type f | sort)" "$SMALL/proj/pylock.toml"
  assert_verified
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import six; print(six.__file__)'
  assert_eq "$output" "$(interp purelib)/six.py"
}

@test "sync_into_a_full_environment_filesystem_fails_cleanly_and_changes_nothing" {
  base_blind
  small_fs_or_skip
  export XDG_STATE_HOME="$SMALL/state" # pylock's state on the small filesystem
  project "$PROJ"
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  before=$(current)
  fill_leaving 512
  use_lock requests
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "No space left on device"
  assert_contains "$stderr" "hint: nothing changed; free space"
  assert_eq "$(current)" "$before"
  assert_no_partial_generation
  use_lock idna-six
  assert_verified
  # Space again: the same sync goes through.
  rm "$SMALL/filler"
  use_lock requests
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_no_partial_generation
  assert_verified
  assert_pip_agrees
}

@test "sync_with_a_full_cache_filesystem_fails_cleanly_and_leaves_no_partial_cache_entry" {
  base_blind
  small_fs_or_skip
  export PYLOCK_STATE_DIR="$SMALL/state" # pylock's state on the small filesystem
  project "$PROJ"
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  before=$(current)
  fill_leaving 1024 # room for the wheels, not for unpacking them
  use_lock requests
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "No space left on device"
  assert_contains "$stderr" "hint: nothing changed; free space"
  assert_eq "$(current)" "$before"
  assert_no_partial_generation
  # Only whole entries in the cache: no temporary files or trees, and every
  # wheel's bytes hash to its name.
  left=$(find "$PYLOCK_STATE_DIR/cache" -mindepth 2 -maxdepth 2 -name '.*')
  [ -z "$left" ] || { echo "left in the cache: $left"; return 1; }
  for w in "$PYLOCK_STATE_DIR"/cache/wheels/*.whl; do
    assert_eq "$(sha256sum "$w" | cut -c1-64).whl" "$(basename "$w")"
  done
  use_lock idna-six
  assert_verified
  rm "$SMALL/filler"
  use_lock requests
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_no_partial_generation
  assert_verified
}

@test "install_with_a_full_disk_during_resolution_changes_nothing_and_says_to_free_space" {
  small_fs_or_skip
  export PYLOCK_STATE_DIR="$SMALL/state"
  project "$PROJ"
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before.toml"
  before=$(current)
  fill_leaving 64 # the registry's metadata is kept; pip has no room to work
  run --separate-stderr "$PL" -C "$PROJ" install certifi
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "hint: nothing changed; free space"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before.toml"
  assert_eq "$(current)" "$before"
  [ -z "$(find "$PYLOCK_STATE_DIR/scratch" -mindepth 1 -maxdepth 1)" ]
  rm "$SMALL/filler"
  run --separate-stderr "$PL" -C "$PROJ" install certifi
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_verified
}

# ---- PEP 751 locks from other tools -------------------------------------------

# foreign_lock FILE: a lock as pip lock writes it (and one package as in
# PEP 751's examples: inline wheels with upload-time and size) for idna and
# six from the fixture registry, then this project's [tool.pylock] table
# (which interpreter, which registry and root: what pylock needs to trust).
foreign_lock() {
  local six idna
  six=$(sha256sum "$FIX/reg/targets/six-1.16.0-py3-none-any.whl" | cut -c1-64)
  idna=$(sha256sum "$FIX/reg/targets/idna-3.3-py3-none-any.whl" | cut -c1-64)
  cat >"$1" <<EOF
lock-version = "1.0"
environments = ["sys_platform == 'linux'"]
requires-python = ">=3.11"
created-by = "pip"

[[packages]]
name = "six"
version = "1.16.0"

[[packages.wheels]]
name = "six-1.16.0-py3-none-any.whl"
url = "file://$FIX/reg/targets/six-1.16.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "$six"

[[packages]]
name = "idna"
version = "3.3"
requires-python = ">=3.5"
wheels = [
  {name = "idna-3.3-py3-none-any.whl", upload-time = 2021-10-13T00:00:00Z, url = "file://$FIX/reg/targets/idna-3.3-py3-none-any.whl", size = $(stat -c %s "$FIX/reg/targets/idna-3.3-py3-none-any.whl"), hashes = {sha256 = "$idna"}},
]

[[packages.attestation-identities]]
environment = "release"
kind = "GitHub"
repository = "kjd/idna"
workflow = "deploy.yml"
EOF
}

# append_tool_pylock FILE: the [tool.pylock] table pylock init wrote for this
# project (kept in $OWN), with nothing requested.
append_tool_pylock() {
  printf '\n' >>"$1"
  sed -n '/^\[tool.pylock\]/,$p' "$OWN" | sed 's/^requested = .*/requested = []/' >>"$1"
}

@test "a_wheel_only_lock_in_pip_and_pep751_shape_installs_with_sync" {
  project "$PROJ"
  OWN="$BATS_TEST_TMPDIR/own.toml" && cp "$PROJ/pylock.toml" "$OWN"
  foreign_lock "$BATS_TEST_TMPDIR/foreign.toml"
  append_tool_pylock "$BATS_TEST_TMPDIR/foreign.toml"
  cp "$BATS_TEST_TMPDIR/foreign.toml" "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_set)" "idna==3.3 six==1.16.0"
  assert_verified
  assert_pip_agrees
  # sync leaves another tool's lock as it was.
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/foreign.toml"
}

@test "a_lock_with_sdist_vcs_or_directory_entries_is_refused_naming_the_package" {
  base_blind
  project "$PROJ"
  OWN="$BATS_TEST_TMPDIR/own.toml" && cp "$PROJ/pylock.toml" "$OWN"
  before=$(current)
  local kind
  for kind in sdist vcs directory; do
    foreign_lock "$PROJ/pylock.toml"
    case $kind in
    sdist) cat >>"$PROJ/pylock.toml" <<'EOF'

[[packages]]
name = "attrs"
version = "25.1.0"
requires-python = ">=3.8"
sdist = {name = "attrs-25.1.0.tar.gz", upload-time = 2025-01-25T11:30:12.652000Z, url = "https://files.pythonhosted.org/packages/49/7c/fdf464bcc51d23881d110abd74b512a42b3d5d376a55a831b44c603ae17f/attrs-25.1.0.tar.gz", size = 810562, hashes = {sha256 = "1c97078a80c814273a76b2a298a932eb681c87415c11dee0a6921de7f1b02c3e"}}
EOF
      ;;
    vcs) cat >>"$PROJ/pylock.toml" <<'EOF'

[[packages]]
name = "sampleproject"

[packages.vcs]
type = "git"
url = "https://github.com/pypa/sampleproject"
requested-revision = "main"
commit-id = "621e4974ca25ce531773def586ba3ed8e736b3fc"
EOF
      ;;
    directory) cat >>"$PROJ/pylock.toml" <<'EOF'

[[packages]]
name = "myapp"

[packages.directory]
path = "."
editable = false
EOF
      ;;
    esac
    append_tool_pylock "$PROJ/pylock.toml"
    run --separate-stderr "$PL" -C "$PROJ" sync
    [ "$status" -eq 1 ] || { echo "$kind: status $status: $stderr"; return 1; }
    first=$(head -n 1 <<<"$stderr")
    case $kind in
    sdist) assert_contains "$first" "attrs is locked as an sdist" ;;
    vcs) assert_contains "$first" "sampleproject is locked as a vcs" ;;
    directory) assert_contains "$first" "myapp is locked as a directory" ;;
    esac
    assert_contains "$first" "pylock installs wheels only"
    assert_eq "$(current)" "$before"
  done
}
