#!/usr/bin/env bats
# pylock-test: once
# Attacks on what was merged last (foreign locks, hashed bins, cache clean,
# -v and the status line), as a hostile pull request, mirror or checkout
# would make them.  Each test performs one attack and asserts that it fails
# and that nothing changed.  (Once: each attack ends in pylock's own
# checks, whatever the base.)
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX/wheels/idna-3.3-py3-none-any.whl"
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# A listing of everything under $1 (names, types, sizes), to compare.
snapshot() {
  (cd "$1" && find . -printf '%y %s %p\n' 2>/dev/null | LC_ALL=C sort)
}

# foreign_lock OUT [WHEEL-TABLE-EXTRA]: idna 3.3 locked as uv writes it (no
# [tool.pylock]), its index the fixture registry; the extra text goes into
# the wheel's table.
foreign_lock() {
  local w="$FIX/reg/targets/idna-3.3-py3-none-any.whl" sum size
  local where='url = "https://files.example/idna-3.3-py3-none-any.whl",'
  sum=$(sha256sum "$w" | cut -d' ' -f1)
  size=$(stat -c %s "$w")
  cat >"$1" <<EOT
lock-version = "1.0"
created-by = "uv"

[[packages]]
name = "idna"
version = "3.3"
index = "$FIX/reg"
wheels = [
  {name = "idna-3.3-py3-none-any.whl", ${2:-$where} size = $size, hashes = {sha256 = "$sum"}},
]
EOT
}

@test "attack: a checkout's directory named with escape sequences reaches the shim's message escaped" {
  SHIMS="$BATS_TEST_TMPDIR/shims"
  "$PL" shim install --dir "$SHIMS" --python "$PY" >/dev/null 2>&1
  # A clone holding a project in a directory whose name retitles the
  # terminal (OSC 0) and clears the screen (CSI 2J).
  evil="$BATS_TEST_TMPDIR/clone/sub"$'\e]0;pwned\a\e[2J'
  mkdir -p "$evil"
  printf 'lock-version = "1.0"\ncreated-by = "uv"\n' >"$evil/pylock.toml"
  before=$(snapshot "$BATS_TEST_TMPDIR/clone")
  cd "$evil"
  run --separate-stderr "$SHIMS/python3" -c 'print("ran")'
  [ "$status" -ne 0 ]
  assert_not_contains "$output" "ran"
  # Shown, escaped: never an ESC or BEL byte on the terminal.
  assert_contains "$stderr" 'sub\x1b]0;pwned\x07\x1b[2J'
  if printf '%s' "$stderr" | LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]'; then
    echo "raw control byte in: $stderr" | od -c | head -5
    return 1
  fi
  assert_eq "$(snapshot "$BATS_TEST_TMPDIR/clone")" "$before"
}

@test "attack: a foreign lock's wheel path and url outside the project are never read" {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$PROJ"
  # A FIFO with no writer: opening it to read would block pylock forever.
  mkfifo "$BATS_TEST_TMPDIR/trap.whl"
  foreign_lock "$PROJ/pylock.toml" \
    "path = \"$BATS_TEST_TMPDIR/trap.whl\", url = \"file://$BATS_TEST_TMPDIR/trap.whl\","
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # What entered is the registry's signed target, fetched by its name.
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
  [ -p "$BATS_TEST_TMPDIR/trap.whl" ]
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock"
}

@test "-v names a foreign lock's registry where it checks each wheel, never (null)" {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$PROJ"
  foreign_lock "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -v -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "idna-3.3-py3-none-any.whl is a target $FIX/reg signs"
  assert_not_contains "$stderr" "(null)"
}
