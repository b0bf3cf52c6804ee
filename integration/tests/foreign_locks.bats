#!/usr/bin/env bats
# Lock files written by other tools (PEP 751 as written, issue 13): sync
# --frozen and ci install what the lock's markers, extras and dependency
# groups select for the base interpreter, each package's best wheel by the
# interpreter's tags (pip's order), from the registry its packages' index
# names, trusted only through a root the runner trusts; every byte still a
# signed target.  Locks are built here from the fixture registry's wheels,
# some repacked with other tags (multi-platform wheel lists).
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  CP=cp$("$PY" -c 'import sys; print("%d%d" % sys.version_info[:2])')
  ARCH=$(uname -m)
  export CP ARCH
  local mk="$PYLOCK_BIN/make-wheels.py" w="$FIX/wheels"
  # Other tags of the same code: the interpreter's own, other platforms'.
  for tags in "$CP-$CP-manylinux_2_17_$ARCH.manylinux2014_$ARCH" "py3-none-win_amd64" \
    "$CP-abi3-macosx_11_0_arm64" "cp37-abi3-manylinux_2_17_$ARCH"; do
    python3 "$mk" --retag "$w/six-1.16.0-py3-none-any.whl" "$tags" "$FIX/tagged" >/dev/null
  done
  python3 "$mk" --retag "$w/idna-3.3-py3-none-any.whl" "py3-none-win_amd64" "$FIX/tagged" >/dev/null
  python3 "$mk" --retag "$w/certifi-2022.9.24-py3-none-any.whl" "py3-none-macosx_11_0_arm64" \
    "$FIX/tagged" >/dev/null
  # Made but never published: a wheel the registry does not sign.
  python3 "$mk" --retag "$w/six-1.16.0-py3-none-any.whl" "$CP-none-linux_$ARCH" \
    "$FIX/unsigned" >/dev/null
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl "$FIX"/tagged/*.whl
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  # A second registry, under another key, with the same wheels.
  "$PL" key generate -o "$KEYS/other.key" >/dev/null
  "$PL" -q registry init "$FIX/other" --key "$KEYS/other.key"
  "$PL" -q registry add "$FIX/other" --key "$KEYS/other.key" "$FIX"/wheels/*.whl
  cp "$FIX/other/1.root.json" "$FIX/other-root.json"
  cat >"$FIX/mklock.py" <<'PY'
import hashlib, os, sys
out, index, top = sys.argv[1], sys.argv[2], sys.argv[3:]
fix = os.environ["FIX"]
dirs = [fix + "/reg/targets", fix + "/tagged", fix + "/unsigned"]
lines = ['lock-version = "1.0"', 'created-by = "uv"'] + top + [""]
for spec in sys.stdin.read().split("\n"):
    if not spec.strip():
        continue
    name, version, marker, wheels = spec.split(" ", 3)
    lines += ["[[packages]]", 'name = "%s"' % name, 'version = "%s"' % version]
    if marker != "-":
        lines.append("marker = %r" % marker.replace("~", " "))
    lines += ['index = "%s"' % index, "wheels = ["]
    for w in wheels.split(","):
        path = next((d + "/" + w for d in dirs if os.path.exists(d + "/" + w)), None)
        data = open(path, "rb").read() if path else b"never published"
        lines.append('  {name = "%s", url = "https://files.example/%s", size = %d, '
                     'hashes = {sha256 = "%s"}},' % (w, w, len(data), hashlib.sha256(data).hexdigest()))
    lines += ["]", ""]
open(out, "w").write("\n".join(lines))
PY
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$FIX/state"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

teardown_file() {
  chmod -R u+w "$BATS_FILE_TMPDIR" 2>/dev/null || true
}

# project DIR: a project on the base under test, initialised with the
# fixture registry's root (what the foreign lock's index is then trusted by).
project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$1"
}

# mklock OUT INDEX [TOP-LEVEL TOML LINES] <<< "name version marker wheel,wheel..." lines
# (marker "-" for none; each wheel a file of $FIX/reg/targets, tagged or unsigned):
# a lock as pip, uv or PDM write it, with no [tool.pylock].
mklock() {
  python3 "$FIX/mklock.py" "$@"
}

# The markers lock: extras and groups, markers on the platform and interpreter.
markers_lock() {
  mklock "$1" "${2:-$FIX/reg}" 'extras = ["tests"]' 'dependency-groups = ["dev", "docs"]' \
    'default-groups = ["dev"]' <<EOF
idna 3.3 - idna-3.3-py3-none-any.whl
colorama 0.4.6 sys_platform~==~'win32' colorama-0.4.6-py3-none-any.whl
six 1.16.0 'tests'~in~extras six-1.16.0-py3-none-any.whl
certifi 2022.9.24 'dev'~in~dependency_groups certifi-2022.9.24-py3-none-any.whl
toml 0.10.2 'docs'~in~dependency_groups~and~python_full_version~>=~'3.8' toml-0.10.2-py3-none-any.whl
distro 1.8.0 platform_system~==~'Linux'~and~implementation_name~==~'cpython'~and~os_name~==~'posix' distro-1.8.0-py3-none-any.whl
EOF
}

installed_set() {
  "$PL" -C "${1:-$PROJ}" list --json | python3 -c '
import json, re, sys
print(" ".join(sorted(re.sub(r"[-_.]+", "-", p["name"]).lower() for p in json.load(sys.stdin)["packages"])))'
}

current() {
  readlink "$(state_dir "${1:-$PROJ}")/current"
}

# The Tag lines of an installed distribution's WHEEL file, space-separated.
installed_tags() {
  local f
  f=$(find -L "$(layer_dir)" -path "*/$1-*.dist-info/WHEEL" | head -1)
  [ -n "$f" ] || { echo "no $1 installed" >&2; return 1; }
  sed -n 's/^Tag: //p' "$f" | tr '\n' ' ' | sed 's/ $//'
}

assert_verified() {
  run --separate-stderr "$PL" -C "${1:-$PROJ}" verify
  [ "$status" -eq 0 ] || { echo "verify: $output $stderr"; return 1; }
}

@test "a_foreign_lock_installs_only_what_its_markers_select_by_default" {
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # colorama is for Windows, six for the extra "tests", toml for the group "docs".
  assert_eq "$(installed_set)" "certifi distro idna"
  assert_verified
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/lock"
}

@test "sync_with_extra_and_group_installs_them_and_a_plain_sync_goes_back" {
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen --extra Tests --group docs
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # --group replaces the default groups: certifi ('dev') is not installed.
  assert_eq "$(installed_set)" "distro idna six toml"
  assert_verified # against the extras and groups the generation was built with
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen --extra tests --group docs
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "already matches"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_set)" "certifi distro idna"
  assert_verified
}

@test "extras_and_groups_the_lock_does_not_offer_are_refused_naming_what_it_offers" {
  base_blind
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync --frozen
  before=$(current)
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen --extra test
  [ "$status" -eq 1 ]
  assert_contains "$stderr" 'the lock offers no extra "test" (its extras: tests)'
  run --separate-stderr "$PL" -C "$PROJ" ci --group lint -- true
  [ "$status" -eq 1 ]
  assert_contains "$stderr" 'no dependency group "lint" (its dependency-groups: dev, docs)'
  assert_eq "$(current)" "$before"
}

@test "ci_takes_extra_and_group_and_its_json_lists_what_was_selected" {
  base_blind
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" ci --json --extra tests -- python3 -c 'import six, certifi'
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  summary=$(printf '%s\n' "$stderr" | grep '^{' | tail -1)
  installed=$(python3 -c 'import json, sys; print(" ".join(sorted(json.loads(sys.argv[1])["installed"])))' "$summary")
  assert_eq "$installed" "certifi==2022.9.24 distro==1.8.0 idna==3.3 six==1.16.0"
  run --separate-stderr "$PL" -C "$PROJ" ci --json -- true
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  summary=$(printf '%s\n' "$stderr" | grep '^{' | tail -1)
  installed=$(python3 -c 'import json, sys; print(" ".join(sorted(json.loads(sys.argv[1])["installed"])))' "$summary")
  assert_eq "$installed" "certifi==2022.9.24 distro==1.8.0 idna==3.3" # without the extra, no six
  assert_eq "$(installed_set)" "certifi distro idna"
}

@test "the_best_wheel_for_the_interpreter_is_installed_not_the_first_listed" {
  project "$PROJ"
  # PEP 751's example shape: the win_amd64 wheel first.
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<EOF
six 1.16.0 - six-1.16.0-py3-none-win_amd64.whl,six-1.16.0-$CP-abi3-macosx_11_0_arm64.whl,six-1.16.0-py3-none-any.whl,six-1.16.0-cp37-abi3-manylinux_2_17_$ARCH.whl,six-1.16.0-$CP-$CP-manylinux_2_17_$ARCH.manylinux2014_$ARCH.whl
EOF
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_tags six)" "$CP-$CP-manylinux_2_17_$ARCH $CP-$CP-manylinux2014_$ARCH"
  assert_verified
  # Without the interpreter's own wheel, the older stable ABI beats py3-none-any.
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<EOF
six 1.16.0 - six-1.16.0-py3-none-any.whl,six-1.16.0-cp37-abi3-manylinux_2_17_$ARCH.whl
EOF
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_tags six)" "cp37-abi3-manylinux_2_17_$ARCH"
}

@test "no_fitting_wheel_is_refused_naming_every_such_package_and_its_tags" {
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync --frozen
  before=$(current)
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/good"
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<EOF
idna 3.3 - idna-3.3-py3-none-win_amd64.whl
six 1.16.0 - six-1.16.0-py3-none-any.whl
certifi 2022.9.24 - certifi-2022.9.24-py3-none-macosx_11_0_arm64.whl
EOF
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "no wheel fits this interpreter ($CP, abi $CP/abi3"
  assert_contains "$stderr" "for 2 package(s): idna 3.3 (py3-none-win_amd64); certifi 2022.9.24 (py3-none-macosx_11_0_arm64)"
  assert_not_contains "$stderr" "six 1.16.0 ("
  assert_eq "$(current)" "$before"
  assert_eq "$(installed_set)" "certifi distro idna"
}

@test "a_package_whose_marker_is_false_is_neither_fetched_nor_installed" {
  base_blind
  project "$PROJ"
  # A Windows-only package whose wheel no registry signs: never looked at here.
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<EOF
idna 3.3 - idna-3.3-py3-none-any.whl
pywin32 308 sys_platform~==~'win32' pywin32-308-cp312-cp312-win_amd64.whl
colorama 0.4.6 os_name~==~'nt' colorama-0.4.6-py3-none-any.whl
EOF
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_not_contains "$stderr" "pywin32"
  assert_not_contains "$stderr" "fetching colorama"
  assert_eq "$(installed_set)" "idna"
  assert_verified
}

@test "attack_a_selected_wheel_the_registry_does_not_sign_is_refused_with_no_fallback" {
  base_blind
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync --frozen
  before=$(current)
  # A pull request's lock: six's best wheel for this interpreter was never
  # published (its bytes are the attacker's); a signed py3 wheel sits beside it.
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<EOF
idna 3.3 - idna-3.3-py3-none-any.whl
six 1.16.0 - six-1.16.0-py3-none-any.whl,six-1.16.0-$CP-none-linux_$ARCH.whl
EOF
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "six 1.16.0: six-1.16.0-$CP-none-linux_$ARCH.whl is not signed by"
  assert_eq "$(current)" "$before"
  assert_eq "$(installed_set)" "certifi distro idna"
  # The same through markers: an extra that selects an unsigned wheel.
  mklock "$PROJ/pylock.toml" "$FIX/reg" 'extras = ["x"]' <<EOF
idna 3.3 - idna-3.3-py3-none-any.whl
six 1.16.0 'x'~in~extras six-1.16.0-$CP-none-linux_$ARCH.whl
EOF
  run --separate-stderr "$PL" -C "$PROJ" ci --extra x -- python3 -c 'import six'
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "is not signed by"
  assert_eq "$(current)" "$before"
  assert_eq "$(installed_set)" "certifi distro idna"
}

@test "attack_a_foreign_lock_whose_index_no_trusted_root_covers_is_refused_and_the_hint_works" {
  base_blind
  # A fresh checkout: only another tool's lock, naming a registry this runner
  # was never told to trust.
  mkdir -p "$PROJ"
  markers_lock "$PROJ/pylock.toml" "$FIX/other"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen --python "$PY"
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "no root this runner trusts covers $FIX/other, the index pylock.toml names"
  assert_contains "$stderr" "pylock trust add ROOT.json"
  run "$PL" -C "$PROJ" list --json
  [ "$status" -ne 0 ] || assert_eq "$(installed_set)" ""
  # The hint, as written: trust the registry's root.
  "$PL" -q trust add "$FIX/other-root.json"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen --python "$PY"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(installed_set)" "certifi distro idna"
  assert_verified
}

@test "attack_a_foreign_lock_moving_the_index_to_another_registry_verifies_against_the_projects_root" {
  base_blind
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  "$PL" -q -C "$PROJ" sync --frozen
  before=$(current)
  # The other registry publishes the same wheels, signed by keys this project never trusted.
  markers_lock "$PROJ/pylock.toml" "$FIX/other"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "signature threshold not met"
  assert_eq "$(current)" "$before"
  assert_eq "$(installed_set)" "certifi distro idna"
}

@test "a_foreign_lock_with_packages_from_several_indexes_is_refused_naming_them" {
  base_blind
  project "$PROJ"
  mklock "$BATS_TEST_TMPDIR/a" "$FIX/reg" <<<"idna 3.3 - idna-3.3-py3-none-any.whl"
  mklock "$BATS_TEST_TMPDIR/b" "https://pypi.org/simple" <<<"six 1.16.0 - six-1.16.0-py3-none-any.whl"
  { cat "$BATS_TEST_TMPDIR/a"; sed '1,2d' "$BATS_TEST_TMPDIR/b"; } >"$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "six names the index https://pypi.org/simple"
}

@test "lock_version_1_1_warns_as_pep751_asks_and_2_0_is_refused" {
  base_blind
  project "$PROJ"
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<<"idna 3.3 - idna-3.3-py3-none-any.whl"
  sed -i 's/^lock-version = "1.0"/lock-version = "1.1"/' "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "warning: pylock.toml has lock-version 1.1, newer than 1.0"
  assert_eq "$(installed_set)" "idna"
  sed -i 's/^lock-version = "1.1"/lock-version = "2.0"/' "$PROJ/pylock.toml"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_contains "$stderr" "lock-version 2.0 is not supported (1.x is)"
}

@test "an_interpreter_record_from_an_older_pylock_is_probed_again_for_markers_and_tags" {
  project "$PROJ"
  markers_lock "$PROJ/pylock.toml"
  f="$(state_dir)/interp"
  chmod u+w "$f" 2>/dev/null || true
  sed -i '/^\(implementation_name\|sys_platform\|tag_abi\|libc\)=/d' "$f"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_eq "$(interp tag_abi)" "$CP"
  assert_eq "$(interp sys_platform)" "linux"
  assert_eq "$(installed_set)" "certifi distro idna"
}

@test "pylock_selects_what_pypa_packaging_selects_on_the_same_locks" {
  # The reference runs on the base under test itself (its markers and tags).
  "$PY" -c 'import packaging.pylock' 2>/dev/null ||
    skip "no packaging with pylock support (26.1 or later) for $PY; the unit tests (test_select) compare with packaging's tag lists and selections"
  project "$PROJ"
  local sel want
  for sel in "" "--extra tests" "--group docs" "--extra tests --group dev --group docs"; do
    markers_lock "$PROJ/pylock.toml"
    # shellcheck disable=SC2086
    "$PL" -q -C "$PROJ" sync --frozen $sel
    # shellcheck disable=SC2086
    want=$("$PY" -c '
import re, sys, tomllib
from packaging.pylock import Pylock
args = sys.argv[2:]
extras = [args[i + 1] for i, a in enumerate(args) if a == "--extra"]
groups = [args[i + 1] for i, a in enumerate(args) if a == "--group"] or None
lock = Pylock.from_dict(tomllib.load(open(sys.argv[1], "rb")))
sel = lock.select(extras=extras, dependency_groups=groups)
print(" ".join(sorted(re.sub(r"[-_.]+", "-", p.name).lower() for p, _ in sel)))
' "$PROJ/pylock.toml" $sel)
    assert_eq "$(installed_set)" "$want"
  done
  # The wheel: the same one of a multi-platform list.
  mklock "$PROJ/pylock.toml" "$FIX/reg" <<EOF
six 1.16.0 - six-1.16.0-py3-none-win_amd64.whl,six-1.16.0-py3-none-any.whl,six-1.16.0-cp37-abi3-manylinux_2_17_$ARCH.whl,six-1.16.0-$CP-$CP-manylinux_2_17_$ARCH.manylinux2014_$ARCH.whl,six-1.16.0-$CP-abi3-macosx_11_0_arm64.whl
EOF
  "$PL" -q -C "$PROJ" sync --frozen
  want=$("$PY" -c '
import sys, tomllib
from packaging.pylock import Pylock
from packaging.utils import parse_wheel_filename
lock = Pylock.from_dict(tomllib.load(open(sys.argv[1], "rb")))
(_, wheel), = lock.select()
print(" ".join(sorted(str(t) for t in parse_wheel_filename(wheel.filename)[3])))
' "$PROJ/pylock.toml")
  assert_eq "$(installed_tags six | tr ' ' '\n' | sort | tr '\n' ' ' | sed 's/ $//')" "$want"
}

@test "pylocks_own_lock_syncs_as_before_and_offers_no_extras" {
  base_blind
  project "$PROJ"
  "$PL" -q -C "$PROJ" install idna
  cp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/own"
  run --separate-stderr "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "already matches"
  assert_eq "$(installed_set)" "idna"
  assert_verified
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/own"
  run --separate-stderr "$PL" -C "$PROJ" sync --extra tests
  [ "$status" -eq 1 ]
  assert_contains "$stderr" 'the lock offers no extra "tests" (its extras: none)'
  cmp "$PROJ/pylock.toml" "$BATS_TEST_TMPDIR/own"
}
