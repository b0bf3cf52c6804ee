#!/usr/bin/env bash
# make fuzz: run libFuzzer targets one after another, each for a budget of CPU seconds.
#
#   tests/fuzz/run.sh [-r] -t SECONDS -o DIR build/fuzz/fuzz_X...
#
# DIR keeps each target's corpus (DIR/corpus/T: every run starts from what earlier runs
# found, plus the seeds), its logs, the CPU seconds and executions spent (DIR/state/T.*) and
# the inputs that crashed it (DIR/crashes/).  With -r (resume) the budget counts what earlier
# runs spent, so a campaign re-run after an interruption or a fix goes on where it stopped,
# and a target stopped on a crash stays stopped until its DIR/state/T.status is deleted;
# without -r every target gets the whole budget again.  A run that finds a crash (or a
# leak, timeout, out-of-memory) stops that target and goes on with the next.  Budgets are
# CPU time, not wall time: on a shared machine at nice 19 an hour of wall time is less.
# libFuzzer's -timeout is wall time: FUZZ_UNIT_TIMEOUT (default 60 s) is long enough that
# a niced run starved by other work is not taken for a hang (a unit here takes milliseconds).
# SIGTERM or SIGINT stops the current run cleanly (its time and executions are counted).
# DIR/SUMMARY.md is rewritten after every run: executions, coverage (libFuzzer's cov: edges
# and ft: features), corpus size and crashes per target.
# SPDX-License-Identifier: Apache-2.0
set -uo pipefail

budget=20 out=build/fuzz/campaign resume=0
while getopts rt:o: o; do
  case $o in
  r) resume=1 ;;
  t) budget=$OPTARG ;;
  o) out=$OPTARG ;;
  *) echo "usage: $0 [-r] [-t CPU_SECONDS] [-o DIR] TARGET..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
# Seeds and dictionaries come from the tree the script is in, or $FUZZ_TREE (a long campaign
# runs a copy of this script, since bash reads a script as it goes).
tree=${FUZZ_TREE:-$(cd "$(dirname "$0")/../.." && pwd)}
src=$tree/tests/fuzz
mkdir -p "$out"/corpus "$out"/logs "$out"/state "$out"/crashes

child=0 stop=0
trap 'stop=1; [ "$child" -gt 0 ] && kill -INT "$child" 2>/dev/null' TERM INT

# CPU seconds (user + system) of this shell's finished children into $cpu, from `times`
# (run in this shell, not in a $(...) subshell, which has children of its own).
cpu_now() {
  times > "$out/state/.times"
  cpu=$(tail -n 1 "$out/state/.times" |
        awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] } printf "%d\n", t }')
}

# One target's row of the summary, from its state and logs.
summary_row() {
  local t=$1 s=$out/state/$1 execs cov ft units crashes
  execs=$(cat "$s.execs" 2>/dev/null || echo 0)
  # The last coverage line of the last log that has one (the corpus is reloaded on every run,
  # so the last figures are the cumulative ones).
  cov=$(cat "$out"/logs/"$t".*.log 2>/dev/null | grep -aE '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' | tail -n 1 |
        sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+).*/\1 \2/')
  units=$(find "$out/corpus/$t" -type f 2>/dev/null | wc -l)
  crashes=$(find "$out/crashes" -name "$t-*" -type f 2>/dev/null | wc -l)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$(cat "$s.cpu" 2>/dev/null || echo 0)" \
    "$execs" "${cov% *}" "${cov#* }" "$units" "$crashes" "$(cat "$s.status" 2>/dev/null || echo pending)"
}

write_summary() {
  {
    echo "# Fuzzing campaign"
    echo
    echo "Budget: $budget CPU seconds per target.  Written by tests/fuzz/run.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
    echo "cov = edges covered, ft = features (libFuzzer), from the last run's final lines."
    echo
    echo "| target | CPU s | executions | cov | ft | corpus | crashes | status |"
    echo "|---|---|---|---|---|---|---|---|"
    for f in "$out"/state/*.cpu; do
      [ -e "$f" ] || continue
      summary_row "$(basename "$f" .cpu)"
    done
    echo
    if ls "$out"/crashes/* >/dev/null 2>&1; then
      echo "Crashing inputs (in $out/crashes):"
      echo
      ls "$out"/crashes | sed 's/^/- /'
    fi
  } > "$out/SUMMARY.md.tmp" && mv "$out/SUMMARY.md.tmp" "$out/SUMMARY.md"
}

rc=0
for bin in "$@"; do
  [ "$stop" -eq 0 ] || break
  t=$(basename "$bin") s=$out/state/$(basename "$bin")
  [ "$resume" -eq 1 ] || rm -f "$s.cpu" "$s.execs" "$s.status"
  [ -f "$s.cpu" ] || echo 0 > "$s.cpu"
  [ -f "$s.execs" ] || echo 0 > "$s.execs"
  if [ -f "$s.status" ] && [ "$(cat "$s.status")" = crash ]; then
    echo "fuzz: $t: stopped on a crash (see $out/crashes; rm $s.status after the fix)"
    rc=1
    continue
  fi
  mkdir -p "$out/corpus/$t"
  name=${t#fuzz_}
  dict=() seeds=()
  [ -f "$src/$name.dict" ] && dict=(-dict="$src/$name.dict")
  [ -d "$src/seeds/$t" ] && seeds=("$src/seeds/$t")
  # Extra seed directories a target names in tests/fuzz/seeds/<target>.dirs (one per line,
  # relative to the top of the tree), e.g. the toml-test suite for fuzz_toml.
  if [ -f "$src/seeds/$t.dirs" ]; then
    while read -r d; do [ -d "$tree/$d" ] && seeds+=("$tree/$d"); done < "$src/seeds/$t.dirs"
  fi
  while [ "$stop" -eq 0 ]; do
    spent=$(cat "$s.cpu")
    left=$((budget - spent))
    [ "$left" -gt 0 ] || { echo done > "$s.status"; break; }
    # A niced run gets less CPU than wall time: more runs follow, each for what is left, and
    # at least 10 s, since each starts by reloading the corpus.
    [ "$left" -ge 10 ] || left=10
    n=$(ls "$out"/logs/"$t".*.log 2>/dev/null | wc -l)
    log=$out/logs/$t.$((n + 1)).log
    echo "fuzz: $t: $spent of $budget CPU seconds spent; running for up to ${left}s (log $log)"
    echo running > "$s.status"
    cpu_now
    before=$cpu
    "$bin" -max_total_time="$left" -max_len=65536 -timeout="${FUZZ_UNIT_TIMEOUT:-60}" -rss_limit_mb=2048 \
      -print_final_stats=1 "${dict[@]}" -artifact_prefix="$out/crashes/$t-" \
      "$out/corpus/$t" "${seeds[@]}" > "$log" 2>&1 &
    child=$!
    wait "$child"; r=$?
    # wait returns early when a trapped signal arrives: wait again for the child's end.
    while kill -0 "$child" 2>/dev/null; do wait "$child"; r=$?; done
    child=0
    cpu_now
    echo $(($(cat "$s.cpu") + cpu - before)) > "$s.cpu"
    e=$(grep -a '^stat::number_of_executed_units' "$log" | awk '{ print $2 }')
    echo $(($(cat "$s.execs") + ${e:-0})) > "$s.execs"
    if [ "$stop" -eq 0 ] && [ "$r" -ne 0 ]; then
      # A crash, leak, timeout or out-of-memory leaves its input (an artifact); anything
      # else (a bad option, a missing file) is an error of the run itself.
      if grep -aq 'Test unit written to' "$log"; then echo crash > "$s.status"; else echo error > "$s.status"; fi
      echo "fuzz: $t: exit $r; the last lines of $log:"
      grep -aE 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -n 20
      rc=1
      break
    fi
    [ "$stop" -eq 0 ] || echo stopped > "$s.status"
  done
  write_summary
  echo "fuzz: $t: $(summary_row "$t")"
done
write_summary
exit "$rc"
