#!/usr/bin/env bats
# pylock-test: once
# A publisher killed mid-way (issue 12: every temporary name recognisable and
# cleaned): every file `pylock registry index`, `add` or `sign` writes is
# written under a name of pylock's own (.pylock-tmp- and 16 hex digits) and
# renamed; a killed one leaves its pid in the publish lock, and the next
# publishing command, holding that lock, removes what it left and says so.
# It removes nothing else: not another tool's files, not a link with such a
# name, nothing reached through a link.  Nothing here depends on the base
# interpreter, so the file runs once.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k1.key" >/dev/null
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdgstate"
  REG="$BATS_TEST_TMPDIR/reg"
  KEY="$KEYS/k1.key"
  W="$FIX/wheels"
  BG=()
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  true
}

# temps: pylock's temporary files anywhere in the registry, sorted.
temps() {
  find "$REG" -name '.pylock-tmp-*' | sort
}

# verify_targets: a client's full check of every signed target, from the first root.
verify_targets() {
  run --separate-stderr "$PL" registry verify "$REG" --root "$REG/1.root.json" \
    --state "$BATS_TEST_TMPDIR/vs-$RANDOM" --targets
  [ "$status" -eq 0 ] || { echo "verify --targets: $output $stderr"; return 1; }
}

# killed_at STEP CMD...: CMD stopped at STEP, then killed with SIGKILL; its pid in PAUSED.
killed_at() {
  paused "$@" || return 1
  kill -KILL "$PAUSED"
  wait "$PAUSED" || true
}

# digest DIR: "PATH SHA256" of every file under DIR but pylock's temporaries and lock.
digest() {
  (cd "$1" && find . -type f ! -name '.pylock-tmp-*' ! -name .pylock-publish.lock \
    -exec sha256sum {} + | awk '{print $2, $1}' | sort)
}

@test "registry index killed writing a page leaves a recognisable temporary, which the next index removes, saying so" {
  "$PL" -q registry init "$REG" --key "$KEY" --no-project-index
  "$PL" -q registry add "$REG" --key "$KEY" "$W"/six-*.whl "$W"/idna-*.whl
  before=$(digest "$REG")
  killed_at registry-unlisted "$PL" registry index "$REG" --key "$KEY"
  # A page's temporary file, hidden beside where the page goes, with a name of pylock's own.
  left=$(temps)
  [ "$(wc -l <<<"$left")" -eq 1 ] || { echo "left: $left"; return 1; }
  [[ "$left" =~ ^$REG/targets/simple/[a-z0-9-]+/\.pylock-tmp-[0-9a-f]{16}$ ]] || { echo "$left"; return 1; }
  assert_eq "$(cat "$REG/.pylock-publish.lock")" "pid $PAUSED"
  # Nothing published changed, and clients are served what was signed.
  assert_eq "$(digest "$REG")" "$before"
  verify_targets
  run --separate-stderr "$PL" registry index "$REG" --key "$KEY"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "pylock registry: removed $left, a temporary file of a publisher (pid $PAUSED) that did not finish"
  assert_eq "$(temps)" ""
  assert_eq "$(stat -c %s "$REG/.pylock-publish.lock")" 0
  verify_targets
  [ -n "$(find "$REG/targets/simple/six" -name '*index.json')" ]
  # The next publisher finds nothing to sweep, and says nothing of it.
  run --separate-stderr "$PL" registry sign "$REG" --key "$KEY"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "removed"
}

@test "registry add killed before its renames leaves recognisable temporaries, which the next sign removes" {
  "$PL" -q registry init "$REG" --key "$KEY" --bins 16
  "$PL" -q registry add "$REG" --key "$KEY" "$W"/six-*.whl
  before=$(digest "$REG")
  killed_at registry-publish "$PL" registry add "$REG" --key "$KEY" "$W"/idna-*.whl
  left=$(temps)
  # The wheel and its .metadata in targets/, the roles in the registry's top.
  [ "$(grep -c "^$REG/targets/\.pylock-tmp-" <<<"$left")" -eq 2 ] || { echo "left: $left"; return 1; }
  grep -q "^$REG/\.pylock-tmp-" <<<"$left" || { echo "left: $left"; return 1; }
  assert_eq "$(digest "$REG")" "$before"
  verify_targets
  run --separate-stderr "$PL" registry sign "$REG" --key "$KEY"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  local f
  for f in $left; do
    assert_contains "$stderr" "removed $f, a temporary file of a publisher (pid $PAUSED) that did not finish"
  done
  assert_eq "$(temps)" ""
  verify_targets
  idna=$(basename "$W"/idna-*.whl)
  run --separate-stderr "$PL" registry verify "$REG" --root "$REG/1.root.json" \
    --state "$BATS_TEST_TMPDIR/vs-idna" --target "$idna"
  [ "$status" -ne 0 ] # the killed add published nothing
  # The add, run again, publishes.
  "$PL" -q registry add "$REG" --key "$KEY" "$W"/idna-*.whl
  verify_targets
  "$PL" -q registry verify "$REG" --root "$REG/1.root.json" --state "$BATS_TEST_TMPDIR/vs-idna2" \
    --target "$idna"
  assert_eq "$(temps)" ""
}

@test "the sweep removes only pylock's own temporary names, and follows no link" {
  "$PL" -q registry init "$REG" --key "$KEY" --no-project-index
  "$PL" -q registry add "$REG" --key "$KEY" "$W"/six-*.whl
  killed_at registry-unlisted "$PL" registry index "$REG" --key "$KEY"
  left=$(temps)
  [ -n "$left" ]
  # Files of other tools in the served directory, a link named like a
  # temporary, and a directory reached through a link.
  out="$BATS_TEST_TMPDIR/outside"
  mkdir -p "$out"
  echo keep >"$out/file"
  echo keep >"$out/.pylock-tmp-0123456789abcdef"
  echo keep >"$REG/.pylock-tmp-notours"
  echo keep >"$REG/targets/.six.tmp0123456789abcdef"
  echo keep >"$REG/targets/simple/.pylock-tmp-0123456789ABCDEF"
  ln -s "$out/file" "$REG/targets/.pylock-tmp-1123456789abcdef"
  ln -s "$out" "$REG/targets/simple/linked"
  decoys=$(cd "$BATS_TEST_TMPDIR" && find reg outside \( -name '.pylock-tmp-*' -o -name '.*.tmp*' -o -type l \) \
    ! -path "${left#"$BATS_TEST_TMPDIR"/}" -printf '%p %y\n' | sort)
  run --separate-stderr "$PL" registry index "$REG" --key "$KEY"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "removed $left,"
  [ "$(grep -c removed <<<"$stderr")" -eq 1 ] || { echo "$stderr"; return 1; }
  [ ! -e "$left" ]
  assert_eq "$(cd "$BATS_TEST_TMPDIR" && find reg outside \( -name '.pylock-tmp-*' -o -name '.*.tmp*' -o -type l \) -printf '%p %y\n' | sort)" "$decoys"
  assert_eq "$(cat "$out/file" "$out/.pylock-tmp-0123456789abcdef")" "keep
keep"
  rm "$REG/targets/.pylock-tmp-1123456789abcdef" "$REG/targets/simple/linked"
  verify_targets
}

@test "registry index killed before any of its renames leaves nothing after the next index" {
  command -v strace >/dev/null || skip "strace is not installed"
  # Consistent snapshots (bins): a kill between two renames serves no mixed state.
  "$PL" -q registry init "$REG" --key "$KEY" --bins 16 --no-project-index
  "$PL" -q registry add "$REG" --key "$KEY" "$W"/*.whl 2>/dev/null
  cp -a "$REG" "$BATS_TEST_TMPDIR/pristine"
  # With pylock's record of what it signed: the registry is put back as the
  # maintainer left it, not an older copy under a newer record (refused).
  local rec="$XDG_STATE_HOME/pylock/published"
  cp -a "$rec" "$BATS_TEST_TMPDIR/pristine-record"
  strace -f -qq -o "$BATS_TEST_TMPDIR/trace" -e trace=rename,renameat,renameat2 -e signal=none \
    "$PL" -q registry index "$REG" --key "$KEY"
  n=$(grep -c rename "$BATS_TEST_TMPDIR/trace")
  [ "$n" -gt 3 ] || { cat "$BATS_TEST_TMPDIR/trace"; return 1; }
  local k swept=0
  # A kill at the first rename, the last, and every fourth between.
  for k in $(seq 1 "$n"); do
    [ "$k" -eq 1 ] || [ "$k" -eq "$n" ] || [ $((k % 4)) -eq 0 ] || continue
    rm -rf "$REG" "$rec"
    cp -a "$BATS_TEST_TMPDIR/pristine" "$REG"
    cp -a "$BATS_TEST_TMPDIR/pristine-record" "$rec"
    run strace -f -qq -o /dev/null -e trace=rename,renameat,renameat2 \
      -e inject=rename,renameat,renameat2:signal=KILL:when="$k" \
      "$PL" -q registry index "$REG" --key "$KEY"
    [ "$status" -eq 137 ] || { echo "rename $k: status $status: $output"; return 1; }
    [ -z "$(temps)" ] || swept=$((swept + 1))
    verify_targets || { echo "killed at rename $k"; return 1; }
    run --separate-stderr "$PL" -q registry index "$REG" --key "$KEY"
    [ "$status" -eq 0 ] || { echo "rerun after rename $k: $stderr"; return 1; }
    [ -z "$(temps)" ] || { echo "rename $k: left after the next index: $(temps)"; return 1; }
    verify_targets || { echo "after the rerun, rename $k"; return 1; }
  done
  # Some of those kills did leave temporaries (the sweep was put to work).
  [ "$swept" -gt 0 ]
}
