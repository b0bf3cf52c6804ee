#!/usr/bin/env bats
# When user namespaces are blocked, run and doctor say why and how to fix it.
# SPDX-License-Identifier: Apache-2.0

load helpers

setup() {
  new_project
  cd "$PROJ"
}

@test "run under a seccomp filter that denies unshare names the cause and the fix" {
  base_blind
  for keep in 0 30; do
    PYLOCK_KEEPALIVE=$keep run "$PYLOCK_BIN/deny-userns" "$PL" run python3 -c pass
    [ "$status" -eq 1 ]
    assert_contains "$output" "user namespaces are blocked by a seccomp filter"
    assert_contains "$output" "hint: allow unshare(CLONE_NEWUSER)"
    # one-line diagnosis, not a bare errno
    [ "$(grep -c '^pylock: run:' <<<"$output")" -eq 1 ]
  done
}

@test "doctor passes on this machine" {
  run "$PL" doctor
  echo "$output"
  [ "$status" -eq 0 ]
  assert_contains "$output" "all 9 checks passed"
  assert_contains "$output" "overlayfs"
}

@test "doctor reports blocked user namespaces with the fix, and exits 1" {
  base_blind
  run "$PYLOCK_BIN/deny-userns" "$PL" doctor
  [ "$status" -eq 1 ]
  assert_contains "$output" "FAIL  user namespaces"
  assert_contains "$output" "fix: allow unshare(CLONE_NEWUSER)"
}
