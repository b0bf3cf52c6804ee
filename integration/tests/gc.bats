#!/usr/bin/env bats
# pylock-test: once
# pylock gc (issue 12): it keeps exactly the cache trees and wheels the kept
# generations of every project name in their manifests, removes the rest,
# removes the state of projects that are gone after a grace period, and
# takes the cache lock, so that syncs racing it never lose a tree.  Code
# running in a sandbox can neither take that lock nor hold it against syncs.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load gc_helpers

setup_file() {
  gc_fixture
}

setup() {
  # A state root per test: what the cache holds is each test's own.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  BG=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# The tree of the wheel whose file name starts with PREFIX, per the project's manifest.
tree_of() {
  awk -v w="$1" '$1 == "tree" && index($4, w) == 1 { print $2 }' \
    "$(state_dir "${2:-$PROJ}")/generations/$(current_n "${2:-$PROJ}").manifest"
}

current_n() {
  readlink "$(state_dir "${1:-$PROJ}")/current" | cut -d/ -f2
}

cache_files() {
  find "$(state_root)/cache/trees" -type f | wc -l
}

@test "a_fresh_sync_then_gc_keeps_every_tree_it_uses_and_removes_an_unreferenced_tree_and_wheel" {
  gc_project "$PROJ" idna-six
  "$PL" -q -C "$PROJ" sync
  six=$(tree_of six-)
  [ -n "$six" ]
  trees=$(cache_trees) wheels=$(cache_wheels) files=$(cache_files)
  # Garbage: a tree and a wheel no generation names (copies, under another sha256).
  junk=$(printf 'f%.0s' $(seq 64))
  cp -a "$(state_root)/cache/trees/$six" "$(state_root)/cache/trees/$junk-${six#*-}"
  cp "$(state_root)/cache/wheels/${six%%-*}.whl" "$(state_root)/cache/wheels/$junk.whl"
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "1 cache tree(s), 1 wheel(s)"
  assert_contains "$stderr" "freed"
  # The six tree (whose RECORD the generation holds as a copy) is still there, all of it.
  [ -f "$(state_root)/cache/trees/$six/.complete" ]
  assert_eq "$(cache_trees)" "$trees"
  assert_eq "$(cache_wheels)" "$wheels"
  assert_eq "$(cache_files)" "$files"
  assert_cache_is_what_manifests_name
  assert_verified
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna, six; print(six.__version__)'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "1.16.0"
  # A second project syncing the same lock links from the trees gc kept.
  gc_project "$BATS_TEST_TMPDIR/second" idna-six
  run --separate-stderr "$PL" -C "$BATS_TEST_TMPDIR/second" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "0 fetched, 0 unpacked"
}

@test "gc_removes_an_old_generation_then_the_trees_and_wheels_only_it_used" {
  gc_project "$PROJ" requests
  "$PL" -q -C "$PROJ" sync
  first=$(current_n)
  requests=$(tree_of requests-)
  use_lock idna-six
  "$PL" -q -C "$PROJ" sync
  use_lock six
  "$PL" -q -C "$PROJ" sync
  [ -d "$(state_root)/cache/trees/$requests" ]
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # The requests one, and the empty one init made.
  assert_contains "$stderr" "removed 2 generation(s)"
  [ ! -e "$(state_dir)/generations/$first" ]
  [ ! -e "$(state_dir)/generations/$first.manifest" ]
  [ ! -e "$(state_root)/cache/trees/$requests" ]
  [ ! -e "$(state_root)/cache/wheels/${requests%%-*}.whl" ]
  assert_cache_is_what_manifests_name
  assert_verified
  # The previous generation is whole: rolled back to, it verifies against its lock and imports.
  "$PL" -q -C "$PROJ" rollback
  use_lock idna-six
  assert_verified
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna, six'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "trees_two_projects_share_stay_while_either_names_them" {
  gc_project "$PROJ" idna-six
  gc_project "$BATS_TEST_TMPDIR/other" idna-six
  "$PL" -q -C "$PROJ" sync
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  idna=$(tree_of idna-)
  assert_eq "$(tree_of idna- "$BATS_TEST_TMPDIR/other")" "$idna"
  # The first project moves on twice: its first generation goes, not the
  # trees the other project still names.
  use_lock six
  "$PL" -q -C "$PROJ" sync
  use_lock requests
  "$PL" -q -C "$PROJ" sync
  use_lock six
  "$PL" -q -C "$PROJ" sync
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -f "$(state_root)/cache/trees/$idna/.complete" ]
  assert_cache_is_what_manifests_name
  assert_verified "$BATS_TEST_TMPDIR/other"
  # The other project's generation still reads the tree: its idna is the
  # tree's directory (folded), the same inodes.
  purelib_rel=$(interp purelib "$BATS_TEST_TMPDIR/other")
  purelib_rel=${purelib_rel#"$(interp prefix "$BATS_TEST_TMPDIR/other")"}
  f="$(layer_dir "$BATS_TEST_TMPDIR/other")$purelib_rel/idna/core.py"
  [ "$(stat -L -c %i "$f")" = "$(stat -c %i "$(state_root)/cache/trees/$idna$purelib_rel/idna/core.py")" ]
  # Once neither names it, it goes.
  use_lock six "$BATS_TEST_TMPDIR/other"
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  use_lock requests "$BATS_TEST_TMPDIR/other"
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  use_lock six "$BATS_TEST_TMPDIR/other"
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  "$PL" -q -C "$PROJ" gc
  assert_cache_is_what_manifests_name
  assert_verified
  assert_verified "$BATS_TEST_TMPDIR/other"
}

@test "an_orphan_project_is_kept_within_the_grace_period_and_removed_with_orphans_after_0" {
  gc_project "$PROJ" six
  gc_project "$BATS_TEST_TMPDIR/gone" idna-six
  "$PL" -q -C "$PROJ" sync
  "$PL" -q -C "$BATS_TEST_TMPDIR/gone" sync
  gone_state=$(state_dir "$BATS_TEST_TMPDIR/gone")
  idna=$(tree_of idna- "$BATS_TEST_TMPDIR/gone")
  rm -rf "$BATS_TEST_TMPDIR/gone"
  run --separate-stderr "$PL" -C "$PROJ" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "$gone_state is an orphan since"
  assert_contains "$stderr" "no longer exists"
  assert_contains "$stderr" "removed in 30 day(s)"
  assert_contains "$stderr" "0 orphan project(s) (1 waiting)"
  [ -f "$gone_state/orphaned" ]
  [ -d "$gone_state/generations" ]
  [ -f "$(state_root)/cache/trees/$idna/.complete" ]
  # --orphans-after 0, from outside any project: gone now, and its tree with it.
  cd "$BATS_TEST_TMPDIR"
  run --separate-stderr "$PL" gc --orphans-after 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "1 orphan project(s) (0 waiting)"
  [ ! -e "$gone_state" ]
  [ ! -e "$(state_root)/cache/trees/$idna" ]
  [ -z "$(find "$(state_root)/projects" -maxdepth 1 -name '.*')" ]
  assert_cache_is_what_manifests_name
  assert_verified
}

@test "a_project_that_came_back_within_the_grace_period_keeps_its_state" {
  gc_project "$PROJ" idna-six
  "$PL" -q -C "$PROJ" sync
  state=$(state_dir) gen=$(current_n)
  mv "$PROJ" "$BATS_TEST_TMPDIR/away"
  cd "$BATS_TEST_TMPDIR"
  run --separate-stderr "$PL" gc
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is an orphan since"
  [ -f "$state/orphaned" ]
  mv "$BATS_TEST_TMPDIR/away" "$PROJ"
  run --separate-stderr "$PL" gc --orphans-after 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "is a project again"
  assert_contains "$stderr" "0 orphan project(s) (0 waiting)"
  [ ! -e "$state/orphaned" ]
  assert_eq "$(current_n)" "$gen"
  # Its environment works as it was, without a sync.
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna, six'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_verified
  assert_cache_is_what_manifests_name
}

@test "code_in_a_sandbox_can_neither_take_nor_hold_the_cache_lock" {
  gc_project "$PROJ" idna-six
  "$PL" -q -C "$PROJ" sync
  lock="$(state_root)/cache/lock"
  before=$(stat -c '%i %a %s %Y' "$lock")
  [ "$(stat -c %a "$lock")" = 200 ]
  # The attack: open the cache lock in any way that could take a lock
  # conflicting with gc or with syncs (write locks need a writable file,
  # read locks a readable one), or make a lock file of its own; then stay.
  "$PL" -C "$PROJ" run python3 -c '
import errno, fcntl, os, sys, time
lock = sys.argv[1]
results = []
for flags in (os.O_RDONLY, os.O_WRONLY, os.O_RDWR, os.O_PATH):
    try:
        fd = os.open(lock, flags)
    except OSError as e:
        results.append("open %d: %s" % (flags, errno.errorcode[e.errno]))
        continue
    for op in (fcntl.LOCK_SH | fcntl.LOCK_NB, fcntl.LOCK_EX | fcntl.LOCK_NB):
        try:
            fcntl.lockf(fd, op, 0, 0)
            results.append("LOCKED %d %d" % (flags, op))
        except OSError as e:
            results.append("lock %d %d: %s" % (flags, op, errno.errorcode[e.errno]))
try:
    os.open(os.path.dirname(lock) + "/lock.mine", os.O_CREAT | os.O_WRONLY, 0o600)
    results.append("CREATED")
except OSError as e:
    results.append("create: " + errno.errorcode[e.errno])
print("\n".join(results), flush=True)
open(sys.argv[2], "w").close()
time.sleep(60)' "$lock" "$BATS_TEST_TMPDIR/tried" >"$BATS_TEST_TMPDIR/attack" 2>&1 &
  BG+=($!)
  for _ in $(seq 500); do [ -e "$BATS_TEST_TMPDIR/tried" ] && break; nap 0.02; done
  [ -e "$BATS_TEST_TMPDIR/tried" ] || { cat "$BATS_TEST_TMPDIR/attack"; return 1; }
  cat "$BATS_TEST_TMPDIR/attack"
  if grep -q "LOCKED\|CREATED" "$BATS_TEST_TMPDIR/attack"; then cat "$BATS_TEST_TMPDIR/attack"; return 1; fi
  grep -q "open 0: EACCES" "$BATS_TEST_TMPDIR/attack"
  grep -q "open 1: E" "$BATS_TEST_TMPDIR/attack"
  grep -q "open 2: E" "$BATS_TEST_TMPDIR/attack"
  # While it runs, syncs and gc go on, and gc does not wait for it.
  gc_project "$BATS_TEST_TMPDIR/other" requests
  run --separate-stderr timeout 60 "$PL" -C "$BATS_TEST_TMPDIR/other" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" gc --wait 0
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(stat -c '%i %a %s %Y' "$lock")" "$before"
  [ ! -e "$(state_root)/cache/lock.mine" ]
}

# A stand-in for a sync in progress: holds one byte of the cache lock, as
# pl_gc_hold_cache does, for SECONDS (it may write the file: it runs outside
# any sandbox, as the user's pylock does).
hold_cache() {
  python3 -c '
import fcntl, os, struct, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY)
F_OFD_SETLKW = getattr(fcntl, "F_OFD_SETLKW", 38)
fcntl.fcntl(fd, F_OFD_SETLKW, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 123456, 1, 0))
open(sys.argv[2], "w").close()
time.sleep(float(sys.argv[3]))' "$(state_root)/cache/lock" "$BATS_TEST_TMPDIR/held" "$1" &
  BG+=($!)
  for _ in $(seq 500); do [ -e "$BATS_TEST_TMPDIR/held" ] && break; nap 0.02; done
  [ -e "$BATS_TEST_TMPDIR/held" ]
}

@test "gc_waits_for_a_sync_holding_the_cache_and_removes_nothing_if_it_gives_up" {
  gc_project "$PROJ" six
  "$PL" -q -C "$PROJ" sync
  six=$(tree_of six-)
  junk=$(printf 'f%.0s' $(seq 64))
  cp -a "$(state_root)/cache/trees/$six" "$(state_root)/cache/trees/$junk-${six#*-}"
  hold_cache 30
  run --separate-stderr "$PL" -C "$PROJ" gc --wait 1
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "still in use (1 sync(s)"
  assert_contains "$stderr" "nothing was removed"
  assert_contains "$stderr" "pylock gc --wait SECONDS"
  [ -d "$(state_root)/cache/trees/$junk-${six#*-}" ]
  kill "${BG[0]}"
  rm "$BATS_TEST_TMPDIR/held"
  hold_cache 2
  run --separate-stderr "$PL" -C "$PROJ" gc --wait 60
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "waiting for 1 sync(s) to finish with the shared cache"
  [ ! -e "$(state_root)/cache/trees/$junk-${six#*-}" ]
  assert_cache_is_what_manifests_name
}

@test "gc_looping_while_ten_projects_sync_in_parallel_breaks_no_sync" {
  gc_race 10 2
}
