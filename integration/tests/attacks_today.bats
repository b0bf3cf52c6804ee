#!/usr/bin/env bats
# pylock-test: once
# Attacks on the changes of 2 December: a sync that builds a generation
# from the trees the cache keeps without fetching their wheels (after
# `pylock cache clean`), rollback's check of the previous generation, and a
# top-level directory named exactly ".dist-info".  The attacker: a registry
# that signs its own six (a second project of the same user trusts it), a
# pull request's pylock.toml, and what a damaged or tampered cache or state
# root holds.  Each test performs the attack and asserts that it fails:
# nothing the registry does not sign reaches an environment, no attacker's
# code runs, and nothing else changes.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load pause_helpers
load gc_helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR" MARKS="$BATS_FILE_TMPDIR/marks"
  mkdir -p "$FIX/evil" "$MARKS"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  # The attacker's six: same file name and version, its own bytes; it
  # leaves a mark wherever it can when imported.
  evil_six "$FIX/wheels/six-1.16.0-py3-none-any.whl" "$FIX/evil/six-1.16.0-py3-none-any.whl" \
    "$MARKS/six-ran"
  # A wheel of one top-level directory named exactly ".dist-info" (which
  # wheel checks take for a package, not for the wheel's .dist-info).
  python3 - "$FIX/evil" <<'PY'
import base64, hashlib, os, sys, zipfile
h = lambda b: "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
di = "dotdi-1.0.dist-info"
meta = b"Metadata-Version: 2.1\nName: dotdi\nVersion: 1.0\n"
files = {".dist-info/METADATA": b"Metadata-Version: 2.1\nName: six\nVersion: 99\n",
         ".dist-info/REQUESTED": b"", "dotdi.py": b"X = 1\n", di + "/METADATA": meta,
         di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
rec = "".join("%s,%s,%d\n" % (p, h(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
whl = os.path.join(sys.argv[1], "dotdi-1.0-py3-none-any.whl")
with zipfile.ZipFile(whl, "w") as z:
    for p, b in list(files.items()) + [(di + "/RECORD", rec.encode())]:
        z.writestr(zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0)), b)
open(whl + ".metadata", "wb").write(meta)
PY
  local k
  for k in good bad; do
    "$PL" key generate -o "$KEYS/$k.key" >/dev/null
    "$PL" -q registry init "$FIX/$k" --key "$KEYS/$k.key"
    cp "$FIX/$k/1.root.json" "$FIX/$k-root.json"
  done
  "$PL" -q registry add "$FIX/good" --key "$KEYS/good.key" \
    "$FIX"/wheels/{idna,six}-*.whl "$FIX/evil/dotdi-1.0-py3-none-any.whl"
  "$PL" -q registry add "$FIX/bad" --key "$KEYS/bad.key" \
    "$FIX/wheels"/idna-*.whl "$FIX/evil/six-1.16.0-py3-none-any.whl"
  # The locks, made once (pip takes seconds): the project's, and the one the
  # attacker's registry gives for the same requirements.
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  for k in good bad; do
    "$PL" -q init --python "$PY" --registry "$FIX/$k" --root "$FIX/$k-root.json" "$FIX/l-$k"
    "$PL" -q -C "$FIX/l-$k" install six idna
    cp "$FIX/l-$k/pylock.toml" "$FIX/lock-$k.toml"
  done
  lock_without "$FIX/lock-good.toml" "$FIX/lock-idna.toml" six
  EVIL_SHA=$(sha256sum "$FIX/evil/six-1.16.0-py3-none-any.whl" | cut -d' ' -f1)
  EVIL_SIZE=$(stat -c %s "$FIX/evil/six-1.16.0-py3-none-any.whl")
  GOOD_SIX=$(unzip -p "$FIX/wheels/six-1.16.0-py3-none-any.whl" six.py | sha256sum | cut -d' ' -f1)
  export EVIL_SHA EVIL_SIZE GOOD_SIX
  grep -q "$EVIL_SHA" "$FIX/lock-bad.toml"
}

setup() {
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
  export PYLOCK_KEEPALIVE=0 PYLOCK_COMPILE=before-switch
  STATE="$XDG_STATE_HOME/pylock"
  CACHE="$STATE/cache"
  PROJ="$BATS_TEST_TMPDIR/proj"
  BG=()
  rm -f "$MARKS"/*
}

teardown() {
  local p
  for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null || true; done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# project DIR REGISTRY LOCK: a project at DIR trusting the registry
# REGISTRY (good, bad), with $FIX/LOCK.toml as its pylock.toml (not synced).
project() {
  "$PL" -q init --python "$PY" --registry "$FIX/$2" --root "$FIX/$2-root.json" "$1"
  cp "$FIX/$3.toml" "$1/pylock.toml"
}

# The current generation of project DIR (default $PROJ), N.
current_n() {
  readlink "$(state_dir "${1:-$PROJ}")/current" | cut -d/ -f2
}

# What the cache holds: every entry of trees/ and wheels/, with its inode.
cache_entries() {
  (cd "$CACHE" && find trees wheels -mindepth 1 -maxdepth 1 -printf '%p %i\n' | sort)
}

# The cache tree of the wheel whose file name starts with PREFIX, as the
# manifest of project DIR's current generation names it.
tree_of() {
  awk -v w="$1" '$1 == "tree" && index($4, w) == 1 { print $2 }' \
    "$(state_dir "${2:-$PROJ}")/generations/$(current_n "${2:-$PROJ}").manifest"
}

# sha256 of six.py as project DIR's environment imports it.
imported_six() {
  "$PL" -C "${1:-$PROJ}" run python3 -c \
    'import hashlib, six; print(hashlib.sha256(open(six.__file__, "rb").read()).hexdigest())'
}

# as_writable DIR CMD...: CMD run with DIR (a sealed tree, a generation's
# directory) writable, DIR's mode as it was after.
as_writable() {
  local d=$1 mode rc=0
  shift
  mode=$(stat -c %a "$d")
  chmod u+w "$d"
  "$@" || rc=$?
  chmod "$mode" "$d"
  return $rc
}

@test "attack: a tree another registry vouched for enters no project whose registry signs another wheel, its wheel cleaned away" {
  # The same user has a project on the attacker's registry: its evil six
  # is unpacked into the shared cache.  cache clean removes the wheel and
  # keeps the tree (that project's generation uses it).
  project "$BATS_TEST_TMPDIR/other" bad lock-bad
  "$PL" -q -C "$BATS_TEST_TMPDIR/other" sync
  "$PL" -q cache clean
  [ -z "$(cache_wheels)" ]
  [ -n "$(cache_trees | grep "^$EVIL_SHA-")" ]
  # A pull request pins the evil six's sha256 and size in the project's lock.
  project "$PROJ" good lock-good
  pin "$PROJ/pylock.toml" six sha256="$EVIL_SHA" size="$EVIL_SIZE"
  "$PL" -q trust add "$FIX/good-root.json" --name good >/dev/null
  local gen before how
  gen=$(current_n)
  before=$(cache_entries)
  # (Online first: offline uses the metadata a sync verified before.)
  for how in "sync" "sync --offline" "sync --frozen" "sync --frozen --offline"; do
    # shellcheck disable=SC2086
    run --separate-stderr "$PL" -C "$PROJ" $how
    [ "$status" -ne 0 ] || { echo "$how succeeded"; return 1; }
    assert_contains "$stderr" "does not sign sha256 $EVIL_SHA for six-1.16.0-py3-none-any.whl"
  done
  for how in "" "--offline"; do
    # shellcheck disable=SC2086
    run --separate-stderr timeout 120 "$PL" -C "$PROJ" ci --python "$PY" $how -- \
      python3 -c 'import six'
    [ "$status" -ne 0 ] || { echo "ci $how succeeded"; return 1; }
    assert_contains "$stderr" "does not sign sha256 $EVIL_SHA"
  done
  assert_eq "$(current_n)" "$gen"
  assert_eq "$(cache_entries)" "$before"
  assert_eq "$(ls "$MARKS")" ""
}

@test "attack: the tree of another wheel under a cleaned wheel's tree name is refused offline and rebuilt from the signed wheel online" {
  project "$PROJ" good lock-good
  "$PL" -q -C "$PROJ" sync
  "$PL" -q cache clean
  local six idna p2="$BATS_TEST_TMPDIR/p2"
  six=$(tree_of six-)
  idna=$(tree_of idna-)
  [ -n "$six" ] && [ -n "$idna" ]
  # idna's sealed tree, renamed into six's name (six's moved aside).
  as_writable "$CACHE/trees" sh -c "mv '$CACHE/trees/$six' '$CACHE/trees/.aside' &&
    cp -a '$CACHE/trees/$idna' '$CACHE/trees/$six'"
  project "$p2" good lock-good
  local gen
  gen=$(current_n "$p2")
  run --separate-stderr "$PL" -C "$p2" sync --offline
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "the cached tree of six 1.16.0 is damaged (it holds idna-3.3.dist-info, not six-1.16.0-py3-none-any.whl)"
  assert_contains "$stderr" "--offline cannot build it again: its wheel is not in the cache"
  assert_eq "$(current_n "$p2")" "$gen"
  [ -z "$(ls -A "$CACHE/quarantine" 2>/dev/null)" ] # left where it was, offline
  # Online: six's wheel fetched through the signature checks, its tree built.
  run --separate-stderr "$PL" -C "$p2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "1 fetched, 1 unpacked"
  assert_eq "$(imported_six "$p2")" "$GOOD_SIX"
  assert_verified "$p2"
}

@test "attack: a symbolic link at a cleaned wheel's tree name is never followed" {
  project "$PROJ" good lock-good
  "$PL" -q -C "$PROJ" sync
  "$PL" -q cache clean
  local six p2="$BATS_TEST_TMPDIR/p2" planted="$BATS_TEST_TMPDIR/planted"
  six=$(tree_of six-)
  # A copy of six's sealed tree elsewhere, its six.py changed, in six's
  # tree's place as a link.
  cp -a "$CACHE/trees/$six" "$planted"
  chmod -R u+w "$planted"
  f=$(find "$planted" -name six.py)
  echo 'open(__import__("os").environ["MARKS"] + "/planted-ran", "w")' >>"$f"
  as_writable "$CACHE/trees" sh -c "mv '$CACHE/trees/$six' '$CACHE/trees/.aside' &&
    ln -s '$planted' '$CACHE/trees/$six'"
  project "$p2" good lock-good
  local gen
  gen=$(current_n "$p2")
  # Offline: the link is no tree, and the wheel cannot be fetched.
  run --separate-stderr "$PL" -C "$p2" sync --offline
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "six-1.16.0-py3-none-any.whl is not in the cache, and --offline fetches nothing"
  assert_eq "$(current_n "$p2")" "$gen"
  # Online: the wheel is fetched; the link is removed, never followed (what
  # it leads to is untouched), and six comes from its signed wheel.
  run --separate-stderr "$PL" -C "$p2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -d "$CACHE/trees/$six" ] && [ ! -L "$CACHE/trees/$six" ]
  [ -f "$f" ]
  grep -q planted-ran "$f"
  assert_eq "$(imported_six "$p2")" "$GOOD_SIX"
  assert_verified "$p2"
  [ -z "$(grep -rls "$planted" "$(state_dir "$p2")/generations/" || true)" ]
  assert_eq "$(ls "$MARKS")" ""
}

@test "attack: a damaged source tree, its wheel cleaned away, is refused offline and never compiled" {
  project "$PROJ" good lock-good
  # A sync killed once its source generation is current: the cache holds
  # the source trees and no complete tree.
  export PYLOCK_COMPILE=after-switch-wait
  paused usable "$PL" -C "$PROJ" sync
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  export PYLOCK_COMPILE=before-switch
  "$PL" -q cache clean
  [ -z "$(cache_wheels)" ]
  local src p2="$BATS_TEST_TMPDIR/p2"
  src=$(tree_of six-)
  [[ "$src" == *.src ]]
  [ -z "$(cache_trees | grep -v '\.src$')" ]
  f=$(find "$CACHE/trees/$src" -name six.py)
  chmod u+w "$(dirname "$f")" "$f"
  echo 'open(__import__("os").environ["MARKS"] + "/src-ran", "w")' >>"$f"
  chmod a-w "$(dirname "$f")" "$f"
  project "$p2" good lock-good
  local gen
  gen=$(current_n "$p2")
  run --separate-stderr "$PL" -C "$p2" sync --offline
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "the cached source tree of six 1.16.0 is damaged"
  assert_contains "$stderr" "--offline cannot build it again: its wheel is not in the cache"
  assert_eq "$(current_n "$p2")" "$gen"
  # No complete tree of six was made of it.
  [ ! -e "$CACHE/trees/${src%.src}" ]
  # Online: six comes from its signed wheel.
  run --separate-stderr "$PL" -C "$p2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(imported_six "$p2")" "$GOOD_SIX"
  assert_eq "$(ls "$MARKS")" ""
}

@test "attack: rollback refuses a previous generation without its record whose fold leads out of the cache, or into a planted tree" {
  project "$PROJ" good lock-good
  "$PL" -q -C "$PROJ" sync
  local prev idna gens link target rel gen fake
  prev=$(current_n)
  idna=$(tree_of idna-)
  cp "$FIX/lock-idna.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  gen=$(current_n)
  gens="$(state_dir)/generations"
  link=$(find "$gens/$prev" -maxdepth 8 -type l -name idna)
  [ -n "$link" ]
  target=$(readlink "$link")
  rel=${target#*/trees/"$idna"/}
  [ "$rel" != "$target" ]
  # A copy of idna's tree outside the cache, its package changed.
  cp -a "$CACHE/trees/$idna" "$BATS_TEST_TMPDIR/out"
  chmod -R u+w "$BATS_TEST_TMPDIR/out"
  echo 'open(__import__("os").environ["MARKS"] + "/idna-ran", "w")' \
    >>"$BATS_TEST_TMPDIR/out/$rel/__init__.py"
  # The record gone (as an earlier pylock left a generation: no stat
  # fingerprint to check it by), the fold retargeted out of the cache.
  as_writable "$gens" rm -f "$gens/$prev.meta"
  as_writable "$(dirname "$link")" sh -c "rm '$link' && ln -s '$BATS_TEST_TMPDIR/out/$rel' '$link'"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "the previous generation cannot be rolled back to"
  assert_contains "$stderr" "leads out of pylock's cache"
  assert_eq "$(current_n)" "$gen"
  # A fold into the cache, under a tree name that is a link to that copy.
  fake="$(printf 'e%.0s' $(seq 64))-${idna#*-}"
  as_writable "$CACHE/trees" ln -s "$BATS_TEST_TMPDIR/out" "$CACHE/trees/$fake"
  as_writable "$(dirname "$link")" sh -c "rm '$link' && ln -s '$CACHE/trees/$fake/$rel' '$link'"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "leads to a cached tree that is gone"
  assert_eq "$(current_n)" "$gen"
  [ -L "$CACHE/trees/$fake" ] # rollback removes nothing
  # A real directory there, the copy's files, its seal a FIFO: no hang.
  as_writable "$CACHE/trees" sh -c "rm '$CACHE/trees/$fake' &&
    cp -a '$BATS_TEST_TMPDIR/out' '$CACHE/trees/$fake' &&
    rm '$CACHE/trees/$fake/.complete' && mkfifo '$CACHE/trees/$fake/.complete'"
  run --separate-stderr timeout 60 "$PL" -C "$PROJ" rollback
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
  assert_contains "$stderr" "leads to a cached tree that cannot be read"
  assert_eq "$(current_n)" "$gen"
  # Its genuine seal back: the copy's files differ from what it seals.
  as_writable "$CACHE/trees/$fake" sh -c "rm '$CACHE/trees/$fake/.complete' &&
    cp '$CACHE/trees/$idna/.complete' '$CACHE/trees/$fake/.complete'"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "the previous generation cannot be rolled back to"
  assert_eq "$(current_n)" "$gen"
  # The previous generation itself a link to a copy of it: refused.
  as_writable "$gens" sh -c "mv '$gens/$prev' '$gens/.aside' && ln -s .aside '$gens/$prev'"
  run --separate-stderr "$PL" -C "$PROJ" rollback
  [ "$status" -ne 0 ]
  assert_eq "$(current_n)" "$gen"
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import idna'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(ls "$MARKS")" ""
  assert_verified
}

@test "attack: a signed wheel's top-level directory named .dist-info is linked, not folded, and is no distribution to pylock" {
  project "$PROJ" good lock-good
  "$PL" -q -C "$PROJ" install dotdi
  local site
  site=$(gen_dir purelib)
  [ -d "$site/.dist-info" ] && [ ! -L "$site/.dist-info" ]
  [ -f "$site/.dist-info/METADATA" ]
  # pylock's own view: dotdi, idna and six, nothing named six 99.
  run --separate-stderr "$PL" -C "$PROJ" list --json
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$output" '"99"'
  assert_contains "$output" 'dotdi'
  assert_verified
  # Code inside cannot write through it.
  run "$PL" -C "$PROJ" run sh -c "echo x >>'$(interp purelib)/.dist-info/METADATA' && echo wrote"
  assert_not_contains "$output" "wrote"
  assert_verified
}

# Once a window: a sync that found a cached tree damaged moved it into
# quarantine/ before it built it again, so until the new one was in place
# (seconds: unpacked, byte-compiled) every generation folding into that
# tree lacked the package, and a sync killed meanwhile left them so until
# the next.  Now the tree built again replaces the damaged one in one step
# (RENAME_EXCHANGE), and only then is the damaged one quarantined.  idna is
# a package (folded: its generation links to the tree's directory).
@test "attack: a sync killed while it builds a damaged tree again leaves no environment without the package" {
  project "$PROJ" good lock-good
  "$PL" -q -C "$PROJ" sync
  local idna f p2="$BATS_TEST_TMPDIR/p2" good
  good=$(unzip -p "$FIX/wheels/"idna-*.whl idna/core.py | sha256sum | cut -d' ' -f1)
  idna=$(tree_of idna-)
  f=$(find "$CACHE/trees/$idna" -path '*/idna/core.py')
  as_writable "$(dirname "$f")" sh -c "chmod u+w '$f' && echo '# damaged' >>'$f' && chmod a-w '$f'"
  project "$p2" good lock-good
  # Another project's sync, stopped once idna's tree is built again, before
  # it is put in place.
  paused compiled "$PL" -C "$p2" sync
  grep -q "the cached tree of idna 3.3 is damaged" "$BATS_TEST_TMPDIR/paused.err"
  [ -d "$CACHE/trees/$idna" ]
  assert_eq "$(imported_idna_core)" "$(sha256sum <"$f" | cut -d' ' -f1)"
  # Killed there: nothing moved, the environment still has idna.
  kill -9 "$PAUSED"
  wait "$PAUSED" || true
  [ -d "$CACHE/trees/$idna" ]
  [ -z "$(ls -A "$CACHE/quarantine" 2>/dev/null)" ]
  [ -n "$(imported_idna_core)" ]
  # The next sync builds it again and swaps it in: both projects import the
  # registry's idna, and the damaged tree is in quarantine/.
  run --separate-stderr "$PL" -C "$p2" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "the cached tree of idna 3.3 is damaged"
  assert_eq "$(imported_idna_core "$p2")" "$good"
  assert_eq "$(imported_idna_core)" "$good"
  assert_eq "$(ls "$CACHE/quarantine" | wc -l)" 1
  assert_verified "$p2"
}

# The swap needs the damaged tree's root writable for a moment; another
# pylock opening the tree then seals it again (as it seals any root a crash
# left writable), and the swap failed.  It was then taken for another
# builder's tree, "as good as ours", so a `sync --repair` that found bytes
# only its full check sees (same size and mtime) linked the damaged tree
# again and said it had repaired it.  Now it unseals and swaps again while
# the name still holds the damaged tree, and never takes that tree.
@test "attack: a damaged tree sealed again while --repair replaces it is still replaced" {
  project "$PROJ" good lock-good
  "$PL" -q -C "$PROJ" sync
  local idna f good mt
  good=$(unzip -p "$FIX/wheels/"idna-*.whl idna/core.py | sha256sum | cut -d' ' -f1)
  idna=$(tree_of idna-)
  f=$(find "$CACHE/trees/$idna" -path '*/idna/core.py')
  mt=$(stat -c %Y "$f")
  # Bit rot: one byte changed in place, size and mtime as they were (the
  # stat fingerprint does not see it; --repair's full check does).
  as_writable "$(dirname "$f")" sh -c "chmod u+w '$f' && printf '#' | dd of='$f' bs=1 seek=0 conv=notrunc status=none && chmod a-w '$f' && touch -d @$mt '$f'"
  [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "$good" ]
  paused replace "$PL" -C "$PROJ" sync --repair
  grep -q "the cached tree of idna 3.3 is damaged" "$BATS_TEST_TMPDIR/paused.err"
  # Meanwhile another pylock opens the tree: it seals the root again.
  [ "$(stat -c %a "$CACHE/trees/$idna")" = 755 ]
  chmod 0555 "$CACHE/trees/$idna"
  resume
  [ "$RESUMED" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/paused.err"; return 1; }
  # The registry's bytes, not the damaged ones; the damaged tree quarantined.
  assert_eq "$(imported_idna_core)" "$good"
  assert_eq "$(ls "$CACHE/quarantine" | wc -l)" 1
  assert_verified
}

# sha256 of idna/core.py as project DIR's environment imports it.
imported_idna_core() {
  "$PL" -C "${1:-$PROJ}" run python3 -c \
    'import hashlib, idna.core as c; print(hashlib.sha256(open(c.__file__, "rb").read()).hexdigest())'
}
