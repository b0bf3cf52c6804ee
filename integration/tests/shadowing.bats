#!/usr/bin/env bats
# Shadowing and startup hooks (issue 10, item 4), the real binary on each
# base interpreter.  A signed wheel that would shadow the interpreter
# (.data/scripts/python3), its standard library (.data/data/lib/pythonX.Y/
# json/__init__.py) or pip (a console script named pip) is refused by
# `registry add`, by `registry verify --targets` when another TUF
# implementation signed it, and by `pylock install` and `pylock sync` from
# such a registry: nothing changes, and python3, json and pip are still the
# base's.  A wheel whose file the base interpreter itself has passes every
# registry (none can know the base) and is refused by the installer.  A
# wheel's .pth file is named by `registry add`, by `pylock list` and, once,
# by `pylock install`.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/evil" "$FIX/ok"
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  local sv
  sv=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  make_wheel "$FIX/evil" evilscript "evilscript/__init__.py=" \
    'evilscript-1.0.data/scripts/python3=#!python\nprint("EVIL-PYTHON3")\n'
  make_wheel "$FIX/evil" evilstdlib "evilstdlib/__init__.py=" \
    "evilstdlib-1.0.data/data/lib/python$sv/json/__init__.py=print('EVIL-JSON')\n"
  make_wheel "$FIX/evil" evilpip "evilpip/__init__.py=def main():\n    print('EVIL-PIP')\n" \
    'evilpip-1.0.dist-info/entry_points.txt=[console_scripts]\npip = evilpip:main\n'
  make_wheel "$FIX/ok" hooked "hooked/__init__.py=" \
    'hooked.pth=import sys; sys.stderr.write("HOOK-RAN\\n")\n'
  # The registry a hostile or careless maintainer signs with another TUF
  # implementation (@tufjs/models checks nothing): two good wheels and the
  # three that shadow.
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/@tufjs/models" ] ||
    { echo "@tufjs/models not installed: integration/setup-node.sh did not run" >&2; return 1; }
  local w good=()
  for w in six-1.16.0-py3-none-any.whl idna-3.3-py3-none-any.whl; do
    good+=("$FIX/wheels/$w")
  done
  node "$PYLOCK_SCRATCH/interop/tuf-tool.js" make-registry "$FIX/hostile" --no-consistent \
    "${good[@]}" "$FIX"/evil/*.whl "$FIX"/evil/*.whl.metadata >/dev/null
  # pylock's own registry: what it accepts, hooked and six.
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "${good[@]}" 2>/dev/null
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# A project on REGISTRY (default: the hostile one, anchored at its own root).
project() {
  local reg="${1:-$FIX/hostile}" root="${2:-$FIX/hostile/1.root.json}"
  "$PL" -q init --python "$PY" --registry "$reg" --root "$root" "$PROJ"
}

# What a refused command must not change: the project's state, every
# generation's files included; and for sync, pylock.toml's bytes too.
# (`pylock install` writes the new lock before it syncs, and keeps it when
# the sync fails: pylock-install(1).  The sync it leaves to do refuses the
# wheel again.)
state() {
  [ -n "${1:-}" ] || sha256sum "$PROJ/pylock.toml"
  (cd "$(state_dir)" && find . ! -name lock ! -name change.lock ! -path './run/*' -printf '%p %y %s %l\n' | sort)
}
snapshot() {
  state "$@" >"$BATS_TEST_TMPDIR/before"
}
assert_unchanged() {
  state "$@" >"$BATS_TEST_TMPDIR/after"
  diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}

# The base's python3, json and pip are what the environment runs.
assert_base_still_runs() {
  local prefix
  prefix=$(interp prefix)
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" run -- python3 -c \
    'import json, shutil, sys; print(json.__file__); print(shutil.which("python3")); print(shutil.which("pip"))'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$(sed -n 1p <<<"$output")" "/lib/python"
  case "$(sed -n 1p <<<"$output")" in "$prefix"/lib/python*/json/__init__.py) ;; *)
    echo "json is $(sed -n 1p <<<"$output")"; return 1 ;; esac
  assert_not_contains "$output$stderr" "EVIL"
  local py3 pip
  py3=$(sed -n 2p <<<"$output") pip=$(sed -n 3p <<<"$output")
  [ "$py3" = None ] || ! grep -q EVIL "$py3"
  [ "$pip" = None ] || ! grep -q EVIL "$pip"
}

evil_whl() {
  echo "$1-1.0-py3-none-any.whl"
}

# ---------------------------------------------------------------- the registry side

@test "registry add refuses wheels that would shadow python3, json or pip, leaving the registry as it was" {
  base_blind
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  local before w
  before=$(cd "$BATS_TEST_TMPDIR/reg" && find . -type f -exec sha256sum {} + | sort)
  for w in "evilscript:scripts/python3\" would shadow the interpreter" \
    "evilstdlib:/json/__init__.py\" would shadow the standard library" \
    "evilpip:entry point pip = evilpip:main (console_scripts) would shadow pip"; do
    run --separate-stderr "$PL" registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/k.key" \
      "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl" "$FIX/evil/$(evil_whl "${w%%:*}")"
    [ "$status" -eq 1 ] || { echo "${w%%:*}: status $status"; return 1; }
    assert_contains "$stderr" "wheel $(evil_whl "${w%%:*}"): "
    assert_contains "$stderr" "${w#*:}"
    assert_eq "$(cd "$BATS_TEST_TMPDIR/reg" && find . -type f -exec sha256sum {} + | sort)" "$before"
  done
}

@test "registry verify --targets names each signed wheel that would shadow, and only those" {
  base_blind
  run --separate-stderr timeout 120 "$PL" registry verify "$FIX/hostile" \
    --root "$FIX/hostile/1.root.json" --state "$BATS_TEST_TMPDIR/vstate" --targets
  [ "$status" -eq 1 ] || { echo "$output $stderr"; return 1; }
  assert_eq "$(grep -c 'would shadow' <<<"$stderr")" 3
  assert_contains "$stderr" "$(evil_whl evilscript): entry \"evilscript-1.0.data/scripts/python3\" would shadow the interpreter"
  assert_contains "$stderr" "$(evil_whl evilstdlib): entry \"evilstdlib-1.0.data/data/lib/python"
  assert_contains "$stderr" "$(evil_whl evilpip): entry point pip = evilpip:main (console_scripts) would shadow pip"
  assert_contains "$output" "failed: 3 of"
}

# ---------------------------------------------------------------- install and sync

install_refuses() {
  project
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "control: $stderr"; return 1; }
  snapshot --env
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before.toml"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install "$1"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$(evil_whl "$1")"
  assert_contains "$stderr" "$2"
  assert_unchanged --env
  # The install was one transaction: the lock did not take the wheel either.
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/before.toml"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "already matches"
  assert_unchanged --env
  assert_base_still_runs
}

@test "install refuses a signed wheel whose script is python3; python3 stays the base's" {
  install_refuses evilscript "scripts/python3\" would shadow the interpreter"
}

@test "install refuses a signed wheel that replaces json; json stays the standard library's" {
  install_refuses evilstdlib "/json/__init__.py\" would shadow the standard library"
}

@test "install refuses a signed wheel whose console script is pip; pip stays the base's" {
  install_refuses evilpip "entry point pip = evilpip:main (console_scripts) would shadow pip"
}

@test "sync refuses a pylock.toml from a pull request that locks a wheel replacing json" {
  project
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "control: $stderr"; return 1; }
  # The pull request's lock: evilstdlib as a locked, requested package, with
  # the size and hash the hostile registry signs.
  python3 - "$PROJ/pylock.toml" "$FIX/hostile/targets/$(evil_whl evilstdlib)" "$FIX/hostile" <<'PY'
import hashlib, os, re, sys
path, whl, reg = sys.argv[1:]
text = open(path).read()
data = open(whl, "rb").read()
block = ('[[packages]]\nname = "evilstdlib"\nversion = "1.0"\nindex = "%s"\n\n'
         '[[packages.wheels]]\nname = "%s"\nurl = "file://%s/targets/%s"\nsize = %d\n'
         'hashes = {sha256 = "%s"}\n\n[packages.tool.pylock]\nrequested = true\n\n'
         % (reg, os.path.basename(whl), reg, os.path.basename(whl), len(data),
            hashlib.sha256(data).hexdigest()))
text = text.replace("[tool.pylock]\n", block + "[tool.pylock]\n", 1)
text = re.sub(r'(?ms)^requested = \[(.*?)\]$', lambda m: 'requested = [\n    "evilstdlib",' + m.group(1) + ']', text, count=1)
open(path, "w").write(text)
PY
  snapshot
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" sync
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$(evil_whl evilstdlib)"
  assert_contains "$stderr" "/json/__init__.py\" would shadow the standard library"
  assert_unchanged
  assert_base_still_runs
}

# A wheel with a file the base interpreter has: any registry signs it (the
# base is unknown there); the installer looks the base up and refuses.  The
# file is one the base has in its data scheme path (the prefix, or
# /usr/local on Debian): a program or a symlink of its own.
@test "install refuses a signed wheel whose file the base interpreter already has" {
  local data rel
  data=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["data"])')
  rel=$(find "$data" -mindepth 2 -maxdepth 2 \( -type f -o -type l \) ! -name 'python*' \
    ! -name 'pip*' ! -name 'libpython*' ! -name '*._pth' ! -name pyvenv.cfg -printf '%P\n' |
    LC_ALL=C sort | head -n 1)
  [ -n "$rel" ] || skip "the base's data path $data holds no file two levels down"
  local before
  before=$(if [ -L "$data/$rel" ]; then readlink "$data/$rel"; else sha256sum <"$data/$rel"; fi)
  make_wheel "$BATS_TEST_TMPDIR" collide "collide/__init__.py=" "collide-1.0.data/data/$rel=SHADOWED\n"
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  run --separate-stderr "$PL" registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/k.key" \
    "$BATS_TEST_TMPDIR/$(evil_whl collide)"
  [ "$status" -eq 0 ] || { echo "registry add: $stderr"; return 1; }
  project "$BATS_TEST_TMPDIR/reg" "$FIX/trusted-root.json"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "control: $stderr"; return 1; }
  snapshot --env
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install collide
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$(evil_whl collide): entry \"collide-1.0.data/data/$rel\" would install"
  assert_contains "$stderr" "which shadows the base interpreter's"
  assert_contains "$stderr" "$data/$rel"
  assert_unchanged --env
  # Inside the environment the file is the base's.
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" run -- sh -c \
    "if [ -L '$data/$rel' ]; then readlink '$data/$rel'; else sha256sum <'$data/$rel'; fi"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "$before"
}

@test "install refuses a signed wheel that overwrites a package the base ships" {
  local purelib rel
  purelib=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  rel=$(find "$purelib" -mindepth 2 -maxdepth 2 -type f -name '__init__.py' -printf '%P\n' 2>/dev/null |
    LC_ALL=C sort | head -n 1)
  [ -n "$rel" ] || skip "the base ships no package in $purelib"
  make_wheel "$BATS_TEST_TMPDIR" notbase "$rel=print('SHADOWED')\n"
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  "$PL" -q registry add "$BATS_TEST_TMPDIR/reg" --key "$KEYS/k.key" "$BATS_TEST_TMPDIR/$(evil_whl notbase)"
  project "$BATS_TEST_TMPDIR/reg" "$FIX/trusted-root.json"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "control: $stderr"; return 1; }
  snapshot --env
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install notbase
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "entry \"$rel\" would install"
  assert_contains "$stderr" "which shadows the base interpreter's file $purelib/$rel"
  assert_unchanged --env
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" run -- python3 -c "import ${rel%%/*}"
  assert_not_contains "$output$stderr" "SHADOWED"
}

# ---------------------------------------------------------------- startup hooks

@test "a .pth file is named by registry add, once by install, and by list" {
  cp -a "$FIX/reg" "$BATS_TEST_TMPDIR/reg"
  # The key on standard input: from a file outside the keys directory of
  # this test's configuration, pylock would add a warning to the lines.
  run --separate-stderr "$PL" -q registry add "$BATS_TEST_TMPDIR/reg" --key - \
    "$FIX/ok/hooked-1.0-py3-none-any.whl" "$FIX/wheels/certifi-2022.9.24-py3-none-any.whl" <"$KEYS/k.key"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$stderr" "pylock: registry add: hooked-1.0-py3-none-any.whl installs startup hooks: hooked.pth (code that runs at every interpreter start)"
  project "$BATS_TEST_TMPDIR/reg" "$FIX/trusted-root.json"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install hooked
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "pylock: install: hooked 1.0 installs startup hooks: hooked.pth (code that runs at every interpreter start)"
  # Once: a later change does not say it again, quiet or not.
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "startup hooks"
  run --separate-stderr "$PL" -C "$PROJ" list
  [ "$status" -eq 0 ]
  assert_contains "$output" "startup hooks: hooked.pth"
  assert_eq "$(grep -c 'startup hooks' <<<"$output")" 1
  run --separate-stderr "$PL" -C "$PROJ" list --json
  [ "$status" -eq 0 ]
  python3 - "$output" <<'PY'
import json, sys
pkgs = {p["name"]: p for p in json.loads(sys.argv[1])["packages"]}
assert pkgs["hooked"]["startup_hooks"] == ["hooked.pth"], pkgs
assert pkgs["six"]["startup_hooks"] == [], pkgs
PY
  # What it announced is real: the hook runs at every interpreter start.
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" run -- python3 -c pass
  [ "$status" -eq 0 ]
  assert_contains "$stderr" "HOOK-RAN"
  # A sync that brings the hook back after it went says it again, with -q.
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" remove hooked
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run --separate-stderr timeout 120 "$PL" -q -C "$PROJ" install hooked
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$stderr" "pylock: install: hooked 1.0 installs startup hooks: hooked.pth (code that runs at every interpreter start)"
}
