#!/usr/bin/env bats
# pylock-test: once
# What a registry maintainer signs again is what was signed: a target
# written into the registry's directory by anyone who can write it (code
# in a sandbox of a project that holds it, the object store it is synced
# from) is signed by none of `pylock registry add`, `index`, `withdraw`,
# nor by `sign` without --accept-edits, and a client refuses the planted
# wheel.  Withdrawing is `registry withdraw`; hand edits go through `sign`,
# which lists them.  Each attack asserts that it failed and that nothing
# changed (the registry byte for byte).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load registry_forge

setup_file() {
  fixture_wheels
}

setup() {
  # The maintainer's configuration and state (what pylock last signed of
  # each registry is kept there), fresh for each test.
  maintainer
  KEY="$XDG_CONFIG_HOME/pylock/keys/default.key"
  "$PL" key generate >/dev/null
  REG="$BATS_TEST_TMPDIR/reg"
}

teardown() {
  # The state's cache holds read-only trees.
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# make_reg [INIT-OPTION...]: a registry publishing six.
make_reg() {
  "$PL" -q registry init "$REG" "$@"
  "$PL" -q registry add "$REG" "$SIX"
  mkdir -p "$XDG_CONFIG_HOME/roots" && cp "$REG/1.root.json" "$XDG_CONFIG_HOME/roots/root.json"
}

# assert_changed_refused FILE: exit 1 naming FILE as changed since it was
# signed, and the way out.
assert_changed_refused() {
  [ "$status" -eq 1 ] || { echo "expected exit 1, got $status: ${stderr:-$output}"; return 1; }
  assert_contains "$stderr" "$1 changed since it was signed"
  assert_contains "$stderr" "nothing was signed"
  if [ "$1" = root.json ]; then
    # Root is never signed again as found: the way out is your own copy.
    assert_contains "$stderr" "restore root.json and the N.root.json files from your own copy"
    assert_contains "$stderr" "pylock registry sign $REG --add-root-key"
    return
  fi
  assert_contains "$stderr" "pylock registry sign"
  assert_contains "$stderr" "pylock registry withdraw"
}

# assert_no_routine_signs FILE: add, index and withdraw each refuse,
# naming FILE, and leave the registry byte for byte as it was.
assert_no_routine_signs() {
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  assert_changed_refused "$1"
  run --separate-stderr "$PL" registry index "$REG"
  assert_changed_refused "$1"
  run --separate-stderr "$PL" registry withdraw "$REG" six==1.16.0
  assert_changed_refused "$1"
  assert_eq "$(reg_digest)" "$before"
}

# A client of the registry, anchored to its first root.
client() {
  "$PL" -q init --python "$PY" --registry "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" "$1"
}

@test "attack: a target written into targets.json is signed by none of add, index, withdraw, nor sign" {
  make_reg
  client "$BATS_TEST_TMPDIR/proj"
  run forge add "$IDNA"
  assert_eq "$output" "targets.json"
  assert_no_routine_signs targets.json
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "sign signed the planted target: $stderr"; return 1; }
  assert_contains "$stderr" "ADDED by hand: $IDNAW (targets.json)"
  assert_contains "$stderr" "--accept-edits"
  assert_eq "$(reg_digest)" "$before"
  # A client refuses it.
  run --separate-stderr "$PL" -C "$BATS_TEST_TMPDIR/proj" install idna
  [ "$status" -ne 0 ] || { echo "the planted wheel was installed"; return 1; }
  assert_contains "$stderr" "targets.json"
  [ -z "$(find -L "$(layer_dir "$BATS_TEST_TMPDIR/proj")" -name 'idna*' 2>/dev/null)" ]
}

@test "attack: a changed hash of a published target is signed by none of add, index, withdraw, nor sign" {
  make_reg
  client "$BATS_TEST_TMPDIR/proj"
  # six's entry and file become idna's bytes.
  run forge rehash "$SIXW" "$IDNA"
  assert_eq "$output" "targets.json"
  cp "$IDNA" "$REG/targets/$SIXW"
  assert_no_routine_signs targets.json
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "sign signed the changed target: $stderr"; return 1; }
  assert_contains "$stderr" "CHANGED by hand: $SIXW (targets.json)"
  assert_eq "$(reg_digest)" "$before"
  run --separate-stderr "$PL" -C "$BATS_TEST_TMPDIR/proj" install six
  [ "$status" -ne 0 ] || { echo "the changed wheel was installed"; return 1; }
  assert_contains "$stderr" "targets.json"
}

@test "attack: a target written into a hashed bin is signed by none of add, index, withdraw, nor sign" {
  make_reg --bins 4
  client "$BATS_TEST_TMPDIR/proj"
  local bin
  bin=$(forge add "$IDNA")
  [[ "$bin" == *.bins-*.json ]] || { echo "forged into $bin"; return 1; }
  assert_no_routine_signs "$bin"
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "sign signed the planted target: $stderr"; return 1; }
  assert_contains "$stderr" "ADDED by hand: $IDNAW ($bin)"
  assert_eq "$(reg_digest)" "$before"
  run --separate-stderr "$PL" -C "$BATS_TEST_TMPDIR/proj" install idna
  [ "$status" -ne 0 ] || { echo "the planted wheel was installed"; return 1; }
  [ -z "$(find -L "$(layer_dir "$BATS_TEST_TMPDIR/proj")" -name 'idna*' 2>/dev/null)" ]
  # Looked up by name, the bin that lists it fails its signature check.
  run --separate-stderr "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --target "$IDNAW"
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_contains "$stderr" "${bin#*.}"
}

@test "attack: a root replaced in place, or a whole older registry put back, is refused" {
  make_reg
  cp -a "$REG" "$BATS_TEST_TMPDIR/reg-then"
  # Another key for targets in root.json: its signature no longer holds.
  python3 - "$REG/root.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signed"]["roles"]["targets"]["keyids"].append("ab" * 32)
json.dump(d, open(sys.argv[1], "w"))
PY
  assert_no_routine_signs root.json
  run --separate-stderr "$PL" registry sign "$REG" --renew-root
  assert_changed_refused root.json
  # The registry moves on, then its older signed copy is put back in place.
  cp "$BATS_TEST_TMPDIR/reg-then/root.json" "$REG/root.json"
  "$PL" -q registry add "$REG" "$CERTIFI"
  rm -rf "$REG" && cp -a "$BATS_TEST_TMPDIR/reg-then" "$REG"
  local before cmd
  before=$(reg_digest)
  for cmd in "add $REG $CERTIFI" "index $REG" "withdraw $REG six==1.16.0" "sign $REG"; do
    # shellcheck disable=SC2086 # the words of each command
    run --separate-stderr "$PL" registry $cmd
    [ "$status" -eq 1 ] || { echo "$cmd: status $status: $stderr"; return 1; }
    assert_contains "$stderr" "timestamp.json changed since it was signed (version 2, older than version 3"
    assert_contains "$stderr" "if you put an older copy of the registry back yourself, remove"
  done
  assert_eq "$(reg_digest)" "$before"
  # The maintainer's own backup: with the record removed, as the hint says.
  rm -r "$XDG_STATE_HOME/pylock/published"
  "$PL" -q registry add "$REG" "$CERTIFI"
}

@test "withdraw takes a wheel out, signed, and clients refuse it even from a warm cache" {
  make_reg
  "$PL" -q registry add "$REG" "$IDNA"
  local P="$BATS_TEST_TMPDIR/proj"
  client "$P"
  "$PL" -q -C "$P" install six idna
  cp "$P/pylock.toml" "$BATS_TEST_TMPDIR/lock"
  run --separate-stderr "$PL" registry withdraw "$REG" six==1.16.0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "withdrawn: $SIXW (targets.json)"
  assert_contains "$stderr" "withdrawn: $SIXW.metadata (targets.json)"
  [ ! -e "$REG/targets/$SIXW" ] && [ ! -e "$REG/targets/$SIXW.metadata" ]
  run --separate-stderr "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  assert_contains "$output" "target-count: 4" # idna, its .metadata, its page, the marker
  run --separate-stderr "$PL" -C "$P" sync
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$SIXW is not signed by"
  # By file name too; an unknown one changes nothing.
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry withdraw "$REG" "$SIXW"
  [ "$status" -eq 1 ] && assert_contains "$stderr" "$SIXW is not published"
  assert_eq "$(reg_digest)" "$before"
  "$PL" -q registry withdraw "$REG" "$FIX/wheels/$IDNAW"
  run "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_contains "$output" "target-count: 1" # the marker
}

@test "withdraw with hashed bins drops the wheel from its bin and its page" {
  make_reg --bins 4
  "$PL" -q registry add "$REG" "$IDNA"
  run --separate-stderr "$PL" registry withdraw "$REG" "$SIXW"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "withdrawn: $SIXW (bins-"
  run --separate-stderr "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  assert_contains "$output" "target-count: 4"
  run --separate-stderr "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --target "$SIXW"
  [ "$status" -eq 1 ]
}

@test "a target removed by hand is signed by sign, which lists it" {
  make_reg
  "$PL" -q registry add "$REG" "$IDNA"
  python3 - "$REG/targets.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for name in [n for n in d["signed"]["targets"] if n.startswith("six-") or n == "simple/six/index.json"]:
    del d["signed"]["targets"][name]
json.dump(d, open(sys.argv[1], "w"))
PY
  rm "$REG/targets/$SIXW"*
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "removed by hand: $SIXW (targets.json)"
  assert_contains "$stderr" "removed by hand: $SIXW.metadata (targets.json)"
  run --separate-stderr "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  # Signed: the routine commands work on it again.
  "$PL" -q registry add "$REG" "$CERTIFI"
}

@test "sign --accept-edits signs a target added by hand, and lists it" {
  make_reg
  forge add "$IDNA" >/dev/null
  run --separate-stderr "$PL" registry sign "$REG" --accept-edits
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "ADDED by hand: $IDNAW (targets.json)"
  run --separate-stderr "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --target "$IDNAW"
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  "$PL" -q registry add "$REG" "$CERTIFI"
}

@test "without a record of what was signed, sign takes no hand edit unseen; add still works" {
  make_reg
  # As if signed on another machine: no record in this state root.
  rm -rf "$XDG_STATE_HOME/pylock/published"
  "$PL" -q registry add "$REG" "$IDNA"
  rm -rf "$XDG_STATE_HOME/pylock/published"
  python3 - "$REG/targets.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
del d["signed"]["targets"]["idna-3.3-py3-none-any.whl.metadata"]
json.dump(d, open(sys.argv[1], "w"))
PY
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "no record"
  assert_contains "$stderr" "ADDED by hand: $SIXW (targets.json)"
  assert_eq "$(reg_digest)" "$before"
  "$PL" -q registry sign "$REG" --accept-edits 2>/dev/null
  run "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "attack: with no record here, a root a writer put in is not signed under" {
  make_reg
  cp -a "$REG" "$BATS_TEST_TMPDIR/reg-then"
  # The maintainer's first command on a new machine (no record of this
  # registry in its state); before it, whoever writes the directory put in
  # a root adding a key of theirs to every role, signed by that key, and a
  # targets.json listing their wheel under it.
  rm -rf "$XDG_STATE_HOME/pylock/published"
  take_over "$IDNA"
  local before cmd
  before=$(reg_digest)
  for cmd in "add $REG $CERTIFI" "index $REG" "withdraw $REG six==1.16.0" "sign $REG --accept-edits" \
    "add $REG --root $XDG_CONFIG_HOME/roots/root.json $CERTIFI"; do
    # shellcheck disable=SC2086 # the words of each command
    run --separate-stderr "$PL" registry $cmd
    [ "$status" -eq 1 ] || { echo "$cmd: signed under the planted root: $stderr"; return 1; }
    assert_contains "$stderr" "root.json"
    assert_contains "$stderr" "nothing was signed"
  done
  # (--root: 2.root.json is no rotation from the root given: not signed by its keys)
  assert_contains "$stderr" "2.root.json: signature threshold not met"
  assert_eq "$(reg_digest)" "$before"
  # Without --root, the refusal says why and how to name the root you keep.
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  assert_contains "$stderr" "not signed by any key you gave"
  assert_contains "$stderr" "--root YOUR-ROOT.json"
  # Their key put in under the keyid of the maintainer's root key: root's
  # own key table then vouches for their signature, the maintainer's key
  # does not.
  rm -rf "$REG" && cp -a "$BATS_TEST_TMPDIR/reg-then" "$REG"
  take_over "$IDNA" as-yours
  before=$(reg_digest)
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "signed under the planted root: $stderr"; return 1; }
  assert_contains "$stderr" "not signed by any key you gave"
  assert_eq "$(reg_digest)" "$before"
  # The registry as the maintainer left it, still with no record: its root
  # bears the maintainer's signature, so routine changes go on.
  rm -rf "$REG" && cp -a "$BATS_TEST_TMPDIR/reg-then" "$REG"
  "$PL" -q registry add "$REG" "$CERTIFI"
  run "$PL" registry verify "$REG" --root "$XDG_CONFIG_HOME/roots/root.json" --targets
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "with no record and root held offline, add needs the root you keep (--root or --trusted)" {
  local online="$XDG_CONFIG_HOME/pylock/keys/online.key"
  "$PL" key generate -o "$online" >/dev/null
  # Root and targets held by the default key (offline); the bins, snapshot
  # and timestamp online: add signs with the online key alone.
  "$PL" -q registry init "$REG" --bins 4 --online-key "$online"
  "$PL" -q registry add "$REG" --key "$online" "$SIX"
  mkdir -p "$XDG_CONFIG_HOME/roots" && cp "$REG/1.root.json" "$XDG_CONFIG_HOME/roots/root.json"
  rm -rf "$XDG_STATE_HOME/pylock/published"
  local before
  before=$(reg_digest)
  run --separate-stderr "$PL" registry add "$REG" --key "$online" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "no record of signing it here"
  assert_eq "$(reg_digest)" "$before"
  "$PL" -q registry add "$REG" --key "$online" --root "$XDG_CONFIG_HOME/roots/root.json" "$CERTIFI"
  # A record from then on: the anchor is no longer needed.
  "$PL" -q registry add "$REG" --key "$online" "$IDNA"
  rm -rf "$XDG_STATE_HOME/pylock/published"
  "$PL" -q trust add "$XDG_CONFIG_HOME/roots/root.json" --name mine
  "$PL" -q registry withdraw "$REG" --key "$online" --trusted mine idna==3.3
  run "$PL" registry verify "$REG" --trusted mine --targets
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "registry withdraw --help names the command and its arguments" {
  run "$PL" registry --help
  [ "$status" -eq 0 ]
  assert_contains "$output" "pylock registry withdraw DIR"
  assert_contains "$output" "NAME==VERSION"
  assert_contains "$output" "--accept-edits"
  run --separate-stderr "$PL" registry withdraw "$REG"
  [ "$status" -eq 2 ]
}
