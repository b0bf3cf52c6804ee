#!/usr/bin/env bats
# pylock-test: once
# Signing keys: generation, file modes, key ids.
# SPDX-License-Identifier: Apache-2.0

load helpers

setup() {
  # Not in /tmp: pylock refuses a key where code it runs may write.
  export XDG_CONFIG_HOME="$(mktemp -d "$HOME/cfg.XXXXXX")"
  cd "$BATS_TEST_TMPDIR"
}

@test "key generate writes a 0600 private key and a .pub, and never overwrites" {
  run "$PL" key generate
  [ "$status" -eq 0 ]
  key="$XDG_CONFIG_HOME/pylock/keys/default.key"
  assert_eq "$(stat -c %a "$key")" "600"
  [ -s "$key.pub" ]
  before=$(sha256sum "$key")
  run "$PL" key generate -o "$key"
  [ "$status" -eq 1 ]
  assert_eq "$(sha256sum "$key")" "$before"
}

@test "key show prints the same keyid for the private key and its .pub, and it is the TUF keyid" {
  # A name without a '/' is a file in the keys directory.
  "$PL" key generate -o k > gen.out
  assert_contains "$(cat gen.out)" "private-key: $XDG_CONFIG_HOME/pylock/keys/k.key"
  a=$("$PL" key show k)
  b=$("$PL" key show k.key.pub)
  assert_eq "$a" "$b"
  keyid=$(sed -n 's/^keyid: //p' <<<"$a")
  pub=$(sed -n 's/^public: //p' <<<"$a")
  # keyid = sha256 of the canonical JSON of the public key object (TUF 1.0)
  want=$(printf '{"keytype":"ed25519","keyval":{"public":"%s"},"scheme":"ed25519"}' "$pub" | sha256sum | cut -d' ' -f1)
  assert_eq "$keyid" "$want"
  assert_contains "$(cat gen.out)" "$keyid"
}

@test "a private key readable by others is refused" {
  "$PL" key generate -o k >/dev/null
  chmod 644 "$XDG_CONFIG_HOME/pylock/keys/k.key"
  run "$PL" key show k
  [ "$status" -eq 1 ]
}
