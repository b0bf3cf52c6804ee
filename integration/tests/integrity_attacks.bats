#!/usr/bin/env bats
# pylock-test: once
# (Once: the transaction, its recovery, the sweeps and the sandbox's hiding
# mounts are pylock's own whatever the base.)
# The integrity mechanisms attacked as an adversary would: code running in
# `pylock run` (which may write the project, /tmp and ~/.cache, never the
# state) racing `install` and `sync` through the project directory, planting
# names pylock sweeps or links where a later sandbox mounts; two syncs'
# sweeps racing each other's builders; and a change killed at a step of its
# own, with another command than sync first.  Each attack asserts that it
# fails and that nothing changed: pylock.toml, the environment, what imports,
# `verify`, the user's files.  "Once a hole" marks attacks that succeeded
# before the fix beside them.  crash.bats, repair.bats and trust_boundary.bats
# cover the plain kills, corruption and writes into the state.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load envcheck
load gc_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR" PYLOCK_KEEPALIVE=0
  # The projects in the home: outside /tmp, which every default sandbox may write.
  W=$(mktemp -d "$HOME/integrity.XXXXXX")
  export W
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/idna-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  # Two locks, one resolution: six + idna, and six, that lock without idna.
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$W/first"
  "$PL" -q -C "$W/first" install six idna
  cp "$W/first/pylock.toml" "$FIX/lock-six-idna.toml"
  lock_without "$FIX/lock-six-idna.toml" "$FIX/lock-six.toml" idna
  "$PY" -I -c "$DISTS" >"$FIX/bare.set"
  STATE=$("$PL" -C "$W/first" info state-root)
  export STATE
}

setup() {
  export PYLOCK_KEEPALIVE=0
  PROJ="$W/p$BATS_TEST_NUMBER"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
  cp "$FIX/lock-six.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  BG=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do
    kill -CONT "$p" 2>/dev/null || true
    kill -9 "$p" 2>/dev/null || true
  done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$W" "$BATS_FILE_TMPDIR" 2>/dev/null || true
  rm -rf "$W"
}

# inside CMD...: CMD run inside `pylock run`, from the project (the sandbox
# may write there), as code of an installed package would.
inside() {
  (cd "$PROJ" && "$PL" -q run "$@")
}

# Python, run inside: every staged lock of pylock's in the project rewritten
# to the bytes of the file argv[2]; argv[1] is "in-place" (same file, size
# and times put back: only the bytes differ) or "replace" (another file
# renamed over it).
TAMPER='
import glob, os, sys
how, want = sys.argv[1], open(sys.argv[2], "rb").read()
names = glob.glob(".pylock.toml.tmp*")
assert names, "no staged lock"
for name in names:
    if how == "in-place":
        st = os.stat(name)
        with open(name, "r+b") as f:
            f.write(want[:st.st_size].ljust(st.st_size, b"\n"))
        os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns))
    else:
        with open(name + ".x", "wb") as f:
            f.write(want)
        os.replace(name + ".x", name)
    print("tampered", name)
'

# ------------------------------------------------------------- the staged lock

# Once a hole: generation N's record took the lock's hash and stat from the
# staged file when N was built, not from the bytes N was built from.  Code in
# a run rewrote the staged lock during `install idna`; pylock renamed it over
# pylock.toml and recorded it as N's lock: the user's pylock.toml said "six
# only", the environment had idna, and `sync` said "already matches".
@test "a staged lock rewritten from inside a run during install is never committed" {
  local how old gen
  old=$(cat "$PROJ/pylock.toml")
  gen=$("$PL" -C "$PROJ" info generation)
  for how in in-place replace; do
    paused staged "$PL" -C "$PROJ" install idna
    run inside python3 -c "$TAMPER" "$how" "$FIX/lock-six.toml"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    assert_contains "$output" "tampered"
    resume
    [ "$RESUMED" -eq 1 ] || { echo "install ($how) went on: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
    assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "was changed by another process"
    assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "nothing changed"
    assert_eq "$(cat "$PROJ/pylock.toml")" "$old"
    assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
    assert_agree "staged lock tampered $how"
    assert_nothing_left
    run --separate-stderr "$PL" -C "$PROJ" sync
    assert_contains "$stderr" "already matches"
  done
  # Untouched, the same install goes through.
  "$PL" -q -C "$PROJ" install idna
  assert_eq "$(lock_set)" "$(PROJ=$W/first lock_set)"
  assert_agree "install after the attacks"
}

@test "a staged lock replaced between the change record and the commit is never committed" {
  local old gen
  old=$(cat "$PROJ/pylock.toml")
  gen=$("$PL" -C "$PROJ" info generation)
  paused recorded "$PL" -C "$PROJ" install idna
  inside python3 -c "$TAMPER" replace "$FIX/lock-six.toml" >/dev/null
  resume
  [ "$RESUMED" -eq 1 ] || { echo "install went on: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "was changed by another process"
  assert_eq "$(cat "$PROJ/pylock.toml")" "$old"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
  assert_agree "staged lock replaced after the record"
  assert_nothing_left
}

# Once a hole: `sync` recorded the hash of pylock.toml as it was after the
# build, not of what it had built from.  A run wrote the old lock back while
# the user synced the new one: the generation held idna, pylock.toml did not,
# and the next `sync` said "already matches".
@test "pylock.toml rewritten from inside a run during a sync is never taken for what was built" {
  cp "$FIX/lock-six-idna.toml" "$PROJ/pylock.toml"
  paused built "$PL" -C "$PROJ" sync
  inside sh -c "cat '$FIX/lock-six.toml' >pylock.toml"
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/paused.err")" "changed while generation"
  # The environment is stale for the lock now there, and says so...
  run --separate-stderr "$PL" -C "$PROJ" run true
  assert_contains "$stderr" "changed since the environment"
  # ...and the next sync makes them agree.
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "already matches"
  cmp -s "$PROJ/pylock.toml" "$FIX/lock-six.toml"
  assert_agree "pylock.toml rewritten during a sync"
}

# Before: recovery judged a change by pylock.toml's stat alone.  Killed after
# current moved to the new generation, a lock written from a run made the
# next command "undo" a change that had committed, and say that pylock.toml
# was as before.
@test "a change killed after its switch is finished by the next command whatever a run wrote since" {
  local gen
  paused switched "$PL" -C "$PROJ" install idna
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  gen=$("$PL" -C "$PROJ" info generation)
  inside sh -c 'echo "# written from a run" >>pylock.toml'
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "finished an interrupted change: pylock.toml and generation $gen"
  assert_contains "$stderr" "rolled back from generation $gen"
  "$PL" -q -C "$PROJ" sync
  assert_agree "after the rollback and a sync"
  assert_nothing_left
}

# -------------------------------------------------- names planted in the project

@test "names planted where pylock stages and sweeps are never followed, opened or written" {
  echo "the user's" >"$W/victim"
  echo "kept" >"$PROJ/keep.txt"
  chmod 600 "$W/victim" "$PROJ/keep.txt"
  local before
  before=$(stat -c '%a %s %Y' "$W/victim" "$PROJ/keep.txt"; cat "$W/victim" "$PROJ/keep.txt")
  inside sh -c "ln -s '$W/victim' .pylock.toml.tmp0123456789abcdef &&
    ln keep.txt .pylock.toml.tmp1123456789abcdef && mkfifo .pylock.toml.tmp2123456789abcdef &&
    mkdir .pylock.toml.tmp3123456789abcdef && echo x >.pylock.toml.tmp3123456789abcdef/x"
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" install idna
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(stat -c '%a %s %Y' "$W/victim" "$PROJ/keep.txt"; cat "$W/victim" "$PROJ/keep.txt")" \
    "$before"
  # The link, the second name and the FIFO swept as pylock's leftovers; the
  # directory, which pylock never makes, left alone.
  assert_eq "$(cd "$PROJ" && ls -A | grep '^\.pylock\.toml\.tmp')" ".pylock.toml.tmp3123456789abcdef"
  rm -r "$PROJ/.pylock.toml.tmp3123456789abcdef"
  assert_agree "after the planted names"
  # A FIFO in place of pylock.toml: refused at once, never waited on.
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock"
  inside sh -c 'rm pylock.toml && mkfifo pylock.toml'
  local cmd
  for cmd in sync "run true" "install six" list verify; do
    # shellcheck disable=SC2086
    run --separate-stderr timeout 20 "$PL" -C "$PROJ" $cmd
    [ "$status" -eq 1 ] || { echo "$cmd with a FIFO for pylock.toml: $status $stderr"; return 1; }
  done
  rm "$PROJ/pylock.toml" && cp "$BATS_TEST_TMPDIR/lock" "$PROJ/pylock.toml"
  assert_agree "after the FIFO"
}

# Once a hole: a --strict project's sandboxes may write the project, and
# pylock.toml with it.  Code in one deleted `strict = true` there and the
# user's next run was a default one (the host's /tmp, the network, the
# cache); with `auto-sync = true` added, the next python3 through the shim
# synced that lock silently.
@test "code in a --strict run turns --strict off neither for the next run nor through auto-sync" {
  local marker shims="$BATS_TEST_TMPDIR/shims" probe
  marker=$(mktemp /tmp/pl-it-strict.XXXXXX)
  probe="import os; print('host /tmp' if os.path.exists('$marker') else 'private /tmp')"
  python3 - "$PROJ/pylock.toml" <<'PY'
import sys
p = sys.argv[1]
t = open(p).read().replace("[tool.pylock]\n", "[tool.pylock]\nstrict = true\n", 1)
open(p, "w").write(t)
PY
  "$PL" -q -C "$PROJ" sync
  assert_eq "$(inside python3 -c "$probe")" "private /tmp"
  inside python3 -c '
t = open("pylock.toml").read().replace("strict = true\n", "auto-sync = true\n")
open("pylock.toml", "w").write(t)'
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c "$probe"
  local direct=$output
  "$PL" shim install --dir "$shims" --python "$PY" >/dev/null 2>&1
  run --separate-stderr bash -c "cd '$PROJ' && PATH='$shims':\$PATH python3 -c \"$probe\""
  local shim_status=$status shim_out=$output shim_err=$stderr
  rm -f "$marker"
  assert_eq "$direct" "private /tmp"
  [ "$shim_status" -ne 0 ] || { echo "the shim synced and ran: $shim_out"; return 1; }
  assert_contains "$shim_err" "no longer makes this project's sandboxes --strict"
  assert_contains "$shim_err" "pylock sync"
  # The user's own sync accepts the change, and says so.
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "no longer makes this project's sandboxes --strict"
}

# ---------------------------------------------- links planted for a later sandbox

# Once a hole: a sandbox covers the sockets of session services it finds in
# /tmp (tmux, emacs, screen, X) with mounts, and followed a symbolic link
# there.  Code in a run that planted one made every later run fail ("hide
# ...: Not a directory", a link to a directory) or see any file it chose
# empty (a link to the file: /dev/null bound over it).
@test "a link planted in /tmp by a run redirects none of a later run's mounts" {
  local user="pl-it-$$-$BATS_TEST_NUMBER" made=""
  [ -d /tmp/screens ] || made=1
  local sock="/tmp/screens/S-$user"
  echo "the project's" >"$PROJ/data.txt"
  export USER=$user
  inside sh -c "mkdir -p /tmp/screens && ln -s '$W' '$sock'"
  run --separate-stderr "$PL" -C "$PROJ" run true
  local s1=$status e1=$stderr
  rm -f "$sock"
  inside sh -c "ln -s '$PROJ/data.txt' '$sock'"
  run --separate-stderr "$PL" -C "$PROJ" run cat "$PROJ/data.txt"
  local s2=$status o2=$output
  # What the hiding is for still holds: a socket (a file here) there is covered.
  rm -f "$sock"
  echo "a session service" >"$sock"
  run --separate-stderr "$PL" -C "$PROJ" run cat "$sock"
  local s3=$status o3=$output
  rm -f "$sock"
  [ -z "$made" ] || rmdir /tmp/screens 2>/dev/null || true
  [ "$s1" -eq 0 ] || { echo "a run after a link to a directory: $e1"; return 1; }
  [ "$s2" -eq 0 ] && assert_eq "$o2" "the project's"
  [ "$s3" -eq 0 ] && assert_eq "$o3" ""
  assert_eq "$(cat "$PROJ/data.txt")" "the project's"
}

# ----------------------------------------------------------- sweeps and builders

# Once a hole: a sweep (each sync that builds, each command that takes the
# change lock) removes trees/.tmp-* and scratch/* whose maker holds no lock
# on them, and a maker made its directory before it locked it.  Another
# project's sync in between took a live builder's tree (and the resolver's
# scratch directory), and that sync failed; a sweeper that let go of its
# lock before removing could even empty a tree being built.
@test "another project's sweep never takes a directory a builder or the resolver just made" {
  local other="$W/other$BATS_TEST_NUMBER" sha
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$other"
  cp "$FIX/lock-six-idna.toml" "$other/pylock.toml"
  sha=$(sha256sum "$FIX"/wheels/idna-*.whl | cut -c1-64)
  chmod -R u+w "$STATE/cache/trees/$sha"-*
  rm -rf "$STATE/cache/trees/$sha"-*
  # A cold tree's batch being made in `other`, stopped between mkdir and lock...
  paused tree-made "$PL" -C "$other" sync
  [ -n "$(find "$STATE/cache/trees" -maxdepth 1 -name ".tmp-batch-*")" ]
  # ...while this project's sync sweeps the cache.
  "$PL" -q -C "$PROJ" sync --repair
  resume
  [ "$RESUMED" -eq 0 ] || { echo "the builder: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  (PROJ=$other && assert_agree "the builder's project")
  assert_agree "the sweeper's project"
  # The resolver's scratch directory, the same way.
  paused scratch-made "$PL" -C "$other" lock --check
  [ -n "$(find "$STATE/scratch" -mindepth 1 -maxdepth 1)" ]
  "$PL" -q -C "$PROJ" sync
  resume
  [ "$RESUMED" -eq 0 ] || { echo "the resolver: $(cat "$BATS_TEST_TMPDIR/paused.err")"; return 1; }
  assert_nothing_left
}

# ------------------------------------------------- a kill, then another command

# A change killed at a step of its own, then another command than sync
# first: a reader (run) sees the old or the new, whole; lock, rollback and
# gc each finish or undo the change before their own work, and say which.
@test "after a kill, run, lock, rollback and gc each see or leave the old or the new, never a mix" {
  local step cmd want
  for step in recorded:rollback committed:run committed:gc switched:lock; do
    cmd=${step#*:} step=${step%:*}
    cp "$FIX/lock-six.toml" "$PROJ/pylock.toml"
    "$PL" -q -C "$PROJ" sync
    paused "$step" "$PL" -C "$PROJ" install idna
    kill -9 "$PAUSED"
    wait "$PAUSED" || true
    case $step in recorded) want=$FIX/lock-six.toml ;; *) want=$FIX/lock-six-idna.toml ;; esac
    cmp -s "$PROJ/pylock.toml" "$want" || { echo "$step: pylock.toml is not $want"; return 1; }
    case $cmd in
    run)
      # A reader: the new lock with the new environment already.
      assert_eq "$(imported_set)" "$(lock_set)"
      "$PL" -q -C "$PROJ" sync ;;
    rollback)
      run --separate-stderr "$PL" -C "$PROJ" rollback
      [ "$status" -eq 0 ] || { echo "rollback after $step: $stderr"; return 1; }
      assert_contains "$stderr" "undid an interrupted change"
      "$PL" -q -C "$PROJ" sync ;;
    *)
      run --separate-stderr "$PL" -C "$PROJ" "$cmd"
      [ "$status" -eq 0 ] || { echo "$cmd after $step: $stderr"; return 1; }
      assert_contains "$stderr" "finished an interrupted change" ;;
    esac
    assert_agree "$cmd after a kill at $step"
    assert_nothing_left || { echo "after $cmd, killed at $step"; return 1; }
  done
}
