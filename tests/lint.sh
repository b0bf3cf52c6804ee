#!/bin/sh
# make lint: formatting (clang-format, .clang-format), banned functions, cppcheck.
set -u
cd "$(dirname "$0")/.."
status=0
src=$(ls lib/*.c lib/*.h pylock/*.c pylock/*.h tests/*.c integration/helpers/*.c 2>/dev/null)

if command -v clang-format >/dev/null; then
  if ! clang-format --dry-run --Werror $src 2>/tmp/pylock-lint-format.$$; then
    head -n 40 /tmp/pylock-lint-format.$$
    echo "lint: formatting differs; run: clang-format -i $(echo $src | head -c 60)..."
    status=1
  fi
  rm -f /tmp/pylock-lint-format.$$
else
  echo "lint: clang-format not installed (apt install clang-format); skipped"
fi

# curl's list: unbounded or locale/overflow-prone calls have bounded replacements.
banned='\<(sprintf|vsprintf|strcpy|strcat|strncat|strtok|atoi|atol|atoll|gets|tmpnam|tempnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" $src | grep -v 'lint: allow'; then
  echo "lint: banned function used (see above); use snprintf, strtol, strtok_r, mkstemp..."
  status=1
fi

if command -v cppcheck >/dev/null; then
  if ! cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
       --suppress=missingIncludeSystem --suppress=memleak --suppress=resourceLeak --suppress=leakNoVarFunctionCall -D__GNUC__ -D_GNU_SOURCE -Ilib -Ibuild/gen lib pylock 2>&1; then
    echo "lint: cppcheck found problems (see above)"
    status=1
  fi
else
  echo "lint: cppcheck not installed (apt install cppcheck); skipped"
fi
[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
