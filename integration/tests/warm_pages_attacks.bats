#!/usr/bin/env bats
# pylock-test: once
# Attacks on the warm TUF path and on project index pages (the merges of
# scale14 and pages14), by a second pair of eyes, the real binary over
# nginx: `registry index` killed before each of its renames (strace
# injects SIGKILL there; make check before a part of them, see the test)
# never publishes a registry that fails
# `registry verify --targets`, never changes a file that was published,
# and a second run finishes; a sandboxed process cannot write the kept
# snapshot's record or index.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/www"
  for k in offline online; do "$PL" key generate -o "$KEYS/$k.key" >/dev/null; done
  nginx_start "$FIX/nginx" "$FIX/www"
}

teardown_file() {
  nginx_stop
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache"
  export PYLOCK_KEEPALIVE=0
  NAME="t$BATS_TEST_NUMBER"
  REG="$FIX/www/$NAME"
  URL="$NGINX_HTTP/$NAME"
  ROOT="$BATS_TEST_TMPDIR/trusted-root.json"
  W="$FIX/wheels"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

OFF="$KEYS/offline.key"
ON="$KEYS/online.key"

# digest DIR: "PATH SHA256" of every file under DIR, sorted.
digest() {
  (cd "$1" && find . -type f -exec sha256sum {} + | awk '{print $2, $1}' | sort)
}

verify_pages() {
  run --separate-stderr timeout 120 "$PL" registry verify "$URL" --root "$ROOT" --targets
}

@test "registry_index_killed_before_any_rename_publishes_nothing_between_and_a_rerun_finishes" {
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins 16 --no-project-index
  "$PL" -q registry add "$REG" --key "$ON" "$W"/*.whl 2>/dev/null
  cp "$REG/1.root.json" "$ROOT"
  cp -a "$REG" "$BATS_TEST_TMPDIR/pristine"
  # With pylock's record of what it signed: put back as the maintainer left
  # it, not an older copy under a newer record (refused).
  local rec="$XDG_STATE_HOME/pylock/published"
  cp -a "$rec" "$BATS_TEST_TMPDIR/pristine-record"
  before=$(digest "$REG")
  strace -f -qq -o "$BATS_TEST_TMPDIR/trace" -e trace=rename,renameat,renameat2 -e signal=none \
    "$PL" -q registry index "$REG" --key "$ON"
  # How many renames publish: up to the timestamp's (then pylock keeps its
  # record of what it signed, in the state root: no part of the registry).
  n=$(grep 'rename' "$BATS_TEST_TMPDIR/trace" | grep -n '"timestamp.json"' | head -1 | cut -d: -f1)
  [ "$n" -gt 20 ] || { cat "$BATS_TEST_TMPDIR/trace"; return 1; }
  after=$(digest "$REG")
  # A kill before the first rename and each of the last three (up to the
  # snapshot's and the timestamp's), and before the renames between (pages,
  # bins: one mechanism, rename after rename) that kill_steps takes: every
  # third in make check, which ones changing with the day, every one in make
  # stress (make check's time budget).
  local ks
  ks="1 $(kill_steps $(seq 2 $((n - 3)))) $(seq $((n - 2)) "$n")"
  for k in $ks; do
    rm -rf "$REG" "$rec"
    cp -a "$BATS_TEST_TMPDIR/pristine" "$REG"
    cp -a "$BATS_TEST_TMPDIR/pristine-record" "$rec"
    run strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
      -e inject=rename,renameat,renameat2:signal=KILL:when="$k" \
      "$PL" -q registry index "$REG" --key "$ON"
    [ "$status" -eq 137 ] || { echo "rename $k: status $status: $output"; return 1; }
    # Nothing published changed: every file there before holds its bytes
    # (the timestamp above all), whatever else was left beside them (the
    # publish lock, not served, keeps the killed publisher's pid).
    killed=$(digest "$REG")
    changed=$(comm -23 <(echo "$before") <(echo "$killed") | grep -v '^\./\.pylock-publish\.lock ' || true)
    [ -z "$changed" ] || { echo "rename $k changed: $changed"; return 1; }
    verify_pages
    [ "$status" -eq 0 ] || { echo "rename $k: $stderr"; return 1; }
    # What the run left, a second run replaces or reuses, and finishes.
    run --separate-stderr "$PL" -q registry index "$REG" --key "$ON"
    [ "$status" -eq 0 ] || { echo "rerun after rename $k: $stderr"; return 1; }
    verify_pages
    [ "$status" -eq 0 ] || { echo "rerun after rename $k: $stderr"; return 1; }
    # The files the finished run publishes are those of an uninterrupted
    # one, apart from the signatures' bytes (each run signs anew).
    got=$(cd "$REG" && find . -type f ! -name '.*' | sort)
    want=$(echo "$after" | awk '{print $1}' | grep -vxF ./.pylock-publish.lock)
    [ "$got" = "$want" ] || {
      echo "rename $k:"
      diff <(echo "$want") <(echo "$got")
      return 1
    }
  done
}

@test "code_inside_a_sandbox_cannot_write_the_kept_snapshots_record_index_or_bins" {
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins 16
  "$PL" -q registry add "$REG" --key "$ON" "$W"/six-*.whl "$W"/idna-*.whl
  cp "$REG/1.root.json" "$ROOT"
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
  "$PL" -q -C "$PROJ" install six idna
  rec=$(find "$XDG_STATE_HOME" -name snapshot.record | head -1)
  [ -s "$rec" ]
  sdir=$(dirname "$rec")
  [ -s "$sdir/snapshot.index" ]
  kept_bin=$(find "$sdir" -mindepth 2 -name '*.json' | head -1)
  [ -s "$kept_bin" ]
  before=$(digest "$sdir"; stat -c '%n %i %a %Y' "$sdir" "$(dirname "$kept_bin")")
  run --separate-stderr "$PL" -C "$PROJ" run python3 - "$rec" "$sdir/snapshot.index" \
    "$sdir/snapshot.json" "$kept_bin" <<'PY'
import os, sys
ok = []
for p in sys.argv[1:]:
    d = os.path.dirname(p)
    for what, f in (("write", lambda: open(p, "r+b").write(b"#")),
                    ("truncate", lambda: os.truncate(p, 0)),
                    ("chmod", lambda: os.chmod(p, 0o666)),
                    ("utime", lambda: os.utime(p, (0, 0))),
                    ("unlink", lambda: os.unlink(p)),
                    ("rename", lambda: os.rename(p, p + ".x")),
                    ("replace", lambda: (open(os.path.join(d, ".n"), "w").close(),
                                         os.replace(os.path.join(d, ".n"), p))),
                    ("dir-chmod", lambda: os.chmod(d, 0o777))):
        try:
            f()
            ok.append(what + " " + p)
        except OSError:
            pass
print("\n".join(ok) or "none")
PY
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ "$output" = none ] || { echo "$output"; return 1; }
  [ "$(digest "$sdir"; stat -c '%n %i %a %Y' "$sdir" "$(dirname "$kept_bin")")" = "$before" ]
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}
