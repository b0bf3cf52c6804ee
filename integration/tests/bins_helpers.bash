# Hashed-bin registries over nginx, shared by bins.bats, verify_stream.bats and
# tuf_warm_scale.bats: the wheels, the offline and online keys, a registry per test.
# SPDX-License-Identifier: Apache-2.0

OFF="$KEYS/offline.key"
ON="$KEYS/online.key"

# need_tuf_js: fails unless integration/setup-node.sh installed tuf-js.
need_tuf_js() {
  [ -d "$PYLOCK_SCRATCH/interop/node_modules/tuf-js" ] ||
    { echo "tuf-js not installed: integration/setup-node.sh did not run" >&2; return 1; }
}

# bins_fixture: setup_file's wheels, offline and online keys, and nginx
# serving $FIX/www.
bins_fixture() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/www"
  for k in offline online; do "$PL" key generate -o "$KEYS/$k.key" >/dev/null; done
  nginx_start "$FIX/nginx" "$FIX/www"
}

# bins_setup: setup's state of the test's own, and the names of its
# registry ($REG, served at $URL), trusted root and wheels.
bins_setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  export PYLOCK_KEEPALIVE=0
  STATE="$BATS_TEST_TMPDIR/tufstate"
  NAME="t$BATS_TEST_NUMBER"
  REG="$FIX/www/$NAME"
  URL="$NGINX_HTTP/$NAME"
  ROOT="$BATS_TEST_TMPDIR/trusted-root.json"
  WHL_A="$FIX/wheels/idna-3.3-py3-none-any.whl"
  WHL_B="$FIX/wheels/six-1.16.0-py3-none-any.whl"
  WHL_C="$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
}

# make_binned [WHEEL...]: $REG with 16 bins and consistent snapshots (root
# and targets held by the offline key, the rest by the online one) and the
# wheels; $ROOT its first root.
make_binned() {
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins 16
  [ "$#" -eq 0 ] || "$PL" -q registry add "$REG" --key "$ON" "$@"
  cp "$REG/1.root.json" "$ROOT"
}
