#!/usr/bin/env bats
# pylock-test: once
# Attacks on pylock gc, the change lock and crash recovery (issues 8, 12):
# code running in a sandbox (it sees the state root read-only and writes its
# project), another local user planting in shared directories, a pull
# request's checkout, and gc racing changes.  Each test performs the attack
# and asserts that it fails and that nothing it aimed at changed: gc never
# removes what is in use or what a change needs, never follows a link out
# of the state root, and nothing a sandbox can do stalls a change or gc.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load gc_helpers

OTHER=pylocktest2

setup_file() {
  gc_fixture
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  BG=()
  SHARED=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ ! -s "$BATS_TEST_TMPDIR/attacker.pid" ] || kill -9 "$(cat "$BATS_TEST_TMPDIR/attacker.pid")" 2>/dev/null || true
  for p in "${SHARED[@]}"; do
    as_other rm -rf "$p" 2>/dev/null || true
    rm -rf "$p" 2>/dev/null || true
  done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

need_other() {
  id "$OTHER" >/dev/null 2>&1 && (cd / && sudo -n -u "$OTHER" true) 2>/dev/null ||
    skip "needs the second user $OTHER and sudo to act as it (integration/run as root)"
}

as_other() {
  (cd / && sudo -n -u "$OTHER" -H -- "$@")
}

# wait_for FILE: until it exists (10 s).
wait_for() {
  local _
  for _ in $(seq 500); do [ -e "$1" ] && return 0; nap 0.02; done
  return 1
}

# Every name, inode, size and mtime under the state root but run/ and
# scratch/ (what no attack may change).
state_snapshot() {
  find "$(state_root)" \( -name run -o -name scratch \) -prune -o \
    -printf '%P %i %s %T@ %m\n' | sort
}

current_n() {
  readlink "$(state_dir "${1:-$PROJ}")/current" | cut -d/ -f2
}

@test "code_in_a_sandbox_can_neither_open_nor_hold_any_project_s_change_lock" {
  gc_project "$PROJ" six
  gc_project "$BATS_TEST_TMPDIR/other" six
  "$PL" -q -C "$PROJ" sync
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  # The attack: every project's change lock (and any older `lock`), opened
  # every way, flock()ed and lockf()ed; whatever it got, held for a minute
  # after the run returns, by a child that outlives it.
  "$PL" -C "$PROJ" run python3 -c '
import errno, fcntl, glob, os, sys, time
held, out = [], []
for lock in glob.glob(sys.argv[1] + "/projects/*/*lock"):
    for flags in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR):
        try:
            fd = os.open(lock, flags)
        except OSError as e:
            out.append("open %s %d: %s" % (os.path.basename(lock), flags, errno.errorcode[e.errno]))
            continue
        held.append(fd)
        for name, take in (("flock", lambda: fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)),
                           ("lockf", lambda: fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)),
                           ("lockf-sh", lambda: fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB))):
            try:
                take()
                out.append("LOCKED %s %s %d" % (name, lock, flags))
            except OSError as e:
                out.append("%s %d: %s" % (name, flags, errno.errorcode[e.errno]))
print("\n".join(out), flush=True)
if os.fork() == 0:
    os.setsid()
    open(sys.argv[2], "w").write(str(os.getpid()))
    time.sleep(60)
    os._exit(0)
' "$(state_root)" "$BATS_TEST_TMPDIR/attacker.pid" >"$BATS_TEST_TMPDIR/attack" 2>&1
  wait_for "$BATS_TEST_TMPDIR/attacker.pid"
  cat "$BATS_TEST_TMPDIR/attack"
  run ! grep -q "LOCKED" "$BATS_TEST_TMPDIR/attack"
  grep -q "open change.lock 0: EACCES" "$BATS_TEST_TMPDIR/attack"
  # While the attacker lives: changes of both projects and gc go on.
  use_lock idna-six "$BATS_TEST_TMPDIR/other"
  run --separate-stderr timeout 60 "$PL" -C "$BATS_TEST_TMPDIR/other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  use_lock idna-six
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" gc --wait 10
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "being changed"
  assert_not_contains "$stderr" "waiting for another pylock"
  for f in "$(state_root)"/projects/*/change.lock; do
    assert_eq "$(stat -c %a "$f")" 200
  done
  assert_verified "$PROJ"
  assert_verified "$BATS_TEST_TMPDIR/other"
}

@test "code_in_a_sandbox_locking_every_new_cache_entry_first_fails_no_build_fetch_or_resolution" {
  [ -x "$PYLOCK_BIN/inotify-flock" ] || { echo "build the helpers: make build/helpers/inotify-flock"; return 1; }
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  gc_project "$BATS_TEST_TMPDIR/other" idna-six
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" lock # makes the resolver's scratch/
  local st
  st=$(state_root)
  # The attack: from inside a run, watch where builders, fetchers and the
  # resolver make their directories and files, and flock each the moment it
  # appears (and where they stage them, if it can), holding them all.
  "$PL" -C "$PROJ" run "$PYLOCK_BIN/inotify-flock" "$BATS_TEST_TMPDIR/ready" \
    "$st/cache/trees" "$st/cache/wheels" "$st/scratch" >"$BATS_TEST_TMPDIR/attack" 2>&1 &
  BG+=($!)
  wait_for "$BATS_TEST_TMPDIR/ready" || { cat "$BATS_TEST_TMPDIR/attack"; return 1; }
  local round
  for round in 1 2 3; do
    # Cold: every tree built and every wheel fetched again (but the trees
    # the attacker's own environment uses), and a resolution.
    uncache_but_current "$PROJ"
    use_lock "$([ $((round % 2)) -eq 1 ] && echo six || echo idna-six)" "$BATS_TEST_TMPDIR/other"
    run --separate-stderr timeout 120 "$PL" -C "$BATS_TEST_TMPDIR/other" sync
    [ "$status" -eq 0 ] || { echo "round $round sync: $stderr"; cat "$BATS_TEST_TMPDIR/attack"; return 1; }
    run --separate-stderr timeout 120 "$PL" -C "$BATS_TEST_TMPDIR/other" lock
    [ "$status" -eq 0 ] || { echo "round $round lock: $stderr"; cat "$BATS_TEST_TMPDIR/attack"; return 1; }
  done
  cat "$BATS_TEST_TMPDIR/attack"
  run ! grep -E "WATCHING|watch |locked (\.tmp-|lock-|\.fetch\.tmp)" "$BATS_TEST_TMPDIR/attack"
  assert_verified "$BATS_TEST_TMPDIR/other"
  assert_verified
}

@test "gc_keeps_the_new_generation_of_an_install_killed_after_its_commit" {
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  old=$(current_n)
  PYLOCK_PAUSE_AT=committed "$PL" -q -C "$PROJ" install idna 2>"$BATS_TEST_TMPDIR/install.err" &
  pid=$!
  BG+=($pid)
  wait_stopped "$pid" || { cat "$BATS_TEST_TMPDIR/install.err"; return 1; }
  kill -9 "$pid"
  wait "$pid" || true
  grep -q '^name = "idna"' "$PROJ/pylock.toml" # committed: the lock is the new one
  new=$(sed -n 's/^generation=//p' "$(state_dir)/change")
  [ "$new" -gt "$old" ]
  # The race: gc between the crash and the next change.
  run --separate-stderr "$PL" gc --orphans-after 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -d "$(state_dir)/generations/$new" ]
  # The next change finishes it: the new lock with its own environment.
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "finished an interrupted change"
  assert_eq "$(current_n)" "$new"
  "$PL" -C "$PROJ" list --json | grep -q '"idna"'
  assert_verified
  "$PL" -q gc
  assert_cache_is_what_manifests_name
}

@test "gc_keeps_a_running_generation_when_the_state_path_has_a_space_and_a_comma" {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/st ate,x"
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  gen=$(current_n)
  # A long-running program on generation $gen, which imports six only
  # after gc has run.
  "$PL" -C "$PROJ" run python3 -c '
import os, sys, time
open(sys.argv[1], "w").close()
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
import six
print("six", six.__version__, flush=True)' "$BATS_TEST_TMPDIR/started" "$BATS_TEST_TMPDIR/go" \
    >"$BATS_TEST_TMPDIR/run.out" 2>&1 &
  runner=$!
  BG+=($runner)
  wait_for "$BATS_TEST_TMPDIR/started"
  # Two changes: $gen is neither current nor previous.
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  use_lock six
  "$PL" -q -C "$PROJ" sync
  [ "$(current_n)" -gt $((gen + 1)) ]
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "(1 kept: in use)"
  [ -f "$(state_dir)/generations/$gen.manifest" ]
  touch "$BATS_TEST_TMPDIR/go"
  wait "$runner" || { cat "$BATS_TEST_TMPDIR/run.out"; return 1; }
  grep -q "six 1.16.0" "$BATS_TEST_TMPDIR/run.out"
}

@test "a_project_directory_replaced_by_a_link_is_an_orphan_and_gc_follows_nothing_out" {
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  victim=$(state_dir)
  # The decoy the link leads to: a project directory of the user's, and a
  # tree of files gc must not touch.
  gc_project "$BATS_TEST_TMPDIR/decoy" six
  "$PL" -q -C "$BATS_TEST_TMPDIR/decoy" sync
  mkdir -p "$BATS_TEST_TMPDIR/decoy/generations/1" "$BATS_TEST_TMPDIR/decoy/cache/trees"
  echo keep >"$BATS_TEST_TMPDIR/decoy/generations/1/data"
  decoy_state=$(state_dir "$BATS_TEST_TMPDIR/decoy")
  mv "$PROJ" "$BATS_TEST_TMPDIR/moved"
  ln -s "$BATS_TEST_TMPDIR/decoy" "$PROJ"
  before=$(find "$BATS_TEST_TMPDIR/decoy" -printf '%P %i %s %T@\n' | sort)
  run --separate-stderr "$PL" gc --orphans-after 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "removed $victim"
  [ ! -e "$victim" ]
  [ -d "$decoy_state" ]
  assert_eq "$(find "$BATS_TEST_TMPDIR/decoy" -printf '%P %i %s %T@\n' | sort)" "$before"
  [ -L "$PROJ" ]
  assert_verified "$BATS_TEST_TMPDIR/decoy"
  assert_cache_is_what_manifests_name
}

@test "code_in_a_sandbox_can_plant_nothing_that_gc_or_a_sync_acts_on" {
  gc_project "$PROJ" six
  gc_project "$BATS_TEST_TMPDIR/other" idna-six
  "$PL" -q -C "$PROJ" sync
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  before=$(state_snapshot)
  # The attack, from inside a run: mark the other project an orphan, empty
  # its manifests (its trees would go), plant a removal leftover, a change
  # record, a path record leading out, quarantine its tree, hold the
  # scratch; and rewrite its own project so gc takes it for another's.
  "$PL" -C "$PROJ" run python3 -c '
import errno, glob, os, sys
state, out = sys.argv[1], []
other = [p for p in glob.glob(state + "/projects/*") if "/other-" in p][0]
def attempt(what, f):
    try:
        f()
        out.append("DONE " + what)
    except OSError as e:
        out.append("%s: %s" % (what, errno.errorcode[e.errno]))
def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)
attempt("orphan mark", lambda: write(other + "/orphaned", "1\n"))
for m in glob.glob(other + "/generations/*.manifest"):
    attempt("manifest", lambda: write(m, "pylock-generation 1\n"))
attempt("leftover", lambda: os.mkdir(state + "/projects/.gc-x-0000000000000000"))
attempt("change record", lambda: write(other + "/change", "generation=9\nprevious=1\nlock=.x\n"))
attempt("path record", lambda: os.replace(other + "/path", other + "/path.old"))
attempt("quarantine", lambda: os.rename(glob.glob(state + "/cache/trees/*")[0], state + "/cache/quarantine"))
attempt("link", lambda: os.symlink("/", state + "/projects/zz-0000000000000000"))
attempt("chmod", lambda: os.chmod(state + "/cache/lock", 0o600))
print("\n".join(out))' "$(state_root)" >"$BATS_TEST_TMPDIR/attack" 2>&1
  cat "$BATS_TEST_TMPDIR/attack"
  run ! grep -q "^DONE" "$BATS_TEST_TMPDIR/attack"
  [ "$(grep -c ': EROFS' "$BATS_TEST_TMPDIR/attack")" -ge 8 ]
  assert_eq "$(state_snapshot)" "$before"
  run --separate-stderr "$PL" gc --orphans-after 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "0 orphan project(s)"
  assert_verified "$PROJ"
  assert_verified "$BATS_TEST_TMPDIR/other"
  assert_cache_is_what_manifests_name
}

@test "another_user_can_neither_keep_a_deleted_project_s_state_nor_lead_gc_out_through_tmp" {
  need_other
  local a="/tmp/pylock-gcatk-$$-a" b="/tmp/pylock-gcatk-$$-b"
  SHARED+=("$a" "$b")
  gc_project "$a" six
  gc_project "$b" six
  "$PL" -q -C "$a" sync
  "$PL" -q -C "$b" sync
  sa=$(state_dir "$a")
  sb=$(state_dir "$b")
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  # While they exist, the other user can take neither away (/tmp is sticky):
  # gc keeps both.
  as_other rm -rf "$a" "$b" 2>/dev/null || true
  "$PL" -q gc --orphans-after 0
  [ -d "$sa" ] && [ -d "$sb" ]
  # The user deletes them; the other user makes them again: a directory of
  # its own with a pylock.toml, and a link to the user's other project.
  rm -rf "$a" "$b"
  as_other sh -c 'mkdir "$1" && echo "lock-version = \"1.0\"" >"$1/pylock.toml" && ln -s "$3" "$2"' \
    sh "$a" "$b" "$PROJ"
  before=$(find "$PROJ" "$(state_dir)" -printf '%P %i %s %T@\n' | sort)
  run --separate-stderr "$PL" gc --orphans-after 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "2 orphan project(s)"
  [ ! -e "$sa" ] && [ ! -e "$sb" ]
  assert_eq "$(find "$PROJ" "$(state_dir)" -printf '%P %i %s %T@\n' | sort)" "$before"
  [ "$(stat -c %U "$a/pylock.toml")" = "$OTHER" ]
  assert_verified "$PROJ"
}

@test "a_pull_request_s_old_layout_directory_of_links_is_removed_without_following_one" {
  # A checkout with no state yet: its .pylock/ (the layout before the state
  # root) is the pull request's, full of links out.
  mkdir -p "$PROJ/.pylock/generations/1" "$BATS_TEST_TMPDIR/keep/dir"
  use_lock six
  echo secret >"$BATS_TEST_TMPDIR/keep/file"
  echo secret >"$BATS_TEST_TMPDIR/keep/dir/file"
  ln -s "$BATS_TEST_TMPDIR/keep/file" "$PROJ/.pylock/registry-root.json"
  ln -s "$BATS_TEST_TMPDIR/keep/dir" "$PROJ/.pylock/generations/1/lib"
  ln -s "$BATS_TEST_TMPDIR/keep" "$PROJ/.pylock/generations/2"
  mkfifo "$PROJ/.pylock/current"
  before=$(find "$BATS_TEST_TMPDIR/keep" -printf '%P %i %s %T@ %m\n' | sort)
  "$PL" -q trust add "$FIX/trusted-root.json" --name fix
  run --separate-stderr timeout 120 "$PL" -C "$PROJ" sync --frozen --python "$PY" --trusted fix
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ ! -e "$PROJ/.pylock" ]
  assert_eq "$(find "$BATS_TEST_TMPDIR/keep" -printf '%P %i %s %T@ %m\n' | sort)" "$before"
  run ! grep -q secret "$(state_dir)/registry-root.json" 2>/dev/null
  "$PL" -q gc --orphans-after 0
  assert_eq "$(find "$BATS_TEST_TMPDIR/keep" -printf '%P %i %s %T@ %m\n' | sort)" "$before"
  assert_verified
}

@test "a_sync_waiting_while_gc_removes_its_project_s_old_state_makes_it_again_and_succeeds" {
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  gone=$(state_dir)
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/kept.toml"
  rm -rf "$PROJ"
  # gc decides the state is an orphan, holds its change lock, and stops
  # just before removing it; the project comes back and a sync opens that
  # state and waits for the lock; then gc goes on.
  PYLOCK_PAUSE_AT=orphan "$PL" gc --orphans-after 0 2>"$BATS_TEST_TMPDIR/gc.err" &
  gcp=$!
  BG+=($gcp)
  wait_stopped "$gcp" || { cat "$BATS_TEST_TMPDIR/gc.err"; return 1; }
  mkdir "$PROJ"
  cp "$BATS_TEST_TMPDIR/kept.toml" "$PROJ/pylock.toml"
  "$PL" -C "$PROJ" sync 2>"$BATS_TEST_TMPDIR/sync.err" &
  sp=$!
  BG+=($sp)
  for _ in $(seq 500); do grep -q "waiting for another pylock" "$BATS_TEST_TMPDIR/sync.err" && break; nap 0.02; done
  assert_contains "$(cat "$BATS_TEST_TMPDIR/sync.err")" "waiting for another pylock (pid $gcp)"
  kill -CONT "$gcp"
  wait "$gcp"
  wait "$sp" || { cat "$BATS_TEST_TMPDIR/sync.err"; return 1; }
  assert_contains "$(cat "$BATS_TEST_TMPDIR/sync.err")" "removed by pylock gc meanwhile"
  assert_eq "$(state_dir)" "$gone"
  assert_verified
  "$PL" -C "$PROJ" run python3 -c 'import six'
}

@test "a_state_root_under_a_directory_a_sandbox_writes_can_be_neither_moved_nor_replaced" {
  # The user put the state root where sandboxes may write (the project, the
  # user cache): the attack renames it, or a directory on the way to it,
  # and plants a copy of its own for the next pylock to trust.
  for where in "$PROJ/.state/a" "$BATS_TEST_TMPDIR/cache/a/st"; do
    export XDG_STATE_HOME="$where" XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
    chmod -R u+w "$PROJ" 2>/dev/null || true
    rm -rf "$PROJ"
    gc_project "$PROJ" six
    "$PL" -q -C "$PROJ" sync
    before=$(state_snapshot)
    run --separate-stderr "$PL" -C "$PROJ" run sh -c '
for d in "$1/pylock" "$1" "$(dirname "$1")"; do
  if mv "$d" "$d.moved" 2>/dev/null; then echo "MOVED $d"; fi
done
mkdir "$1/pylock/planted" 2>/dev/null && echo "PLANTED"
true' sh "$where"
    [ "$status" -eq 0 ] || { echo "$output $stderr"; return 1; }
    assert_not_contains "$output" "MOVED"
    assert_not_contains "$output" "PLANTED"
    assert_eq "$(state_snapshot)" "$before"
    "$PL" -q gc --orphans-after 0
    assert_verified
  done
}

@test "gc_looping_against_installs_removes_rollbacks_and_syncs_loses_no_environment" {
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  out="$BATS_TEST_TMPDIR/out"
  mkdir -p "$out"
  (
    k=0
    while [ ! -e "$out/stop" ]; do
      if [ $((k % 2)) -eq 0 ]; then
        "$PL" -C "$PROJ" gc --orphans-after 0 --wait 300 >>"$out/gc.log" 2>&1 || echo "gc $k" >>"$out/gc.fail"
      else
        (cd / && "$PL" gc --orphans-after 0 --wait 300 >>"$out/gc.log" 2>&1) || echo "gc $k" >>"$out/gc.fail"
      fi
      k=$((k + 1))
    done
    echo "$k" >"$out/gc.count"
  ) &
  loop=$!
  BG+=($loop)
  local step
  for step in "install idna" "rollback" "sync idna-six" "remove idna" "rollback" "sync six" \
    "sync requests" "rollback" "sync six"; do
    case $step in
    sync*) use_lock "${step#sync }"; set -- sync ;;
    *) set -- $step ;;
    esac
    run --separate-stderr "$PL" -C "$PROJ" "$@"
    [ "$status" -eq 0 ] || { echo "$step: $stderr"; touch "$out/stop"; return 1; }
    # Between changes, what runs is what the lock says (after a rollback,
    # the generation before, whole: rollback leaves pylock.toml as it is).
    if [ "$step" = rollback ]; then
      run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import six'
    else
      run --separate-stderr "$PL" -C "$PROJ" verify
    fi
    [ "$status" -eq 0 ] || { echo "after $step: $output $stderr"; touch "$out/stop"; return 1; }
  done
  touch "$out/stop"
  wait "$loop"
  [ ! -e "$out/gc.fail" ] || { cat "$out/gc.fail" "$out/gc.log"; return 1; }
  [ "$(cat "$out/gc.count")" -ge 2 ]
  "$PL" -q gc --orphans-after 0
  assert_verified
  assert_cache_is_what_manifests_name
}
