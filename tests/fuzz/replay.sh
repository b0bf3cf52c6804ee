#!/usr/bin/env bash
# make fuzz-replay: every fuzz target runs once over each of its seeds (tests/fuzz/seeds/
# <target>/ and the directories <target>.dirs names), crashing inputs found by campaigns
# included, so a fix that regresses, or a harness that no longer builds, fails CI.
#
#   tests/fuzz/replay.sh build/fuzz/fuzz_X...
# SPDX-License-Identifier: Apache-2.0
set -uo pipefail
tree=$(cd "$(dirname "$0")/../.." && pwd)
src=$tree/tests/fuzz
scratch=$(mktemp -d "${TMPDIR:-/tmp}/pylock-fuzz-replay.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
rc=0
for bin in "$@"; do
  t=$(basename "$bin")
  seeds=()
  [ -d "$src/seeds/$t" ] && seeds=("$src/seeds/$t")
  if [ -f "$src/seeds/$t.dirs" ]; then
    while read -r d; do [ -d "$tree/$d" ] && seeds+=("$tree/$d"); done < "$src/seeds/$t.dirs"
  fi
  if [ ${#seeds[@]} -eq 0 ]; then
    echo "fuzz-replay: $t: no seeds" >&2
    rc=1
    continue
  fi
  n=$(find "${seeds[@]}" -type f | wc -l)
  # An empty first corpus directory: libFuzzer writes nothing into the seeds.
  mkdir -p "$scratch/$t"
  if "$bin" -runs=0 -timeout=60 -rss_limit_mb=2048 "$scratch/$t" "${seeds[@]}" > "$scratch/$t.log" 2>&1; then
    echo "fuzz-replay: $t: $n seeds, no failure"
  else
    echo "fuzz-replay: $t: FAILED on a seed:" >&2
    tail -n 30 "$scratch/$t.log" >&2
    rc=1
  fi
done
exit $rc
