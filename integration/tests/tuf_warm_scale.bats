#!/usr/bin/env bats
# pylock-test: once
# The TUF client's warm path (issue 14), the real binary over nginx: with
# nothing published since, an update reads the timestamp alone, whatever
# the layout (hashed bins with consistent snapshots, or one targets.json
# without), and trusts the snapshot it verified before through the record
# it kept of it, without parsing it; a lookup reads its bin's entry from the
# kept index.  Attacks: a snapshot swapped under an unchanged timestamp and
# an older timestamp replayed are refused, and nothing kept changes; a kept
# record, index or snapshot damaged (a crash, a disk, another process) is
# never trusted: verified again, fetched again, and repaired.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"
load bins_helpers

setup_file() {
  bins_fixture
}

teardown_file() {
  nginx_stop
}

setup() {
  bins_setup
  SIX=six-1.16.0-py3-none-any.whl
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# make_single WHEEL...: $REG with one targets.json, no consistent snapshots.
make_single() {
  "$PL" -q registry init "$REG" --key "$OFF" --no-project-index
  "$PL" -q registry add "$REG" --key "$OFF" "$@"
  cp "$REG/1.root.json" "$ROOT"
}

verify() {
  run --separate-stderr timeout 60 "$PL" registry verify "$URL" "$@" --root "$ROOT" --state "$STATE"
}

# Every file of the state directory ("SHA256  PATH"), sorted.
state_digest() {
  (cd "$STATE" && find . -type f -exec sha256sum {} + | sort -k2)
}

# The same but the snapshot's record (it notes the kept file's inode and
# times, which a rewrite changes), and a check that the record names the
# kept snapshot's bytes.
state_digest_but_record() {
  state_digest | grep -v ' ./snapshot.record$'
  python3 - "$STATE" <<'EOF'
import hashlib, json, sys
rec = json.load(open(sys.argv[1] + "/snapshot.record"))
raw = open(sys.argv[1] + "/snapshot.json", "rb").read()
assert rec["snapshot"]["sha256"] == hashlib.sha256(raw).hexdigest(), rec
EOF
}

# The registry's metadata nginx served for this test since the log was
# cleared, but the probe for a next root version (TUF 5.3), absent here.
clear_log() { : >"$NGINX_DIR/access.log"; }
served() {
  grep -o "GET /$NAME/[^ ]*" "$NGINX_DIR/access.log" | sed "s|GET /$NAME/||" |
    grep -v '^[0-9]*\.root\.json$' | sort
}

# The file name the current timestamp gives the snapshot.
snapshot_file() {
  python3 -c 'import json,sys; print("%d.snapshot.json" % json.load(open(sys.argv[1]))["signed"]["meta"]["snapshot.json"]["version"])' "$REG/timestamp.json"
}

@test "warm_update_of_a_binned_registry_reads_only_the_timestamp_and_looks_up_from_the_kept_index" {
  make_binned "$WHL_A" "$WHL_B" "$WHL_C"
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -s "$STATE/snapshot.record" ] && [ -s "$STATE/snapshot.index" ]
  clear_log
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  sha=$(sha256sum "$WHL_B" | cut -d' ' -f1)
  assert_contains "$output" "target: $SIX $(stat -c %s "$WHL_B") sha256:$sha"
  assert_eq "$(served | grep -v '^targets/')" "timestamp.json"
}

@test "warm_update_of_a_single_targets_registry_without_consistent_snapshots_reads_only_the_timestamp" {
  make_single "$WHL_A" "$WHL_B"
  python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["signed"]["consistent_snapshot"] is False' "$REG/root.json"
  verify
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  clear_log
  verify
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 4"
  assert_eq "$(served)" "timestamp.json"
  # A publication: the new snapshot and targets are read, then kept.
  "$PL" -q registry add "$REG" --key "$OFF" "$WHL_C"
  clear_log
  verify
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 6"
  assert_eq "$(served)" "$(printf '%s\n' snapshot.json targets.json timestamp.json)"
  clear_log
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(served | grep -v '^targets/')" "timestamp.json"
}

@test "a_snapshot_swapped_under_an_unchanged_timestamp_is_not_used_and_nothing_kept_changes" {
  make_binned "$WHL_A" "$WHL_B"
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  before=$(state_digest)
  # A mirror serves, under the timestamp it served before, a snapshot
  # naming every bin at a version it does not have.
  snap=$(snapshot_file)
  python3 - "$REG/$snap" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
for k, v in d["signed"]["meta"].items():
    if k.startswith("bins-"):
        v["version"] = 99
json.dump(d, open(sys.argv[1], "w"))
EOF
  clear_log
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(served | grep -v '^targets/')" "timestamp.json"
  assert_eq "$(state_digest)" "$before"
  # Once the state is gone, the swapped snapshot is fetched, and refused.
  rm -rf "$STATE"
  verify --target "$SIX"
  [ "$status" -ne 0 ]
  [[ "$stderr" =~ "$snap: "(length|sha256)" mismatch" ]] || { echo "$stderr"; return 1; }
  [ ! -e "$STATE" ]
}

@test "an_older_timestamp_replayed_is_refused_and_nothing_kept_changes" {
  make_binned "$WHL_A"
  cp "$REG/timestamp.json" "$BATS_TEST_TMPDIR/old-timestamp.json"
  verify --target idna-3.3-py3-none-any.whl
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  "$PL" -q registry add "$REG" --key "$ON" "$WHL_B"
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  before=$(state_digest)
  cp "$BATS_TEST_TMPDIR/old-timestamp.json" "$REG/timestamp.json"
  verify --target "$SIX"
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "timestamp.json: version rollback"
  assert_eq "$(state_digest)" "$before"
}

@test "a_damaged_record_index_or_kept_snapshot_is_verified_again_and_repaired" {
  make_binned "$WHL_A" "$WHL_B"
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  before=$(state_digest)
  # The index cut short (a crash), the record's expiry edited (another
  # process): neither is trusted; both are written again, as they were.
  head -c 100 "$STATE/snapshot.index" >"$STATE/snapshot.index.new"
  mv "$STATE/snapshot.index.new" "$STATE/snapshot.index"
  sed -i 's/"expires":[0-9]*/"expires":4102444800/' "$STATE/snapshot.record"
  clear_log
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(state_digest)" "$before"
  # The kept snapshot changed under its record: fetched and verified again.
  before=$(state_digest_but_record)
  printf 'x' >>"$STATE/snapshot.json"
  clear_log
  verify --target "$SIX"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$(served)" "$(snapshot_file)"
  assert_eq "$(state_digest_but_record)" "$before"
}
