#!/usr/bin/env bats
# The command line itself: help, version, usage errors, refusing setuid.

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
  assert_contains "$output" "unknown command 'frobnicate'"
}

@test "an unknown option is a usage error (exit 2)" {
  run "$PL" run --bogus true
  [ "$status" -eq 2 ]
  run "$PL" init --bogus
  [ "$status" -eq 2 ]
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
