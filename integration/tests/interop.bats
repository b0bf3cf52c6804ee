#!/usr/bin/env bats
# pylock-test: once
# Interop with a TUF implementation that is not ours (npm, pinned in
# integration/interop/package-lock.json): metadata written by
# @tufjs/models verifies in `pylock registry verify`, and registries
# written by `pylock registry init/add/sign` and served by nginx verify in
# tuf-js's Updater.  Each direction also has a tampered case, so a
# verifier that accepts anything fails here.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/tuf-js" ] ||
    { echo "tuf-js not installed: integration/setup-node.sh did not run" >&2; return 1; }
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/www"
  "$PL" key generate -o "$KEYS/k1.key" >/dev/null
  "$PL" key generate -o "$KEYS/k2.key" >/dev/null
  nginx_start "$FIX/nginx" "$FIX/www"
}

teardown_file() {
  nginx_stop
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  NAME="t$BATS_TEST_NUMBER"
  REG="$FIX/www/$NAME"
  WHEELS=("$FIX/wheels/requests-2.28.1-py3-none-any.whl" "$FIX/wheels/urllib3-1.26.12-py3-none-any.whl"
          "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl")
}

tuf_tool() {
  node "$PYLOCK_SCRATCH/interop/tuf-tool.js" "$@"
}

pylock_verify() {
  run --separate-stderr timeout 60 "$PL" registry verify "$@" --state "$BATS_TEST_TMPDIR/state"
}

# ---- (a) written by @tufjs/models, verified by pylock ----

@test "tufjs_models_registry_with_consistent_snapshots_verifies_in_pylock" {
  tuf_tool make-registry "$REG" "${WHEELS[@]}" >/dev/null
  [ -f "$REG/1.snapshot.json" ] # the consistent-snapshot layout is what is tested
  cp "$REG/1.root.json" "$BATS_TEST_TMPDIR/root.json"
  pylock_verify "$NGINX_HTTP/$NAME" --root "$BATS_TEST_TMPDIR/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "timestamp: version 1,"
  assert_contains "$output" "target-count: 3"
  assert_contains "$output" "verified: 3 targets"
}

@test "tufjs_models_registry_without_consistent_snapshots_verifies_in_pylock" {
  tuf_tool make-registry "$REG" --no-consistent "${WHEELS[@]}" >/dev/null
  cp "$REG/1.root.json" "$BATS_TEST_TMPDIR/root.json"
  pylock_verify "$REG" --root "$BATS_TEST_TMPDIR/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "verified: 3 targets"
}

@test "tufjs_models_registry_is_trusted_via_trust_add_and_verify_trusted" {
  tuf_tool make-registry "$REG" "${WHEELS[@]}" >/dev/null
  run "$PL" trust add "$REG/1.root.json" --name tufjs
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  pylock_verify "$NGINX_HTTP/$NAME" --trusted tufjs --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "verified: 3 targets"
}

@test "pylock_rejects_a_tufjs_models_registry_whose_wheel_was_swapped" {
  tuf_tool make-registry "$REG" "${WHEELS[@]}" >/dev/null
  cp "$REG/1.root.json" "$BATS_TEST_TMPDIR/root.json"
  # Same name, other bytes: the signed length/sha256 no longer match.
  local t
  t=$(ls "$REG"/targets/*.urllib3-1.26.12-py3-none-any.whl)
  cp "$FIX/wheels/idna-3.3-py3-none-any.whl" "$t"
  pylock_verify "$NGINX_HTTP/$NAME" --root "$BATS_TEST_TMPDIR/root.json" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output $stderr"; return 1; }
  assert_contains "$(head -n 1 <<<"$stderr")" "urllib3-1.26.12-py3-none-any.whl"
}

# ---- (b) written by pylock, verified by tuf-js ----

make_pylock_registry() {
  "$PL" -q registry init "$REG" --key "$KEYS/k1.key"
  "$PL" -q registry add "$REG" --key "$KEYS/k1.key" "${WHEELS[@]}"
}

@test "pylock_registry_over_http_verifies_in_tuf_js_and_downloads_a_wheel" {
  make_pylock_registry
  run tuf_tool fetch "$NGINX_HTTP/$NAME" "$REG/1.root.json" requests-2.28.1-py3-none-any.whl "$BATS_TEST_TMPDIR/dl/requests.whl"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "targets: version 2"
  assert_contains "$output" "downloaded requests-2.28.1-py3-none-any.whl"
  cmp "$BATS_TEST_TMPDIR/dl/requests.whl" "$FIX/wheels/requests-2.28.1-py3-none-any.whl"
}

@test "pylock_registry_over_https_verifies_in_tuf_js" {
  make_pylock_registry
  NODE_EXTRA_CA_CERTS="$NGINX_CA" run tuf_tool fetch "$NGINX_HTTPS/$NAME" "$REG/1.root.json" \
    certifi-2022.9.24-py3-none-any.whl "$BATS_TEST_TMPDIR/dl/certifi.whl"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  cmp "$BATS_TEST_TMPDIR/dl/certifi.whl" "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
}

@test "pylock_pep658_metadata_target_downloads_in_tuf_js" {
  make_pylock_registry
  run tuf_tool fetch "$NGINX_HTTP/$NAME" "$REG/1.root.json" requests-2.28.1-py3-none-any.whl.metadata "$BATS_TEST_TMPDIR/dl/requests.metadata"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$(head -n 1 "$BATS_TEST_TMPDIR/dl/requests.metadata")" "Metadata-Version: 2.1"
  grep -qx "Requires-Dist: urllib3<1.27,>=1.21.1" "$BATS_TEST_TMPDIR/dl/requests.metadata"
}

@test "pylock_root_rotation_is_followed_by_tuf_js" {
  make_pylock_registry
  "$PL" -q registry sign "$REG" --key "$KEYS/k1.key" --add-root-key "$KEYS/k2.key"
  k1=$("$PL" key show "$KEYS/k1.key" | sed -n 's/^keyid: //p')
  "$PL" -q registry sign "$REG" --key "$KEYS/k1.key" --key "$KEYS/k2.key" --remove-root-key "$k1"
  [ -f "$REG/3.root.json" ]
  run tuf_tool fetch "$NGINX_HTTP/$NAME" "$REG/1.root.json" urllib3-1.26.12-py3-none-any.whl "$BATS_TEST_TMPDIR/dl/u.whl"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "root: version 3"
}

@test "tuf_js_rejects_a_pylock_registry_whose_wheel_was_swapped" {
  make_pylock_registry
  signed=$(stat -c %s "$REG/targets/urllib3-1.26.12-py3-none-any.whl")
  swapped=$(stat -c %s "$FIX/wheels/idna-3.3-py3-none-any.whl")
  cp "$FIX/wheels/idna-3.3-py3-none-any.whl" "$REG/targets/urllib3-1.26.12-py3-none-any.whl"
  run tuf_tool fetch "$NGINX_HTTP/$NAME" "$REG/1.root.json" urllib3-1.26.12-py3-none-any.whl "$BATS_TEST_TMPDIR/dl/u.whl"
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$output" "targets: version 2" # metadata passed; the target did not
  assert_contains "$output" "tuf-tool: Error: Expected length $signed but got $swapped"
  [ ! -e "$BATS_TEST_TMPDIR/dl/u.whl" ]
}

@test "tuf_js_rejects_a_pylock_registry_with_a_tampered_timestamp" {
  make_pylock_registry
  sed -i 's/"version": 2/"version": 9/' "$REG/timestamp.json"
  grep -q '"version": 9' "$REG/timestamp.json"
  run tuf_tool fetch "$NGINX_HTTP/$NAME" "$REG/1.root.json" urllib3-1.26.12-py3-none-any.whl "$BATS_TEST_TMPDIR/dl/u.whl"
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$output" "tuf-tool: Error: timestamp was signed by 0/1 keys"
}
