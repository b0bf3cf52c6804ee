#!/usr/bin/env bats
# pylock-test: once
# Private signing keys where code pylock runs could read or replace them.
# Every sandbox writes its own project and /tmp, /var/tmp, /dev/shm and
# ~/.cache, and reads the rest of the user's files but the keys directory
# (lib/keyplace.h).  A key in a project (the README's old `key generate -o
# release.key` in a working directory) or in /tmp is one that the project's
# code, or a hostile dependency's, reads and signs with, or replaces with its
# own: each attack is performed here and pylock must refuse the key before it
# signs anything.  Nothing here depends on the base, so the file runs once.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers

setup_file() {
  fixture_wheels
}

setup() {
  maintainer
  KD="$XDG_CONFIG_HOME/pylock/keys"
  # The maintainer's key, in the keys directory, and a copy of it made the
  # way the README once said (a file in the working directory).
  "$PL" key generate -o good >/dev/null
  GOOD="$KD/good.key"
  GOODID=$("$PL" key show good | sed -n 's/^keyid: //p')
  # The attacker's key, which code in a sandbox would swap in.
  "$PL" key generate -o evil >/dev/null
  EVIL_TEXT=$(cat "$KD/evil.key")
  N="t$BATS_TEST_NUMBER"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
  rm -rf "/dev/shm/pylock-keys-$N-$$"
}

# refused TEXT...: exit 1 and stderr has every TEXT.
refused() {
  [ "$status" -eq 1 ] || { echo "expected a refusal, got $status: $output ${stderr:-}"; return 1; }
  local t
  for t in "$@"; do assert_contains "$stderr" "$t"; done
}

# A project in the home (so that only its being a project is what is wrong
# with a key in it), with the maintainer's key copied in.
key_in_project() {
  new_project "$HOME/A-$N"
  cp "$GOOD" "$PROJ/release.key"
  chmod 600 "$PROJ/release.key"
}

@test "attack: a release key in a project: its code reads it and swaps it, and pylock signs nothing with it" {
  key_in_project
  # The old README's way: refused now, and nothing is written.
  run --separate-stderr "$PL" key generate -o "$PROJ/new.key"
  refused "private key directory $PROJ" "the project $PROJ"
  [ ! -e "$PROJ/new.key" ] && [ ! -e "$PROJ/new.key.pub" ]
  mkdir -p "$PROJ/keys"
  run --separate-stderr "$PL" key generate -o "$PROJ/keys/new.key"
  refused "the project $PROJ"
  [ ! -e "$PROJ/keys/new.key" ]
  # Code in the project's run (its own, or a dependency's) reads the key and
  # puts the attacker's in its place: the sandbox lets it.
  run "$PL" -C "$PROJ" run sh -c 'cd "$1" && cat release.key >stolen && printf "%s\n" "$2" >release.key && echo SWAPPED' _ "$PROJ" "$EVIL_TEXT"
  assert_contains "$output" "SWAPPED"
  cmp -s "$PROJ/stolen" "$GOOD"
  # pylock refuses the key for every command that signs, before it signs.
  local reg="$HOME/reg-$N"
  run --separate-stderr "$PL" registry init "$reg" --key "$PROJ/release.key"
  refused "private key $PROJ/release.key" "the project $PROJ"
  [ ! -e "$reg/root.json" ]
  "$PL" -q registry init "$reg" --key good
  "$PL" -q registry add "$reg" --key good "$SIX"
  local before sub
  before=$(tree_digest "$reg")
  run --separate-stderr "$PL" registry add "$reg" --key "$PROJ/release.key" "$IDNA"
  refused "private key $PROJ/release.key" "the project $PROJ"
  for sub in index sign; do
    run --separate-stderr "$PL" registry "$sub" "$reg" --key "$PROJ/release.key"
    refused "private key $PROJ/release.key"
  done
  run --separate-stderr "$PL" registry withdraw "$reg" --key "$PROJ/release.key" six==1.16.0
  refused "private key $PROJ/release.key"
  run --separate-stderr "$PL" registry sign "$reg" --key good --add-root-key "$PROJ/release.key"
  refused "private key $PROJ/release.key"
  run --separate-stderr "$PL" registry init "$reg-2" --key good --online-key "$PROJ/release.key"
  refused "private key $PROJ/release.key"
  [ ! -e "$reg-2/root.json" ]
  # By a relative name from inside the project, and through a link to a
  # safe key that the project's code could point elsewhere.
  run --separate-stderr sh -c 'cd "$1" && "$2" registry add "$3" --key ./release.key "$4"' _ "$PROJ" "$PL" "$reg" "$IDNA"
  refused "the project $PROJ"
  ln -s "$GOOD" "$PROJ/link.key"
  run --separate-stderr "$PL" registry add "$reg" --key "$PROJ/link.key" "$IDNA"
  refused "private key $PROJ/link.key" "the project $PROJ"
  assert_eq "$(tree_digest "$reg")" "$before"
}

@test "attack: a key in /tmp, /dev/shm or ~/.cache, which every sandbox writes, is refused" {
  new_project "$HOME/A-$N"
  local reg="$HOME/reg-$N" shm="/dev/shm/pylock-keys-$N-$$" k
  "$PL" -q registry init "$reg" --key good
  local before
  before=$(tree_digest "$reg")
  mkdir -m 700 "$BATS_TEST_TMPDIR/k" "$shm"
  mkdir -p -m 700 "$HOME/.cache/k"
  for k in "$BATS_TEST_TMPDIR/k/release.key" "$shm/release.key" "$HOME/.cache/k/release.key"; do
    cp "$GOOD" "$k"
    # Any project's code may write there: it swaps the key.
    run "$PL" -C "$PROJ" run sh -c 'printf "%s\n" "$2" >"$1" && echo SWAPPED' _ "$k" "$EVIL_TEXT"
    assert_contains "$output" "SWAPPED"
    run --separate-stderr "$PL" registry add "$reg" --key "$k" "$SIX"
    refused "private key $k" "which code in any of your pylock sandboxes can write"
    run --separate-stderr "$PL" key generate -o "${k%.key}-new.key"
    refused "private key directory ${k%/*}"
    [ ! -e "${k%.key}-new.key" ]
  done
  assert_eq "$(tree_digest "$reg")" "$before"
}

@test "attack: a key reached through a directory another user may write is refused" {
  mkdir -p -m 700 "$HOME/keys-$N/shared"
  cp "$GOOD" "$HOME/keys-$N/shared/release.key"
  chmod 775 "$HOME/keys-$N/shared"
  run --separate-stderr "$PL" registry init "$HOME/reg-$N" --key "$HOME/keys-$N/shared/release.key"
  refused "someone else could replace it"
  [ ! -e "$HOME/reg-$N/root.json" ]
  run --separate-stderr "$PL" key generate -o "$HOME/keys-$N/shared/new.key"
  refused "private key directory $HOME/keys-$N/shared"
  [ ! -e "$HOME/keys-$N/shared/new.key" ]
}

@test "key import brings a key into the keys directory, which no sandbox reads, and commands take it by name" {
  key_in_project
  run --separate-stderr "$PL" key import "$PROJ/release.key"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "keyid: $GOODID"
  assert_contains "$output" "private-key: $KD/release.key"
  assert_contains "$stderr" "then delete $PROJ/release.key"
  cmp -s "$KD/release.key" "$GOOD"
  assert_eq "$(stat -c %a "$KD/release.key")" "600"
  # No sandbox reads it there.
  run "$PL" -C "$PROJ" run sh -c 'cat "$1" && echo READ' _ "$KD/release.key"
  [[ "$output" != *READ* ]] || { echo "a run read the imported key: $output"; return 1; }
  # A name without a '/' is in the keys directory; using it warns of nothing.
  run --separate-stderr "$PL" registry init "$HOME/reg-$N" --key release
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [[ "$stderr" != *warning* ]] || { echo "a key in the keys directory warned: $stderr"; return 1; }
  grep -q "$GOODID" "$HOME/reg-$N/root.json"
  # --name, standard input, and never over an existing key.
  run --separate-stderr "$PL" key import --name other "$PROJ/release.key"
  [ "$status" -eq 0 ] && [ -f "$KD/other.key" ]
  run --separate-stderr "$PL" key import --name other - <"$GOOD"
  [ "$status" -eq 1 ]
  run --separate-stderr "$PL" key import --name fromstdin - <"$GOOD"
  [ "$status" -eq 0 ] && cmp -s "$KD/fromstdin.key" "$GOOD"
  run --separate-stderr "$PL" key import "$GOOD.pub"
  refused "public key"
}

@test "the README's key generate -o release.key writes into the keys directory, not the working directory" {
  new_project "$HOME/A-$N"
  cd "$PROJ"
  run --separate-stderr "$PL" key generate -o release.key
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ ! -e "$PROJ/release.key" ]
  [ -f "$KD/release.key" ]
  "$PL" -q registry init "$HOME/reg-$N" --key release.key
  "$PL" -q registry add "$HOME/reg-$N" --key release.key "$SIX"
}

@test "a key on standard input sits in no file: --key - signs, once per command" {
  local reg="$HOME/reg-$N"
  run --separate-stderr "$PL" registry init "$reg" --key - <"$GOOD"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [[ "$stderr" != *warning* ]]
  grep -q "$GOODID" "$reg/root.json"
  run --separate-stderr "$PL" registry add "$reg" --key - "$SIX" <"$GOOD"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # Another key on standard input does not sign for this registry.
  local before
  before=$(tree_digest "$reg")
  run --separate-stderr "$PL" registry add "$reg" --key - "$IDNA" <"$KD/evil.key"
  [ "$status" -eq 1 ]
  run --separate-stderr "$PL" registry sign "$reg" --key - --add-root-key - <"$GOOD"
  refused "standard input (-) gives only one key"
  run --separate-stderr "$PL" registry add "$reg" --key - "$IDNA" <"$GOOD.pub"
  refused "public key"
  assert_eq "$(tree_digest "$reg")" "$before"
}

@test "a key outside the keys directory, where no sandbox writes, signs with a warning that says how to move it" {
  mkdir -p -m 700 "$HOME/keys-$N"
  cp "$GOOD" "$HOME/keys-$N/release.key"
  run --separate-stderr "$PL" registry init "$HOME/reg-$N" --key "$HOME/keys-$N/release.key"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "warning: the private key $HOME/keys-$N/release.key lies outside the keys directory"
  assert_contains "$stderr" "pylock key import $HOME/keys-$N/release.key"
  # A refusal says only why.
  run --separate-stderr "$PL" registry add "$HOME/reg-$N" --key "$HOME/keys-$N/release.key" /nonexistent.whl
  [ "$status" -ne 0 ]
  [[ "$stderr" != *warning* ]] || { echo "$stderr"; return 1; }
}
