#!/usr/bin/env bats
# pylock-test: once
# Attacks on what `pylock registry add/index/withdraw/sign` sign again,
# by anyone who can write the registry's directory or the directories
# above it (code in a sandbox of a project that holds it, an object store).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load registry_forge

setup_file() {
  fixture_wheels
}

setup() {
  maintainer
  "$PL" key generate >/dev/null
  # The registry sits below a directory a sandbox can write (a project's).
  PROJ="$BATS_TEST_TMPDIR/proj"
  REG="$PROJ/pub/reg"
  mkdir -p "$PROJ/pub"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

make_reg() {
  "$PL" -q registry init "$REG" "$@"
  "$PL" -q registry add "$REG" "$SIX"
}

@test "attack: a directory above the registry swapped for a link does not shed pylock's record" {
  make_reg
  cp -a "$REG" "$BATS_TEST_TMPDIR/then"
  "$PL" -q registry withdraw "$REG" six==1.16.0
  # The attacker puts the older registry (six still published) back, under
  # another real path: pub becomes a link to a directory of theirs.
  mkdir "$PROJ/other"
  cp -a "$BATS_TEST_TMPDIR/then" "$PROJ/other/reg"
  mv "$PROJ/pub" "$PROJ/pub.was"
  ln -s other "$PROJ/pub"
  local before
  before=$(reg_digest "$PROJ/other/reg")
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "signed the older registry put back: $status $stderr"; return 1; }
  assert_contains "$stderr" "timestamp.json changed since it was signed"
  assert_eq "$(reg_digest "$PROJ/other/reg")" "$before"
}

@test "attack: a target added by hand is listed by sign even after 200 removals" {
  make_reg --bins 4
  # The maintainer removed many targets by hand from every bin (here: what
  # pylock recorded as signed lists 201 more per bin, and each bin's
  # signature no longer holds, as after an edit).
  python3 - "$REG" "$XDG_STATE_HOME/pylock/published" <<'PY'
import glob, json, os, sys
reg, pub = sys.argv[1:3]
for rec in glob.glob(pub + "/*/bins-*.json"):
    d = json.load(open(rec))
    for i in range(201):
        d["signed"]["targets"]["gone-%d-1.0-py3-none-any.whl" % i] = {
            "hashes": {"sha256": "00" * 32}, "length": 1}
    json.dump(d, open(rec, "w"))
    role = os.path.basename(rec)
    for f in glob.glob(reg + "/*." + role):
        doc = json.load(open(f))
        for s in doc["signatures"]:
            s["sig"] = "00" * (len(s["sig"]) // 2)
        json.dump(doc, open(f, "w"))
PY
  # The attacker adds one target in the same round.
  local bin
  bin=$(forge add "$IDNA")
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "sign signed the planted target: $stderr"; return 1; }
  assert_contains "$stderr" "ADDED by hand: $IDNAW ($bin)"
  assert_contains "$stderr" "more targets removed or withdrawn"
}

@test "attack: from a sandbox of the project that holds it, the record can be neither written nor shed" {
  make_reg
  cp -a "$REG" "$PROJ/then"
  "$PL" -q registry withdraw "$REG" six==1.16.0
  "$PL" -q init --python "$PY" --registry "$REG" --root "$REG/1.root.json" "$PROJ"
  local rec
  rec=$(echo "$XDG_STATE_HOME"/pylock/published/*)
  [ -f "$rec/timestamp.json" ]
  local before
  before=$(sha256sum "$rec"/* | LC_ALL=C sort)
  # Code in a run: drop the record, or plant one, then swap a directory
  # above the registry for a link to the older copy (six back in).
  run "$PL" -C "$PROJ" run sh -c '
    rm -f "$1"/* 2>/dev/null; echo x >"$1/timestamp.json" 2>/dev/null
    mkdir -p "$1/../x" 2>/dev/null
    cd "$2" && mkdir other && mv then other/reg && mv pub pub.was && ln -s other pub &&
    echo swapped' _ "$rec" "$PROJ"
  assert_contains "$output" "swapped"
  assert_eq "$(sha256sum "$rec"/* | LC_ALL=C sort)" "$before"
  # Nor can it read the key that signs the registry.
  run "$PL" -C "$PROJ" run sh -c 'cat "$1" && echo READ' _ "$XDG_CONFIG_HOME/pylock/keys/default.key"
  [[ "$output" != *READ* ]] || { echo "the signing key was read in a run: $output"; return 1; }
  [ ! -e "$XDG_STATE_HOME/pylock/published/x" ]
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "signed the older registry put back: $status $stderr"; return 1; }
  assert_contains "$stderr" "timestamp.json changed since it was signed"
}

@test "attack: a metadata name or targets/ made a link is refused, and what it points to kept" {
  make_reg
  local out="$BATS_TEST_TMPDIR/outside" before
  mkdir "$out"
  # A signed copy elsewhere, linked in place of targets.json.
  cp "$REG/targets.json" "$out/targets.json"
  rm "$REG/targets.json" && ln -s "$out/targets.json" "$REG/targets.json"
  before=$(reg_digest "$out")
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "targets.json is a symbolic link"
  rm "$REG/targets.json" && cp "$out/targets.json" "$REG/targets.json"
  # targets/ made a link to a directory of the attacker's.
  mv "$REG/targets" "$out/targets" && ln -s "$out/targets" "$REG/targets"
  before=$(reg_digest "$out")
  run --separate-stderr "$PL" registry add "$REG" "$CERTIFI"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "symbolic link"
  run --separate-stderr "$PL" registry withdraw "$REG" six==1.16.0
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_eq "$(reg_digest "$out")" "$before"
}

@test "attack: withdraw removes a link planted at a wheel's file, never what it points to" {
  make_reg
  local victim="$BATS_TEST_TMPDIR/victim.txt"
  echo precious >"$victim"
  rm "$REG/targets/$SIXW" && ln -s "$victim" "$REG/targets/$SIXW"
  "$PL" -q registry withdraw "$REG" "$SIXW" 2>/dev/null || true
  assert_eq "$(cat "$victim")" "precious"
  # A name that climbs out of the registry names no published wheel.
  run --separate-stderr "$PL" registry withdraw "$REG" "../../victim-1.0-py3-none-any.whl"
  [ "$status" -ne 0 ]
  assert_eq "$(cat "$victim")" "precious"
}

@test "attack: a planted target name cannot write control characters into what sign lists" {
  make_reg
  python3 - "$REG/targets.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["signed"]["targets"]["evil-1.0-py3-none-any.whl\r\x1b[2K\x1b[1Aremoved by hand: x"] = {
    "hashes": {"sha256": "00" * 32}, "length": 1}
json.dump(d, open(sys.argv[1], "w"))
PY
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "ADDED by hand: evil-1.0-py3-none-any.whl"
  if printf '%s' "$stderr" | grep -q $'[\r\x1b]'; then
    echo "raw control characters on stderr: $stderr"
    return 1
  fi
}

@test "attack: bins signed by a key planted in an edited targets.json are listed by sign, not trusted" {
  make_reg --bins 4
  local PIP="$FIX/wheels/pip-23.0.1-py3-none-any.whl" PYP="$FIX/wheels/pyparsing-3.0.9-py3-none-any.whl"
  # pip and pyparsing fall in bin 0 (at version 3 here).
  "$PL" -q registry add "$REG" "$PIP"
  # The attacker's own registry and key, its bin 0 at version 3 too,
  # listing pyparsing.
  local evil="$BATS_TEST_TMPDIR/evil" akey="$XDG_CONFIG_HOME/pylock/keys/attacker.key"
  "$PL" key generate -o attacker >/dev/null
  "$PL" -q registry init "$evil" --bins 4 --key "$akey"
  "$PL" -q registry add "$evil" --key "$akey" "$PYP"
  "$PL" -q registry add "$evil" --key "$akey" "$CERTIFI"
  # Their key joins the bins' delegation in targets.json (the maintainer's
  # stays, so that the maintainer's key still signs), their bin 0 replaces
  # the maintainer's.
  python3 - "$REG" "$evil" <<'PY'
import glob, json, os, shutil, sys
reg, evil = sys.argv[1:3]
def current(d, role):
    ts = json.load(open(f"{d}/timestamp.json"))["signed"]
    sv = ts["meta"]["snapshot.json"]["version"]
    snap = json.load(open(f"{d}/{sv}.snapshot.json"))["signed"]
    return f"{d}/{snap['meta'][role + '.json']['version']}.{role}.json"
t = current(reg, "targets")
doc = json.load(open(t))
ed = json.load(open(current(evil, "targets")))["signed"]["delegations"]
dl = doc["signed"]["delegations"]
dl["keys"].update(ed["keys"])
dl["succinct_roles"]["keyids"] += ed["succinct_roles"]["keyids"]
json.dump(doc, open(t, "w"))
mine, theirs = current(reg, "bins-0"), current(evil, "bins-0")
assert os.path.basename(mine) == os.path.basename(theirs), (mine, theirs)
shutil.copy(theirs, mine)
for f in glob.glob(f"{evil}/targets/*pyparsing*"):
    shutil.copy(f, f"{reg}/targets/")
PY
  run --separate-stderr "$PL" registry sign "$REG"
  [ "$status" -eq 1 ] || { echo "sign signed the planted bin: $stderr"; return 1; }
  assert_contains "$stderr" "ADDED by hand: pyparsing-3.0.9-py3-none-any.whl (3.bins-0.json)"
  assert_contains "$stderr" "removed by hand: pip-23.0.1-py3-none-any.whl (3.bins-0.json)"
}

@test "attack: a version written into a hand-edited role does not set the version sign signs" {
  make_reg
  "$PL" -q registry add "$REG" "$IDNA"
  local before
  before=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' "$REG/targets.json")
  # A removal by hand (signed without --accept-edits), and version 0: a
  # targets.json signed at version 1 is refused by every client as rollback.
  python3 - "$REG/targets.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
del d["signed"]["targets"]["idna-3.3-py3-none-any.whl.metadata"]
d["signed"]["version"] = 0
json.dump(d, open(sys.argv[1], "w"))
PY
  "$PL" -q registry sign "$REG" 2>/dev/null
  run python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' "$REG/targets.json"
  assert_eq "$output" "$((before + 1))"
}
