#!/usr/bin/env bats
# pylock-test: once
# A sync links its cached trees into the new generation a few at a time
# (issue 15: the warm sync is a system call per file).  What must not
# change with it: the generation is exactly what one tree after another
# made (verify, the imports, pip's REQUESTED rows), and two wheels that ship
# the same file are refused with the same message every time, whichever
# thread met the file first, leaving the current generation and no partial
# one behind.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

# clash_wheel DIR NAME: DIR/NAME-1.0-py3-none-any.whl holding 300 modules of
# its own and clash/__init__.py, which the other clash wheel ships too.
clash_wheel() {
  local files=("clash/__init__.py=OWNER = '$2'\n") i
  for i in $(seq -w 0 299); do files+=("$2/m$i.py=X = $i\n"); done
  make_wheel "$1" "$2" "${files[@]}"
}

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  clash_wheel "$FIX/wheels" clash_a
  clash_wheel "$FIX/wheels" clash_b
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl 2>/dev/null
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
}

teardown() {
  chmod -R u+rwx "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# set_requested REQ...: the project's requested list (helpers.bash).
set_requested() {
  set_requested_in "$PROJ/pylock.toml" "$@"
}

@test "trees linked side by side: the generation verifies, imports, and marks what was asked for" {
  set_requested requests jinja2 pygments docutils click six
  "$PL" -q -C "$PROJ" lock
  run "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  assert_contains "$output" "11 packages"
  # A second project from the same lock: the warm sync, every tree cached.
  local p2="$BATS_TEST_TMPDIR/p2"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$p2"
  cp "$PROJ/pylock.toml" "$p2/"
  run "$PL" -C "$p2" sync
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  assert_contains "$output" "0 unpacked"
  for p in "$PROJ" "$p2"; do
    run "$PL" -C "$p" verify
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    run "$PL" -C "$p" run python -c 'import requests, jinja2, pygments, docutils, click, six, idna, urllib3; print("imported")'
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    assert_contains "$output" "imported"
  done
  # pip's REQUESTED: on the six asked for, each in its RECORD; not on the rest.
  local site
  site=$(dirname "$(find "$("$PL" -C "$p2" info layer)" -name 'six.py' | head -1)")
  for d in requests-2.28.1 jinja2-3.1.2 pygments-2.14.0 docutils-0.19 click-8.1.3 six-1.16.0; do
    [ -e "$site/$d.dist-info/REQUESTED" ] || { ls "$site"; false; }
    grep -q "^$d.dist-info/REQUESTED,sha256=" "$site/$d.dist-info/RECORD"
  done
  [ ! -e "$site/idna-3.3.dist-info/REQUESTED" ]
  [ ! -e "$site/urllib3-1.26.12.dist-info/REQUESTED" ]
}

@test "two wheels shipping one file: refused alike every time, nothing left but the current generation" {
  set_requested six
  "$PL" -q -C "$PROJ" lock
  "$PL" -q -C "$PROJ" sync
  local before gens
  before=$("$PL" -C "$PROJ" info layer)
  set_requested six clash-a clash-b
  "$PL" -q -C "$PROJ" lock
  gens="$("$PL" -C "$PROJ" info state)/generations"
  local first="" i
  for i in 1 2 3 4 5 6; do
    run "$PL" -C "$PROJ" sync
    [ "$status" -ne 0 ] || { echo "$output"; false; }
    assert_contains "$output" "clash/__init__.py is shipped by both clash_a-1.0.dist-info and clash_b-1.0.dist-info"
    # The first sync also fetched and unpacked them: its error the same.
    local said
    said=$(grep -A1 '^pylock: sync:' <<<"$output")
    [ -z "$first" ] && first=$said
    assert_eq "$said" "$first"
    assert_eq "$("$PL" -C "$PROJ" info layer)" "$before"
    run find "$gens" -maxdepth 1 -name '.*'
    assert_eq "$output" ""
  done
}

# tiny_wheels DIR N: N wheels tiny_000..tiny_N-1, one module each.
tiny_wheels() {
  python3 - "$@" <<'PY'
import base64, hashlib, os, sys, zipfile
out, n = sys.argv[1], int(sys.argv[2])
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
for k in range(n):
    name = "tiny_%03d" % k
    di = "%s-1.0.dist-info" % name
    files = {"%s.py" % name: b"X = 1\n",
             di + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name).encode(),
             di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join("%s,%s,%d\n" % (p, digest(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(out, "%s-1.0-py3-none-any.whl" % name), "w") as z:
        for p, b in list(files.items()) + [(di + "/RECORD", record.encode())]:
            z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), b)
PY
}

# Each package asked for has two files of the generation's own (REQUESTED,
# RECORD) that are synced before it is named: not all open at once, or a
# project with many asked for runs out of descriptors (a tree is held open
# per package already) where one tree after another never did.  make check
# asks for 60 under a limit of 150 descriptors (the warm sync of 60 needs
# 101 to 120: measured, it ran out at 100 and not at 120); the 120 files of
# their own open at once would need 220 or more.  make stress
# (PYLOCK_TEST_ALL_BASES=1): 120 packages under 250.
@test "many packages asked for: their files synced without running out of descriptors" {
  local reg="$BATS_TEST_TMPDIR/reg" w="$BATS_TEST_TMPDIR/tiny" reqs=() k n=60 files=150
  [ "${PYLOCK_TEST_ALL_BASES:-}" != 1 ] || n=120 files=250
  mkdir "$w"
  tiny_wheels "$w" "$n"
  mkdir "$BATS_TEST_TMPDIR/keys"
  "$PL" key generate -o "$KEYS/many.key" >/dev/null
  "$PL" -q registry init "$reg" --key "$KEYS/many.key"
  "$PL" -q registry add "$reg" --key "$KEYS/many.key" "$w"/*.whl 2>/dev/null
  PROJ="$BATS_TEST_TMPDIR/many"
  cp "$reg/1.root.json" "$BATS_TEST_TMPDIR/keys/root.json"
  "$PL" -q init --python "$PY" --registry "$reg" --root "$BATS_TEST_TMPDIR/keys/root.json" "$PROJ"
  for k in $(seq 0 $((n - 1))); do reqs+=("$(printf 'tiny-%03d' "$k")"); done
  set_requested "${reqs[@]}"
  "$PL" -q -C "$PROJ" lock
  "$PL" -q -C "$PROJ" sync
  # Warm, from a second project: n trees open, and 2n files of its own.
  local p2="$BATS_TEST_TMPDIR/many2"
  "$PL" -q init --python "$PY" --registry "$reg" --root "$BATS_TEST_TMPDIR/keys/root.json" "$p2"
  cp "$PROJ/pylock.toml" "$p2/"
  run bash -c 'ulimit -n "$1" && shift && exec "$@"' _ "$files" "$PL" -C "$p2" sync
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  assert_contains "$output" "$n packages"
  assert_contains "$output" "0 unpacked"
  run "$PL" -C "$p2" verify
  [ "$status" -eq 0 ] || { echo "$output"; false; }
  local last
  last=$(printf 'tiny_%03d' $((n - 1)))
  [ -e "$(dirname "$(find "$("$PL" -C "$p2" info layer)" -name "$last.py" | head -1)")/$last-1.0.dist-info/REQUESTED" ]
}

# A wheel shipping the REQUESTED of another distribution (six's), which
# pylock writes for pip when six is asked for: one tree after another
# refused it when six came first (the link met pylock's file) and took it
# as six's when it came after; linked side by side, the file is always
# there first.  Refused either way: a file of another wheel is not pylock's.
@test "a wheel shipping another's REQUESTED is refused, not taken for pylock's" {
  local reg="$BATS_TEST_TMPDIR/reg" w="$BATS_TEST_TMPDIR/w" k="$BATS_TEST_TMPDIR/keys"
  mkdir "$w" "$k"
  python3 - "$w" <<'PY'
import base64, hashlib, os, sys, zipfile
out = sys.argv[1]
for name in ("aaa_intruder", "zzz_intruder"):
    di = "%s-1.0.dist-info" % name
    files = {"%s.py" % name: b"X = 1\n",
             # through its .data: the only way past "one .dist-info per wheel"
             "%s-1.0.data/purelib/six-1.16.0.dist-info/REQUESTED" % name: b"not pylock's\n",
             di + "/METADATA": ("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name).encode(),
             di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    def digest(b):
        return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
    record = "".join("%s,%s,%d\n" % (p, digest(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(out, "%s-1.0-py3-none-any.whl" % name), "w") as z:
        for p, b in list(files.items()) + [(di + "/RECORD", record.encode())]:
            z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), b)
PY
  "$PL" key generate -o "$KEYS/intruder.key" >/dev/null
  "$PL" -q registry init "$reg" --key "$KEYS/intruder.key"
  "$PL" -q registry add "$reg" --key "$KEYS/intruder.key" "$FIX"/wheels/six-*.whl "$w"/*.whl
  cp "$reg/1.root.json" "$k/root.json"
  local intruder
  for intruder in aaa-intruder zzz-intruder; do
    PROJ="$BATS_TEST_TMPDIR/p-$intruder"
    "$PL" -q init --python "$PY" --registry "$reg" --root "$k/root.json" "$PROJ"
    set_requested six
    "$PL" -q -C "$PROJ" lock
    "$PL" -q -C "$PROJ" sync
    local before
    before=$("$PL" -C "$PROJ" info layer)
    set_requested six "$intruder"
    "$PL" -q -C "$PROJ" lock
    # Cold (trees built by this sync), then warm (every tree cached).
    local i
    for i in 1 2; do
      run "$PL" -C "$PROJ" sync
      [ "$status" -ne 0 ] || { echo "$intruder: $output"; false; }
      assert_contains "$output" "six-1.16.0.dist-info/REQUESTED"
      assert_contains "$output" "conflicting files"
      assert_eq "$("$PL" -C "$PROJ" info layer)" "$before"
      run find "$("$PL" -C "$PROJ" info state)/generations" -maxdepth 1 -name '.*'
      assert_eq "$output" ""
    done
  done
}
