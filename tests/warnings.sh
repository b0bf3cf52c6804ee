#!/bin/sh
# make check: fail on any warning the compiler printed for the project's code.  Every compiler
# run of the build leaves what it printed in <output>.warn (see the Makefile); a plain build
# only stops on the warnings the Makefile lists as errors, the project's checks on all.
# Usage: tests/warnings.sh BUILD_DIR; records counts in build/results.warnings.
# SPDX-License-Identifier: Apache-2.0
set -u
cd "$(dirname "$0")/.."
dir=${1:-build}
mkdir -p build
# Only this variant's outputs: build/ also holds other variants (asan, fuzz) and the trees
# the packages were built in (deb, rpm).
files=$({ find "$dir"/lib "$dir"/pylock "$dir"/tests "$dir"/helpers -name '*.warn' 2>/dev/null
          find "$dir" -maxdepth 1 -name '*.warn'; } | sort)
n=$(printf '%s\n' "$files" | grep -c .)
bad=""
for f in $files; do
  [ -s "$f" ] && bad="$bad $f"
done
if [ -n "$bad" ]; then
  for f in $bad; do echo "# $f"; cat "$f"; done
  echo "warnings: the compiler warned about the project's code (above); fix them"
  echo "0 1" > build/results.warnings
  exit 1
fi
if [ "$n" -eq 0 ]; then
  echo "warnings: no compiler output recorded under $dir (build first)"
  echo "0 1" > build/results.warnings
  exit 1
fi
echo "warnings: none in $n compiler runs"
echo "1 0" > build/results.warnings
