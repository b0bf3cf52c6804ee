#!/usr/bin/env bats
# pylock lock: pip resolves inside the project's namespaces with no network,
# against an index made only of the registry's verified metadata; the lock
# (PEP 751) records the registry's signed sizes and hashes, is rewritten only
# when it changes, and --check tells a stale lock apart.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$PROJ"
}

teardown() {
  [ -z "${SERVER_PID:-}" ] || kill "$SERVER_PID" 2>/dev/null || true
}

# set_requested REQ...: the project's requested list (helpers.bash).
set_requested() {
  set_requested_in "$PROJ/pylock.toml" "$@"
}

# locked NAME FIELD: a field of a locked package's wheel (name, size, sha256) or version.
locked() {
  python3 - "$PROJ/pylock.toml" "$1" "$2" <<'PY'
import sys, tomllib
lock = tomllib.load(open(sys.argv[1], 'rb'))
for p in lock.get('packages', []):
    if p['name'] == sys.argv[2]:
        w = p['wheels'][0]
        print({'version': p['version'], 'name': w['name'], 'size': w['size'],
               'sha256': w['hashes']['sha256'], 'url': w['url']}[sys.argv[3]])
PY
}

locked_names() {
  python3 -c 'import sys, tomllib; print(" ".join(p["name"] for p in tomllib.load(open(sys.argv[1], "rb"))["packages"]))' "$PROJ/pylock.toml"
}

@test "lock resolves requests into the registry's signed wheels, sizes and hashes" {
  set_requested "requests"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(locked_names)" "certifi charset-normalizer idna requests six urllib3"
  for n in certifi charset-normalizer idna requests urllib3; do
    f=$(locked "$n" name)
    assert_eq "$(locked "$n" size)" "$(stat -c %s "$FIX/reg/targets/$f")"
    assert_eq "$(locked "$n" sha256)" "$(sha256sum "$FIX/reg/targets/$f" | cut -c1-64)"
    assert_eq "$(locked "$n" url)" "file://$FIX/reg/targets/$f"
  done
  grep -qx 'lock-version = "1.0"' "$PROJ/pylock.toml"
  grep -qx 'created-by = "pylock"' "$PROJ/pylock.toml"
  grep -qx "registry = \"$FIX/reg\"" "$PROJ/pylock.toml"
  grep -q '^root-keyids = \["[0-9a-f]\{64\}"\]' "$PROJ/pylock.toml"
}

@test "lock with a specifier, an extra and a marker; twice gives the same bytes" {
  set_requested 'requests[use_chardet_on_py3]>=2' 'idna; python_version >= "3"'
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(locked_names)" "certifi chardet charset-normalizer idna requests six urllib3"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/first"
  before=$(stat -c %Y.%i "$PROJ/pylock.toml")
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "up to date"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/first"
  # Not even rewritten: same inode, same mtime.
  assert_eq "$(stat -c %Y.%i "$PROJ/pylock.toml")" "$before"
}

@test "lock --check passes on a fresh lock and fails once requested changes" {
  set_requested "idna"
  "$PL" -q -C "$PROJ" lock
  run --separate-stderr "$PL" -C "$PROJ" lock --check
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before"
  set_requested "idna" "six"
  run --separate-stderr "$PL" -C "$PROJ" lock --check
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "out of date"
  assert_contains "$stderr" "six 1.16.0 would be added"
  # --check changes nothing.
  set_requested "idna"
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before"
}

@test "lock names a requirement the registry cannot satisfy, quoting pip" {
  set_requested "no-such-project"
  run --separate-stderr "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "No matching distribution found for no-such-project"
  assert_contains "$stderr" "hint:"
}

@test "pip cannot reach the network while resolving, not even the host's loopback" {
  base_blind
  mkdir -p "$BATS_TEST_TMPDIR/www"
  cp "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$BATS_TEST_TMPDIR/www/"
  port=$((20000 + RANDOM % 20000))
  python3 -m http.server --bind 127.0.0.1 --directory "$BATS_TEST_TMPDIR/www" "$port" \
    >"$BATS_TEST_TMPDIR/http.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
  : >"$BATS_TEST_TMPDIR/http.log"
  set_requested "six @ http://127.0.0.1:$port/six-1.16.0-py3-none-any.whl"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  # pylock refuses the direct reference before pip runs (direct_refs.bats).
  assert_contains "$stderr" "a direct reference (URL, path or VCS) is not allowed"
  # The server, reachable from the host, saw nothing.
  assert_not_contains "$(cat "$BATS_TEST_TMPDIR/http.log")" "GET /six"
}

@test "without pip in the base, lock runs the registry's verified pip wheel" {
  case "$("$PY" -c 'import sys; print(sys.version_info[:2] >= (3, 12))')" in
  True) skip "Debian's pip 23.0.1 wheel does not run on Python 3.12 (pkgutil.ImpImporter)" ;;
  esac
  set_requested "requests"
  run --separate-stderr env PYLOCK_RESOLVE_PIP=registry "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(locked_names)" "certifi charset-normalizer idna requests six urllib3"
  # The pip wheel ran from the verified cache copy.
  sha=$(sha256sum "$FIX/reg/targets/pip-23.0.1-py3-none-any.whl" | cut -c1-64)
  [ -f "$XDG_STATE_HOME/pylock/cache/wheels/$sha.whl" ]
}

@test "lock without a registry says how to name one" {
  base_blind
  P2="$BATS_TEST_TMPDIR/plain"
  "$PL" -q init --python "$PY" "$P2"
  run --separate-stderr "$PL" -C "$P2" lock
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "names no registry"
  assert_contains "$stderr" "pylock init --registry URL --root FILE"
}
