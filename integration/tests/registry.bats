#!/usr/bin/env bats
# pylock-test: once
# Signed registries (issue 3), the real binary end to end: registries pylock
# wrote verify from a directory, file://, http and https (nginx on
# loopback); tampered, expired, rolled-back, wrongly signed or
# under-signed metadata, a skipped root version, a server that stalls or
# drops, and malicious wheels are each rejected with one clear error, and
# nothing is trusted from them.  Nothing here depends on the base
# interpreter, so the file runs once.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  python3 "$PYLOCK_BIN/make-wheels.py" --malicious "$FIX/evil" >/dev/null
  mkdir -p "$FIX/www"
  for k in k1 k2 k3; do "$PL" key generate -o "$KEYS/$k.key" >/dev/null; done
  nginx_start "$FIX/nginx" "$FIX/www"
}

teardown_file() {
  nginx_stop
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  STATE="$BATS_TEST_TMPDIR/tufstate"
  NAME="t$BATS_TEST_NUMBER"
  REG="$FIX/www/$NAME"
  WHL_A="$FIX/wheels/idna-3.3-py3-none-any.whl"
  WHL_B="$FIX/wheels/six-1.16.0-py3-none-any.whl"
}

teardown() {
  badserver_stop
}

key() { echo "$KEYS/$1.key"; }

# make_registry: $REG signed by k1 with two wheels; $ROOT is a copy of its first root, kept apart
# from what is served, as a client would have been given it.
make_registry() {
  "$PL" -q registry init "$REG" --key "$(key k1)"
  "$PL" -q registry add "$REG" --key "$(key k1)" "$WHL_A" "$WHL_B"
  ROOT="$BATS_TEST_TMPDIR/trusted-root.json"
  cp "$REG/1.root.json" "$ROOT"
}

# verify URL [options]: the client workflow against $ROOT with state $STATE,
# never allowed to hang.
verify() {
  run --separate-stderr timeout 60 "$PL" registry verify "$@" --root "$ROOT" --state "$STATE"
}

state_digest() {
  [ -d "$STATE" ] || { echo "no state"; return; }
  (cd "$STATE" && find . -type f -exec sha256sum {} + | sort)
}

# The verify before any attack: it must pass, and leaves the state the
# attack must not change.
verify_ok_and_remember() {
  verify "${1:-$REG}" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  STATE_BEFORE=$(state_digest)
}

# assert_rejected TEXT...: exit 1; stderr is the one error line (plus at
# most a hint line) and contains every TEXT; the state is as before.
assert_rejected() {
  if [ "$status" -ne 1 ]; then
    echo "expected exit 1, got $status"; echo "stdout: $output"; echo "stderr: $stderr"
    return 1
  fi
  local first
  first=$(head -n 1 <<<"$stderr")
  assert_contains "$first" "pylock: "
  for t in "$@"; do assert_contains "$first" "$t"; done
  [ "$(grep -vc '^pylock: hint: ' <<<"$stderr")" -eq 1 ] || { echo "more than one error line: $stderr"; return 1; }
  if [ -n "${STATE_BEFORE+x}" ]; then
    assert_eq "$(state_digest)" "$STATE_BEFORE"
  fi
}

assert_verified() {
  [ "$status" -eq 0 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$output" "root: version 1,"
  assert_contains "$output" "targets: version 2,"
  # two wheels, their PEP 658 .metadata and project pages (the default), the pages' layout marker
  assert_contains "$output" "target-count: 7"
  assert_contains "$output" "verified: 7 targets"
}

# flip_expires FILE: flip one bit of the year in the signed "expires" (a
# later year: what an attacker extending metadata's life would do).
flip_expires() {
  python3 - "$1" <<'EOF'
import re, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
m = re.search(rb'"expires"\s*:\s*"\d\d\d', b)
b[m.end()] ^= 1
open(p, "wb").write(b)
EOF
}

flip_middle_byte() {
  python3 -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' "$1"
}

# relist CHILD PARENT: PARENT's meta entry for CHILD gets CHILD's current
# length and sha256 (PARENT must be re-signed after).
relist() {
  python3 - "$1" "$2" <<'EOF'
import hashlib, json, os, sys
data = open(sys.argv[1], "rb").read()
parent = json.load(open(sys.argv[2]))
entry = parent["signed"]["meta"][os.path.basename(sys.argv[1])]
entry.update(length=len(data), hashes={"sha256": hashlib.sha256(data).hexdigest()})
json.dump(parent, open(sys.argv[2], "w"), indent=1)
EOF
}

tuf_tool() {
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/tuf-js" ] ||
    { echo "tuf-js not installed: run integration/setup-node.sh (see integration/run)"; return 1; }
  node "$PYLOCK_SCRATCH/interop/tuf-tool.js" "$@"
}

# ---- a good registry verifies, whatever serves it ----

@test "registry_verifies_from_a_directory_path" {
  make_registry
  verify "$REG" --targets
  assert_verified
}

@test "registry_verifies_from_a_file_url" {
  make_registry
  verify "file://$REG" --targets
  assert_verified
}

@test "registry_verifies_over_http_from_nginx" {
  make_registry
  verify "$NGINX_HTTP/$NAME" --targets
  assert_verified
  grep -q "GET /$NAME/timestamp.json" "$NGINX_DIR/access.log"
}

# Needs a way to name the CA: pylock's libcurl must honour SSL_CERT_FILE or
# CURL_CA_BUNDLE (or an equivalent option) — the test sets both.
@test "registry_verifies_over_https_with_the_ca_the_user_names" {
  make_registry
  SSL_CERT_FILE="$NGINX_CA" CURL_CA_BUNDLE="$NGINX_CA" verify "$NGINX_HTTPS/$NAME" --targets
  assert_verified
}

@test "https_certificate_from_an_untrusted_ca_is_refused" {
  make_registry
  SSL_CERT_FILE="$FIX/nginx/tls/other-ca.pem" CURL_CA_BUNDLE="$FIX/nginx/tls/other-ca.pem" \
    verify "$NGINX_HTTPS/$NAME"
  assert_rejected "certificate"
  [ ! -e "$STATE" ] || [ -z "$(ls -A "$STATE")" ]
}

@test "trust_add_then_verify_trusted_then_trust_remove" {
  make_registry
  run "$PL" trust add "$ROOT" --name myreg
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run "$PL" trust list
  assert_contains "$output" "myreg	user	version 1	expires "
  run --separate-stderr timeout 60 "$PL" registry verify "$NGINX_HTTP/$NAME" --trusted myreg --state "$STATE"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "targets: version 2,"
  run "$PL" trust remove myreg
  [ "$status" -eq 0 ]
  run "$PL" trust list
  assert_not_contains "$output" "myreg"
}

@test "trust_add_refuses_a_root_not_signed_by_its_own_keys_and_writes_nothing" {
  make_registry
  flip_expires "$ROOT"
  run --separate-stderr "$PL" trust add "$ROOT" --name bad
  assert_rejected "signature"
  [ ! -e "$XDG_CONFIG_HOME/pylock/trust.d/bad.json" ]
  run "$PL" trust list
  assert_not_contains "$output" "bad"
}

# ---- tampering: one flipped bit anywhere is rejected ----

@test "one_flipped_byte_in_a_wheel_is_rejected" {
  make_registry
  verify_ok_and_remember
  flip_middle_byte "$REG/targets/$(basename "$WHL_A")"
  verify "$NGINX_HTTP/$NAME" --targets
  assert_rejected "$(basename "$WHL_A")"
}

@test "one_flipped_byte_in_targets_json_is_rejected" {
  make_registry
  verify_ok_and_remember
  flip_expires "$REG/targets.json"
  # The client kept the targets.json the registry lists (same version and
  # hash): it reads it no more, so the flipped copy changes nothing.
  verify "$NGINX_HTTP/$NAME"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(state_digest)" "$STATE_BEFORE"
  # Without that copy, the flipped one is fetched, and refused.
  rm "$STATE/targets.json"
  STATE_BEFORE=$(state_digest)
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "targets.json"
}

@test "one_flipped_byte_in_snapshot_json_is_rejected" {
  make_registry
  verify_ok_and_remember
  flip_expires "$REG/snapshot.json"
  # The client kept the snapshot.json the registry lists (same version and
  # hash): it reads it no more, so the flipped copy changes nothing.
  verify "$NGINX_HTTP/$NAME"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(state_digest)" "$STATE_BEFORE"
  # Without that copy, the flipped one is fetched, and refused.
  rm "$STATE/snapshot.json"
  STATE_BEFORE=$(state_digest)
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "snapshot.json"
}

@test "one_flipped_byte_in_timestamp_json_is_rejected" {
  make_registry
  verify_ok_and_remember
  flip_expires "$REG/timestamp.json"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "timestamp.json"
}

# ---- freshness ----

@test "an_expired_timestamp_is_rejected_even_when_validly_signed" {
  make_registry
  verify_ok_and_remember
  tuf_tool resign "$REG/timestamp.json" --key "$(key k1)" --version 3 --expires 2020-01-01T00:00:00Z
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "timestamp.json" "expired"
}

@test "an_expired_targets_is_rejected_even_when_validly_signed" {
  make_registry
  verify_ok_and_remember
  tuf_tool resign "$REG/targets.json" --key "$(key k1)" --expires 2020-01-01T00:00:00Z
  # Listed by snapshot and timestamp as it now is: only its expiry can fail it.
  relist "$REG/targets.json" "$REG/snapshot.json"
  tuf_tool resign "$REG/snapshot.json" --key "$(key k1)"
  relist "$REG/snapshot.json" "$REG/timestamp.json"
  tuf_tool resign "$REG/timestamp.json" --key "$(key k1)"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "targets.json" "expired"
}

@test "rollback_to_metadata_older_than_seen_is_rejected" {
  make_registry
  cp -r "$REG" "$BATS_TEST_TMPDIR/old"
  "$PL" -q registry add "$REG" --key "$(key k1)" "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
  verify "$NGINX_HTTP/$NAME"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "timestamp: version 3,"
  STATE_BEFORE=$(state_digest)
  # Re-serve the older, validly signed, unexpired metadata.
  cp "$BATS_TEST_TMPDIR/old/"{timestamp,snapshot,targets}.json "$REG/"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "timestamp.json" "version"
}

@test "rollback_is_rejected_for_a_replayed_snapshot_under_a_new_timestamp" {
  make_registry
  cp -r "$REG" "$BATS_TEST_TMPDIR/old"
  "$PL" -q registry add "$REG" --key "$(key k1)" "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
  verify_ok_and_remember "$NGINX_HTTP/$NAME"
  # A newer timestamp that names an older snapshot, signed with the right key.
  python3 - "$BATS_TEST_TMPDIR/old/snapshot.json" "$REG/timestamp.json" <<'EOF'
import hashlib, json, sys
old = open(sys.argv[1], "rb").read()
t = json.load(open(sys.argv[2]))
t["signed"]["meta"]["snapshot.json"] = {"version": json.loads(old)["signed"]["version"], "length": len(old), "hashes": {"sha256": hashlib.sha256(old).hexdigest()}}
json.dump(t, open(sys.argv[2], "w"), indent=1)
EOF
  cp "$BATS_TEST_TMPDIR/old/snapshot.json" "$REG/"
  tuf_tool resign "$REG/timestamp.json" --key "$(key k1)" --version 4
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "snapshot.json" "version"
}

# ---- keys and thresholds ----

@test "metadata_signed_by_a_key_the_root_does_not_trust_is_rejected" {
  make_registry
  verify_ok_and_remember
  # A timestamp.json from a registry of the same wheels held by k2.
  REG_OTHER="$BATS_TEST_TMPDIR/other"
  "$PL" -q registry init "$REG_OTHER" --key "$(key k2)"
  "$PL" -q registry add "$REG_OTHER" --key "$(key k2)" "$WHL_A" "$WHL_B" "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
  cp "$REG_OTHER/timestamp.json" "$REG/"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "timestamp.json" "signature"
}

@test "a_threshold_of_two_is_not_met_by_one_signature_nor_the_same_one_twice" {
  local keys=(--key "$(key k1)" --key "$(key k2)")
  "$PL" -q registry init "$REG" "${keys[@]}" --threshold 2
  "$PL" -q registry add "$REG" "${keys[@]}" "$WHL_A" "$WHL_B"
  ROOT="$BATS_TEST_TMPDIR/trusted-root.json"
  cp "$REG/1.root.json" "$ROOT"
  run "$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["signatures"]))' "$REG/timestamp.json"
  assert_eq "$output" "2"
  verify_ok_and_remember "$NGINX_HTTP/$NAME"
  cp "$REG/timestamp.json" "$BATS_TEST_TMPDIR/ts.json"
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); d["signatures"] = d["signatures"][:1]
json.dump(d, open(sys.argv[1], "w"), indent=1)' "$REG/timestamp.json"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "timestamp.json" "signature"
  python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); d["signatures"] = d["signatures"][:1] * 2
json.dump(d, open(sys.argv[1], "w"), indent=1)' "$REG/timestamp.json"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "timestamp.json" "signature"
}

@test "root_rotation_1_2_3_with_key_changes_is_followed" {
  make_registry
  "$PL" -q registry sign "$REG" --key "$(key k1)" --add-root-key "$(key k2)"
  "$PL" -q registry sign "$REG" --key "$(key k1)" --key "$(key k2)" --add-root-key "$(key k3)"
  [ -f "$REG/3.root.json" ]
  verify "$NGINX_HTTP/$NAME"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "root: version 3,"
}

@test "a_root_rotation_that_skips_a_version_is_rejected" {
  make_registry
  "$PL" -q registry sign "$REG" --key "$(key k1)" --add-root-key "$(key k2)"
  "$PL" -q registry sign "$REG" --key "$(key k1)" --key "$(key k2)" --add-root-key "$(key k3)"
  # The client holds version 1; the server offers version 3 as the next one.
  cp "$REG/3.root.json" "$REG/2.root.json"
  rm "$REG/3.root.json"
  verify "$NGINX_HTTP/$NAME"
  assert_rejected "2.root.json" "version"
  [ ! -e "$STATE" ] || ! grep -rq '"version": *3' "$STATE"
}

# ---- the network misbehaves ----

@test "a_server_that_stalls_mid_transfer_fails_in_bounded_time" {
  make_registry
  badserver_start stall "$REG" timestamp.json
  local t0=$SECONDS
  verify "$BAD_URL"
  local took=$((SECONDS - t0))
  assert_rejected "timestamp.json"
  [ "$took" -lt 40 ] || { echo "took ${took}s"; return 1; }
}

@test "a_server_that_cuts_the_connection_mid_body_fails_cleanly" {
  make_registry
  verify_ok_and_remember
  badserver_start cut "$REG" "$(basename "$WHL_A")"
  verify "$BAD_URL" --targets
  assert_rejected "$(basename "$WHL_A")"
}

@test "a_server_that_cuts_metadata_mid_body_fails_cleanly" {
  make_registry
  badserver_start cut "$REG" snapshot.json
  verify "$BAD_URL"
  assert_rejected "snapshot.json"
}

# ---- malicious wheels ----
# Two places must refuse them: a maintainer's `registry add` (nothing is
# written), and a client's `registry verify --targets` when a registry
# written by someone else signed them.  The control wheel, built by the same
# code with no attack, must pass both.

registry_add_refuses() {
  local w="$FIX/evil/$1-1.0-py3-none-any.whl"
  "$PL" -q registry init "$REG" --key "$(key k1)"
  local before
  before=$(cd "$REG" && find . -type f -exec sha256sum {} + | sort)
  run --separate-stderr "$PL" registry add "$REG" --key "$(key k1)" "$w"
  assert_rejected "$(basename "$w")" "${@:2}"
  assert_eq "$(cd "$REG" && find . -type f -exec sha256sum {} + | sort)" "$before"
}

verify_targets_refuses() {
  local w="$FIX/evil/$1-1.0-py3-none-any.whl"
  tuf_tool make-registry "$REG" --no-consistent "$w" >/dev/null
  ROOT="$REG/1.root.json"
  verify "$NGINX_HTTP/$NAME" --targets
  assert_rejected "$(basename "$w")" "${@:2}"
}

@test "control_wheel_is_accepted_by_registry_add_and_verify_targets" {
  "$PL" -q registry init "$REG" --key "$(key k1)"
  run "$PL" registry add "$REG" --key "$(key k1)" "$FIX/evil/control-1.0-py3-none-any.whl"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  REG="$REG-foreign"
  tuf_tool make-registry "$REG" --no-consistent "$FIX/evil/control-1.0-py3-none-any.whl" >/dev/null
  ROOT="$REG/1.root.json"
  verify "$NGINX_HTTP/$NAME-foreign" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "verified: 1 targets"
}

@test "registry_add_refuses_a_wheel_with_a_dotdot_path" { registry_add_refuses dotdot ".."; }
@test "registry_add_refuses_a_wheel_with_an_absolute_path" { registry_add_refuses abspath "/tmp/abspath-escaped.py"; }
@test "registry_add_refuses_a_wheel_with_a_symlink" { registry_add_refuses symlink "symlink/passwd"; }
@test "registry_add_refuses_a_wheel_with_a_file_missing_from_record" { registry_add_refuses unlisted "unlisted/extra.py"; }
@test "registry_add_refuses_a_wheel_with_a_record_hash_mismatch" { registry_add_refuses badhash "badhash/__init__.py"; }
@test "registry_add_refuses_a_zip_bomb" { registry_add_refuses zipbomb "zipbomb/data.bin"; }

@test "verify_targets_refuses_a_signed_wheel_with_a_dotdot_path" { verify_targets_refuses dotdot ".."; }
@test "verify_targets_refuses_a_signed_wheel_with_an_absolute_path" { verify_targets_refuses abspath "/tmp/abspath-escaped.py"; }
@test "verify_targets_refuses_a_signed_wheel_with_a_symlink" { verify_targets_refuses symlink "symlink/passwd"; }
@test "verify_targets_refuses_a_signed_wheel_with_a_file_missing_from_record" { verify_targets_refuses unlisted "unlisted/extra.py"; }
@test "verify_targets_refuses_a_signed_wheel_with_a_record_hash_mismatch" { verify_targets_refuses badhash "badhash/__init__.py"; }
@test "verify_targets_refuses_a_signed_zip_bomb" { verify_targets_refuses zipbomb "zipbomb/data.bin"; }
