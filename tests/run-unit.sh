#!/bin/sh
# Run the cmocka unit test binaries (TAP output); record counts in build/results.unit.
# The binaries run $(nproc) at a time (PYLOCK_UNIT_JOBS=N for another number), each with
# its output and sanitizer reports of its own; their TAP is printed in order.
# PYLOCK_TEST_SANITIZE=1 (make unit SANITIZE=1): the binaries are built with ASan and UBSan;
# their reports (a test's forked children included) go to files, and a binary that leaves
# one fails, whatever its exit status and TAP lines said.  gcc's UBSan runtime ignores
# log_path next to ASan: its reports ("runtime error:") are looked for in the output too.
# SPDX-License-Identifier: Apache-2.0
set -u
if [ "${1:-}" = --one ]; then # --one DIR INDEX BINARY: one binary, into DIR/INDEX.*
  dir=$2 i=$3 t=$4
  if [ "${PYLOCK_TEST_SANITIZE:-}" = 1 ]; then
    mkdir -p "$dir/$i.san"
    r="log_path=$dir/$i.san/report"
    export ASAN_OPTIONS="$r:detect_leaks=1:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="$r:print_stacktrace=1:halt_on_error=1:exitcode=87"
    export LSAN_OPTIONS="$r"
  fi
  CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$dir/$i.out" 2>&1
  echo $? >"$dir/$i.rc"
  exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/pylock-unit.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
i=0
for t in "$@"; do
  i=$((i + 1))
  printf '%s\0%s\0' "$i" "$t"
done | xargs -0 -n 2 -P "${PYLOCK_UNIT_JOBS:-$(nproc)}" "$0" --one "$work"
pass=0 fail=0 skip=0 i=0
for t in "$@"; do
  i=$((i + 1))
  out=$(cat "$work/$i.out"); rc=$(cat "$work/$i.rc" 2>/dev/null || echo 1)
  printf '# %s\n%s\n' "$t" "$out"
  p=$(printf '%s\n' "$out" | grep -c '^ok ')
  # cmocka prints a skipped test as "not ok N # SKIP": a skip, not a failure.
  s=$(printf '%s\n' "$out" | grep -c '^not ok .*# SKIP')
  f=$(($(printf '%s\n' "$out" | grep -c '^not ok ') - s))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $t exited $rc"; fi
  if [ "${PYLOCK_TEST_SANITIZE:-}" = 1 ] && printf '%s\n' "$out" | grep -q 'runtime error:'; then
    echo "not ok - $t: UndefinedBehaviorSanitizer reported errors (above)"
    f=$((f + 1))
  fi
  san="$work/$i.san"
  if [ -d "$san" ] && [ -n "$(ls -A "$san")" ]; then
    # A report is an error when it says so (LeakSanitizer also notes threads it could not stop).
    e=0
    for r in "$san"/*; do
      echo "# sanitizer report $r:"; sed 's/^/# /' "$r"
      grep -qE 'ERROR: |runtime error|fatal error' "$r" && e=$((e + 1))
    done
    if [ "$e" -gt 0 ]; then echo "not ok - $t: the sanitizers reported errors (above)"; f=$((f + 1)); fi
  fi
  pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
mkdir -p build
echo "$pass $fail" > build/results.unit
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
