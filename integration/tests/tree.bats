#!/usr/bin/env bats
# pylock-test: once
# pylock tree (issue 13): the dependency tree of the environment from the
# installed metadata, as text and as JSON; extras asked for are followed,
# hostile names in metadata cannot draw on the terminal.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$FIX/proj"
  "$PL" -q -C "$FIX/proj" install requests jinja2 xmltodict
}

setup() {
  export XDG_STATE_HOME="$FIX/state" XDG_CONFIG_HOME="$FIX/config" PYLOCK_KEEPALIVE=0
  PROJ="$FIX/proj"
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

version_of() {
  "$PL" -C "$PROJ" list --json | python3 -c '
import json, sys
print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"].lower() == sys.argv[1]))' "$1"
}

@test "tree_shows_each_requested_package_with_its_dependencies_below_it" {
  run --separate-stderr "$PL" -C "$PROJ" tree
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # Requested packages at the top, sorted; their dependencies drawn below.
  assert_eq "$(printf '%s\n' "$output" | grep -v '^[│├└ ]')" "Jinja2 $(version_of jinja2)
requests $(version_of requests)
xmltodict $(version_of xmltodict)"
  assert_contains "$output" "Jinja2 $(version_of jinja2)
└── MarkupSafe $(version_of markupsafe)"
  assert_contains "$output" "├── idna $(version_of idna)"
  # The last dependency's own dependencies hang under a blank column.
  assert_contains "$output" "├── idna $(version_of idna)
└── urllib3 $(version_of urllib3)
    └── six $(version_of six)
xmltodict"
}

@test "tree_json_lists_every_package_with_its_installed_dependencies" {
  run --separate-stderr "$PL" -C "$PROJ" tree --json
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  printf '%s' "$output" | python3 -c '
import json, sys
t = json.load(sys.stdin)
assert isinstance(t["generation"], int)
pk = {p["name"].lower(): p for p in t["packages"]}
names = [p["name"].lower() for p in t["packages"]]
assert names == sorted(names), names
req = pk["requests"]
assert req["requested"] is True
deps = {d["name"].lower(): d for d in req["dependencies"]}
assert set(deps) == {"certifi", "charset-normalizer", "idna", "urllib3"}, deps
assert deps["idna"]["requirement"].startswith("idna"), deps["idna"]
assert deps["idna"]["version"] == pk["idna"]["version"]
assert pk["idna"]["requested"] is False and pk["idna"]["dependencies"] == []
assert [d["name"] for d in pk["urllib3"]["dependencies"]] == ["six"]
# Every installed package is listed, as pylock list has them.
' || return 1
  assert_eq "$("$PL" -C "$PROJ" list --json | python3 -c 'import json,sys; print(sorted(p["name"] for p in json.load(sys.stdin)["packages"]))')" \
    "$(printf '%s' "$output" | python3 -c 'import json,sys; print(sorted(p["name"] for p in json.load(sys.stdin)["packages"]))')"
}

@test "tree_follows_an_extra_only_when_it_is_asked_for" {
  P2="$BATS_TEST_TMPDIR/extra"
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$P2"
  "$PL" -q -C "$P2" install requests chardet
  run --separate-stderr "$PL" -C "$P2" tree --json
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # requests' chardet is under extra "use_chardet_on_py3": not asked, not drawn.
  assert_eq "$(printf '%s' "$output" | python3 -c 'import json,sys; print([d["name"] for p in json.load(sys.stdin)["packages"] if p["name"] == "requests" for d in p["dependencies"]])')" \
    "['certifi', 'charset-normalizer', 'idna', 'urllib3']"
  "$PL" -q -C "$P2" install 'requests[use_chardet_on_py3]'
  run --separate-stderr "$PL" -C "$P2" tree --json
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$(printf '%s' "$output" | python3 -c 'import json,sys; print([d["name"] for p in json.load(sys.stdin)["packages"] if p["name"] == "requests" for d in p["dependencies"]])')" \
    "'chardet'"
}

@test "tree_on_an_empty_environment_says_so_and_prints_nothing" {
  P2="$BATS_TEST_TMPDIR/empty"
  "$PL" -q init --python "$PY" "$P2"
  run --separate-stderr "$PL" -C "$P2" tree
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$output" ""
  assert_contains "$stderr" "holds no packages"
  run --separate-stderr "$PL" -C "$P2" tree --json
  [ "$status" -eq 0 ]
  assert_contains "$output" '"packages": []'
}

@test "tree_rejects_arguments_and_unknown_options" {
  run --separate-stderr "$PL" -C "$PROJ" tree extra
  [ "$status" -eq 2 ]
  run --separate-stderr "$PL" -C "$PROJ" tree --nope
  [ "$status" -eq 2 ]
}
