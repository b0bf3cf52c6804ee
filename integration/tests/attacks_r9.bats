#!/usr/bin/env bats
# pylock-test: once
# Attacks on the root `pylock registry add/index/withdraw/sign` anchor to
# when pylock has no record of signing the registry here (a new machine, a
# fresh CI runner), by anyone who can write the registry's directory and
# holds a key the maintainer removed from root: an older root of the
# maintainer's own put back bears the maintainer's signature too.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load registry_forge

setup_file() {
  fixture_wheels
}

setup() {
  # Keys, roots and the registry where pylock accepts them: in the home,
  # never under /tmp, where every sandbox writes.
  H=$(mktemp -d "$HOME/r9.XXXXXX")
  maintainer "$H/config"
  "$PL" key generate >/dev/null
  REG="$H/reg"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" "$H" 2>/dev/null || true
  rm -rf "$H"
}

# removed_key_reg: a registry whose root went 1 (your key), 2 (a second
# root key, $OTHER, added), 3 ($OTHER removed: say, it leaked); your first
# root kept outside as $TRUST/1.root.json, the newest as $TRUST/3.root.json.
removed_key_reg() {
  OTHER="$XDG_CONFIG_HOME/pylock/keys/other.key" TRUST="$H/trust"
  "$PL" key generate -o "$OTHER" >/dev/null
  "$PL" -q registry init "$REG"
  "$PL" -q registry add "$REG" "$SIX"
  "$PL" -q registry sign "$REG" --add-root-key "$OTHER"
  OTHER_ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["roles"]["root"]["keyids"][-1])' "$REG/2.root.json")
  "$PL" -q registry sign "$REG" --remove-root-key "$OTHER_ID"
  mkdir -p "$TRUST" && cp "$REG/1.root.json" "$REG/3.root.json" "$TRUST/"
}

# put_back_root N: what whoever holds the removed key and writes the
# directory does before the maintainer's next command on a machine with
# no record: root N (authentic, signed by the maintainer) as root.json,
# the roots after it removed.
put_back_root() {
  rm -rf "$XDG_STATE_HOME/pylock/published"
  cp "$REG/$1.root.json" "$REG/root.json"
  rm -f "$REG/3.root.json"
}

# assert_no_removed_key: no root in the registry lists $OTHER_ID but 2.
assert_no_removed_key() {
  local f
  for f in "$REG"/root.json "$REG"/[3-9].root.json; do
    [ -e "$f" ] || continue
    if grep -q "$OTHER_ID" "$f" && ! cmp -s "$f" "$REG/2.root.json"; then
      echo "$f lists the removed key again"
      return 1
    fi
  done
}

@test "attack: an older root of yours put back does not give a removed key its role again" {
  removed_key_reg
  cp -a "$REG" "$BATS_TEST_TMPDIR/reg-then"
  put_back_root 2
  local before
  before=$(reg_digest)
  # With no root given: root.json bears your signature, and lists a key you
  # did not give.
  run --separate-stderr "$PL" registry sign "$REG" --renew-root
  [ "$status" -eq 1 ] || { echo "signed under the older root: $stderr"; return 1; }
  assert_contains "$stderr" "gives a role to key ${OTHER_ID:0:16}"
  assert_contains "$stderr" "an older root of yours"
  assert_contains "$stderr" "--root YOUR-ROOT.json"
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "signed under the older root: $stderr"; return 1; }
  assert_contains "$stderr" "nothing was signed"
  assert_eq "$(reg_digest)" "$before"
  # With your first root given: 2.root.json is a rotation from it, but a
  # new root may not carry forward the key neither it nor you hold.
  run --separate-stderr "$PL" registry sign "$REG" --renew-root --root "$TRUST/1.root.json"
  [ "$status" -eq 1 ] || { echo "signed a root listing the removed key: $stderr"; return 1; }
  assert_contains "$stderr" "the new root would give a role to key ${OTHER_ID:0:16}"
  assert_contains "$stderr" "the root you gave (version 1)"
  assert_contains "$stderr" "give the newest root you signed"
  assert_eq "$(reg_digest)" "$before"
  # add signs no root; the record it leaves is the root you gave, not the
  # older one it found, so the next sign still refuses.
  "$PL" -q registry add "$REG" --root "$TRUST/1.root.json" "$CERTIFI"
  run --separate-stderr "$PL" registry sign "$REG" --renew-root
  [ "$status" -eq 1 ] || { echo "the record took the older root: $stderr"; return 1; }
  assert_contains "$stderr" "the root pylock last signed (version 1)"
  assert_no_removed_key
  # Your newest root given: the older one is refused outright.
  run --separate-stderr "$PL" registry sign "$REG" --renew-root --root "$TRUST/3.root.json"
  [ "$status" -eq 1 ] || { echo "signed under the older root: $stderr"; return 1; }
  assert_contains "$stderr" "root.json changed since it was signed"
  assert_contains "$stderr" "your own copy of the newest root you signed"
  assert_no_removed_key
  # The registry as you left it, with no record: sign goes on.
  rm -rf "$REG" "$XDG_STATE_HOME/pylock/published" && cp -a "$BATS_TEST_TMPDIR/reg-then" "$REG"
  "$PL" -q registry sign "$REG" --renew-root
  "$PL" -q registry sign "$REG" --renew-root --root "$TRUST/1.root.json"
  assert_no_removed_key
  run "$PL" registry verify "$REG" --root "$TRUST/1.root.json" --targets
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "attack: the root of another registry signed with your key is not taken without a record" {
  # Your key signs two registries; the other one's root also lists a key
  # someone else holds (theirs, given its roles at init).
  local theirs="$XDG_CONFIG_HOME/pylock/keys/theirs.key" other="$BATS_TEST_TMPDIR/other-reg"
  "$PL" key generate -o "$theirs" >/dev/null
  "$PL" -q registry init "$REG"
  "$PL" -q registry add "$REG" "$SIX"
  "$PL" -q registry init "$other" --key "$XDG_CONFIG_HOME/pylock/keys/default.key" --key "$theirs"
  rm -rf "$XDG_STATE_HOME/pylock/published"
  cp "$other/root.json" "$REG/root.json"
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry sign "$REG" --accept-edits
  [ "$status" -eq 1 ] || { echo "signed under the other registry's root: $stderr"; return 1; }
  assert_contains "$stderr" "which you did not give"
  assert_eq "$(reg_digest)" "$before"
}

@test "attack: a root signed by the key being added is not the maintainer's word" {
  # Someone whose key you are about to add to root (sign --add-root-key)
  # writes the directory first: a root listing their key in every role,
  # signed by it alone, and their targets.
  local theirs="$XDG_CONFIG_HOME/pylock/keys/theirs.key"
  "$PL" key generate -o "$theirs" >/dev/null
  "$PL" -q registry init "$REG"
  "$PL" -q registry add "$REG" "$SIX"
  rm -rf "$XDG_STATE_HOME/pylock/published"
  TAKE_OVER_KEY="$theirs" take_over "$IDNA"
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry sign "$REG" --add-root-key "$theirs"
  [ "$status" -eq 1 ] || { echo "signed their root: $stderr"; return 1; }
  assert_contains "$stderr" "not signed by any key you gave"
  assert_eq "$(reg_digest)" "$before"
}

@test "attack: a --root inside the registry directory, or others can change, is no anchor" {
  removed_key_reg
  put_back_root 2
  local before
  before=$(reg_digest)
  mkdir -p "$H/elsewhere"
  ln -s "$REG/1.root.json" "$H/elsewhere/root.json"
  local root
  for root in "$REG/2.root.json" "$REG/targets/../root.json" "$H/elsewhere/root.json"; do
    run --separate-stderr "$PL" registry add "$REG" --root "$root" "$CERTIFI"
    [ "$status" -eq 1 ] || { echo "$root: anchored inside the registry: $stderr"; return 1; }
    assert_contains "$stderr" "is inside the registry directory"
    assert_contains "$stderr" "give the copy of your root you keep outside"
  done
  # Nor one that another user could change (a shared directory).
  mkdir -p "$BATS_TEST_TMPDIR/shared" && cp "$TRUST/3.root.json" "$BATS_TEST_TMPDIR/shared/root.json"
  chmod 0777 "$BATS_TEST_TMPDIR/shared"
  run --separate-stderr "$PL" registry add "$REG" --root "$BATS_TEST_TMPDIR/shared/root.json" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "anchored to a root others can change: $stderr"; return 1; }
  assert_contains "$stderr" "another user could replace what is below it"
  # Nor one code pylock runs could replace: under /tmp (every sandbox
  # writes there), or in a project (its own sandboxes write there).
  mkdir -p "$BATS_TEST_TMPDIR/mine" "$H/app"
  cp "$TRUST/3.root.json" "$BATS_TEST_TMPDIR/mine/root.json"
  run --separate-stderr "$PL" registry add "$REG" --root "$BATS_TEST_TMPDIR/mine/root.json" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "anchored to a root in /tmp: $stderr"; return 1; }
  assert_contains "$stderr" "which code in any of your pylock sandboxes can write"
  touch "$H/app/pylock.toml" && cp "$TRUST/3.root.json" "$H/app/root.json"
  run --separate-stderr "$PL" registry add "$REG" --root "$H/app/root.json" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "anchored to a root in a project: $stderr"; return 1; }
  assert_contains "$stderr" "which code in its sandboxes can change"
  assert_eq "$(reg_digest)" "$before"
  # Your copy outside, or a trusted root, anchors: the older root put
  # back is refused for being older than it, not for where the root lies.
  "$PL" -q trust add "$TRUST/3.root.json" --name mine
  run --separate-stderr "$PL" registry add "$REG" --trusted mine "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "signed under the older root: $stderr"; return 1; }
  assert_contains "$stderr" "root.json changed since it was signed"
  cp "$TRUST/3.root.json" "$REG/root.json" && cp "$TRUST/3.root.json" "$REG/3.root.json"
  "$PL" -q registry add "$REG" --trusted mine "$CERTIFI"
}
