#!/usr/bin/env bats
# pylock-test: once
# Wheels fetched in parallel (issue 14): pip resolves from the signed
# .metadata files alone, then pylock fetches every wheel the lock needs
# over up to six connections at once, each checked against its signed
# length and sha256 as it arrives.  A hostile registry serving one wrong
# wheel among many fails the whole change with nothing changed (no tree,
# no generation, no temporary file); a wheel held back fails at its own
# deadline without holding the others; a kill in the middle of it leaves
# nothing the next command does not sweep.  Served over HTTP by nginx, or
# by integration/lib/badserver.py where a server must misbehave.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load envcheck
load "$PYLOCK_SCRATCH/lib/nginx"

# requests and its dependencies, and four more: ten wheels to fetch.
WANT="requests jinja2 click pygments docutils"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  CERTIFI=$(cd "$FIX/wheels" && echo certifi-*.whl)
  MARKUPSAFE=$(cd "$FIX/wheels" && echo markupsafe-*.whl)
  export CERTIFI MARKUPSAFE
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  STATE="$XDG_STATE_HOME/pylock"
  # What nginx serves: the registry, as signed, until a test changes a byte.
  SERVED="$BATS_TEST_TMPDIR/served"
  cp -r "$FIX/reg" "$SERVED"
}

teardown() {
  badserver_stop
  nginx_stop
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# A project synced to six from URL: the environment every test starts from.
project_with_six() {
  "$PL" -q init --python "$PY" --registry "$1" --root "$FIX/root.json" "$PROJ"
  "$PL" -q -C "$PROJ" install six
}

# What a failed change must leave as it was: the lock, the current
# generation and the list of generations, the trees of the cache.
snapshot() {
  sha256sum <"$PROJ/pylock.toml"
  readlink "$("$PL" -C "$PROJ" info state)/current"
  ls "$("$PL" -C "$PROJ" info state)/generations"
  ls "$STATE/cache/trees"
}

@test "wheels come in parallel from an HTTP registry, each checked, and the environment has them all" {
  nginx_start "$BATS_TEST_TMPDIR/nginx" "$SERVED"
  project_with_six "$NGINX_HTTP"
  # shellcheck disable=SC2086
  run --separate-stderr "$PL" -v -C "$PROJ" install $WANT
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # pip read .metadata files only: every wheel came through pylock's fetch.
  assert_contains "$stderr" "metadata file(s), 0 wheel(s)"
  assert_contains "$stderr" "(10 fetched, 10 unpacked"
  local w
  for w in "$CERTIFI" "$MARKUPSAFE"; do
    grep -q "GET /targets/$w HTTP" "$NGINX_DIR/access.log" || { echo "$w not fetched"; return 1; }
  done
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  assert_nothing_left
}

@test "one wrong wheel among many fails the install and changes nothing: no tree, no generation" {
  nginx_start "$BATS_TEST_TMPDIR/nginx" "$SERVED"
  project_with_six "$NGINX_HTTP"
  local before bad
  before=$(snapshot)
  # The registry (or a mirror) now serves other bytes for one signed wheel.
  bad="$SERVED/targets/$MARKUPSAFE"
  python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' "$bad"
  # shellcheck disable=SC2086
  run --separate-stderr "$PL" -C "$PROJ" install $WANT
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$MARKUPSAFE: sha256 mismatch"
  assert_eq "$(snapshot)" "$before"
  # Neither the wrong bytes nor any half of a fetch stayed in the cache.
  [ ! -e "$STATE/cache/wheels/$(sha256sum <"$bad" | cut -c1-64).whl" ]
  assert_nothing_left
  # The environment is the one before, and verifies.
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
}

@test "a wheel held back fails at its deadline without holding back the others" {
  # certifi is the first wheel of the lock: fetched one after the other,
  # nothing else would be asked for before its deadline.
  badserver_start stall "$SERVED" "$CERTIFI" --end
  project_with_six "$BAD_URL"
  local before t0=$SECONDS took
  before=$(snapshot)
  # shellcheck disable=SC2086
  PYLOCK_FETCH_DEADLINE_FLOOR=3 run --separate-stderr timeout 120 "$PL" -C "$PROJ" install $WANT
  took=$((SECONDS - t0))
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "/targets/$CERTIFI: not received within its deadline of "
  assert_contains "$stderr" " (3 s, and "
  [ "$took" -lt 30 ] || { echo "took ${took}s"; return 1; }
  # While certifi was held, the other wheels were asked for.
  local w
  for w in "$MARKUPSAFE" "$(cd "$FIX/wheels" && echo urllib3-*.whl)"; do
    grep -q "GET /targets/$w HTTP" "$BATS_TEST_TMPDIR/badserver.log" ||
      { echo "$w was not asked for: $(cat "$BATS_TEST_TMPDIR/badserver.log")"; return 1; }
  done
  assert_eq "$(snapshot)" "$before"
  assert_nothing_left
}

@test "a kill during a parallel fetch leaves nothing the next command does not sweep" {
  badserver_start stall "$SERVED" "$CERTIFI" --end
  project_with_six "$BAD_URL"
  # shellcheck disable=SC2086
  "$PL" -C "$PROJ" install $WANT 2>/dev/null &
  local pid=$! i
  # Killed while the wheels come: their temporary files exist.
  for i in $(seq 1 600); do
    [ -n "$(find "$STATE/cache/wheels" -name '.fetch.tmp*' 2>/dev/null)" ] && break
    nap 0.05
  done
  [ -n "$(find "$STATE/cache/wheels" -name '.fetch.tmp*')" ] || { echo "no fetch began"; return 1; }
  sleep 0.5
  kill -9 "$pid"
  wait "$pid" || true
  assert_no_process_left
  # Nothing changed: six alone, and the environment agrees.
  assert_eq "$(list_set)" "six==1.16.0"
  # The next change sweeps what the killed one left.
  run --separate-stderr "$PL" -C "$PROJ" install idna
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_nothing_left
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
}
