# Shared by the .bats files: paths and tiny assert helpers.
# PYLOCK_BIN, PYLOCK_TEST_PYTHON and PYLOCK_SCRATCH come from integration/run.
# SPDX-License-Identifier: Apache-2.0

PL="$PYLOCK_BIN/pylock"
# The full program the front end $PL execs for everything but a joined run.
PL_FULL="$PYLOCK_BIN/../lib/pylock/pylock"
PY="$PYLOCK_TEST_PYTHON"

# Private signing keys: pylock refuses one where code it runs could write or
# replace it (/tmp, where the tests' own directories are, or a project), so
# the tests keep theirs in the home (one per test file), in the keys
# directory it has when XDG_CONFIG_HOME is not moved.
KEYS="$HOME/.config/pylock/keys"
# Made once a home: the file is sourced again for every test, and two processes
# a test are ~10 CPU-s of a make check on a machine where a fork costs ~4 ms.
[ -d "$KEYS" ] || { mkdir -p "$KEYS" && chmod 700 "$HOME/.config" "$HOME/.config/pylock" "$KEYS"; }

# nap SECONDS: a sleep that starts no process.  The polling loops wait on pylock
# thousands of times a run, and a sleep(1) each time was a process each time.
# A read from a FIFO nobody writes to (opened read-write, so the open does not
# block) returns when its time is up.
nap() {
  local fifo="${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}/.nap"
  [ -p "$fifo" ] || mkfifo "$fifo" 2>/dev/null || [ -p "$fifo" ] || { sleep "$1"; return 0; }
  read -rt "$1" _ <>"$fifo" || true
}

# A test that kills pylock at each of its steps, or at random moments, exercises
# pylock's own steps, which the base interpreter does not change, and costs a whole
# install per kill: `make check` runs it on the first base only (integration/run
# sets PYLOCK_TEST_FIRST_BASE); `make stress` (PYLOCK_TEST_ALL_BASES=1) on every base.
kill_loop_on_one_base() {
  [ "${PYLOCK_TEST_ALL_BASES:-}" = 1 ] || [ -z "${PYLOCK_TEST_FIRST_BASE:-}" ] ||
    [ "$PY" = "$PYLOCK_TEST_FIRST_BASE" ] ||
    skip "a kill loop: on the first base only (make stress runs it on every base)"
}

# A test of a file that runs on every base, which itself does not depend on the base:
# what it asserts happens before the base interpreter runs at all (a refusal of pylock's
# own parsers and checks, before any resolution, sync or run), or in commands that never
# use it (registry, key, trust).  It runs on the first base only, as a file marked
# `# pylock-test: once` does; PYLOCK_TEST_ALL_BASES=1 runs it on every base.
base_blind() {
  [ "${PYLOCK_TEST_ALL_BASES:-}" = 1 ] || [ -z "${PYLOCK_TEST_FIRST_BASE:-}" ] ||
    [ "$PY" = "$PYLOCK_TEST_FIRST_BASE" ] ||
    skip "does not depend on the base: on the first base only"
}

# kill_steps STEP...: the steps of a kill loop this run kills at, one a line.  make check
# takes every third one, from an offset that changes with the day (the day of the year
# modulo 3; PYLOCK_TEST_KILL_OFFSET=0, 1 or 2 sets it), so that three days' runs kill at
# every step, and prints which it took (a failure names its offset); make stress
# (PYLOCK_TEST_ALL_BASES=1) takes every step.
kill_steps() {
  if [ "${PYLOCK_TEST_ALL_BASES:-}" = 1 ]; then
    printf '%s\n' "$@"
    return 0
  fi
  local off=${PYLOCK_TEST_KILL_OFFSET:-$((10#$(date -u +%j) % 3))} i=0 s taken=""
  for s in "$@"; do
    [ $((i % 3)) -eq "$off" ] && { printf '%s\n' "$s"; taken+=" $s"; }
    i=$((i + 1))
  done
  echo "# kill_steps: offset $off of 3 (PYLOCK_TEST_KILL_OFFSET; make stress takes all):$taken" >&3
}

# kill_rounds N: how many rounds a loop of kills at random moments makes this run: a third
# of N (at least 1) in make check, N in make stress (PYLOCK_TEST_ALL_BASES=1).
kill_rounds() {
  if [ "${PYLOCK_TEST_ALL_BASES:-}" = 1 ]; then echo "$1"; else echo $((($1 + 2) / 3)); fi
}

# empty_project_in_own_dirs (in setup): configuration, state and cache of
# the test's own, no keep-alive, and an empty project ($PROJ, the working
# directory); $D a scratch directory beside it.
empty_project_in_own_dirs() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" PYLOCK_KEEPALIVE=0
  new_project
  cd "$PROJ" || return 1
  D="$BATS_TEST_TMPDIR/d"
  mkdir -p "$D"
}

# fixture_wheels (in setup_file): the fixtures' real wheels in $FIX/wheels.
fixture_wheels() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
}

# maintainer [CONFIG-DIR] (in setup): a registry maintainer's configuration,
# its keys directory with it, in CONFIG-DIR (default: a fresh one in the home:
# pylock refuses keys under /tmp, where every sandbox writes), and a fresh
# state (pylock's record of what it signed), no keep-alive; the wheels six,
# idna and certifi of fixture_wheels named (SIX, IDNA, CERTIFI; SIXW, IDNAW).
maintainer() {
  XDG_CONFIG_HOME=${1:-$(mktemp -d "$HOME/config.XXXXXX")}
  export XDG_CONFIG_HOME XDG_STATE_HOME="$BATS_TEST_TMPDIR/state" PYLOCK_KEEPALIVE=0
  SIXW=six-1.16.0-py3-none-any.whl IDNAW=idna-3.3-py3-none-any.whl
  SIX="$FIX/wheels/$SIXW" IDNA="$FIX/wheels/$IDNAW"
  CERTIFI="$FIX/wheels/certifi-2022.9.24-py3-none-any.whl"
}

# Fresh project in $BATS_TEST_TMPDIR/proj on the base under test.
new_project() {
  PROJ="${1:-$BATS_TEST_TMPDIR/proj}"
  "$PL" -q init --python "$PY" "$PROJ"
}

# The project's state directory (in pylock's state root), and its current layer.
state_dir() {
  "$PL" -C "${1:-$PROJ}" info state
}
layer_dir() {
  "$PL" -C "${1:-$PROJ}" info layer
}

# A cold cache for the next sync, but for the trees the current generation of
# each project given (default: $PROJ) names: a generation's packages are
# links into those trees (folds), so taking them away by hand (the cache is
# sealed, and pylock cache clean keeps them) would take its packages away.
uncache_but_current() {
  local cache="$XDG_STATE_HOME/pylock/cache" keep="" p t
  for p in "${@:-$PROJ}"; do
    keep+=$(sed -n 's/^tree \([^ ]*\) .*/\1/p' "$(layer_dir "$p").manifest")$'\n'
  done
  [ -d "$cache" ] || return 0
  # Only what goes is made writable: a kept tree's modes are part of its
  # seal, and a sync would take it for damaged.
  chmod u+w "$cache" "$cache/trees" "$cache/wheels" 2>/dev/null || true
  for t in "$cache"/trees/* "$cache"/trees/.[!.]*; do
    [ -e "$t" ] || continue
    grep -qxF "${t##*/}" <<<"$keep" || { chmod -R u+w "$t" && rm -rf "$t"; }
  done
  rm -rf "$cache"/wheels/* "$cache"/wheels/.[!.]*
}

# A key of the project's interpreter record (prefix, purelib, short version...).
interp() {
  sed -n "s/^$1=//p" "$(state_dir "${2:-$PROJ}")/interp"
}

# The current generation's copy of a scheme directory.
gen_dir() {
  local abs rel prefix
  abs=$(interp "$1")
  prefix=$(interp prefix)
  rel=${abs#"$prefix"}
  echo "$(layer_dir)$rel"
}

short_version() {
  interp version | cut -d. -f1-2
}

assert_eq() {
  if [ "$1" != "$2" ]; then
    echo "expected: $2" >&2
    echo "     got: $1" >&2
    return 1
  fi
}

assert_contains() {
  case "$1" in
  *"$2"*) ;;
  *) echo "expected to contain: $2" >&2; echo "got: $1" >&2; return 1 ;;
  esac
}

assert_not_contains() {
  case "$1" in
  *"$2"*) echo "expected not to contain: $2" >&2; echo "got: $1" >&2; return 1 ;;
  esac
}

# Options of a `pylock ... --help` text on stdin, one per line, sorted: the
# lines of its "Options:" block that start with an option, up to the two
# spaces before the description.
help_options() {
  awk '/^Options:/ { o = 1; next } o && /^$/ { o = 0 } o && /^  -/ { print }' |
    sed -E 's/^  //; s/  .*//' | tr ', ' '\n\n' | grep -E '^--?[A-Za-z]' | sort -u
}

# set_requested_in LOCK REQ...: [tool.pylock] requested = [REQ...] in the pylock.toml LOCK.
set_requested_in() {
  python3 - "$@" <<'PY'
import json, re, sys
path, reqs = sys.argv[1], sys.argv[2:]
text = open(path).read()
text = re.sub(r'(?ms)^requested = \[.*?\]$', 'requested = ' + json.dumps(reqs), text, count=1)
open(path, 'w').write(text)
PY
}

# make_wheel DIR NAME PATH=TEXT...: DIR/NAME-1.0-py3-none-any.whl with
# these files (TEXT's \n are newlines), METADATA, WHEEL and a RECORD.
make_wheel() {
  python3 - "$@" <<'PY'
import base64, hashlib, os, sys, zipfile
out, name = sys.argv[1], sys.argv[2]
di = "%s-1.0.dist-info" % name
files = {}
for arg in sys.argv[3:]:
    path, text = arg.split("=", 1)
    files[path] = text.replace("\\n", "\n").encode()
files[di + "/METADATA"] = ("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name).encode()
files[di + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
record = "".join("%s,%s,%d\n" % (p, digest(b), len(b)) for p, b in files.items()) + di + "/RECORD,,\n"
whl = os.path.join(out, "%s-1.0-py3-none-any.whl" % name)
with zipfile.ZipFile(whl, "w") as z:
    for p, b in list(files.items()) + [(di + "/RECORD", record.encode())]:
        zi = zipfile.ZipInfo(p, (1980, 1, 1, 0, 0, 0))
        zi.external_attr = 0o100755 << 16 if "/scripts/" in p else 0o100644 << 16
        z.writestr(zi, b)
open(whl + ".metadata", "w").write("Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name)
PY
}

# empty_project_in_home NAME (in setup): configuration, state and cache of the
# test's own, no keep-alive, and an empty project $PROJ (the working directory)
# in $W, a fresh directory NAME.XXXXXX of the home: outside /tmp, which default
# sandboxes write.  The caller removes $W.
empty_project_in_home() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" PYLOCK_KEEPALIVE=0
  W=$(mktemp -d "$HOME/$1.XXXXXX")
  new_project "$W/proj"
  cd "$PROJ" || return 1
}
