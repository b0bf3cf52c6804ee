#!/usr/bin/env bats
# Byte-code from one compiler pool (issue 15): a sync builds every tree it
# lacks as one batch, unpacked one by one, byte-compiled together by one
# sandboxed process of the base interpreter with a worker per CPU, then
# sealed, listed in its manifest and put in place.  What must hold: every
# module gets byte-code compiled as if at its final path, listed in RECORD
# and in the manifests, which verify hashes; a kill while compiling leaves
# no compiler and no tree; nothing the compiler wrote escapes the checks.
# (Timings are `make bench`'s business, never a test's.)
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load pause_helpers
load envcheck

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  # Two wheels of our own: one with a module of Python 2 syntax (it gets no
  # byte-code, the rest of its wheel does), one installing a file named
  # like the compiler's list at the prefix's root.
  python3 - "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("mw", sys.argv[1])
mw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mw)
files, di, fn = mw.small_wheel("oldsyntax", {"oldsyntax/py2.py": (b"print 'hi'\n", 0o644),
                                             "oldsyntax/fine.py": (b"X = 2\n", 0o644)})
mw.build_wheel(sys.argv[2], fn, files, di)
files, di, fn = mw.small_wheel("listname", {
    "listname-1.0.data/data/.pylock-compile": (b"/etc/passwd\0/x\0", 0o644)})
mw.build_wheel(sys.argv[2], fn, files, di)
PY
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/idna-*.whl "$FIX"/wheels/certifi-*.whl "$FIX"/wheels/pygments-*.whl \
    "$FIX"/wheels/oldsyntax-*.whl "$FIX"/wheels/listname-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$FIX/p"
  # Locked, not installed: every test syncs them into a state of its own.
  set_requested_in "$FIX/p/pylock.toml" six idna certifi oldsyntax
  "$PL" -q -C "$FIX/p" lock
  cp "$FIX/p/pylock.toml" "$FIX/lock-four.toml"
  set_requested_in "$FIX/p/pylock.toml" six idna certifi oldsyntax pygments
  "$PL" -q -C "$FIX/p" lock
  cp "$FIX/p/pylock.toml" "$FIX/lock-five.toml"
}

setup() {
  # A state root of each test's own: every sync below starts from a cold cache.
  export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  STATE="$XDG_STATE_HOME/pylock"
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
  BG=()
}

teardown() {
  local pid
  for pid in "${BG[@]}"; do
    kill -CONT "$pid" 2>/dev/null || true
    kill -9 "$pid" 2>/dev/null || true
  done
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# The lock and the environment agree, and verify passes.  (What imports is
# not compared: Debian's python3 has these distributions of its own.)
assert_synced() {
  assert_eq "$(list_set)" "$(lock_set)" || { echo "list --json is not the lock ($1)"; return 1; }
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -eq 0 ] || { echo "verify ($1): $output $stderr"; return 1; }
}

# Every .py file of the generation (its own scripts aside) against its
# byte-code: present exactly when it compiles, compiled as the file at its
# final path under the prefix, listed in its distribution's RECORD and in
# the generation's manifest with the bytes it has.  Prints what differs.
check_bytecode() {
  local gen
  gen=$("$PL" -C "$PROJ" info generation)
  "$PY" -I - "$(layer_dir)" "$(interp prefix)" "$(gen_dir purelib)" \
    "$(state_dir)/generations/$gen.manifest" <<'PY'
import csv, hashlib, importlib.util, marshal, os, sys
layer, prefix, site, manifest = sys.argv[1:]
listed = {}
for line in open(manifest):
    f = line.split(" ", 4)
    if f[0] == "file":
        listed[f[4].rstrip("\n")] = f[1]
recorded = set()
for d in os.listdir(site):
    if d.endswith(".dist-info"):
        for row in csv.reader(open(os.path.join(site, d, "RECORD"))):
            recorded.add(os.path.normpath(os.path.join(site, row[0])))
bad, n = [], 0
for root, dirs, files in os.walk(site, followlinks=True):  # through folds
    for f in files:
        if not f.endswith(".py"):
            continue
        src = os.path.join(root, f)
        pyc = importlib.util.cache_from_source(src)
        rel = os.path.relpath(pyc, layer)
        if f == "py2.py":
            if os.path.exists(pyc) or rel in listed or pyc in recorded:
                bad.append("byte-code for a module that does not compile: " + rel)
            continue
        n += 1
        if not os.path.isfile(pyc):
            bad.append("no byte-code: " + rel)
            continue
        data = open(pyc, "rb").read()
        code = marshal.loads(data[16:])
        want = os.path.join(prefix, os.path.relpath(src, layer))
        if code.co_filename != want:
            bad.append("%s compiled as %s, not %s" % (rel, code.co_filename, want))
        if pyc not in recorded:
            bad.append("not in RECORD: " + rel)
        if listed.get(rel) != hashlib.sha256(data).hexdigest():
            bad.append("not in the manifest with its bytes: " + rel)
print("\n".join(bad) if bad else "ok %d" % n)
PY
}

@test "a cold sync byte-compiles every module of every new tree as at its final path" {
  cp "$FIX/lock-four.toml" "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  run check_bytecode
  [ "$status" -eq 0 ] && [[ "$output" == "ok "* ]] || { echo "$output"; return 1; }
  [ "${output#ok }" -ge 10 ] || { echo "$output"; return 1; }
  # Used as such: imports load the byte-code, which verify hashes.
  run "$PL" -C "$PROJ" run python3 -c 'import six, idna, oldsyntax.fine as f; print(f.__cached__)'
  [ "$status" -eq 0 ] && [[ "$output" == *"__pycache__/fine."*".pyc" ]]
  "$PL" -q -C "$PROJ" verify
  # The compiler left nothing behind: no list, no batch, no process.
  [ -z "$(find "$STATE/cache/trees" -name '.pylock-compile')" ]
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-*')" ]
  assert_no_process_left
}

@test "one compiler serves the whole sync: new trees wait compiled in one batch until sealed" {
  cp "$FIX/lock-four.toml" "$PROJ/pylock.toml"
  PYLOCK_PAUSE_AT=compiled "$PL" -C "$PROJ" sync >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
  local pid=$! batch
  BG+=("$pid")
  wait_stopped "$pid" || { echo "never compiled: $(cat "$BATS_TEST_TMPDIR/err")"; return 1; }
  # One batch, holding every tree the sync lacked, each already compiled...
  batch=$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-batch-*')
  [ "$(echo "$batch" | wc -l)" -eq 1 ] || { echo "batches: $batch"; return 1; }
  assert_eq "$(find "$batch" -mindepth 1 -maxdepth 1 -type d | wc -l)" 4
  [ -n "$(find "$batch" -name 'six.*.pyc')" ]
  [ -n "$(find "$batch" -path '*/idna/__pycache__/core.*.pyc')" ]
  [ -n "$(find "$batch" -path '*/certifi/__pycache__/core.*.pyc')" ]
  # ...the compiler's list gone, and nothing in place before it is sealed.
  [ -z "$(find "$batch" -name '.pylock-compile')" ]
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 ! -name '.tmp-*')" ]
  kill -CONT "$pid"
  wait "$pid" || { echo "sync: $(cat "$BATS_TEST_TMPDIR/err")"; return 1; }
  assert_eq "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 ! -name '.tmp-*' | wc -l)" 4
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-*')" ]
  # Sealed: every directory of every tree read-only, roots included.
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -type d -perm -u+w)" ]
  run check_bytecode
  [[ "$output" == "ok "* ]] || { echo "$output"; return 1; }
  assert_synced "after the batch"
}

@test "a sync killed while byte-compiling leaves no compiler and the next sync builds again" {
  base_blind
  cp "$FIX/lock-five.toml" "$PROJ/pylock.toml"
  local before
  before=$("$PL" -C "$PROJ" info generation)
  "$PL" -C "$PROJ" sync >/dev/null 2>"$BATS_TEST_TMPDIR/err" &
  local pid=$! i seen=
  BG+=("$pid")
  # The compiler is the base interpreter running py_compile over the batch.
  for i in $(seq 1 3000); do
    if pgrep -u "$(id -u)" -f -- "py_compile.*$STATE/cache/" >/dev/null; then
      seen=1
      break
    fi
    kill -0 "$pid" 2>/dev/null || break
    nap 0.01
  done
  [ -n "$seen" ] || { echo "never saw the compiler: $(cat "$BATS_TEST_TMPDIR/err")"; return 1; }
  kill -9 "$pid"
  wait "$pid" || true
  # The compiler and its workers die with pylock (their PID namespace).
  for i in $(seq 1 100); do
    pgrep -u "$(id -u)" -f -- "py_compile.*$STATE/cache/" >/dev/null || break
    nap 0.05
  done
  run pgrep -u "$(id -u)" -af -- "py_compile.*$STATE/cache/"
  [ "$status" -ne 0 ] || { echo "compiler left: $output"; return 1; }
  # No tree made it into place; the environment is still the empty one.
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 ! -name '.tmp-*')" ]
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$before"
  run --separate-stderr "$PL" -C "$PROJ" sync
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-*')" ]
  run check_bytecode
  [[ "$output" == "ok "* ]] || { echo "$output"; return 1; }
  assert_synced "after a kill while compiling"
}

@test "byte-code changed in the cache is found by verify and rebuilt by sync --repair" {
  cp "$FIX/lock-four.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  local pyc bad
  pyc=$(find "$STATE/cache/trees" -path '*/idna/__pycache__/core.*.pyc')
  [ -n "$pyc" ]
  # The user's own shell (never a sandbox: the state root is read-only
  # there) writes other byte-code in: the same header, other code.
  chmod u+w "$(dirname "$pyc")" "$pyc"
  "$PY" -I - "$pyc" <<'PY'
import marshal, sys
p = sys.argv[1]
data = open(p, "rb").read()
open(p, "wb").write(data[:16] + marshal.dumps(compile("import os; os.system('id')", "x", "exec")))
PY
  chmod a-w "$(dirname "$pyc")" "$pyc"
  bad=$(sha256sum <"$pyc")
  run --separate-stderr "$PL" -C "$PROJ" verify
  [ "$status" -ne 0 ]
  assert_contains "$output$stderr" "idna/__pycache__/core."
  run --separate-stderr "$PL" -C "$PROJ" sync --repair
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  "$PL" -q -C "$PROJ" verify
  # The byte-code the environment has now is compiled from idna's source.
  pyc=$(find -L "$(layer_dir)" -path '*/idna/__pycache__/core.*.pyc')
  [ "$(sha256sum <"$pyc")" != "$bad" ]
  "$PY" -I -c 'import marshal, sys
c = marshal.loads(open(sys.argv[1], "rb").read()[16:])
sys.exit(not c.co_filename.endswith("/idna/core.py"))' "$pyc"
  run check_bytecode
  [[ "$output" == "ok "* ]] || { echo "$output"; return 1; }
}

@test "a wheel cannot install a file named like the compiler's list" {
  # Its data file lands at the prefix's root only where the data scheme is
  # the prefix (not Debian's /usr/local).
  [ "$(interp data)" = "$(interp prefix)" ] || skip "the data scheme is not the prefix here"
  cp "$FIX/lock-four.toml" "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync
  local before lock
  before=$("$PL" -C "$PROJ" info generation)
  lock=$(sha256sum <"$PROJ/pylock.toml")
  run --separate-stderr "$PL" -C "$PROJ" install listname
  [ "$status" -ne 0 ]
  assert_contains "$stderr" "pylock reserves"
  # Nothing changed: the lock, the generation, no tree of it.
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$before"
  [ -z "$(find "$STATE/cache/trees" -name '.pylock-compile')" ]
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-*')" ]
  assert_synced "after the refused wheel"
}

@test "the compiler cannot change the trees: it writes only byte-code, which pylock takes by name" {
  # An interpreter that, as the compiler, compiles, then acts as a hostile
  # one would: appends to every source it was given and plants a module
  # beside it, leaves an extra file among its byte-code, and swaps the
  # first byte-code's directory for a link to a directory of the user's
  # holding a file of the same name.
  # (In the home: pylock refuses an interpreter in /tmp, which sandboxes write.)
  local fake="$HOME/fakepy-$BATS_TEST_NUMBER/python3" victim="$BATS_TEST_TMPDIR/victim" tag
  tag=$("$PY" -I -c 'import sys; print(sys.implementation.cache_tag)')
  mkdir -p "$(dirname "$fake")" "$victim"
  echo VICTIM >"$victim/six.$tag.pyc"
  cat >"$fake" <<SH
#!/bin/sh
case "\$*" in
*py_compile*)
  for last; do :; done
  "$PY" "\$@"
  rc=\$?
  "$PY" -I -S - "\$last" "$victim" <<'PY'
import os, sys
lst, victim = sys.argv[1:3]
v = [os.fsdecode(x) for x in open(lst, "rb").read().split(b"\0")]
jobs = [v[i:i + 3] for i in range(0, len(v) - 2, 3)]
for src, cfile, dfile in jobs:
    for what in (lambda: open(src, "a").write("\nimport os\n"),
                 lambda: open(os.path.join(os.path.dirname(src), "planted.py"), "w").write("X=1")):
        try:
            what()
        except OSError:
            pass
d = os.path.dirname(jobs[0][1])
open(os.path.join(d, "extra.pyc"), "w").write("x")
os.rename(d, d + ".moved")
os.symlink(victim, d)
PY
  exit \$rc ;;
esac
exec "$PY" "\$@"
SH
  chmod 755 "$fake"
  rm -rf "$PROJ"
  "$PL" -q init --python "$fake" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
  run --separate-stderr "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # The user's file stayed where it was; the link led nothing into the tree.
  assert_eq "$(cat "$victim/six.$tag.pyc")" VICTIM
  [ -z "$(find "$STATE/cache/trees" -name "six.$tag.pyc")" ]
  [ -z "$(find "$STATE/cache/trees" \( -name planted.py -o -name extra.pyc -o -name '*.moved' \))" ]
  # The sources are the wheel's, byte for byte, and verify agrees.
  local six
  six=$(find -L "$(layer_dir)" -name six.py)
  assert_eq "$(sha256sum <"$six")" "$(unzip -p "$FIX"/wheels/six-*.whl six.py | sha256sum)"
  assert_synced "after a hostile compiler"
  [ -z "$(find "$STATE/cache/trees" -mindepth 1 -maxdepth 1 -name '.tmp-*')" ]
}

# A sync holds a few descriptors a package (each tree open while it is
# checked and linked, the compiler's pipes), so a soft open-file limit of
# 1,024 stopped it near 300 packages with "Too many open files".  pylock
# raises its own limit to the hard one; what it runs gets the limit it was
# given back.  Here a soft limit of 20 stands for 1,024.
@test "a sync needs no more open files than the soft limit, and what it runs keeps that limit" {
  base_blind
  cp "$FIX/lock-five.toml" "$PROJ/pylock.toml"
  run --separate-stderr bash -c "ulimit -Sn 20 && exec \"\$0\" -C \"\$1\" sync" "$PL" "$PROJ"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_synced "sync under a soft limit of 20"
  run --separate-stderr bash -c "ulimit -Sn 20 && exec \"\$0\" -C \"\$1\" verify" "$PL" "$PROJ"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # The command run, fresh and through the full program, sees 20.
  local hard full
  hard=$(ulimit -Hn)
  [ "$hard" != unlimited ] || hard=-1
  full="$(dirname "$(readlink -f "$PL")")/../lib/pylock/pylock"
  run --separate-stderr bash -c "ulimit -Sn 20 && exec \"\$0\" -C \"\$1\" run python3 -c \
    'import resource; print(*resource.getrlimit(resource.RLIMIT_NOFILE))'" "$PL" "$PROJ"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "20 $hard"
  run --separate-stderr bash -c "ulimit -Sn 20 && exec \"\$0\" -C \"\$1\" run python3 -c \
    'import resource; print(*resource.getrlimit(resource.RLIMIT_NOFILE))'" "$full" "$PROJ"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" "20 $hard"
  # A hard limit too low as well: the sync fails, says how to raise it, and
  # the environment is the one it was.
  local gen
  gen=$("$PL" -C "$PROJ" info generation)
  cp "$FIX/lock-four.toml" "$PROJ/pylock.toml"
  run --separate-stderr bash -c "ulimit -n 12 && exec \"\$0\" -C \"\$1\" sync" "$PL" "$PROJ"
  [ "$status" -eq 1 ] || { echo "$status $stderr"; return 1; }
  assert_contains "$stderr" "Too many open files"
  assert_contains "$stderr" "hint: pylock holds a few files open per package; the limit here is 12"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen"
}
