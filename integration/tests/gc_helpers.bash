# Shared by gc.bats and integration/stress/gc_race.bats: a signed registry of
# the fixture wheels, locks made once, and what the cache and the projects'
# manifests hold.
# SPDX-License-Identifier: Apache-2.0

# setup_file: wheels, a registry, and the locks "requests" and "idna-six"
# resolved by pip once; "six" and "idna" are "idna-six" without the other.
gc_fixture() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$FIX/locks"
  local what
  for what in requests "idna six"; do
    # shellcheck disable=SC2086
    set_requested_in "$FIX/locks/pylock.toml" $what
    "$PL" -q -C "$FIX/locks" lock
    cp "$FIX/locks/pylock.toml" "$FIX/lock-${what// /-}.toml"
  done
  lock_without "$FIX/lock-idna-six.toml" "$FIX/lock-six.toml" idna
  lock_without "$FIX/lock-idna-six.toml" "$FIX/lock-idna.toml" six
}

# lock_without IN OUT NAME...: the lock IN without the packages NAME (and
# not requesting them), as OUT.
lock_without() {
  python3 - "$@" <<'PY'
import json, re, sys, tomllib
src, dst, drop = sys.argv[1], sys.argv[2], set(sys.argv[3:])
text = open(src).read()
parts = re.split(r'(?m)^(?=\[\[packages\]\]$)', text)
head, blocks, tail = parts[0], parts[1:], ''
m = re.search(r'(?m)^\[(?!\[?packages[.\]])', blocks[-1])
if m:
    blocks[-1], tail = blocks[-1][:m.start()], blocks[-1][m.start():]
kept = [b for b in blocks if re.search(r'(?m)^name = "([^"]+)"$', b).group(1) not in drop]
reqs = [r for r in tomllib.loads(text)['tool']['pylock']['requested'] if r not in drop]
tail = re.sub(r'(?ms)^requested = \[.*?\]$', 'requested = ' + json.dumps(reqs), tail, count=1)
out = head + ''.join(kept) + tail
tomllib.loads(out)
open(dst, 'w').write(out)
PY
}

# gc_project DIR LOCK: a new project at DIR trusting the fixture registry,
# with one of gc_fixture's locks (not synced).
gc_project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$1"
  use_lock "$2" "$1"
}

# use_lock NAME [DIR]: one of gc_fixture's locks as DIR's pylock.toml.
use_lock() {
  cp "$FIX/lock-$1.toml" "${2:-$PROJ}/pylock.toml"
}

state_root() {
  echo "$XDG_STATE_HOME/pylock"
}

# The cache's trees and wheels, one name a line, sorted.
cache_trees() {
  find "$(state_root)/cache/trees" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
}
cache_wheels() {
  find "$(state_root)/cache/wheels" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort
}

# The trees every generation left in the state root names in its manifest,
# and their wheels: what the cache must hold after gc, exactly.
named_trees() {
  cat "$(state_root)"/projects/*/generations/*.manifest 2>/dev/null |
    awk '$1 == "tree" { print $2 }' | sort -u
}
named_wheels() {
  named_trees | cut -c1-64 | sed 's/$/.whl/' | sort -u
}

# The cache holds exactly what the kept generations name.
assert_cache_is_what_manifests_name() {
  assert_eq "$(cache_trees)" "$(named_trees)"
  assert_eq "$(cache_wheels)" "$(named_wheels)"
}

assert_verified() {
  run --separate-stderr "$PL" -C "${1:-$PROJ}" verify
  [ "$status" -eq 0 ] || { echo "verify ${1:-$PROJ}: $output $stderr"; return 1; }
}

# gc_race PROJECTS ROUNDS: gc loops in a project of its own while PROJECTS
# projects sync in parallel on the same state root, cold first, then ROUNDS
# more times each with another lock (warm).  Every sync must succeed, every
# project verify, and the cache end as exactly what the manifests name.
gc_race() {
  # Loop variables are not i: bats' run (in assert_verified) sets a global i.
  local n=$1 rounds=$2 locks=(requests idna-six six idna) pj rnd pids=() failed=0
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  local out="$BATS_TEST_TMPDIR/out"
  mkdir -p "$out"
  gc_project "$BATS_TEST_TMPDIR/gc" six
  for ((pj = 0; pj < n; pj++)); do
    gc_project "$BATS_TEST_TMPDIR/p$pj" "${locks[pj % 4]}"
  done
  (
    k=0
    while [ ! -e "$out/stop" ]; do
      "$PL" -C "$BATS_TEST_TMPDIR/gc" gc --wait 300 >>"$out/gc.log" 2>&1 || echo "gc $k failed" >>"$out/gc.fail"
      k=$((k + 1))
    done
    echo "$k" >"$out/gc.count"
  ) &
  local loop=$!
  for ((rnd = 0; rnd <= rounds; rnd++)); do
    pids=()
    for ((pj = 0; pj < n; pj++)); do
      [ "$rnd" -eq 0 ] || use_lock "${locks[(pj + rnd) % 4]}" "$BATS_TEST_TMPDIR/p$pj"
      "$PL" -C "$BATS_TEST_TMPDIR/p$pj" sync >"$out/sync-$rnd-$pj.log" 2>&1 &
      pids+=($!)
    done
    for ((pj = 0; pj < n; pj++)); do
      wait "${pids[pj]}" || { echo "round $rnd: sync of p$pj failed:"; cat "$out/sync-$rnd-$pj.log"; failed=1; }
    done
  done
  touch "$out/stop"
  wait "$loop"
  [ "$failed" -eq 0 ]
  [ ! -e "$out/gc.fail" ] || { cat "$out/gc.fail" "$out/gc.log"; return 1; }
  echo "# gc ran $(cat "$out/gc.count") times during the syncs" >&3
  [ "$(cat "$out/gc.count")" -ge 2 ]
  ! grep -h "vanished" "$out"/*.log
  for ((pj = 0; pj < n; pj++)); do
    assert_verified "$BATS_TEST_TMPDIR/p$pj"
  done
  "$PL" -q -C "$BATS_TEST_TMPDIR/gc" gc
  assert_cache_is_what_manifests_name
  for ((pj = 0; pj < n; pj++)); do
    assert_verified "$BATS_TEST_TMPDIR/p$pj"
  done
}
