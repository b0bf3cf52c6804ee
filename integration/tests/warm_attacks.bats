#!/usr/bin/env bats
# pylock-test: once
# The warm sync checks each cached tree only as it links it (issues 10 and
# 12): attacks on that.  A process of the user changing a tree before,
# while or after a generation is linked from it, a tree made unreadable,
# and code inside a sandbox trying to change what the warm sync no longer
# walks.  Each attack fails: nothing changed reaches a generation that is
# current without the next sync finding it, and nothing else changes.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load store_helpers
load pause_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/idna-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$FIX/p"
  "$PL" -q -C "$FIX/p" install six idna
  cp "$FIX/p/pylock.toml" "$FIX/lock.toml"
}

setup() {
  # Each test attacks a state of its own, warm: PROJ synced from it.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$FIX/config"
  export PYLOCK_KEEPALIVE=0
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj"
  OTHER="$BATS_TEST_TMPDIR/other"
  BG=()
  project "$PROJ"
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null || true; done
  for p in "${BG[@]}"; do wait "$p" 2>/dev/null || true; done
  chmod -R u+rwx "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# The current generation's six.py in project DIR.
six_in_gen() {
  find "$("$PL" -C "$1" info layer)" -path '*/six.py' | head -1
}

# tamper FILE in-place|swap [now]: its bytes changed (size and times put
# back, or with `now` its mtime now), written in place, or as another file
# renamed over it.  The stat fingerprints cannot see an in-place write whose
# times are put back (only verify, or sync --repair, reads the bytes).
tamper() {
  local f=$1 how=$2 when=${3:-} d
  d=$(dirname "$f")
  chmod u+w "$d" "$f"
  python3 - "$f" "$how" "$when" <<'EOF'
import os, sys
p, how, when = sys.argv[1], sys.argv[2], sys.argv[3]
st = os.stat(p)
b = bytearray(open(p, "rb").read())
b[0:8] = b"#pwned!\n"
if how == "in-place":
    with open(p, "r+b") as f:
        f.write(b)
else:
    with open(p + ".new", "wb") as f:
        f.write(b)
    os.chmod(p + ".new", st.st_mode & 0o7777)
    os.rename(p + ".new", p)
if when != "now":
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
EOF
  chmod a-w "$d" "$f"
}

# tampered FILE: FILE holds tamper's first bytes.
tampered() {
  [ "$(head -c7 "$1")" = "#pwned!" ]
}

assert_verified() {
  run --separate-stderr "$PL" -C "${1:-$PROJ}" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
}

imports_six() {
  "$PL" -C "${1:-$PROJ}" run python3 -c 'import six; print(six.__version__)'
}

# The project synced before folds into the tree built again, the same bytes
# as the one it was made from (one fixed mtime, so the same byte-code): it
# imports, and once its next sync has looked (its six.py, a top-level module,
# is a hard link the tampering may have reached), it verifies.
project_synced_before_follows() {
  imports_six "$PROJ"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_verified "$PROJ"
  ! tampered "$(six_in_gen "$PROJ")"
}

# ---- a process of the user, outside any sandbox, racing the warm sync ----

# A file of the tree replaced between the moment pylock opened the tree and
# the moment it links it (another inode, same bytes size and times): the
# linked inode is checked, so the new project never gets it.
@test "a_tree_file_swapped_before_it_is_linked_never_reaches_a_generation" {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$OTHER"
  cp "$FIX/lock.toml" "$OTHER/pylock.toml"
  paused fetched "$PL" -C "$OTHER" sync
  tamper "$(six_in_tree)" swap
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "is damaged"
  ! tampered "$(six_in_gen "$OTHER")"
  ! tampered "$(six_in_tree)"
  assert_verified "$OTHER"
  imports_six "$OTHER"
  project_synced_before_follows
}

# Written in place once linked, before the generation is current: the
# generation is the tree's inodes, so it holds the change; its fingerprint
# was taken before, so the next sync finds it and rebuilds from a new tree
# (with a walk of the generation after linking, it would have been hidden
# from every later sync).
@test "a_tree_file_written_while_a_generation_is_linked_is_found_by_the_next_sync" {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$OTHER"
  cp "$FIX/lock.toml" "$OTHER/pylock.toml"
  paused linked "$PL" -C "$OTHER" sync
  tamper "$(six_in_tree)" in-place now
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  tampered "$(six_in_gen "$OTHER")" # the attack reached it, for now
  run --separate-stderr "$PL" -C "$OTHER" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "changed since it was built"
  ! tampered "$(six_in_gen "$OTHER")"
  assert_verified "$OTHER"
  # The project synced before shares the inode: found the same way.
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "changed since it was built"
  ! tampered "$(six_in_gen "$PROJ")"
  assert_verified "$PROJ"
  # And then it holds: nothing is rebuilt again.
  run --separate-stderr "$PL" -C "$OTHER" sync
  [ "$status" -eq 0 ]
  assert_not_contains "$stderr" "building it again"
}

# Two syncs find the same tree damaged; the second to get there must not
# quarantine the tree the first has built since under the same name (the
# first may be linking it, or about to open it): only the damaged one is.
@test "a_tree_built_again_by_another_sync_is_not_quarantined_in_its_turn" {
  local third="$BATS_TEST_TMPDIR/third"
  tamper "$(six_in_tree)" in-place now
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$OTHER"
  cp "$FIX/lock.toml" "$OTHER/pylock.toml"
  paused quarantine "$PL" -C "$OTHER" sync
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$third"
  cp "$FIX/lock.toml" "$third/pylock.toml"
  run --separate-stderr "$PL" -C "$third" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged"
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  assert_eq "$(ls "$STATE/cache/quarantine" | wc -l)" 1
  ! tampered "$(six_in_tree)"
  assert_verified "$OTHER"
  assert_verified "$third"
}

# A directory of a cached tree made unreadable (or any entry gone): linking
# fails before the fingerprints can be compared.  It is damage like any
# other: quarantined and built again, not a sync that fails.
@test "an_unreadable_directory_of_a_cached_tree_is_rebuilt_not_a_failed_sync" {
  local di
  di=$(dirname "$(six_in_tree)")/six-1.16.0.dist-info
  [ -d "$di" ]
  chmod 000 "$di"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$OTHER"
  cp "$FIX/lock.toml" "$OTHER/pylock.toml"
  run --separate-stderr "$PL" -C "$OTHER" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged"
  assert_verified "$OTHER"
  imports_six "$OTHER"
  project_synced_before_follows
}

# Its manifest gone (or unreadable): linking never reads it until the
# generation's manifest is made.  Damage as well, not a failed sync.
@test "a_cached_tree_whose_manifest_is_gone_is_rebuilt_not_a_failed_sync" {
  local tree
  tree=$(six_in_tree)
  tree=${tree#"$STATE/cache/trees/"}
  tree="$STATE/cache/trees/${tree%%/*}"
  chmod u+w "$tree"
  rm "$tree/.manifest"
  chmod a-w "$tree"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$OTHER"
  cp "$FIX/lock.toml" "$OTHER/pylock.toml"
  run --separate-stderr "$PL" -C "$OTHER" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged (its manifest"
  assert_verified "$OTHER"
  imports_six "$OTHER"
  assert_verified "$PROJ"
}

# ---- code inside a sandbox ----

# What the warm sync trusts without reading it (the trees' files, their
# markers and manifests, the generations, the registry's kept metadata)
# cannot be written, re-moded or re-timed from inside `pylock run`: the
# state root is read-only there by mount (Landlock does not cover chmod or
# utime).  Nothing changes, and the next sync rebuilds nothing.
@test "code_inside_a_sandbox_cannot_touch_what_the_warm_sync_trusts" {
  local tree marker gen ts
  tree=$(six_in_tree)
  marker=$(find "$STATE/cache/trees" -maxdepth 2 -name .complete | head -1)
  gen=$(six_in_gen "$PROJ")
  ts=$(find "$STATE/registries" -name timestamp.json | head -1)
  [ -f "$tree" ]
  [ -f "$marker" ]
  [ -f "$gen" ]
  [ -f "$ts" ]
  local before
  before=$(stat -c '%i %a %s %Y' "$tree" "$marker" "$ts" "$(dirname "$tree")" | sha256sum)
  run --separate-stderr "$PL" -C "$PROJ" run python3 - "$tree" "$marker" "$gen" "$ts" <<'EOF'
import os, sys
ok = []
for p in sys.argv[1:]:
    for what, f in (("write", lambda: open(p, "r+b").write(b"#")),
                    ("chmod", lambda: os.chmod(p, 0o666)),
                    ("utime", lambda: os.utime(p, (0, 0))),
                    ("rename", lambda: os.rename(p, p + ".x")),
                    ("dir-chmod", lambda: os.chmod(os.path.dirname(p), 0o777)),
                    ("dir-add", lambda: open(os.path.join(os.path.dirname(p), "x.pth"), "w"))):
        try:
            f()
            ok.append(what + " " + p)
        except OSError:
            pass
print("\n".join(ok) or "none")
EOF
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "none"
  assert_eq "$(stat -c '%i %a %s %Y' "$tree" "$marker" "$ts" "$(dirname "$tree")" | sha256sum)" "$before"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ]
  assert_not_contains "$stderr" "building it again"
  assert_verified
}

# ---- a hostile registry, against the metadata kept without a second check ----

# The registry goes back to what the state kept before a newer publication
# (every file validly signed, unexpired): the newer baseline was written
# when it was accepted, so the replay is refused; the state and the
# environment stay as they were.
@test "a_registry_replaying_the_metadata_kept_before_a_newer_one_is_refused" {
  local reg="$BATS_TEST_TMPDIR/reg" old="$BATS_TEST_TMPDIR/old" ts gen
  cp -r "$FIX/reg" "$reg"
  cp -r "$reg" "$old"
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state2"
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj2"
  "$PL" -q init --python "$PY" --registry "$reg" --root "$FIX/root.json" "$PROJ"
  sed "s#$FIX/reg#$reg#g" "$FIX/lock.toml" >"$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  [ "$(find "$STATE/registries" -name timestamp.json | wc -l)" -eq 1 ]
  "$PL" -q registry add "$reg" --key "$KEYS/k.key" "$FIX"/wheels/certifi-*.whl
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  ts=$(find "$STATE/registries" -name timestamp.json)
  cmp "$ts" "$reg/timestamp.json"
  gen=$("$PL" -C "$PROJ" info generation)
  local before
  before=$(cat "$(dirname "$ts")"/*.json | sha256sum)
  cp "$old/"{timestamp,snapshot,targets}.json "$reg/"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "version rollback"
  assert_eq "$(cat "$(dirname "$ts")"/*.json | sha256sum)" "$before"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  assert_verified
}

# Two sound trees shipping one path: linking fails, and that is a conflict
# to report, not damage (the walk of each tree finds it as sealed): no tree
# is quarantined or built again, and the project stays as it was.
@test "a_conflict_while_linking_is_reported_not_taken_for_damage" {
  local reg="$BATS_TEST_TMPDIR/reg" gen lock
  cp -r "$FIX/reg" "$reg"
  (cd "$BATS_TEST_TMPDIR" && python3 - <<'PY'
import base64, hashlib, zipfile
d = {"six.py": b"x = 1\n",
     "sixclone-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: sixclone\nVersion: 1.0\n",
     "sixclone-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
h = lambda b: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
r = "".join("%s,%s,%d\n" % (p, h(b), len(b)) for p, b in d.items()) + "sixclone-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile("sixclone-1.0-py3-none-any.whl", "w") as z:
    for p, b in d.items():
        z.writestr(p, b)
    z.writestr("sixclone-1.0.dist-info/RECORD", r)
PY
  )
  "$PL" -q registry add "$reg" --key "$KEYS/k.key" \
    "$BATS_TEST_TMPDIR/sixclone-1.0-py3-none-any.whl"
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state2"
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj2"
  "$PL" -q init --python "$PY" --registry "$reg" --root "$FIX/root.json" "$PROJ"
  sed "s#$FIX/reg#$reg#g" "$FIX/lock.toml" >"$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  gen=$("$PL" -C "$PROJ" info generation)
  lock=$(sha256sum <"$PROJ/pylock.toml")
  run --separate-stderr "$PL" -C "$PROJ" install sixclone
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "six-1.16.0.dist-info and sixclone-1.0.dist-info"
  assert_not_contains "$stderr" "damaged"
  [ -z "$(ls -A "$STATE/cache/quarantine" 2>/dev/null)" ]
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock"
  assert_verified
}
