# Shared by crash.bats and stress/crash_loop.bats: does the environment agree
# with pylock.toml, and did a killed pylock leave anything behind?
# Uses PROJ (the project), STATE (pylock's state root) and FIX/bare.set (what
# the bare base interpreter has, one "name==version" a line).
# SPDX-License-Identifier: Apache-2.0

# Python: the distributions importlib sees, "name==version", sorted.
DISTS='import importlib.metadata as m, re
print("\n".join(sorted({"%s==%s" % (re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(), d.version)
                        for d in m.distributions()})))'

# The locked packages of pylock.toml, like DISTS.
lock_set() {
  python3 - "$PROJ/pylock.toml" <<'PY'
import re, sys, tomllib
pkgs = tomllib.load(open(sys.argv[1], 'rb')).get('packages', [])
print("\n".join(sorted('%s==%s' % (re.sub(r'[-_.]+', '-', p['name']).lower(), p['version']) for p in pkgs)))
PY
}

# What `pylock list --json` says is installed, like DISTS.
list_set() {
  "$PL" -C "$PROJ" list --json | python3 -c '
import json, re, sys
print("\n".join(sorted("%s==%s" % (re.sub(r"[-_.]+", "-", p["name"]).lower(), p["version"])
                        for p in json.load(sys.stdin)["packages"])))'
}

# What imports inside the environment, less what the bare base has.
imported_set() {
  "$PL" -C "$PROJ" run python3 -c "$DISTS" | comm -23 - "$FIX/bare.set"
}

# No process whose command line names pylock's state or the project is left.
assert_no_process_left() {
  local i left
  for i in $(seq 1 40); do
    left=$(pgrep -u "$(id -u)" -af -- "$STATE|$PROJ" | grep -v -e pgrep -e bats || true)
    [ -z "$left" ] && return 0
    nap 0.05
  done
  echo "processes left: $left"
  return 1
}

# No scratch directory, temporary file or change record anywhere pylock writes.
assert_nothing_left() {
  local left
  left=$(
    find "$STATE/scratch" -mindepth 1 -maxdepth 1 2>/dev/null
    find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-*'
    find "$STATE/cache/wheels" -mindepth 1 -maxdepth 1 -name '.*'
    find "$("$PL" -C "$PROJ" info state)" \( -name '.*.tmp*' -o -name change \) -print
    find "$PROJ" -maxdepth 1 -name '.pylock.toml.tmp*'
  )
  [ -z "$left" ] || { echo "left behind: $left"; return 1; }
}

# The lock, the environment and what imports agree; verify passes.
assert_agree() {
  local lock
  lock=$(lock_set)
  assert_eq "$(list_set)" "$lock" || { echo "list --json is not the lock ($1)"; return 1; }
  assert_eq "$(imported_set)" "$lock" || { echo "what imports is not the lock ($1)"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify ($1): $output $stderr"; return 1; }
}
