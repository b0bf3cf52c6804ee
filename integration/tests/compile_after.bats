#!/usr/bin/env bats
# Compiling after the switch (issue 15): a sync or install that builds trees
# switches first to a generation of source trees (no byte-code: usable, its
# runs import from source), then byte-compiles them with one compiler and
# switches to the same packages with byte-code.  What must hold: the first
# generation works and verifies, its record says bytecode=no; a kill at any
# step is finished by the next sync, which says so; rollback skips the
# source generation; gc keeps source trees while a kept generation names
# them and collects them after; and code run in the window can change
# neither the source trees nor the byte-code that ends in the environment.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load gc_helpers
load envcheck
load compile_helpers

setup_file() {
  gc_fixture
}

setup() {
  # The compile after the switch in the command itself, as it was before it
  # went to a detached pylock (compile_background.bats): the same code, so
  # its steps can be paused and killed through the command's pid.
  compile_setup after-switch-wait
}

teardown() {
  compile_teardown
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# Byte-code files in the current generation.
pyc_count() {
  find -L "$(layer_dir)" -name '*.pyc' | wc -l
}

@test "a cold sync is usable from source before its byte-code, then switches to the same packages compiled" {
  local before n
  before=$(current_n)
  paused usable "$PL" -C "$PROJ" sync
  n=$(current_n)
  [ "$n" != "$before" ]
  assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "usable now (generation $n); byte-compiling 2 packages"
  # Usable: every package imports, from source; no byte-code anywhere in it.
  run "$PL" -C "$PROJ" run python3 -c "$IMPORTS"
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$output" "source $(interp purelib)/idna/core.py"
  assert_eq "$(pyc_count)" 0
  assert_eq "$(bytecode_of "$n")" no
  # Its trees are source trees, named in its manifest like any tree, and verify passes.
  [ "$(awk '$1 == "tree" && $2 ~ /\.src$/' "$(state_dir)/generations/$n.manifest" | wc -l)" -eq 2 ]
  assert_usable "generation $n, from source"
  resume
  [ "$RESUMED" -eq 0 ] || { echo "sync: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "byte-code compiled after the switch to generation $n"
  # The same packages, compiled, current; the source generation is not previous.
  [ "$(current_n)" -gt "$n" ]
  assert_eq "$(bytecode_of "$(current_n)")" yes
  assert_eq "$(readlink "$(state_dir)/previous" | cut -d/ -f2)" "$before"
  [ "$(pyc_count)" -ge 5 ]
  [ -n "$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')" ]
  run "$PL" -C "$PROJ" run python3 -c "$IMPORTS"
  assert_eq "$output" "pyc $(interp purelib)/idna/core.py"
  assert_usable "after the byte-code"
  assert_nothing_left
  assert_no_process_left
  # Unchanged now: nothing more to do.
  run --separate-stderr "$PL" -C "$PROJ" sync
  assert_contains "$stderr" "already matches"
}

@test "install compiles after the switch too, and rollback returns to before the install" {
  use_lock six
  "$PL" -q -C "$PROJ" sync
  local before
  before=$(current_n)
  run --separate-stderr "$PL" -C "$PROJ" install idna
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "usable now"
  assert_contains "$stderr" "byte-code compiled after the switch"
  assert_eq "$(bytecode_of "$(current_n)")" yes
  [ -n "$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')" ]
  assert_usable "after install"
  "$PL" -q -C "$PROJ" rollback
  assert_eq "$(current_n)" "$before"
  assert_eq "$(list_set)" "six==1.16.0"
}

@test "a sync killed once usable is finished by the next sync, which says so" {
  local n
  killed usable "$PL" -C "$PROJ" sync
  n=$(current_n)
  assert_eq "$(bytecode_of "$n")" no
  assert_no_process_left
  assert_usable "killed at usable"
  # The next sync, even one that would compile first, finishes it.
  run --separate-stderr env PYLOCK_COMPILE=before-switch "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "generation $n imports from source: its byte-compiling was interrupted; finishing it"
  [ "$(current_n)" -gt "$n" ]
  assert_eq "$(bytecode_of "$(current_n)")" yes
  [ -n "$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')" ]
  assert_usable "finished after a kill at usable"
  assert_nothing_left
}

@test "a sync killed while compiling or once the compiled generation is built is finished by the next" {
  local step n
  for step in compiled complete-built; do
    # Cold again: a state root and a project of its own.
    export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state-$step"
    STATE="$XDG_STATE_HOME/pylock" PROJ="$BATS_TEST_TMPDIR/proj-$step"
    gc_project "$PROJ" idna-six
    killed "$step" "$PL" -C "$PROJ" sync
    n=$(current_n)
    assert_eq "$(bytecode_of "$n")" no
    assert_no_process_left
    assert_usable "killed at $step"
    run --separate-stderr "$PL" -C "$PROJ" sync
    [ "$status" -eq 0 ] || { echo "$step: $stderr"; return 1; }
    assert_contains "$stderr" "its byte-compiling was interrupted; finishing it"
    assert_eq "$(bytecode_of "$(current_n)")" yes
    [ -n "$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')" ]
    assert_usable "finished after a kill at $step"
    assert_nothing_left
  done
}

@test "gc keeps source trees while a kept generation names them and collects them after" {
  killed usable "$PL" -C "$PROJ" sync
  local src
  src=$(cache_trees | grep -c '\.src$' || true)
  [ "$src" -eq 2 ]
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(cache_trees | grep -c '\.src$')" 2
  assert_cache_is_what_manifests_name
  assert_usable "after gc, from source"
  "$PL" -q -C "$PROJ" sync
  # The source generation is neither current nor previous: gc removes it,
  # and with it the last name of its source trees.
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(cache_trees | grep -c '\.src$' || true)" 0
  assert_eq "$(cache_trees | wc -l)" 2
  assert_cache_is_what_manifests_name
  assert_usable "after gc, compiled"
}

# Python, run inside `pylock run`: every write it can attempt at the files
# named on stdin (files and directories, absolute paths); prints one line
# per attempt that succeeded, then how many it made.
ATTACK='import os, sys
n = 0
for path in sys.stdin.read().split():
    d = os.path.isdir(path)
    tries = [("chmod", lambda: os.chmod(path, 0o777)),
             ("rename", lambda: os.rename(path, path + ".moved"))]
    if d:
        tries += [("create", lambda: open(os.path.join(path, "planted.pyc"), "xb").write(b"x")),
                  ("mkdir", lambda: os.mkdir(os.path.join(path, "__pycache__.x")))]
    if d and path.endswith(".src"):  # the complete tree name, taken first
        tries += [("squat", lambda: os.mkdir(path[:-4]))]
    else:
        tries += [("write", lambda: open(path, "r+b").write(b"PWNED")),
                  ("truncate", lambda: os.truncate(path, 0)),
                  ("unlink", lambda: os.unlink(path))]
    for what, f in tries:
        n += 1
        try:
            f()
            print(what, path)
        except OSError:
            pass
print("attempts", n)'

# sha256 of every file below the directories given, by path relative to each.
digests() {
  local d
  for d in "$@"; do
    (cd "$d" && find . -type f -exec sha256sum {} + | sort -k2)
  done
}

@test "code run while byte-code is compiled can change neither the source trees nor the byte-code" {
  paused usable "$PL" -C "$PROJ" sync
  local srcs before targets
  srcs=$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '*.src')
  # shellcheck disable=SC2086
  before=$(digests $srcs)
  # The source trees' files and directories, the generation's files through
  # the state root and through the running environment's own paths, and the
  # name the complete tree will get.
  targets=$(
    echo "$srcs"
    find $srcs -mindepth 1 | head -60
    find -L "$(layer_dir)" -path '*idna*' -type f | head -20
    echo "$(interp purelib)/idna/core.py" "$(interp purelib)/idna" "$(interp purelib)/six.py"
    echo "$STATE/cache/trees"
  )
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c "$ATTACK" <<<"$targets"
  [ "$status" -eq 0 ] || { echo "attack did not run: $output $stderr"; return 1; }
  [[ "$output" =~ ^attempts\ ([0-9]+)$ ]] || { echo "an attack succeeded: $output"; return 1; }
  [ "${BASH_REMATCH[1]}" -ge 100 ]
  [ "$(echo "$before" | wc -l)" -ge 20 ]
  # shellcheck disable=SC2086
  assert_eq "$(digests $srcs)" "$before"
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 ! -name '*.src')" ]
  resume
  [ "$RESUMED" -eq 0 ] || { echo "sync: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  assert_usable "after the attack at usable"
}

@test "code run while the compiled trees wait unsealed cannot change their byte-code" {
  paused compiled "$PL" -C "$PROJ" sync
  local batch before targets
  batch=$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-batch-*')
  [ "$(echo "$batch" | wc -l)" -eq 1 ] || { echo "batches: $batch"; return 1; }
  [ -n "$(find "$batch" -path '*/idna/__pycache__/core.*.pyc')" ]
  before=$(digests "$batch")
  # Its directories are still writable by the user: the state root, read-only
  # in every sandbox, is what keeps code in one from them.
  targets=$(
    find "$batch" -name '*.pyc'
    find "$batch" -type d -name __pycache__
    find "$batch" -path '*/idna/*.py'
  )
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c "$ATTACK" <<<"$targets"
  [ "$status" -eq 0 ] || { echo "attack did not run: $output $stderr"; return 1; }
  [[ "$output" =~ ^attempts\ ([0-9]+)$ ]] || { echo "an attack succeeded: $output"; return 1; }
  [ "${BASH_REMATCH[1]}" -ge 40 ]
  assert_eq "$(digests "$batch")" "$before"
  resume
  [ "$RESUMED" -eq 0 ] || { echo "sync: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  # What the generation holds is what the compiler wrote, byte for byte.
  local pyc
  pyc=$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')
  grep -q "$(sha256sum "$pyc" | cut -c1-64)" <<<"$before"
  [ -z "$(find "$STATE/cache/trees" "$(layer_dir)" \( -name 'planted.pyc' -o -name '*.moved' \))" ]
  assert_usable "after the attack while compiling"
}

# The idna wheel and its trees out of the cache, so that a change fetches
# and unpacks it.
cold_idna() {
  local sha
  sha=$(sha256sum "$FIX"/wheels/idna-*.whl | cut -c1-64)
  chmod -R u+w "$STATE/cache/trees" 2>/dev/null || true
  rm -rf "$STATE/cache/wheels/$sha.whl" "$STATE/cache/trees/$sha"-*
}

@test "an install compiling after its switch killed at each step leaves the old or the new lock, working" {
  kill_loop_on_one_base
  local step old
  for step in $(kill_steps resolved staged fetched unpacked linked built recorded committed \
    switched usable compiled complete-built); do
    use_lock six
    "$PL" -q -C "$PROJ" sync
    old=$(cat "$PROJ/pylock.toml")
    cold_idna
    killed "$step" "$PL" -C "$PROJ" install idna
    assert_no_process_left || { echo "at $step"; return 1; }
    # The commit point is the lock's rename: from then on, the new lock.
    case $step in
    committed | switched | usable | compiled | complete-built)
      grep -q '^name = "idna"$' "$PROJ/pylock.toml" || { echo "$step: the old lock"; return 1; } ;;
    *) assert_eq "$(cat "$PROJ/pylock.toml")" "$old" || { echo "$step: not the old lock"; return 1; } ;;
    esac
    run --separate-stderr "$PL" -C "$PROJ" sync
    [ "$status" -eq 0 ] || { echo "sync after a kill at $step: $stderr"; return 1; }
    case $step in
    usable | compiled | complete-built)
      assert_contains "$stderr" "its byte-compiling was interrupted; finishing it" ;;
    esac
    assert_eq "$(bytecode_of "$(current_n)")" yes
    assert_eq "$(list_set)" "$(lock_set)" || { echo "after $step and a sync"; return 1; }
    run --separate-stderr "$PL" -C "$PROJ" verify
    [ "$status" -eq 0 ] || { echo "verify after $step: $stderr"; return 1; }
    assert_nothing_left || { echo "after $step and a sync"; return 1; }
  done
}
