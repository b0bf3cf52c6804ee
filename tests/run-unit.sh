#!/bin/sh
# Run the cmocka unit test binaries (TAP output); record counts in build/results.unit.
# PYLOCK_TEST_SANITIZE=1 (make unit SANITIZE=1): the binaries are built with ASan and UBSan;
# their reports (a test's forked children included) go to files, and a binary that leaves
# one fails, whatever its exit status and TAP lines said.  gcc's UBSan runtime ignores
# log_path next to ASan: its reports ("runtime error:") are looked for in the output too.
# SPDX-License-Identifier: Apache-2.0
set -u
pass=0 fail=0 skip=0
san=""
if [ "${PYLOCK_TEST_SANITIZE:-}" = 1 ]; then
  san=$(mktemp -d "${TMPDIR:-/tmp}/pylock-unit-san.XXXXXX") || exit 1
  trap 'rm -rf "$san"' EXIT
  export ASAN_OPTIONS="log_path=$san/report:detect_leaks=1:exitcode=86${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
  export UBSAN_OPTIONS="log_path=$san/report:print_stacktrace=1:halt_on_error=1:exitcode=87"
  export LSAN_OPTIONS="log_path=$san/report"
fi
for t in "$@"; do
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1); rc=$?
  printf '# %s\n%s\n' "$t" "$out"
  p=$(printf '%s\n' "$out" | grep -c '^ok ')
  # cmocka prints a skipped test as "not ok N # SKIP": a skip, not a failure.
  s=$(printf '%s\n' "$out" | grep -c '^not ok .*# SKIP')
  f=$(($(printf '%s\n' "$out" | grep -c '^not ok ') - s))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $t exited $rc"; fi
  if [ -n "$san" ] && printf '%s\n' "$out" | grep -q 'runtime error:'; then
    echo "not ok - $t: UndefinedBehaviorSanitizer reported errors (above)"
    f=$((f + 1))
  fi
  if [ -n "$san" ] && [ -n "$(ls -A "$san")" ]; then
    # A report is an error when it says so (LeakSanitizer also notes threads it could not stop).
    e=0
    for r in "$san"/*; do
      echo "# sanitizer report $r:"; sed 's/^/# /' "$r"
      grep -qE 'ERROR: |runtime error|fatal error' "$r" && e=$((e + 1))
      rm -f "$r"
    done
    if [ "$e" -gt 0 ]; then echo "not ok - $t: the sanitizers reported errors (above)"; f=$((f + 1)); fi
  fi
  pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
mkdir -p build
echo "$pass $fail" > build/results.unit
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
