#!/usr/bin/env bats
# pylock-test: once
# `registry verify` and `verify --targets` walk a hashed-bin registry one
# role at a time (issue 14: bounded memory): every bin verified with the
# keys of its delegation, at the version snapshot lists, unexpired, then its
# targets checked (files over nginx, pages, .metadata) before the next bin.
# Every attack the whole-registry load refused is still refused, naming the
# bin or file: a bin signed by a key its delegation does not list, a target
# listed outside its bin, a rolled-back or expired bin, a file whose bytes
# differ from its signed hash, an endless chain of delegations, a loop.
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

reg_digest() {
  (cd "$REG" && find . -type f -exec sha256sum {} + | sort -k2)
}

verify() {
  run --separate-stderr timeout 120 "$PL" registry verify "$@" --root "$ROOT" --state "$STATE"
}

@test "streaming_verify_checks_every_target_of_every_bin" {
  make_binned "$WHL_A" "$WHL_B" "$WHL_C"
  clear_log
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # 3 wheels, their .metadata and pages, and the layout marker.
  assert_contains "$output" "target-count: 10"
  assert_contains "$output" "verified: 10 targets"
  assert_contains "$output" "verified-wheels: 3"
  # Every bin was read, and every file: nothing skipped.
  [ "$(served | grep -c '^[0-9]*\.bins-[0-9a-f]\.json$')" -ge 16 ]
  for w in "$WHL_A" "$WHL_B" "$WHL_C"; do
    served | grep -q "^targets/[0-9a-f]*\.$(basename "$w")$" || { echo "$w not read"; return 1; }
  done
  # Each bin was fetched once (lookups of siblings in other bins read what
  # the walk staged), and kept once the whole run passed: the next verify
  # reads none of them again.
  [ "$(served | grep -c 'bins-')" -eq 16 ]
  [ -f "$STATE/delegated/bins-0.json" ] && [ ! -e "$STATE/delegated.walk" ]
  clear_log
  verify "$URL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 10"
  [ "$(served | grep -c 'bins-')" -eq 0 ]
}

@test "attack_a_bin_signed_by_a_key_its_delegation_does_not_list_is_refused_by_name" {
  make_binned "$WHL_A" "$WHL_B"
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  b=$(bin_of six-1.16.0-py3-none-any.whl)
  # The offline targets key: a key of the registry, not of the bins.
  tuf_tool resign "$REG/$(listed "$b").$b.json" --key "$OFF"
  # Forget the verified bins kept (snapshot did not change: they would answer).
  rm -rf "$STATE/delegated"
  state_before=$(state_digest)
  for mode in "" --targets; do
    verify "$URL" $mode
    [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
    assert_contains "$stderr" "$b.json: signature threshold not met"
    assert_eq "$(state_digest)" "$state_before"
  done
}

@test "attack_a_target_listed_outside_its_bin_is_reported_naming_the_bin" {
  make_binned "$WHL_A" "$WHL_B"
  t=idna-3.3-py3-none-any.whl
  list_in_next_bin "$t" "$WHL_B"
  clear_log
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "$other.json lists $t, which is not delegated to it: not a target"
  assert_contains "$stderr" "no signed wheel $t to check it against"
  assert_contains "$output" "target-count: 6" # not counted
  if served | grep -q "targets/$evil_sha.$t"; then echo "the evil target was served"; return 1; fi
  # Plain verify does not count it either.
  verify "$URL"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 6"
}

@test "attack_a_rolled_back_bin_is_refused" {
  make_binned "$WHL_A"
  "$PL" -q registry sign "$REG" --key "$ON" # every bin at version 2
  verify "$URL" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  state_before=$(state_digest)
  b=$(bin_of idna-3.3-py3-none-any.whl)
  old=$(($(listed "$b") - 1))
  republish_snapshot "$b=$old"
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "$b.json version rollback"
  assert_eq "$(state_digest)" "$state_before"
}

@test "attack_an_expired_bin_is_refused_by_name" {
  make_binned "$WHL_A" "$WHL_B"
  b=$(bin_of six-1.16.0-py3-none-any.whl)
  v=$(listed "$b")
  python3 - "$REG/$v.$b.json" "$REG/$((v + 1)).$b.json" <<'EOF'
import json, sys
src, dst = sys.argv[1:]
d = json.load(open(src))
d["signed"]["version"] += 1
d["signed"]["expires"] = "2001-01-01T00:00:00Z"
json.dump(d, open(dst, "w"))
EOF
  tuf_tool resign "$REG/$((v + 1)).$b.json" --key "$ON"
  republish_snapshot "$b=$((v + 1))"
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "$((v + 1)).$b.json: expired"
  [ ! -e "$STATE/delegated/$b.json" ]
}

@test "attack_a_file_whose_bytes_differ_from_its_signed_hash_is_reported_and_the_rest_checked" {
  make_binned "$WHL_A" "$WHL_B" "$WHL_C"
  f=$(ls "$REG"/targets/*.six-1.16.0-py3-none-any.whl)
  # Same length, one byte changed in the middle.
  python3 - "$f" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0xff
open(p, "wb").write(b)
EOF
  before=$(reg_digest)
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "six-1.16.0-py3-none-any.whl: sha256 mismatch"
  assert_contains "$output" "failed: 1 of 10 targets"
  assert_eq "$(reg_digest)" "$before"
}

@test "attack_an_endless_chain_of_delegations_is_refused_and_a_loop_ends" {
  tuf_tool make-registry "$REG" --chain 40 "$WHL_A" >/dev/null
  cp "$REG/1.root.json" "$ROOT"
  clear_log
  for mode in "" --targets; do
    verify "$URL" $mode
    [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
    assert_contains "$stderr" "more than 32 delegated roles visited"
  done
  [ "$(served | grep -c '^1\.r[0-9]*\.json$')" -le 66 ] # 33 a run, no more
  if served | grep -q "targets/.*idna"; then echo "an idna target was served"; return 1; fi
  rm -rf "$REG" "$STATE"
  tuf_tool make-registry "$REG" --chain 3 --loop "$WHL_A" >/dev/null # r0 -> r1 -> r2 -> r0
  cp "$REG/1.root.json" "$ROOT"
  # The walk visits each role once and ends; the lookup of a target whose
  # search runs into the loop is refused, as before.
  verify "$URL" --targets
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "delegation loop: r2 delegates back to r0"
}
