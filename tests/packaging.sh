#!/bin/sh
# Run tests/packaging.bats (install rules, the .deb and the .rpm; see its
# header for what needs root); record counts in build/results.packaging.
# SPDX-License-Identifier: Apache-2.0
set -u
cd "$(dirname "$0")/.."
mkdir -p build
echo "0 1" > build/results.packaging # until proven otherwise
[ "$(id -u)" -eq 0 ] ||
  echo "packaging: not root: the .deb is not installed into the system (those tests are skipped)"
out=$(bats --tap tests/packaging.bats 2>&1)
printf '%s\n' "$out"
p=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+ ')
s=$(printf '%s\n' "$out" | grep -cE '^ok [0-9]+ .*# skip')
f=$(printf '%s\n' "$out" | grep -cE '^not ok [0-9]+ ')
[ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1 # ran nothing
echo "$((p - s)) $f" > build/results.packaging
echo "packaging: $((p - s)) passed, $f failed, $s skipped"
[ "$f" -eq 0 ]
