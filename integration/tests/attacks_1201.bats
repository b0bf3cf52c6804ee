#!/usr/bin/env bats
# pylock-test: once
# Attacks on today's (2026-12-01) trust decisions, from outside: the front ends' check of the
# full program's path (pl_program_safe) inside a user namespace, where another user's files
# show as the overflow uid like root's.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load other_user_helpers
load front_helpers


# planted_prefix: our front ends in $S/bin, S a sticky directory every user may write (/tmp),
# and the full program in $S/lib/pylock, which the second user made first: theirs.
planted_prefix() {
  other_user
  S="$PYLOCK_FOREIGN_STICKY_DIR"
  MARK="$BATS_TEST_TMPDIR/ran-planted"
  chmod 0777 "$BATS_TEST_TMPDIR"
  mkdir -p "$S/bin"
  cp "$PL" "$S/bin/pylock"
  cp "$PYLOCK_BIN/pylock-shim" "$S/bin/pylock-shim"
  ln -sfn pylock-shim "$S/bin/python3"
  as_other sh -c 'mkdir -p "$1/lib/pylock" && printf "#!/bin/sh\ntouch %s\n" "$2" >"$1/lib/pylock/pylock" &&
    chmod 755 "$1/lib/pylock/pylock"' _ "$S" "$MARK"
  [ "$(stat -c %U "$S/lib/pylock/pylock")" = "$OTHER" ]
}

# FAILS on main 0e5a519: in a user namespace mapping only our uid (pylock's sandbox, or any
# `unshare --map-current-user`), another user's directory shows as the overflow uid, which
# pl_program_safe takes for root's: the second user's full program runs as us.
@test "attack: another user's full program is not run from a user namespace, where they show as the overflow uid" {
  planted_prefix
  # Outside: refused (the baseline front_run_attacks.bats proves for a world-writable lib).
  run "$S/bin/pylock" --version
  echo "outside: $status: $output"
  [ "$status" -eq 126 ]
  [ ! -e "$MARK" ]
  # In a user namespace of our own: the same refusal.
  run unshare --map-current-user "$S/bin/pylock" --version
  echo "unshare: $status: $output"
  [ ! -e "$MARK" ]
  [ "$status" -eq 126 ]
  run unshare --map-current-user "$S/bin/python3" -c 'print("real")'
  echo "unshare shim: $status: $output"
  [ ! -e "$MARK" ]
  [ "$status" -eq 126 ]
  assert_contains "$output" "$S/lib is writable by other users"
  # In pylock's sandbox, when the directory is visible there.
  new_project
  cd "$PROJ"
  run "$PL" run sh -c 'test -d "$1/lib" && "$1/bin/pylock" --version' _ "$S"
  echo "sandbox: $status: $output"
  [ ! -e "$MARK" ]
  [ "$status" -eq 126 ]
  assert_contains "$output" "$S/lib is writable by other users"
  # Nothing of theirs was changed.
  [ "$(stat -c %U "$S/lib/pylock/pylock")" = "$OTHER" ]
}

# FAILS on main 0e5a519: bin/pylock run as python3 (a link made before pylock-shim existed)
# execs the pylock-shim beside it without the check pl_program_safe makes of the full program:
# a front end in a directory others can add to (/tmp) ran theirs.
@test "attack: the front end run as python3 does not exec a pylock-shim another user put beside it" {
  other_user
  S="$PYLOCK_FOREIGN_STICKY_DIR"
  MARK="$BATS_TEST_TMPDIR/ran-shim"
  chmod 0777 "$BATS_TEST_TMPDIR"
  cp "$PL" "$S/pylock"
  mkdir -p "$BATS_TEST_TMPDIR/links"
  ln -s "$S/pylock" "$BATS_TEST_TMPDIR/links/python3"
  as_other sh -c 'printf "#!/bin/sh\ntouch %s\n" "$2" >"$1/pylock-shim" && chmod 755 "$1/pylock-shim"' \
    _ "$S" "$MARK"
  [ "$(stat -c %U "$S/pylock-shim")" = "$OTHER" ]
  cd "$BATS_TEST_TMPDIR"
  run "$BATS_TEST_TMPDIR/links/python3" -c 'print("real")'
  echo "$status: $output"
  [ ! -e "$MARK" ]
  [ "$status" -eq 126 ]
  assert_contains "$output" "$S/pylock-shim is writable by other users"
  [ "$(stat -c %U "$S/pylock-shim")" = "$OTHER" ]
}

# FAILS on main 0e5a519: shim install links the shims to the pylock-shim beside the full
# program, unchecked: from a full program in a directory others can add to, to theirs.
@test "attack: shim install never links the shims to a pylock-shim another user put beside pylock" {
  other_user
  S="$PYLOCK_FOREIGN_STICKY_DIR"
  chmod 0777 "$BATS_TEST_TMPDIR"
  [ -e "$S/pylock-shim" ] ||
    as_other sh -c 'printf "#!/bin/sh\nexit 0\n" >"$1/pylock-shim" && chmod 755 "$1/pylock-shim"' _ "$S"
  [ "$(stat -c %U "$S/pylock-shim")" = "$OTHER" ]
  cp "$PL_FULL" "$S/pylock-full"
  run "$S/pylock-full" shim install --dir "$BATS_TEST_TMPDIR/shims" --python "$PYLOCK_TEST_PYTHON"
  echo "$status: $output"
  [ "$status" -eq 0 ]
  target=$(readlink "$BATS_TEST_TMPDIR/shims/python3")
  echo "python3 -> $target"
  [ "$target" != "$S/pylock-shim" ]
  [ "$target" = "$S/pylock-full" ]
}

# Holds on main 0e5a519: refused because, in the sandbox, every state root's parents show as the
# overflow uid (pl_state_open); kept as the guard should that check ever accept the overflow uid
# there, as pl_program_safe does (the other sandbox tests name PYLOCK_PROJECT; this one does not).
@test "attack: code in one project's sandbox cannot join another project's live holder, by the front end or a shim" {
  local p="$BATS_TEST_TMPDIR/p" q="$BATS_TEST_TMPDIR/q" shims="$BATS_TEST_TMPDIR/shims" q_ns rec state
  new_project "$q"
  new_project "$p"
  "$PL" shim install --dir "$shims" --python "$PY" >/dev/null 2>&1
  export PYLOCK_KEEPALIVE=30
  rec="$(state_dir "$q")/run/keepalive"
  state=$(dirname "$(dirname "$(state_dir "$q")")")
  q_ns=$(cd "$q" && "$PL" run readlink /proc/self/ns/mnt)
  for _ in $(seq 100); do [ -s "$rec" ] && break; nap 0.05; done
  [ -s "$rec" ]
  # Joined from outside: Q's holder's namespace.
  [ "$(cd "$q" && "$PL" run readlink /proc/self/ns/mnt)" = "$q_ns" ]
  cd "$p"
  run "$PL" run sh -c 'cd "$1" || exit 9
    unset PYLOCK_PROJECT
    "$2" run readlink /proc/self/ns/mnt; echo "front=$?"
    "$2" -C "$1" run readlink /proc/self/ns/mnt; echo "front-C=$?"
    "$3/python3" -c "import os; print(os.readlink(\"/proc/self/ns/mnt\"))"; echo "shim=$?"
    # A copy of the state where owners show (theirs), holder records and all.
    cp -a "$4" "$5" 2>/dev/null; chmod -R u+w "$5"
    PYLOCK_STATE_DIR="$5" "$2" run readlink /proc/self/ns/mnt; echo "copy-front=$?"
    PYLOCK_STATE_DIR="$5" "$3/python3" -c "import os; print(os.readlink(\"/proc/self/ns/mnt\"))"; echo "copy-shim=$?"' \
    _ "$q" "$PL" "$shims" "$state" "$BATS_TEST_TMPDIR/state-copy"
  echo "$output"
  [ "$status" -eq 0 ]
  assert_not_contains "$output" "$q_ns"
  assert_not_contains "$output" "front=0"
  assert_not_contains "$output" "front-C=0"
  assert_not_contains "$output" "shim=0"
  assert_not_contains "$output" "copy-front=0"
  assert_not_contains "$output" "copy-shim=0"
  kill "$(cut -d' ' -f3 "$rec")" 2>/dev/null || true
}
