# Shared by the .bats files: paths and tiny assert helpers.
# PYLOCK_BIN, PYLOCK_TEST_PYTHON and PYLOCK_SCRATCH come from integration/run.
# SPDX-License-Identifier: Apache-2.0

PL="$PYLOCK_BIN/pylock"
# The full program the front end $PL execs for everything but a joined run.
PL_FULL="$PYLOCK_BIN/../lib/pylock/pylock"
PY="$PYLOCK_TEST_PYTHON"

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
