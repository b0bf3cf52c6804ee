#!/usr/bin/env bats
# pylock-test: once
# Hostile inputs at the registry's edges (issue 11, part 3), the real binary
# end to end: `pylock registry init|add|sign` write only into a directory
# that is the maintainer's alone, never through a planted link, publish
# nothing unless every wheel passed, and refuse a key inside what gets
# published; a client refuses an oversized targets.json before parsing it,
# in bounded time and memory.  Each attack asserts that it failed and that
# nothing changed: the registry byte for byte, and what a link pointed at.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/www"
  nginx_start "$FIX/nginx" "$FIX/www"
}

teardown_file() {
  nginx_stop
}

setup() {
  # The maintainer's own configuration, with the default signing key in it.
  export XDG_CONFIG_HOME="$(mktemp -d "$HOME/config.XXXXXX")" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  CONF="$XDG_CONFIG_HOME/pylock"
  "$PL" key generate >/dev/null
  printf "keepalive = 30\n" >"$CONF/config.toml"
  KEY="$CONF/keys/default.key"
  NAME="t$BATS_TEST_NUMBER"
  REG="$FIX/www/$NAME"
  WHL_A="$FIX/wheels/idna-3.3-py3-none-any.whl"
  WHL_B="$FIX/wheels/six-1.16.0-py3-none-any.whl"
  WHL_C="$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
  PLANTED=()
}

teardown() {
  # What a test planted in the shared foreign directories goes with it.
  local p
  for p in "${PLANTED[@]}"; do rm -rf "$p"; done
}

# Every entry under DIR with its type and mode, then every file's sha256:
# equal listings mean the tree is byte for byte the same (DIR's own mode
# aside: some tests change it).
tree_digest() {
  (cd "$1" && find . -mindepth 1 -printf '%p %y %m\n' | LC_ALL=C sort &&
    find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

make_registry() {
  "$PL" -q registry init "$REG"
  "$PL" -q registry add "$REG" "$WHL_A"
}

# assert_refused TEXT...: exit 1, one error line (plus at most a hint) that
# contains every TEXT.
assert_refused() {
  if [ "$status" -ne 1 ]; then
    echo "expected exit 1, got $status"; echo "stdout: $output"; echo "stderr: ${stderr:-}"
    return 1
  fi
  local first
  first=$(head -n 1 <<<"$stderr")
  assert_contains "$first" "pylock: "
  for t in "$@"; do assert_contains "$first" "$t"; done
  [ "$(grep -vc '^pylock: hint: ' <<<"$stderr")" -eq 1 ] || { echo "more than one error line: $stderr"; return 1; }
}

# long_wheel LENGTH DIR: a valid wheel whose file name has LENGTH characters
# (a 200-character distribution name, the version making up the rest).
long_wheel() {
  python3 - "$PYLOCK_BIN/make-wheels.py" "$1" "$2" <<'EOF'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("make_wheels", sys.argv[1])
mw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mw)
length, outdir = int(sys.argv[2]), sys.argv[3]
name = "a" * 200
vlen = length - len(name) - len("--py3-none-any.whl")
version = ("1" if vlen % 2 else "10") + ".0" * ((vlen - 1) // 2)
di = "%s-%s.dist-info" % (name, version)
files = {
    name + "/__init__.py": (b"VALUE = 1\n", 0o644),
    di + "/METADATA": (("Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (name, version)).encode(), 0o644),
    di + "/WHEEL": (mw.wheel_file(), 0o644),
}
os.makedirs(outdir, exist_ok=True)
filename = "%s-%s-py3-none-any.whl" % (name, version)
assert len(filename) == length, (len(filename), length)
print(mw.build_wheel(outdir, filename, files, di))
EOF
}

# ---- the registry directory is the maintainer's alone ----

@test "a_planted_targets_link_into_the_maintainers_config_is_refused_by_add_and_init" {
  make_registry
  mv "$REG/targets" "$BATS_TEST_TMPDIR/targets.real"
  ln -s "$CONF" "$REG/targets"
  local conf_before reg_before
  conf_before=$(tree_digest "$CONF")
  reg_before=$(tree_digest "$REG")
  run --separate-stderr "$PL" registry add "$REG" "$WHL_B"
  assert_refused "$REG/targets is a symbolic link"
  assert_eq "$(tree_digest "$CONF")" "$conf_before"
  assert_eq "$(tree_digest "$REG")" "$reg_before"
  run --separate-stderr "$PL" registry sign "$REG"
  assert_refused "$REG/targets is a symbolic link"
  # The same link planted before init.
  mkdir "$REG-new"
  ln -s "$CONF" "$REG-new/targets"
  run --separate-stderr "$PL" registry init "$REG-new"
  assert_refused "$REG-new/targets is a symbolic link"
  assert_eq "$(ls -A "$REG-new" | grep -vxF .pylock-publish.lock)" "targets"
  assert_eq "$(tree_digest "$CONF")" "$conf_before"
}

@test "a_planted_link_at_a_metadata_name_is_refused_and_what_it_points_at_is_untouched" {
  make_registry
  local victim="$CONF/config.toml" conf_before name
  conf_before=$(tree_digest "$CONF")
  for name in timestamp.json snapshot.json targets.json root.json 2.root.json \
    "targets/$(basename "$WHL_B").metadata"; do
    [ -e "$REG/$name" ] && mv "$REG/$name" "$BATS_TEST_TMPDIR/saved"
    ln -s "$victim" "$REG/$name"
    local before
    before=$(tree_digest "$REG")
    case $name in
    targets/*) run --separate-stderr "$PL" registry add "$REG" "$WHL_B" ;;
    *) run --separate-stderr "$PL" registry sign "$REG" --renew-root ;;
    esac
    assert_refused "$REG/$name is a symbolic link, not a file"
    assert_eq "$(tree_digest "$REG")" "$before"
    assert_eq "$(tree_digest "$CONF")" "$conf_before"
    rm "$REG/$name"
    [ -e "$BATS_TEST_TMPDIR/saved" ] && mv "$BATS_TEST_TMPDIR/saved" "$REG/$name"
  done
  # With the links gone the registry is as good as before.
  run --separate-stderr "$PL" registry verify "$REG" --root "$REG/1.root.json" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "a_registry_directory_owned_by_another_user_is_refused_leaving_it_and_the_config_untouched" {
  [ -n "${PYLOCK_FOREIGN_DIR:-}" ] || skip "needs integration/run as root (PYLOCK_FOREIGN_DIR)"
  local foreign="$PYLOCK_FOREIGN_DIR"
  [ "$(stat -c %u "$foreign")" != "$(id -u)" ]
  [ -w "$foreign" ]
  # What the other user prepared: a link from targets to our configuration.
  ln -s "$CONF" "$foreign/targets"
  PLANTED+=("$foreign/targets")
  local conf_before foreign_before
  conf_before=$(tree_digest "$CONF")
  foreign_before=$(ls -lA "$foreign")
  run --separate-stderr "$PL" registry init "$foreign"
  assert_refused "registry directory $foreign is owned by" "uid $(stat -c %u "$foreign")" \
    "with mode 0777, not by you" "use a directory of your own"
  run --separate-stderr "$PL" registry add "$foreign" "$WHL_A"
  assert_refused "registry directory $foreign is owned by"
  assert_eq "$(ls -lA "$foreign")" "$foreign_before"
  assert_eq "$(tree_digest "$CONF")" "$conf_before"
}

@test "a_sticky_world_writable_directory_is_refused_but_ones_own_directory_inside_it_works" {
  [ -n "${PYLOCK_FOREIGN_STICKY_DIR:-}" ] || skip "needs integration/run as root (PYLOCK_FOREIGN_STICKY_DIR)"
  local sticky="$PYLOCK_FOREIGN_STICKY_DIR" before
  before=$(ls -lA "$sticky")
  run --separate-stderr "$PL" registry init "$sticky"
  assert_refused "registry directory $sticky is owned by" "with mode 1777, not by you"
  assert_eq "$(ls -lA "$sticky")" "$before"
  # A directory of one's own in /tmp-like places is fine.
  PLANTED+=("$sticky/$NAME")
  run --separate-stderr "$PL" registry init "$sticky/$NAME"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(stat -c '%U %a' "$sticky/$NAME" "$sticky/$NAME/targets")" "$(id -un) 755
$(id -un) 755"
}

@test "a_registry_directory_writable_by_group_or_others_is_refused_with_the_fix" {
  make_registry
  local before mode
  before=$(tree_digest "$REG")
  for mode in 777 775 757; do
    chmod "$mode" "$REG"
    run --separate-stderr "$PL" registry add "$REG" "$WHL_B"
    assert_refused "registry directory $REG (yours, mode 0$mode) is writable by" "chmod go-w $REG"
    assert_eq "$(tree_digest "$REG")" "$before"
  done
  chmod 755 "$REG"
  chmod 777 "$REG/targets"
  run --separate-stderr "$PL" registry sign "$REG"
  assert_refused "registry directory $REG/targets (yours, mode 0777) is writable by others"
  chmod 755 "$REG/targets"
  # init adopts no such directory either, and writes nothing into it.
  mkdir -m 0770 "$REG-shared"
  run --separate-stderr "$PL" registry init "$REG-shared"
  assert_refused "(yours, mode 0770) is writable by its group"
  [ -z "$(ls -A "$REG-shared")" ]
}

@test "init_creates_the_registry_and_targets_0755_whatever_the_umask" {
  local m
  for m in 000 077; do
    (umask "$m" && "$PL" -q registry init "$REG-$m")
    assert_eq "$(stat -c %a "$REG-$m" "$REG-$m/targets")" "755
755"
  done
}

# ---- add stages everything and publishes only when every wheel passed ----

@test "an_over_long_wheel_name_among_good_ones_leaves_the_registry_byte_for_byte_unchanged" {
  make_registry
  local len w before
  for len in 226 230 234; do
    w=$(long_wheel "$len" "$BATS_TEST_TMPDIR/long$len")
    before=$(tree_digest "$REG")
    # Good wheels on both sides: neither may be published.
    run --separate-stderr "$PL" registry add "$REG" "$WHL_B" "$w" "$WHL_C"
    assert_refused "a wheel file name of $len characters is too long" "at most 225"
    assert_eq "$(tree_digest "$REG")" "$before"
  done
  # 225 characters fit: the wheel, its .metadata and their temporary files.
  w=$(long_wheel 225 "$BATS_TEST_TMPDIR/long225")
  run --separate-stderr "$PL" registry add "$REG" "$WHL_B" "$w"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -f "$REG/targets/$(basename "$w").metadata" ]
  run --separate-stderr "$PL" registry verify "$REG" --root "$REG/1.root.json" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # 3 wheels, their .metadata and project pages (the default), the pages' layout marker
  assert_contains "$output" "verified: 10 targets"
  # No temporary file was left anywhere.
  [ -z "$(find "$REG" -name '.*.tmp*' -o -name '.pylock-tmp-*')" ]
}

@test "a_wheel_that_fails_after_good_ones_were_staged_leaves_the_registry_unchanged" {
  make_registry
  python3 "$PYLOCK_BIN/make-wheels.py" --malicious "$BATS_TEST_TMPDIR/evil" >/dev/null
  local before
  before=$(tree_digest "$REG")
  run --separate-stderr "$PL" registry add "$REG" "$WHL_B" "$WHL_C" \
    "$BATS_TEST_TMPDIR/evil/badhash-1.0-py3-none-any.whl"
  assert_refused "badhash-1.0-py3-none-any.whl"
  assert_eq "$(tree_digest "$REG")" "$before"
}

# ---- keys stay out of what gets published ----

# (The registry in the home here: pylock refuses a key anywhere in /tmp
# before it looks for a registry around it; attacks_keys.bats.)
@test "key_generate_refuses_to_write_a_key_inside_a_registry_directory" {
  REG="$HOME/reg-$NAME"
  make_registry
  mkdir "$REG/keys" "$REG/targets/deep"
  local before out
  before=$(tree_digest "$REG")
  for out in "$REG/release.key" "$REG/keys/release.key" "$REG/targets/deep/release.key"; do
    run --separate-stderr "$PL" key generate -o "$out"
    assert_refused "refusing the private key $out: it is inside $REG" \
      "publishing the directory would publish the key"
    assert_eq "$(tree_digest "$REG")" "$before"
  done
  # Outside it is fine.
  run --separate-stderr "$PL" key generate -o "$REG-release.key"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "registry_commands_refuse_a_key_inside_the_registry_directory_however_it_is_named" {
  REG="$HOME/reg-$NAME"
  make_registry
  mkdir -m 0700 "$REG/keys"
  cp "$KEY" "$REG/keys/release.key"
  ln -s "$REG/keys" "$REG-keys-elsewhere"
  local before
  before=$(tree_digest "$REG")
  run --separate-stderr "$PL" registry add "$REG" --key "$REG/keys/release.key" "$WHL_B"
  assert_refused "refusing the private key $REG/keys/release.key: it is inside $REG" \
    "publishing the directory would publish the key"
  run --separate-stderr "$PL" registry sign "$REG" --key "$REG-keys-elsewhere/release.key"
  assert_refused "refusing the private key $REG-keys-elsewhere/release.key" \
    "publish the key"
  run --separate-stderr "$PL" registry sign "$REG" --key "$KEY" --add-root-key "$REG/keys/release.key"
  assert_refused "refusing the private key $REG/keys/release.key" "publish the key"
  assert_eq "$(tree_digest "$REG")" "$before"
  # init into a directory that already holds the key.
  mkdir -p "$REG-new/keys"
  cp "$KEY" "$REG-new/keys/k.key"
  run --separate-stderr "$PL" registry init "$REG-new" --key "$REG-new/keys/k.key"
  assert_refused "it is inside $REG-new, the registry directory"
  [ ! -e "$REG-new/root.json" ]
}

# ---- a client bounds what it parses before a signature is checked ----

# measure CMD...: run it; MAXRSS_KB and SECONDS_TAKEN (CPU time, user +
# system: a bound on work that holds on a loaded machine, as wall time
# does not) are set.
measure() {
  [ -x /usr/bin/time ] || skip "needs /usr/bin/time (GNU time) to measure peak memory"
  run --separate-stderr /usr/bin/time -f '%M %U %S' -o "$BATS_TEST_TMPDIR/time.out" "$@"
  # The last line: GNU time puts "Command exited with non-zero status" first.
  local user sys
  read -r MAXRSS_KB user sys < <(tail -n 1 "$BATS_TEST_TMPDIR/time.out")
  SECONDS_TAKEN=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
  echo "# peak RSS ${MAXRSS_KB} KB, ${SECONDS_TAKEN} s CPU: $*" >&3
}

# huge_json FILE MIB: valid JSON of MIB MiB that costs the most to parse: a
# targets body holding a long array of empty arrays.
huge_json() {
  python3 - "$1" "$2" <<'EOF'
import sys
n = int(float(sys.argv[2]) * (1 << 20)) // 3
with open(sys.argv[1], "w") as f:
    f.write('{"signatures":[],"signed":{"_type":"targets","spec_version":"1.0.31","version":2,'
            '"expires":"2030-01-01T00:00:00Z","targets":{},"x":[')
    f.write(",".join(["[]"] * n))
    f.write("]}}")
EOF
}

@test "an_oversized_targets_json_is_refused_unparsed_at_the_length_snapshot_lists" {
  make_registry
  local root="$BATS_TEST_TMPDIR/root.json" state="$BATS_TEST_TMPDIR/state"
  cp "$REG/1.root.json" "$root"
  run --separate-stderr "$PL" registry verify "$NGINX_HTTP/$NAME" --root "$root" --state "$state"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  local state_before listed
  rm "$state/targets.json" # else the kept copy, the version listed, is used
  state_before=$(tree_digest "$state")
  listed=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["signed"]["meta"]["targets.json"]["length"])' "$REG/snapshot.json")
  huge_json "$REG/targets.json" 32
  measure timeout 60 "$PL" registry verify "$NGINX_HTTP/$NAME" --root "$root" --state "$state"
  assert_refused "targets.json: length mismatch: expected $listed bytes (snapshot.json), got more"
  assert_eq "$(tree_digest "$state")" "$state_before"
  # Before: 1.3 GB and 5.5 s for this file.  Now: nothing beyond the listed length is read.
  [ "$MAXRSS_KB" -lt 32768 ] || { echo "peak RSS ${MAXRSS_KB} KB"; return 1; }
  [ "${SECONDS_TAKEN%.*}" -lt 2 ] || { echo "took ${SECONDS_TAKEN} s of CPU"; return 1; }
}

@test "an_oversized_unsigned_targets_json_of_a_registry_listing_no_length_is_refused_unparsed" {
  # tuf-js writes snapshots that list no length for targets.json, as pylock
  # did before: such registries still verify, under the documented cap.
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/tuf-js" ] || skip "tuf-js not installed (integration/setup-node.sh)"
  node "$PYLOCK_SCRATCH/interop/tuf-tool.js" make-registry "$REG" --no-consistent "$WHL_A" >/dev/null
  python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["signed"]["meta"]["targets.json"]; assert "length" not in m, m' "$REG/snapshot.json"
  local root="$BATS_TEST_TMPDIR/root.json" state="$BATS_TEST_TMPDIR/state"
  cp "$REG/1.root.json" "$root"
  run --separate-stderr "$PL" registry verify "$NGINX_HTTP/$NAME" --root "$root" --state "$state" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  local state_before
  rm "$state/targets.json" # else the kept copy, the version listed, is used
  state_before=$(tree_digest "$state")
  huge_json "$REG/targets.json" 32
  measure timeout 60 "$PL" registry verify "$NGINX_HTTP/$NAME" --root "$root" --state "$state"
  assert_refused "targets.json: larger than the 2097152 bytes allowed for metadata whose length" \
    "snapshot.json does not list (refused before parsing)"
  assert_eq "$(tree_digest "$state")" "$state_before"
  [ "$MAXRSS_KB" -lt 32768 ] || { echo "peak RSS ${MAXRSS_KB} KB"; return 1; }
  [ "${SECONDS_TAKEN%.*}" -lt 2 ] || { echo "took ${SECONDS_TAKEN} s of CPU"; return 1; }
  # The worst file under the cap is parsed, then refused, within the
  # documented bound (about 100 MB, a fraction of a second).
  huge_json "$REG/targets.json" 1.99
  measure timeout 60 "$PL" registry verify "$NGINX_HTTP/$NAME" --root "$root" --state "$state"
  assert_refused "targets.json"
  assert_eq "$(tree_digest "$state")" "$state_before"
  [ "$MAXRSS_KB" -lt 131072 ] || { echo "peak RSS ${MAXRSS_KB} KB"; return 1; }
  [ "${SECONDS_TAKEN%.*}" -lt 2 ] || { echo "took ${SECONDS_TAKEN} s of CPU"; return 1; }
}
