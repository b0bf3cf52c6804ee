# Projects of one lock ($FIX/lock.toml, registry $FIX/reg, root $FIX/root.json) over one
# cache, for the tests that damage the store (repair.bats, warm_attacks.bats).
# SPDX-License-Identifier: Apache-2.0

# unsynced DIR: a project of the lock, not synced yet.
unsynced() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$1"
  cp "$FIX/lock.toml" "$1/pylock.toml"
}

# project DIR: a project of the lock, synced.
project() {
  unsynced "$1"
  "$PL" -q -C "$1" sync
}

# The cached tree file of six.py (the one every generation hard-links).
six_in_tree() {
  find "$STATE/cache/trees" -path '*/six.py' | head -1
}
