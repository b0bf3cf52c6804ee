#!/usr/bin/env bats
# Names as users type them (issue 13): every spelling PEP 503 treats as the
# same project installs it, on each base (Debian's pip 23.0 once discarded
# a wheel whose METADATA spelled its name otherwise than its file name).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/six-*.whl \
    "$FIX"/wheels/jinja2-*.whl "$FIX"/wheels/markupsafe-*.whl "$FIX"/wheels/charset_normalizer-*.whl
  cp "$FIX/reg/1.root.json" "$FIX/root.json"
}

setup() {
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/root.json" "$PROJ"
}

# installs SPELLING NAME VERSION: `pylock install SPELLING` locks and installs
# NAME (normalized) at VERSION, and it imports.
installs() {
  run --separate-stderr "$PL" -C "$PROJ" install "$1"
  [ "$status" -eq 0 ] || { echo "install $1: $stderr"; return 1; }
  run "$PL" -C "$PROJ" list --json
  assert_contains "$output" "\"version\": \"$3\""
  python3 -c 'import json, re, sys
names = {re.sub(r"[-_.]+", "-", p["name"]).lower() for p in json.load(sys.stdin)["packages"]}
sys.exit(0 if sys.argv[1] in names else 1)' "$2" <<<"$output" || { echo "$2 not listed: $output"; return 1; }
}

@test "jinja2_installs_whatever_the_case_with_markupsafe" {
  local s
  for s in jinja2 Jinja2 JINJA2; do
    installs "$s" jinja2 3.1.2
    "$PL" -q -C "$PROJ" remove "$s"
  done
  installs Jinja2 jinja2 3.1.2
  run "$PL" -C "$PROJ" run python3 -c 'import jinja2, markupsafe; print(jinja2.__version__)'
  assert_eq "$output" "3.1.2"
}

@test "markupsafe_six_and_charset_normalizer_install_by_every_spelling" {
  local s
  for s in MarkupSafe markupsafe MARKUPSAFE; do
    installs "$s" markupsafe 2.1.2
    "$PL" -q -C "$PROJ" remove "$s"
  done
  for s in six Six SIX; do
    installs "$s" six 1.16.0
    "$PL" -q -C "$PROJ" remove "$s"
  done
  for s in charset_normalizer charset-normalizer Charset.Normalizer charset__normalizer; do
    installs "$s" charset-normalizer 3.0.1
    "$PL" -q -C "$PROJ" remove "$s"
  done
}

@test "a_name_that_normalizes_to_another_project_is_not_found" {
  run --separate-stderr "$PL" -C "$PROJ" install Markup_Safe
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "markup-safe"
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}
