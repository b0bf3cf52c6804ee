#!/usr/bin/env bats
# pylock-test: once
# The command line itself: help, version, usage errors, refusing setuid.
# Nothing here depends on the base (pylock's own parsing and checks), so the file runs once.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

@test "every command answers --help with its usage and exits 0" {
  for cmd in init run shell doctor; do
    run "$PL" "$cmd" --help
    [ "$status" -eq 0 ]
    assert_contains "$output" "usage: pylock $cmd"
  done
}

@test "pylock --help lists the commands" {
  run "$PL" --help
  [ "$status" -eq 0 ]
  for cmd in init run shell doctor; do assert_contains "$output" "  $cmd "; done
}

@test "--version prints the version and exits 0" {
  run "$PL" --version
  [ "$status" -eq 0 ]
  [[ "$output" =~ ^pylock\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "an unknown command is a usage error (exit 2) that points to --help" {
  run "$PL" frobnicate
  [ "$status" -eq 2 ]
  assert_eq "$output" "pylock: unknown command 'frobnicate' (see: pylock --help)"
}

@test "a mistyped command gets the nearest one, and other tools' words ours" {
  local typed want
  for typed in instal:install sycn:sync verfy:verify add:install uninstall:remove; do
    run "$PL" "${typed%%:*}"
    [ "$status" -eq 2 ]
    want=${typed#*:}
    assert_eq "$output" "pylock: unknown command '${typed%%:*}'; did you mean 'pylock $want'? (see: pylock --help)"
  done
}

@test "an unknown option is a usage error (exit 2) of one line naming it" {
  local cmd
  for cmd in run init sync ci list lock verify gc "key generate" "registry init" "trust add"; do
    # shellcheck disable=SC2086
    run "$PL" $cmd --bogus
    [ "$status" -eq 2 ] || { echo "$cmd: status $status"; return 1; }
    [ "${#lines[@]}" -eq 1 ] || { echo "$cmd: $output"; return 1; }
    assert_contains "$output" "unknown option '--bogus'"
  done
  run "$PL" sync --trusted
  [ "$status" -eq 2 ]
  assert_eq "$output" "pylock sync: option '--trusted' needs an argument (see: pylock sync --help)"
  run "$PL" --bogus
  assert_eq "$output" "pylock: unknown option '--bogus' (see: pylock --help)"
}

@test "run without a command is a usage error (exit 2)" {
  new_project
  cd "$PROJ"
  run "$PL" run
  [ "$status" -eq 2 ]
  assert_contains "$output" "missing CMD"
}

@test "pylock refuses to run from a setuid copy the user owns" {
  cp "$PL" "$BATS_TEST_TMPDIR/pylock-suid"
  chmod 4755 "$BATS_TEST_TMPDIR/pylock-suid"
  run "$BATS_TEST_TMPDIR/pylock-suid" --version
  [ "$status" -eq 1 ]
  assert_contains "$output" "refusing to run: this binary is setuid or setgid"
}

@test "pylock refuses to run from a root-owned setuid copy" {
  [ -u "$PYLOCK_BIN/pylock-setuid-root" ] || skip "needs the suite to be started as root"
  run "$PYLOCK_BIN/pylock-setuid-root" doctor
  [ "$status" -eq 1 ]
  assert_contains "$output" "refusing to run"
}

@test "list on an empty environment says so on stderr and prints nothing on stdout" {
  new_project
  run --separate-stderr "$PL" -C "$PROJ" list
  [ "$status" -eq 0 ]
  assert_eq "$output" ""
  assert_contains "$stderr" "holds no packages; add some with: pylock install NAME"
  run --separate-stderr "$PL" -q -C "$PROJ" list
  assert_eq "$stderr" ""
}
