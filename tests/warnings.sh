#!/bin/sh
# make check: fail on any warning the compiler printed for the project's code.  Every compiler
# run of the build leaves what it printed in <output>.warn (see the Makefile); a plain build
# only stops on the warnings the Makefile lists as errors, the project's checks on all.
# Usage: tests/warnings.sh BUILD_DIR; records counts in build/results.warnings.
set -u
cd "$(dirname "$0")/.."
dir=${1:-build}
mkdir -p build
# Other variants' directories inside build/ (build/asan, build/fuzz) are not this build's.
files=$(find "$dir" \( -path "$dir/asan" -o -path "$dir/fuzz" \) -prune -o -name '*.warn' -print \
        2>/dev/null | sort)
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
