#!/usr/bin/env bats
# Direct references never reach pip (issue 10): a requirement that names a
# source tree, an sdist, a git repository or any URL or path is refused by
# pylock with one line, whichever way it comes in: the command line,
# [tool.pylock] requested in a pylock.toml from a pull request (lock --check,
# lock, sync, install), or the Requires-Dist of a wheel a registry signed.
# The source tree's in-tree PEP 517 build backend leaves a marker wherever it
# can write when it is merely imported; a control test shows that pip does
# import it inside a pylock sandbox, and every attack test that no marker
# exists afterwards and that nothing was changed.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" \
    "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$FIX/wheels/idna-3.3-py3-none-any.whl"
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  MARKS=("$PROJ/EVIL-RAN" "$HOME/EVIL-RAN" "$BATS_TEST_TMPDIR/marks/EVIL-RAN")
  mkdir -p "$BATS_TEST_TMPDIR/marks"
  rm -f "$HOME/EVIL-RAN"
  make_evil "$BATS_TEST_TMPDIR"
}

teardown() {
  rm -f "$HOME/EVIL-RAN"
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# make_evil DIR: DIR/evil, a source tree whose in-tree build backend
# (backend-path) appends to every marker path it can when imported;
# DIR/evil-1.0.tar.gz, its sdist; DIR/evil.git, a git repository of it.
make_evil() {
  local d="$1/evil"
  mkdir -p "$d"
  cat >"$d/pyproject.toml" <<'EOF'
[build-system]
requires = []
build-backend = "evilbackend"
backend-path = ["."]

[project]
name = "evil"
version = "1.0"
EOF
  python3 - "$d/evilbackend.py" "${MARKS[@]}" <<'PY'
import sys
path, marks = sys.argv[1], sys.argv[2:]
open(path, "w").write(f'''"""A PEP 517 build backend that records that it ran: code no registry signed."""
import os, sys
for mark in {marks!r}:
    try:
        with open(mark, "a") as f:
            f.write("imported by %d: %r\\n" % (os.getpid(), sys.argv))
    except OSError:
        pass

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    raise RuntimeError("evil")

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("evil")
''')
PY
  tar -C "$1" -czf "$1/evil-1.0.tar.gz" evil
  git -C "$d" init -q && git -C "$d" add -A &&
    git -C "$d" -c user.name=t -c user.email=t@t commit -qm evil &&
    git clone -q --bare "$d" "$1/evil.git"
  EVIL="$d" EVIL_TGZ="$1/evil-1.0.tar.gz" EVIL_GIT="$1/evil.git"
}

# No marker anywhere: the backend never ran.
assert_not_ran() {
  local m
  for m in "${MARKS[@]}"; do
    [ ! -e "$m" ] || { echo "the build backend ran: $m: $(cat "$m")"; return 1; }
  done
}

# A project on the fixture registry (or on $1 with its own root).
project() {
  local reg="${1:-$FIX/reg}" root="${2:-$FIX/trusted-root.json}"
  "$PL" -q init --python "$PY" --registry "$reg" --root "$root" "$PROJ"
}

# set_requested REQ...: the project's requested list (helpers.bash).
set_requested() {
  set_requested_in "$PROJ/pylock.toml" "$@"
}

# What a command must not change: pylock.toml's bytes and the project's
# state (every file but the lock that serializes changes).
state() {
  sha256sum "$PROJ/pylock.toml"
  (cd "$(state_dir)" && find . ! -name lock ! -name change.lock ! -path './run/*' -printf '%p %y %s %l\n' | sort)
}
snapshot() {
  state >"$BATS_TEST_TMPDIR/before"
}
assert_unchanged() {
  state >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

# The failure is one line (no hint, no pip output), naming the requirement.
assert_refused_in_one_line() {
  [ "$status" -eq 1 ] || { echo "status $status: $output"; return 1; }
  assert_eq "$(wc -l <<<"$stderr")" 1
  assert_contains "$stderr" "$1"
  assert_contains "$stderr" "${2:-a direct reference (URL, path or VCS) is not allowed: pylock installs only signed wheels from the registry}"
}

DIRECT_FORMS=()
direct_forms() {
  DIRECT_FORMS=("evil @ file://$EVIL" "evil@file://$EVIL_TGZ" "evil @ git+file://$EVIL_GIT"
    "git+file://$EVIL_GIT#egg=evil" "file://$EVIL" "$EVIL" "$EVIL_TGZ" "./evil" "../evil/"
    "evil-1.0.tar.gz" "evil [x] @ file://$EVIL ; python_version >= '3'")
}

# ---------------------------------------------------------------- control

@test "control: pip imports the backend inside a pylock sandbox, which leaves its marker" {
  project
  cd "$BATS_TEST_TMPDIR"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" run python3 -m pip wheel --no-deps \
    --no-build-isolation --no-index --no-cache-dir -w "$BATS_TEST_TMPDIR/out" "$EVIL"
  [ "$status" -ne 0 ] # the backend refuses to build: it only records that it ran
  grep -q "imported by" "$PROJ/EVIL-RAN" || { echo "$stderr"; return 1; }
}

# ---------------------------------------------------------------- command line

@test "install refuses every direct reference on the command line before touching anything" {
  base_blind
  project
  snapshot
  direct_forms
  cd "$BATS_TEST_TMPDIR"
  for req in "${DIRECT_FORMS[@]}"; do
    run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six "$req"
    assert_refused_in_one_line "requirement \"$req\""
    assert_not_ran
    assert_unchanged
  done
}

@test "install refuses pip options given as requirements" {
  base_blind
  project
  snapshot
  for req in "-e $EVIL" "--editable=$EVIL" "--index-url=file://$EVIL" "-r $EVIL/pyproject.toml"; do
    run --separate-stderr timeout 120 "$PL" -C "$PROJ" install -- "$req"
    assert_refused_in_one_line "requirement \"$req\"" "is a pip option, not a requirement"
    assert_not_ran
    assert_unchanged
  done
}

@test "install refuses a requirement that is not PEP 508, pointing at the column" {
  base_blind
  project
  snapshot
  run --separate-stderr "$PL" -C "$PROJ" install "six >= 1.0 junk"
  assert_refused_in_one_line 'requirement "six >= 1.0 junk"' "expected ',', ';' or the end (column 12)"
  assert_unchanged
}

# ---------------------------------------------------------------- pylock.toml

@test "a pylock.toml whose requested holds a direct reference: lock --check, lock, sync, install refuse it" {
  base_blind
  project
  direct_forms
  for req in "${DIRECT_FORMS[@]}"; do
    set_requested six "$req"
    snapshot
    for cmd in "lock --check" "lock" "sync" "sync --frozen" "install idna"; do
      # shellcheck disable=SC2086
      run --separate-stderr timeout 120 "$PL" -C "$PROJ" $cmd
      assert_refused_in_one_line "pylock.toml: tool.pylock.requested[1]: requirement \"$req\""
      assert_not_ran
      assert_unchanged
    done
  done
}

@test "pylock ci refuses a pull request's pylock.toml with a direct reference" {
  base_blind
  project
  set_requested "evil @ file://$EVIL"
  snapshot
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" ci -- true
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "tool.pylock.requested[0]: requirement \"evil @ file://$EVIL\""
  assert_not_ran
  assert_unchanged
}

# ---------------------------------------------------------------- a signed wheel

# make_trojan DIR [REQUIRES]: DIR/trojan-1.0-py3-none-any.whl, a well-formed
# wheel whose METADATA says Requires-Dist: REQUIRES (the evil source tree by
# default), and DIR/trojan-1.0-py3-none-any.whl.metadata, its METADATA.
make_trojan() {
  python3 - "$1" "${2:-evil @ file://$EVIL}" <<'PY'
import base64, hashlib, os, sys, zipfile
out, req = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
di = "trojan-1.0.dist-info"
files = {
    "trojan/__init__.py": b"",
    di + "/METADATA": ("Metadata-Version: 2.1\nName: trojan\nVersion: 1.0\n"
                       "Requires-Dist: six\nRequires-Dist: %s\n" % req).encode(),
    di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join("%s,%s,%d\n" % (n, digest(b), len(b)) for n, b in files.items()) + di + "/RECORD,,\n"
whl = os.path.join(out, "trojan-1.0-py3-none-any.whl")
with zipfile.ZipFile(whl, "w") as z:
    for n, b in list(files.items()) + [(di + "/RECORD", record.encode())]:
        z.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), b)
open(whl + ".metadata", "wb").write(files[di + "/METADATA"])
PY
}

@test "registry add refuses a wheel whose Requires-Dist is a direct reference, leaving the registry as it was" {
  base_blind
  make_trojan "$BATS_TEST_TMPDIR/t"
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  (cd "$BATS_TEST_TMPDIR/reg" && find . -type f -exec sha256sum {} + | sort) >"$BATS_TEST_TMPDIR/before"
  run --separate-stderr "$PL" registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/k.key" \
    "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl" "$BATS_TEST_TMPDIR/t/trojan-1.0-py3-none-any.whl"
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "trojan-1.0-py3-none-any.whl: Requires-Dist: requirement \"evil @ file://$EVIL\": a direct reference"
  (cd "$BATS_TEST_TMPDIR/reg" && find . -type f -exec sha256sum {} + | sort) >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

# hostile_registry DIR [--no-metadata]: the registry a hostile or careless
# maintainer signs with another TUF implementation (@tufjs/models, which
# checks nothing): six, idna and the trojan wheel, with the trojan's PEP 658
# .metadata unless --no-metadata.
hostile_registry() {
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/@tufjs/models" ] ||
    { echo "@tufjs/models not installed: integration/setup-node.sh did not run" >&2; return 1; }
  make_trojan "$BATS_TEST_TMPDIR/t"
  local md=("$BATS_TEST_TMPDIR/t/trojan-1.0-py3-none-any.whl.metadata")
  [ "${2:-}" = --no-metadata ] && md=()
  node "$PYLOCK_SCRATCH/interop/tuf-tool.js" make-registry "$1" --no-consistent \
    "$FIX/reg/targets/six-1.16.0-py3-none-any.whl" "$FIX/reg/targets/six-1.16.0-py3-none-any.whl.metadata" \
    "$FIX/reg/targets/idna-3.3-py3-none-any.whl" "$FIX/reg/targets/idna-3.3-py3-none-any.whl.metadata" \
    "$BATS_TEST_TMPDIR/t/trojan-1.0-py3-none-any.whl" "${md[@]}" >/dev/null
}

@test "registry verify --targets names a signed wheel whose Requires-Dist is a direct reference" {
  base_blind
  hostile_registry "$BATS_TEST_TMPDIR/hostile"
  run --separate-stderr timeout 120 "$PL" registry verify "$BATS_TEST_TMPDIR/hostile" \
    --root "$BATS_TEST_TMPDIR/hostile/1.root.json" --state "$BATS_TEST_TMPDIR/vstate" --targets
  [ "$status" -eq 1 ] || { echo "$output $stderr"; return 1; }
  assert_eq "$(wc -l <<<"$stderr")" 1
  assert_contains "$stderr" "trojan-1.0-py3-none-any.whl: Requires-Dist: requirement \"evil @ file://$EVIL\": a direct reference"
  assert_contains "$output" "failed: 1 of"
}

@test "a signed wheel's .metadata with a direct reference fails the resolution before pip reads it" {
  base_blind
  hostile_registry "$BATS_TEST_TMPDIR/hostile"
  project "$BATS_TEST_TMPDIR/hostile" "$BATS_TEST_TMPDIR/hostile/1.root.json"
  snapshot
  for cmd in "install trojan" "lock"; do
    [ "$cmd" = lock ] && set_requested trojan && snapshot
    run --separate-stderr timeout 120 "$PL" -C "$PROJ" $cmd
    [ "$status" -eq 1 ] || { echo "$stderr"; return 1; }
    assert_contains "$stderr" "trojan-1.0-py3-none-any.whl.metadata: Requires-Dist: requirement \"evil @ file://$EVIL\": a direct reference (URL, path or VCS) is not allowed"
    assert_contains "$stderr" "hint: the registry signs a wheel pylock refuses"
    assert_not_contains "$stderr" "pip could not resolve"
    assert_not_ran
    assert_unchanged
  done
}

@test "a signed wheel without .metadata: its own METADATA is checked before pip reads it" {
  hostile_registry "$BATS_TEST_TMPDIR/hostile" --no-metadata
  project "$BATS_TEST_TMPDIR/hostile" "$BATS_TEST_TMPDIR/hostile/1.root.json"
  snapshot
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install trojan
  [ "$status" -eq 1 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "trojan-1.0-py3-none-any.whl: Requires-Dist: requirement \"evil @ file://$EVIL\": a direct reference (URL, path or VCS) is not allowed"
  assert_not_ran
  assert_unchanged
  # The registry's other wheels still resolve: pip never reads the trojan.
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_ran
}

@test "requirements pylock accepts still lock, with extras and markers, as pip reads them" {
  project
  set_requested "SIX (>=1.0, !=1.15.*) ; python_version >= '3' and os_name == \"posix\"" "IDNA[unused]"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  grep -q '^name = "six"' "$PROJ/pylock.toml"
  grep -q '^name = "idna"' "$PROJ/pylock.toml"
  assert_not_ran
}
