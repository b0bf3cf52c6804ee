#!/bin/sh
# Sum the counts each suite left in build/results.*; print the closing line.
# SPDX-License-Identifier: Apache-2.0
set -u
pass=0 fail=0 suites=0
for f in "$@"; do
  [ -f "$f" ] || continue
  read -r p q < "$f"
  pass=$((pass + p)) fail=$((fail + q)) suites=$((suites + 1))
done
[ "$suites" -ge 3 ] || { echo "check: a suite did not report (found $suites)"; fail=$((fail + 1)); }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
