# Shared by run_front.bats and front_run_attacks.bats: a project with a keep-alive
# holder to join, and a private copy of pylock as installed to take apart.
# SPDX-License-Identifier: Apache-2.0

# A new project, its state, and the holder's record (PYLOCK_KEEPALIVE=30).
front_setup() {
  new_project
  cd "$PROJ"
  STATE=$(state_dir)
  rec="$STATE/run/keepalive"
  export PYLOCK_KEEPALIVE=30
}

# The test's holders gone, its private copy removable again.
front_teardown() {
  local f p
  for f in "$STATE/run/keepalive" "$STATE/run/keepalive-strict"; do
    p=$(cut -d' ' -f3 "$f" 2>/dev/null) || continue
    [ -n "$p" ] && kill "$p" 2>/dev/null
  done
  [ -n "${P:-}" ] && chmod -R u+rwX "$P" 2>/dev/null
  return 0
}

# A private copy of pylock as installed: $P/bin/pylock and $P/lib/pylock/pylock.
private_pylock() {
  P="$BATS_TEST_TMPDIR/prefix"
  mkdir -p "$P/bin" "$P/lib/pylock"
  cp "$PL" "$P/bin/pylock"
  cp "$PL_FULL" "$P/lib/pylock/pylock"
}

# Until the holder has written its record (default: $rec).
wait_holder() { # [RECORD]
  local r=${1:-$rec}
  for _ in $(seq 100); do [ -s "$r" ] && break; nap 0.05; done
  [ -s "$r" ]
}
