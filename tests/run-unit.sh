#!/bin/sh
# Run the cmocka unit test binaries (TAP output); record counts in build/results.unit.
set -u
pass=0 fail=0 skip=0
for t in "$@"; do
  out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1); rc=$?
  printf '# %s\n%s\n' "$t" "$out"
  p=$(printf '%s\n' "$out" | grep -c '^ok ')
  # cmocka prints a skipped test as "not ok N # SKIP": a skip, not a failure.
  s=$(printf '%s\n' "$out" | grep -c '^not ok .*# SKIP')
  f=$(($(printf '%s\n' "$out" | grep -c '^not ok ') - s))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $t exited $rc"; fi
  pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
mkdir -p build
echo "$pass $fail" > build/results.unit
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
