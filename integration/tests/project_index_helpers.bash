# Registries with per-project index pages over nginx, shared by project_index.bats
# and project_index_pages.bats: the wheels, keys, a registry per test, its bins read.
# SPDX-License-Identifier: Apache-2.0

OFF="$KEYS/offline.key"
ON="$KEYS/online.key"

# index_fixture: setup_file's wheels (and six 1.17.0 in $FIX/bumped), offline
# and online keys, and nginx serving $FIX/www; fails without tuf-js.
index_fixture() {
  export FIX="$BATS_FILE_TMPDIR"
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/tuf-js" ] ||
    { echo "tuf-js not installed: integration/setup-node.sh did not run" >&2; return 1; }
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  python3 "$PYLOCK_BIN/make-wheels.py" --bump "$FIX/wheels/six-1.16.0-py3-none-any.whl" 1.17.0 \
    "$FIX/bumped" >/dev/null
  mkdir -p "$FIX/www"
  for k in offline online; do "$PL" key generate -o "$KEYS/$k.key" >/dev/null; done
  nginx_start "$FIX/nginx" "$FIX/www"
}

# index_setup: setup's state and cache of the test's own, and the names of
# its registry ($REG, served at $URL, one per test and base), trusted root,
# project and wheels.
index_setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
  export PYLOCK_KEEPALIVE=0
  NAME="t$BATS_TEST_NUMBER-$(basename "$PY" | tr -cd 'a-z0-9')"
  REG="$FIX/www/$NAME"
  URL="$NGINX_HTTP/$NAME"
  ROOT="$BATS_TEST_TMPDIR/trusted-root.json"
  PROJ="$BATS_TEST_TMPDIR/proj"
  W="$FIX/wheels"
  SIX="$W/six-1.16.0-py3-none-any.whl"
  IDNA="$W/idna-3.3-py3-none-any.whl"
}

# reg_bins_py: the start of a file's `reg` script (python3 - $REG CMD ARGS...):
# cmd and args, and readers of $REG's bins, pages and target files.
reg_bins_py() {
  cat <<'PY'
import hashlib, json, os, sys
reg, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]

def load(p):
    return json.load(open(p))

def snapshot():
    v = load(f"{reg}/timestamp.json")["signed"]["meta"]["snapshot.json"]["version"]
    return load(f"{reg}/{v}.snapshot.json")["signed"]

def bins():
    tg = snapshot()["meta"]["targets.json"]["version"]
    return load(f"{reg}/{tg}.targets.json")["signed"]["delegations"]["succinct_roles"]

def bin_of(name):
    sr = bins()
    bits = sr["bit_length"]
    b = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) >> (32 - bits)
    width = len("%x" % ((1 << bits) - 1))
    return "%s-%0*x" % (sr["name_prefix"], width, b)

def bin_file(role):
    return f"{reg}/{snapshot()['meta'][role + '.json']['version']}.{role}.json"

def entry(name):
    return load(bin_file(bin_of(name)))["signed"]["targets"].get(name)

def target_path(name, sha):
    d, _, base = name.rpartition("/")
    return f"{reg}/targets/{d + '/' if d else ''}{sha}.{base}"
PY
}

reg_digest() {
  (cd "$REG" && find . -type f -exec sha256sum {} + | awk '{print $2, $1}' | sort)
}

clear_log() { : >"$NGINX_DIR/access.log"; }
served() { grep -o "GET /$NAME/[^ ]*" "$NGINX_DIR/access.log" | sed "s|GET /$NAME/||" | sort; }

# The lock of an attack: it fails naming `why`, and nothing changed.
assert_lock_refused() {
  local why=$1 before
  before=$(sha256sum "$PROJ/pylock.toml")
  run --separate-stderr timeout 300 "$PL" -q -C "$PROJ" install six
  [ "$status" -ne 0 ] || { echo "the lock passed: $output"; return 1; }
  assert_contains "$stderr" "$why"
  assert_eq "$(sha256sum "$PROJ/pylock.toml")" "$before"
  # (Debian's python3 has a six of its own: ask pylock what it installed.)
  run "$PL" -C "$PROJ" list
  assert_not_contains "$output" "six"
}
