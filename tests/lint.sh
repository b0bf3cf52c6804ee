#!/bin/sh
# make lint: formatting (clang-format, .clang-format), banned functions, cppcheck.
# SPDX-License-Identifier: Apache-2.0
set -u
cd "$(dirname "$0")/.."
status=0
src=$(ls lib/*.c lib/*.h pylock/*.c pylock/*.h pylock/front/*.c tests/*.c integration/helpers/*.c 2>/dev/null)

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
# Licence: every source file says it in its header comment (within its first 60 lines): C
# files and headers, scripts (sh, bash, bats, Python, JavaScript, fish, zsh; anything starting
# with #!), Makefile, packaging scripts, the RPM spec and the AppArmor profile.  Data files
# (fuzz seeds, test data, TOML cases) are not source.
spdx="SPDX-License-Identifier: Apache-2.0"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  all=$(git ls-files --cached --others --exclude-standard)
else
  all=$(find . -type f ! -path './build/*' ! -path './.git/*' | sed 's|^\./||')
fi
missing=""
for f in $(printf '%s\n' "$all" | grep -vE '^(tests/fuzz/seeds|tests/data|tests/toml/valid|tests/toml/invalid)/'); do
  [ -f "$f" ] || continue
  case "$f" in
  *.c | *.h | *.sh | *.bash | *.bats | *.py | *.js | *.fish | *.spec | Makefile | */rules | */run | \
    */_pylock | *.postinst | *.prerm | *.postrm | packaging/apparmor/pylock) ;;
  *) [ "$(head -c 2 "$f")" = '#!' ] || continue ;;
  esac
  head -n 60 "$f" | grep -q "$spdx" || missing="$missing $f"
done
if [ -n "$missing" ]; then
  printf 'lint: no "%s" in the header comment of:%s\n' "$spdx" "$missing"
  echo "lint: add it as the header comment's last line (C: '/* $spdx */' after a one-line comment)"
  status=1
fi

[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
