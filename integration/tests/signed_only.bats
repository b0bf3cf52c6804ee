#!/usr/bin/env bats
# pylock-test: once
# Signed-only, end to end (issue 10): every wheel that enters an environment
# is one the project's own registry signs now -- checked at every use, not
# only at download -- and `pylock verify` proves what is installed.  Each
# test performs one attack as an attacker would, and asserts that it fails,
# with a message naming the cause, and that nothing changed: the attacker's
# code never ran (its marker does not exist), the environment and the shared
# cache are as they were.
#
# Two real signed registries are served by nginx: A, the victim's, signs
# six, idna and urllib3; B, the attacker's, signs a six of the same file
# name whose six.py also writes a marker file when imported.  One user, one
# state root (so one shared cache): project PA installs from A, project PB
# from B, which puts the attacker's six in the cache.
# Direct references (requirements naming a URL, path or VCS) are attacked in
# direct_refs.bats; the forms it leaves out are here.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  # The projects and pylock's state in the home, outside /tmp.
  W=$(mktemp -d "$HOME/signed-only.XXXXXX")
  export W PYLOCK_STATE_DIR="$W/state" XDG_CONFIG_HOME="$W/config" PYLOCK_KEEPALIVE=0
  export MARK="$FIX/marks/six-ran"
  mkdir -p "$FIX/marks" "$FIX/www" "$FIX/evil"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  evil_six "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$FIX/evil/six-1.16.0-py3-none-any.whl" \
    "$MARK" "$W/six-ran"
  local k
  for k in a b; do
    "$PL" key generate -o "$KEYS/$k.key" >/dev/null
    "$PL" -q registry init "$FIX/www/$k" --key "$KEYS/$k.key"
  done
  "$PL" -q registry add "$FIX/www/a" --key "$KEYS/a.key" "$FIX/wheels/six-1.16.0-py3-none-any.whl" \
    "$FIX/wheels/idna-3.3-py3-none-any.whl" "$FIX/wheels/urllib3-1.26.12-py3-none-any.whl"
  "$PL" -q registry add "$FIX/www/b" --key "$KEYS/b.key" "$FIX/evil/six-1.16.0-py3-none-any.whl"
  cp "$FIX/www/a/1.root.json" "$FIX/a-root.json"
  cp "$FIX/www/b/1.root.json" "$FIX/b-root.json"
  nginx_start "$FIX/nginx" "$FIX/www"
  export A="$NGINX_HTTP/a" B="$NGINX_HTTP/b"
  GOOD_SHA=$(sha256sum <"$FIX/wheels/six-1.16.0-py3-none-any.whl" | cut -d' ' -f1)
  GOOD_SIZE=$(stat -c %s "$FIX/wheels/six-1.16.0-py3-none-any.whl")
  EVIL_SHA=$(sha256sum <"$FIX/evil/six-1.16.0-py3-none-any.whl" | cut -d' ' -f1)
  EVIL_SIZE=$(stat -c %s "$FIX/evil/six-1.16.0-py3-none-any.whl")
  IDNA_SHA=$(sha256sum <"$FIX/wheels/idna-3.3-py3-none-any.whl" | cut -d' ' -f1)
  IDNA_SIZE=$(stat -c %s "$FIX/wheels/idna-3.3-py3-none-any.whl")
  export GOOD_SHA GOOD_SIZE EVIL_SHA EVIL_SIZE IDNA_SHA IDNA_SIZE
  # The victim's project, then the attacker's: six from each registry.
  project "$W/PA" "$A" a
  "$PL" -q -C "$W/PA" install six idna
  cp "$W/PA/pylock.toml" "$FIX/a.lock"
  project "$W/PB" "$B" b
  "$PL" -q -C "$W/PB" install six
  R=$("$PL" -C "$W/PA" info state-root)
  export R
  [ -f "$R/cache/wheels/$EVIL_SHA.whl" ] && [ -f "$R/cache/wheels/$GOOD_SHA.whl" ]
}

teardown_file() {
  nginx_stop
  chmod -R u+w "$W" 2>/dev/null || true
  rm -rf "$W"
}

setup() {
  rm -f "$MARK"
}

# project DIR URL a|b: a new project on the base under test, on the registry
# at URL, whose root (a-root.json or b-root.json) the user gave.
project() {
  "$PL" -q init --python "$PY" --registry "$2" --root "$FIX/$3-root.json" "$1"
}

# from_lock DIR [LOCK]: a project on registry A whose pylock.toml is LOCK
# (default: A's lock of six and idna), synced from the warm cache.
from_lock() {
  project "$1" "$A" a
  cp "${2:-$FIX/a.lock}" "$1/pylock.toml"
  "$PL" -q -C "$1" sync
}

# The shared cache, and a project's environment (its generations and which
# is current), as digests.
cache_digest() {
  tree_digest "$R/cache/wheels" "$R/cache/trees"
}
env_digest() {
  local s
  s=$(state_dir "$1")
  { tree_digest "$s/generations"; readlink "$s/current"; } | sha256sum | cut -d' ' -f1
}

# The attacker's six never ran: no marker anywhere it could write one.
assert_six_never_ran() {
  local m
  for m in "$MARK" "$W/six-ran" "${1:-$W/PA}/six-ran"; do
    [ ! -e "$m" ] || { echo "the attacker's six ran: $m: $(cat "$m")"; return 1; }
  done
}

# What a run of project DIR imports as six: its file's sha256.
six_seen() {
  "$PL" -C "$1" run python3 -c 'import hashlib, six; print(hashlib.sha256(open(six.__file__, "rb").read()).hexdigest())'
}

# ---------------------------------------------------------------- the cache-poisoning pull request

@test "control: the attacker's six, installed in project B from registry B, leaves its marker when imported" {
  run --separate-stderr "$PL" -C "$W/PB" run python3 -c 'import six'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  grep -q "the attacker's six ran" "$MARK"
  rm -f "$MARK" "$W/PB/six-ran"
}

@test "a pull request pinning the attacker's cached six in project A: sync, --frozen, --offline and ci refuse it" {
  local P="$W/PA" env cache seen
  env=$(env_digest "$P") cache=$(cache_digest) seen=$(six_seen "$P")
  pin "$P/pylock.toml" six sha256="$EVIL_SHA" size="$EVIL_SIZE"
  local why="six 1.16.0: $A does not sign sha256 $EVIL_SHA for six-1.16.0-py3-none-any.whl, as pylock.toml pins; it signs sha256 $GOOD_SHA, $GOOD_SIZE bytes"
  refused_with "$why" "$P" sync
  refused_with "$why" "$P" sync --frozen
  refused_with "$why" "$P" sync --offline
  refused_with "$why" "$P" ci -- python3 -c 'import six'
  assert_six_never_ran "$P"
  # A run uses the environment as it is: the genuine six.
  assert_eq "$(six_seen "$P")" "$seen"
  assert_six_never_ran "$P"
  # verify names the pin registry A does not sign, and the lock no longer
  # being what the environment was built from.
  run --separate-stderr "$PL" -C "$P" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "lock: $why"
  assert_contains "$output" "lock: six 1.16.0: generation"
  assert_contains "$output" "was not built from the wheel pylock.toml pins"
  assert_eq "$(env_digest "$P")" "$env"
  assert_eq "$(cache_digest)" "$cache"
  # The old environment, under the victim's own lock, verifies as ever.
  cp "$FIX/a.lock" "$P/pylock.toml"
  run --separate-stderr "$PL" -C "$P" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  assert_six_never_ran "$P"
}

@test "install of another package re-locks from what registry A signs: the attacker's pin never gets in" {
  local P="$W/PA-install"
  from_lock "$P"
  pin "$P/pylock.toml" six sha256="$EVIL_SHA" size="$EVIL_SIZE"
  run --separate-stderr timeout 120 "$PL" -C "$P" install urllib3
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  grep -q "sha256 = \"$GOOD_SHA\"" "$P/pylock.toml"
  if grep -q "$EVIL_SHA" "$P/pylock.toml"; then echo "the attacker's pin is still locked"; return 1; fi
  assert_eq "$(six_seen "$P")" "$(unzip -p "$FIX/wheels/six-1.16.0-py3-none-any.whl" six.py | sha256sum | cut -d' ' -f1)"
  run "$PL" -C "$P" verify
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_six_never_ran "$P"
}

# ---------------------------------------------------------------- a withdrawn target

@test "a wheel the registry withdrew is refused from a warm cache: by sync, ci, a fresh checkout, and verify names it" {
  # Registry A as it was, published at a second address, then re-published
  # by its maintainer without six: targets re-signed, the wheel removed.
  # Its own state root (the versions seen are kept per root, and this copy
  # moves on), its cache warmed by the sync before the withdrawal.
  cp -a "$FIX/www/a" "$FIX/www/a-then"
  export PYLOCK_STATE_DIR="$W/withdrawn-state"
  local U="$NGINX_HTTP/a-then" P="$W/withdrawn" F="$W/withdrawn-fresh" R="$W/withdrawn-state"
  sed "s|$A|$U|g" "$FIX/a.lock" >"$BATS_TEST_TMPDIR/then.lock"
  project "$P" "$U" a
  cp "$BATS_TEST_TMPDIR/then.lock" "$P/pylock.toml"
  "$PL" -q -C "$P" sync
  "$PL" -q registry withdraw "$FIX/www/a-then" --key "$KEYS/a.key" six==1.16.0
  local env cache why="six 1.16.0: six-1.16.0-py3-none-any.whl is not signed by $U (withdrawn, or never published there)"
  env=$(env_digest "$P") cache=$(cache_digest)
  refused_with "$why" "$P" sync
  refused_with "$why" "$P" ci -- true
  run "$PL" -C "$P" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "lock: $why"
  assert_eq "$(env_digest "$P")" "$env"
  # A fresh checkout of the same lock, the wheel still in the cache.
  project "$F" "$U" a
  cp "$BATS_TEST_TMPDIR/then.lock" "$F/pylock.toml"
  refused_with "$why" "$F" sync
  refused_with "$why" "$F" sync --frozen
  [ -z "$(find -L "$(layer_dir "$F")" -name 'six*')" ]
  assert_eq "$(cache_digest)" "$cache"
}

# ---------------------------------------------------------------- a wrong hash with a warm cache

@test "a lock pinning another cached wheel's sha256, file or version for six is refused" {
  local P="$W/wronghash" env cache
  project "$P" "$A" a
  env=$(env_digest "$P") cache=$(cache_digest)
  cp "$FIX/a.lock" "$P/pylock.toml"
  pin "$P/pylock.toml" six sha256="$IDNA_SHA" size="$IDNA_SIZE"
  refused_with "six 1.16.0: $A does not sign sha256 $IDNA_SHA for six-1.16.0-py3-none-any.whl" \
    "$P" sync
  # The whole wheel entry of idna under six's name: a target A signs, but
  # not a wheel of six (refused as the lock is read).
  cp "$FIX/a.lock" "$P/pylock.toml"
  pin "$P/pylock.toml" six name=idna-3.3-py3-none-any.whl url="$A/targets/idna-3.3-py3-none-any.whl" \
    sha256="$IDNA_SHA" size="$IDNA_SIZE"
  local why="pylock.toml: package six: wheel idna-3.3-py3-none-any.whl is another project's"
  refused_with "$why" "$P" sync
  refused_with "$why" "$P" sync --frozen
  # six's own wheel, signed, under another version of six.
  sed '/^name = "six"$/{n;s/^version = "1.16.0"$/version = "1.15.0"/}' "$FIX/a.lock" >"$P/pylock.toml"
  grep -q '^version = "1.15.0"$' "$P/pylock.toml"
  refused_with "six-1.16.0-py3-none-any.whl is not a wheel of six 1.15.0, as pylock.toml says" \
    "$P" sync
  assert_eq "$(env_digest "$P")" "$env"
  assert_eq "$(cache_digest)" "$cache"
}

# ---------------------------------------------------------------- tampering with a generation

@test "a changed .pyc in a generation: verify names it, ci rebuilds its tree before it runs" {
  local P="$W/pyc" layer rel tree_file tree_sha bad_sha
  from_lock "$P"
  layer=$(layer_dir "$P")
  rel=$(cd "$layer" && find -L . -path '*-packages/__pycache__/six.*.pyc' | sed 's|^\./||')
  [ -n "$rel" ]
  tree_file=$(find "$R/cache/trees" -samefile "$layer/$rel")
  tree_sha=$(sha256sum <"$tree_file")
  # The user owns the state root: corruption, or an attacker with the
  # user's rights outside any sandbox.  A new file, so the cache's link is
  # left alone.
  cp "$layer/$rel" "$BATS_TEST_TMPDIR/x.pyc"
  chmod u+w "$BATS_TEST_TMPDIR/x.pyc" "$(dirname "$layer/$rel")"
  printf 'X' | dd of="$BATS_TEST_TMPDIR/x.pyc" bs=1 seek=200 conv=notrunc 2>/dev/null
  mv -f "$BATS_TEST_TMPDIR/x.pyc" "$layer/$rel"
  bad_sha=$(sha256sum <"$layer/$rel")
  [ "$bad_sha" != "$tree_sha" ]
  run "$PL" -C "$P" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "modified: $rel: its sha256 is not the one pylock installed"
  assert_contains "$output" "FAILED"
  # The generation folds six's __pycache__ into the cache's tree: the file
  # changed there.  ci's sync finds that tree damaged, moves it aside, builds
  # it again from the signed wheel, then the generation; the command runs
  # on the rebuilt one, which verifies.
  run --separate-stderr "$PL" -C "$P" ci -- touch "$BATS_TEST_TMPDIR/cmd-ran"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is damaged (a file in it was written, added or removed since it was built)"
  [ -e "$BATS_TEST_TMPDIR/cmd-ran" ]
  run "$PL" -C "$P" verify
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  [ "$(sha256sum <"$layer/$rel")" != "$bad_sha" ]
  [ "$(sha256sum <"$(layer_dir "$P")/$rel")" != "$bad_sha" ]
  # The damaged copy is kept aside, in no generation.
  [ -n "$(find "$R/cache/quarantine" -name "$(basename "$rel")" -type f)" ]
}

@test "a .pth dropped in a generation: verify names it, ci rebuilds without it before it runs" {
  local P="$W/pth" site
  from_lock "$P"
  site=$(interp purelib "$P")
  site=${site#"$(interp prefix "$P")"/}
  chmod u+w "$(layer_dir "$P")/$site"
  echo "import os; open('$BATS_TEST_TMPDIR/pth-ran', 'w')" >"$(layer_dir "$P")/$site/zz-evil.pth"
  run "$PL" -C "$P" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "unlisted: $site/zz-evil.pth: not in pylock's manifest"
  run --separate-stderr "$PL" -C "$P" ci -- python3 -c pass
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "changed since it was built"
  [ ! -e "$BATS_TEST_TMPDIR/pth-ran" ]
  [ ! -e "$(layer_dir "$P")/$site/zz-evil.pth" ]
}

@test "a truncated trusted root file: verify, sync and ci report it, never ok" {
  local P="$W/truncated" root
  from_lock "$P"
  root="$(state_dir "$P")/registry-root.json"
  truncate -s 300 "$root"
  run "$PL" -C "$P" verify
  [ "$status" -eq 1 ]
  assert_contains "$output" "the trusted root $root: registry-root.json: invalid JSON"
  if grep -q '^ok:' <<<"$output"; then echo "verify said ok: $output"; return 1; fi
  refused_with "trusted root: $root: invalid JSON" "$P" sync
  refused_with "trusted root: $root: invalid JSON" "$P" sync --frozen
  refused_with "trusted root: $root: invalid JSON" "$P" ci -- touch "$BATS_TEST_TMPDIR/cmd-ran"
  [ ! -e "$BATS_TEST_TMPDIR/cmd-ran" ]
}

# ---------------------------------------------------------------- another TUF implementation's registry

@test "a registry tuf-js wrote, without .metadata targets, installs on a cold cache" {
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/@tufjs/models" ] ||
    { echo "@tufjs/models not installed: integration/setup-node.sh did not run" >&2; return 1; }
  local w="$FIX/wheels" layout P opt
  for layout in consistent flat; do
    opt=()
    [ "$layout" = flat ] && opt=(--no-consistent)
    node "$PYLOCK_SCRATCH/interop/tuf-tool.js" make-registry "$FIX/www/tj-$layout" "${opt[@]}" \
      "$w/six-1.16.0-py3-none-any.whl" \
      "$w/requests-2.28.1-py3-none-any.whl" "$w/urllib3-1.26.12-py3-none-any.whl" \
      "$w/idna-3.3-py3-none-any.whl" "$w/certifi-2022.9.24-py3-none-any.whl" \
      "$w/charset_normalizer-3.0.1-py3-none-any.whl" >/dev/null
    [ -z "$(find "$FIX/www/tj-$layout" -name '*.metadata')" ]
    # A cold cache: a state root of its own.
    export PYLOCK_STATE_DIR="$W/cold-$layout"
    P="$W/tj-$layout"
    "$PL" -q init --python "$PY" --registry "$NGINX_HTTP/tj-$layout" \
      --root "$FIX/www/tj-$layout/1.root.json" "$P"
    run --separate-stderr timeout 120 "$PL" -C "$P" install six requests
    [ "$status" -eq 0 ] || { echo "$layout: $stderr"; return 1; }
    run --separate-stderr "$PL" -C "$P" run python3 -W ignore -c 'import six, requests, urllib3; print(requests.__version__)'
    assert_eq "$output" "2.28.1"
    run "$PL" -C "$P" verify
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  done
}

# ---------------------------------------------------------------- direct references: what direct_refs.bats leaves out

@test "direct references over https, http, git+https and git+ssh are refused in one line before pip" {
  local P="$W/direct" req
  project "$P" "$A" a
  local before
  before=$(sha256sum "$P/pylock.toml"; env_digest "$P")
  for req in "evil @ https://127.0.0.1:9/evil-1.0.tar.gz" "evil @ $NGINX_HTTP/evil-1.0.tar.gz" \
    "evil @ git+https://127.0.0.1:9/evil.git" "git+https://127.0.0.1:9/evil.git#egg=evil" \
    "evil @ git+ssh://git@127.0.0.1/evil.git" "https://127.0.0.1:9/evil-1.0-py3-none-any.whl"; do
    run --separate-stderr timeout 60 "$PL" -C "$P" install six "$req"
    [ "$status" -eq 1 ] || { echo "$req: status $status: $stderr"; return 1; }
    assert_eq "$(wc -l <<<"$stderr")" 1
    assert_contains "$stderr" "requirement \"$req\""
    assert_contains "$stderr" "a direct reference (URL, path or VCS) is not allowed"
  done
  assert_eq "$(sha256sum "$P/pylock.toml"; env_digest "$P")" "$before"
  # nginx was never asked for the sdist.
  if grep -q evil "$NGINX_DIR/access.log"; then echo "nginx was asked for it"; return 1; fi
}

@test "registry add refuses a wheel whose direct-reference Requires-Dist hides behind an extra or a marker" {
  local t="$BATS_TEST_TMPDIR/t" dep
  cp -a "$FIX/www/a" "$BATS_TEST_TMPDIR/reg"
  (cd "$BATS_TEST_TMPDIR/reg" && find . -type f -exec sha256sum {} + | sort) >"$BATS_TEST_TMPDIR/before"
  for dep in "evil @ https://127.0.0.1:9/evil-1.0.tar.gz ; extra == \"x\"" \
    "evil @ git+https://127.0.0.1:9/evil.git ; python_version < \"3\""; do
    python3 - "$t" "$dep" <<'PY'
import base64, hashlib, os, sys, zipfile
out, dep = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
di = "trojan-1.0.dist-info"
files = {
    "trojan/__init__.py": b"",
    di + "/METADATA": ("Metadata-Version: 2.1\nName: trojan\nVersion: 1.0\nProvides-Extra: x\n"
                       "Requires-Dist: six\nRequires-Dist: %s\n" % dep).encode(),
    di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join("%s,%s,%d\n" % (n, digest(b), len(b)) for n, b in files.items()) + di + "/RECORD,,\n"
with zipfile.ZipFile(os.path.join(out, "trojan-1.0-py3-none-any.whl"), "w") as z:
    for n, b in list(files.items()) + [(di + "/RECORD", record.encode())]:
        z.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), b)
PY
    run --separate-stderr "$PL" registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/a.key" \
      "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl" "$t/trojan-1.0-py3-none-any.whl"
    [ "$status" -eq 1 ] || { echo "$dep: status $status: $stderr"; return 1; }
    assert_contains "$stderr" "trojan-1.0-py3-none-any.whl: Requires-Dist: requirement"
    assert_contains "$stderr" "a direct reference"
  done
  (cd "$BATS_TEST_TMPDIR/reg" && find . -type f -exec sha256sum {} + | sort) >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}
