#!/usr/bin/env bats
# pylock-test: once
# Hashed-bin registries (issue 14), the real binary end to end over nginx:
# `registry init --bins N` writes TAP 15 succinct bins with consistent
# snapshots, `registry add` signs again only the bins it touches (with the
# online key alone), the client keeps verified bins and fetches a bin again
# only when snapshot lists a new version, and a project installs from such a
# registry.  A bin holder's attacks (a target outside its bin, a bin signed
# by a key the delegation does not list, a bin rolled back) and hostile
# delegation trees (an endless chain, a loop) are refused, and nothing of
# them is trusted.  Interop: pylock's binned registries
# verify in tuf-js (a target looked up through the bins), and binned
# registries written by @tufjs/models verify in pylock.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"
load bins_helpers
load bins_forge_helpers

setup_file() {
  need_tuf_js
  bins_fixture
}

teardown_file() {
  nginx_stop
}

setup() {
  bins_setup
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# Every file of the registry ("PATH SHA256"), sorted.
reg_digest() {
  (cd "$REG" && find . -type f -exec sha256sum {} + | awk '{print $2, $1}' | sort)
}

verify() {
  run --separate-stderr timeout 60 "$PL" registry verify "$@" --root "$ROOT" --state "$STATE"
}

# ---- the publisher ----

@test "bins_init_writes_succinct_bins_with_consistent_snapshots" {
  make_binned
  python3 - "$REG" <<'EOF'
import json, sys
reg = sys.argv[1]
root = json.load(open(f"{reg}/root.json"))["signed"]
assert root["consistent_snapshot"] is True, root
tg = json.load(open(f"{reg}/1.targets.json"))["signed"]
sr = tg["delegations"]["succinct_roles"]
assert sr["bit_length"] == 4 and sr["name_prefix"] == "bins", sr
assert tg["targets"] == {}, tg
# The bins are held by the online key, not by the targets (offline) key.
assert sr["keyids"] != root["roles"]["targets"]["keyids"], (sr, root["roles"]["targets"])
assert root["roles"]["snapshot"]["keyids"] == sr["keyids"]
assert root["roles"]["timestamp"]["keyids"] == sr["keyids"]
EOF
  for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do [ -f "$REG/1.bins-$b.json" ]; done
  [ ! -e "$REG/targets.json" ] && [ ! -e "$REG/snapshot.json" ]
  verify "$URL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 1" # the project pages' layout marker (the default)
}

@test "bins_add_resigns_only_the_touched_bins_snapshot_and_timestamp" {
  make_binned "$WHL_B"
  before=$(reg_digest)
  "$PL" -q registry add "$REG" --key "$ON" "$WHL_A"
  after=$(reg_digest)
  # Nothing that existed changed, but timestamp.json.
  changed=$(comm -23 <(echo "$before") <(echo "$after") | awk '{print $1}')
  assert_eq "$changed" "./timestamp.json"
  # What is new: the wheel, its .metadata and its project's page (the
  # default), their bins one version up, a snapshot.
  added=$(comm -13 <(echo "$before") <(echo "$after") | awk '{print $1}' | grep -v '^./timestamp.json$' |
    sed -E 's|/[0-9a-f]{64}\.|/SHA.|' | sort)
  expected=$( {
    echo "./targets/SHA.idna-3.3-py3-none-any.whl"
    echo "./targets/SHA.idna-3.3-py3-none-any.whl.metadata"
    echo "./targets/simple/idna/SHA.index.json"
    echo "./3.snapshot.json"
    for t in idna-3.3-py3-none-any.whl idna-3.3-py3-none-any.whl.metadata simple/idna/index.json; do
      b=$(bin_of "$t")
      echo "./$(listed "$b").$b.json"
    done
  } | sort -u)
  assert_eq "$added" "$expected"
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 7" # 2 wheels, their .metadata and pages; the marker
  assert_contains "$output" "verified: 7 targets"
  assert_contains "$output" "verified-wheels: 2"
}

@test "bins_add_with_only_the_offline_key_is_refused_and_changes_nothing" {
  make_binned "$WHL_B"
  before=$(reg_digest)
  run --separate-stderr "$PL" registry add "$REG" --key "$OFF" "$WHL_A"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "cannot sign bins.json"
  assert_eq "$(reg_digest)" "$before"
}

@test "bins_sign_renews_every_bin_and_keeps_offline_targets" {
  make_binned "$WHL_A"
  "$PL" -q registry sign "$REG" --key "$ON"
  for b in 0 1 2 3 4 5 6 7 8 9 a b c d e f; do
    v=$(listed "bins-$b")
    [ "$v" -ge 2 ] || { echo "bins-$b still at $v"; return 1; }
  done
  [ ! -e "$REG/2.targets.json" ] # the offline targets role was not needed
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

# ---- the client ----

@test "client_keeps_verified_bins_and_fetches_only_bins_whose_version_changed" {
  make_binned "$WHL_A" "$WHL_B"
  clear_log
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ "$(served | grep -c 'bins-')" -eq 16 ] # cold: every bin once
  [ -f "$STATE/delegated/bins-0.json" ]
  "$PL" -q registry add "$REG" --key "$ON" "$WHL_C"
  clear_log
  verify "$URL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 10" # 3 wheels, their .metadata and pages; the marker
  expected=$(
    for t in certifi-2022.9.24-py3-none-any.whl certifi-2022.9.24-py3-none-any.whl.metadata \
      simple/certifi/index.json; do
      b=$(bin_of "$t")
      echo "$(listed "$b").$b.json"
    done | sort -u
  )
  assert_eq "$(served | grep 'bins-')" "$expected"
  # Nothing published since: only the timestamp is read (besides the probe
  # for a next root version, 5.3, which is absent).
  clear_log
  verify "$URL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(served | grep -v '^2.root.json$')" "timestamp.json"
}

@test "verify_target_fetches_only_the_bin_the_lookup_visits" {
  make_binned "$WHL_A" "$WHL_B" "$WHL_C"
  clear_log
  verify "$URL" --target six-1.16.0-py3-none-any.whl
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  sha=$(sha256sum "$WHL_B" | cut -d' ' -f1)
  assert_contains "$output" "target: six-1.16.0-py3-none-any.whl $(stat -c %s "$WHL_B") sha256:$sha"
  b=$(bin_of six-1.16.0-py3-none-any.whl)
  assert_eq "$(served | grep -v '^2.root.json$' | sed -E 's/^[0-9]+\.//' | sort)" "$(printf '%s\n' \
    "$b.json" snapshot.json targets.json "targets/$sha.six-1.16.0-py3-none-any.whl" timestamp.json | sort)"
  # A name no bin lists: one error, naming it.
  verify "$URL" --target nosuch-1.0-py3-none-any.whl
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "nosuch-1.0-py3-none-any.whl: not a signed target of this registry"
}

@test "project_installs_and_runs_a_wheel_from_a_binned_registry" {
  make_binned "$WHL_A" "$WHL_B"
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run "$PL" -C "$PROJ" run python -c 'import six; print(six.__version__)'
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$output" "1.16.0"
}

# ---- a holder of the online (bins) key attacks ----

@test "a_bin_cannot_sign_a_target_outside_its_hash_bin" {
  make_binned "$WHL_A" "$WHL_B"
  t=idna-3.3-py3-none-any.whl
  # Move idna's entry out of its own bin into another, pointing at other
  # bytes (six's wheel), and sign both bins with the bins key.
  list_in_next_bin "$t" "$WHL_B"
  clear_log
  verify "$URL" --targets
  # The entry the wrong bin signs is not a target: not listed, not fetched;
  # idna's .metadata is left without a signed wheel.
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "no signed wheel $t to check it against"
  # (its page, which the marker says every project has, now names a file
  # the registry does not sign: refused too)
  assert_contains "$stderr" "the page of idna lists $t, which is not a signed target"
  assert_contains "$output" "target-count: 6" # six's wheel, both .metadata and pages, the marker
  if served | grep -q "targets/$evil_sha.$t"; then echo "the evil target was served"; return 1; fi
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
  run --separate-stderr "$PL" -q -C "$PROJ" install idna
  [ "$status" -ne 0 ] || { echo "installed idna through a bin not trusted for it"; return 1; }
  if "$PL" -C "$PROJ" run python -c 'import idna' 2>/dev/null; then echo "idna got installed"; return 1; fi
}

@test "a_bin_signed_by_a_key_the_delegation_does_not_list_is_refused" {
  make_binned "$WHL_A" "$WHL_B"
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  b=$(bin_of six-1.16.0-py3-none-any.whl)
  # Signed by the offline targets key: a valid key of the registry, but not
  # one the delegation to the bins lists.
  tuf_tool resign "$REG/$(listed "$b").$b.json" --key "$OFF"
  # Forget the verified bins kept (snapshot did not change: they would answer).
  rm -rf "$STATE/delegated"
  state_before=$(state_digest)
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "$b.json: signature threshold not met"
  assert_eq "$(state_digest)" "$state_before"
  run node "$PYLOCK_SCRATCH/interop/tuf-tool.js" fetch "$URL" "$ROOT" six-1.16.0-py3-none-any.whl \
    "$BATS_TEST_TMPDIR/dl/six.whl"
  [ "$status" -eq 1 ] || { echo "tuf-js accepted it: $output"; return 1; }
  [ ! -e "$BATS_TEST_TMPDIR/dl/six.whl" ]
}

@test "a_bin_rolled_back_by_a_newer_snapshot_is_refused" {
  make_binned "$WHL_A"
  "$PL" -q registry sign "$REG" --key "$ON" # every bin at version 2
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  state_before=$(state_digest)
  b=$(bin_of idna-3.3-py3-none-any.whl)
  old=$(( $(listed "$b") - 1 ))
  [ -f "$REG/$old.$b.json" ] # consistent snapshots keep the old version
  republish_snapshot "$b=$old"
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "$b.json version rollback"
  assert_eq "$(state_digest)" "$state_before"
}

@test "an_endless_chain_of_delegations_is_refused" {
  # Depth 5 is fine; depth 40 is more than the 32 roles a search may visit.
  tuf_tool make-registry "$REG" --chain 5 "$WHL_A" >/dev/null
  cp "$REG/1.root.json" "$ROOT"
  verify "$URL" --target idna-3.3-py3-none-any.whl
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  rm -rf "$REG" "$STATE"
  tuf_tool make-registry "$REG" --chain 40 "$WHL_A" >/dev/null
  cp "$REG/1.root.json" "$ROOT"
  clear_log
  verify "$URL" --target idna-3.3-py3-none-any.whl
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "more than 32 delegated roles visited"
  [ "$(served | grep -c '^1\.r[0-9]*\.json$')" -le 32 ] # and it stopped there
  if served | grep -q "targets/.*idna"; then echo "an idna target was served"; return 1; fi
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "more than 32 delegated roles visited"
}

@test "a_loop_of_delegations_is_refused" {
  tuf_tool make-registry "$REG" --chain 3 --loop "$WHL_A" >/dev/null # r0 -> r1 -> r2 -> r0
  cp "$REG/1.root.json" "$ROOT"
  verify "$URL" --target idna-3.3-py3-none-any.whl # found in r2 before the loop closes
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  verify "$URL" --target six-1.16.0-py3-none-any.whl
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "delegation loop: r2 delegates back to r0"
}

# ---- interop ----

@test "pylock_binned_registry_verifies_in_tuf_js_through_the_bins" {
  make_binned "$WHL_A" "$WHL_B" "$WHL_C"
  run tuf_tool fetch "$URL" "$ROOT" certifi-2022.9.24-py3-none-any.whl "$BATS_TEST_TMPDIR/dl/c.whl"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "downloaded certifi-2022.9.24-py3-none-any.whl"
  cmp "$BATS_TEST_TMPDIR/dl/c.whl" "$WHL_C"
  run tuf_tool fetch "$URL" "$ROOT" six-1.16.0-py3-none-any.whl.metadata "$BATS_TEST_TMPDIR/dl/six.md"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  grep -qx "Name: six" "$BATS_TEST_TMPDIR/dl/six.md"
}

@test "tufjs_succinct_bins_registry_verifies_in_pylock_with_lookups_through_the_bins" {
  tuf_tool make-registry "$REG" --bins 8 "$WHL_A" "$WHL_B" "$WHL_C" >/dev/null
  [ -f "$REG/1.bins-7.json" ]
  cp "$REG/1.root.json" "$ROOT"
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 3"
  assert_contains "$output" "verified-wheels: 3"
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "tufjs_pep458_hash_bins_registry_verifies_in_pylock" {
  tuf_tool make-registry "$REG" --hash-bins 16 "$WHL_A" "$WHL_B" "$WHL_C" >/dev/null
  [ -f "$REG/1.bins.json" ] && [ -f "$REG/1.bin-f.json" ]
  cp "$REG/1.root.json" "$ROOT"
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "verified: 3 targets"
}

@test "pylock_rejects_a_tufjs_binned_registry_whose_bin_was_tampered" {
  tuf_tool make-registry "$REG" --hash-bins 16 "$WHL_A" "$WHL_B" "$WHL_C" >/dev/null
  cp "$REG/1.root.json" "$ROOT"
  b=bin-$(python3 -c 'import hashlib; print(hashlib.sha256(b"six-1.16.0-py3-none-any.whl").hexdigest()[0])')
  sed -i 's/"length": [0-9]*/"length": 1/' "$REG/1.$b.json"
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "$b.json: signature threshold not met"
  [ ! -d "$STATE" ] || [ ! -e "$STATE/delegated/$b.json" ]
}
