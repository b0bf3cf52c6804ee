#!/usr/bin/env bats
# pylock-test: once
# Per-project index targets (issue 14), the real binary end to end over nginx:
# `registry init --project-index` publishes a PEP 691 page per project as a
# signed target (simple/NAME/index.json, in its bin like any target), `add`
# rewrites only the pages of the projects it touches, and a lock reads the
# pages of the projects pip asks for, their candidates' .metadata and the
# wheels of the result, each through its own bin, and no list of every file
# (nginx's access log counts the requests).  A registry without index
# targets still locks, as before.  A holder of the online key serving pages
# that disagree with the signed targets (another hash, files left out, files
# of another project, a huge page, a page in the wrong bin, a page at a name
# that is not the normalized one, a page naming another project) gets
# nothing past pylock: the lock fails, or ignores the page, and nothing
# changes.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"
load project_index_helpers

setup_file() {
  index_fixture
}

teardown_file() {
  nginx_stop
}

setup() {
  index_setup
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# make_indexed BINS [WHEEL...]: $REG with BINS bins and per-project index
# targets, holding the wheels; $ROOT its first root; a project on it.
make_indexed() {
  local bins=$1
  shift
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins "$bins" --project-index
  [ "$#" -eq 0 ] || "$PL" -q registry add "$REG" --key "$ON" "$@"
  cp "$REG/1.root.json" "$ROOT"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
}

# reg PYTHON-ARGS...: the registry helper below, on $REG.
reg() {
  {
    reg_bins_py
    cat <<'EOF'
if cmd == "bin-of":            # NAME: its bin
    print(bin_of(args[0]))
elif cmd == "bin-file":        # NAME: the file of its bin's current version
    print(os.path.basename(bin_file(bin_of(args[0]))))
elif cmd == "bin-count":       # how many bins
    print(1 << bins()["bit_length"])
elif cmd == "index":           # PROJECT: its published page
    e = entry(f"simple/{args[0]}/index.json")
    sys.stdout.write(open(target_path(f"simple/{args[0]}/index.json", e["hashes"]["sha256"])).read())
elif cmd == "sha":             # NAME: the sha256 signed for it
    print(entry(args[0])["hashes"]["sha256"])
elif cmd == "publish":         # NAME FILE [BIN]: FILE's bytes as target NAME, listed in
    name, src = args[0], args[1]  # BIN (its own bin by default); print the bins edited
    data = open(src, "rb").read()
    sha = hashlib.sha256(data).hexdigest()
    path = target_path(name, sha)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)
    own = bin_of(name)
    into = args[2] if len(args) > 2 else own
    for role in sorted({own, into}):
        f = bin_file(role)
        md = load(f)
        md["signed"]["targets"].pop(name, None)
        if role == into:
            md["signed"]["targets"][name] = {"length": len(data), "hashes": {"sha256": sha}}
        json.dump(md, open(f, "w"))
        print(f)
EOF
  } | python3 - "$REG" "$@"
}

# publish NAME FILE [BIN]: the online key's holder publishes FILE as target
# NAME (in BIN), its bins signed again with the online key at their version
# (a fresh client cannot tell).
publish() {
  local f
  for f in $(reg publish "$@"); do
    node "$PYLOCK_SCRATCH/interop/tuf-tool.js" resign "$f" --key "$ON" >/dev/null
  done
}

# edit_index PROJECT PYTHON-EXPR: publish PROJECT's page rewritten by
# PYTHON-EXPR (on `page`, the parsed JSON; its value is the new page).
edit_index() {
  reg index "$1" | python3 -c 'import json,sys; page=json.load(sys.stdin); print(json.dumps('"$2"'))' \
    >"$BATS_TEST_TMPDIR/page.json"
  publish "simple/$1/index.json" "$BATS_TEST_TMPDIR/page.json"
}

# ---- the publisher ----

@test "index_target_lists_every_wheel_of_its_project_with_the_signed_hashes" {
  make_indexed 16 "$SIX" "$IDNA"
  "$PL" -q registry add "$REG" --key "$ON" "$FIX/bumped/six-1.17.0-py3-none-any.whl"
  reg index six >"$BATS_TEST_TMPDIR/six.json"
  reg sha six-1.16.0-py3-none-any.whl >"$BATS_TEST_TMPDIR/s16"
  reg sha six-1.16.0-py3-none-any.whl.metadata >"$BATS_TEST_TMPDIR/m16"
  reg sha six-1.17.0-py3-none-any.whl >"$BATS_TEST_TMPDIR/s17"
  python3 - "$BATS_TEST_TMPDIR" <<'EOF'
import json, sys
d = sys.argv[1]
page = json.load(open(f"{d}/six.json"))
assert page["meta"]["api-version"] == "1.1" and page["name"] == "six", page
files = {f["filename"]: f for f in page["files"]}
assert sorted(files) == ["six-1.16.0-py3-none-any.whl", "six-1.17.0-py3-none-any.whl"], files
f = files["six-1.16.0-py3-none-any.whl"]
assert f["hashes"]["sha256"] == open(f"{d}/s16").read().strip(), f
assert f["core-metadata"]["sha256"] == open(f"{d}/m16").read().strip(), f
assert f["dist-info-metadata"] == f["core-metadata"], f
assert files["six-1.17.0-py3-none-any.whl"]["hashes"]["sha256"] == open(f"{d}/s17").read().strip()
assert page["versions"] == ["1.16.0", "1.17.0"], page
EOF
  run --separate-stderr "$PL" registry verify "$URL" --root "$ROOT" --targets
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "registry_add_rewrites_only_its_projects_index_their_bins_snapshot_and_timestamp" {
  make_indexed 16 "$SIX"
  six_page=$(reg index six)
  before=$(reg_digest)
  "$PL" -q registry add "$REG" --key "$ON" "$IDNA"
  after=$(reg_digest)
  changed=$(comm -23 <(echo "$before") <(echo "$after") | awk '{print $1}')
  assert_eq "$changed" "./timestamp.json"
  added=$(comm -13 <(echo "$before") <(echo "$after") | awk '{print $1}' | grep -v '^./timestamp.json$' |
    sed -E 's|/[0-9a-f]{64}\.|/SHA.|' | sort)
  expected=$( {
    echo "./targets/SHA.idna-3.3-py3-none-any.whl"
    echo "./targets/SHA.idna-3.3-py3-none-any.whl.metadata"
    echo "./targets/simple/idna/SHA.index.json"
    echo "./3.snapshot.json"
    for t in idna-3.3-py3-none-any.whl idna-3.3-py3-none-any.whl.metadata simple/idna/index.json; do
      echo "./$(reg bin-file "$t")"
    done
  } | sort -u)
  assert_eq "$added" "$expected"
  assert_eq "$(reg index six)" "$six_page"
}

# ---- the client ----

@test "lock_reads_only_the_index_targets_metadata_and_bins_of_what_it_resolves" {
  make_indexed 256 "$W"/*.whl
  clear_log
  run "$PL" -q -C "$PROJ" install requests
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  run "$PL" -C "$PROJ" run python3 -c 'import requests, idna, urllib3'
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  locked=$(sed -n 's/^name = "\(.*\)"/\1/p' "$PROJ/pylock.toml" | grep -v '\.whl$' | sort)
  # Pages: those of the locked projects and of what pip looked at and
  # dropped (chardet: an alternative of charset-normalizer), and no other.
  pages=$(served | sed -n 's|^targets/simple/\([^/]*\)/[0-9a-f]*\.index\.json$|\1|p' | sort)
  for p in $locked; do assert_contains "$pages" "$(echo "$p" | tr '_.' '--' | tr 'A-Z' 'a-z')"; done
  [ "$(echo "$pages" | wc -l)" -le $(($(echo "$locked" | wc -l) + 2)) ] || { echo "pages: $pages"; return 1; }
  # No list of every file, no root page; a bin per page, .metadata and
  # wheel at most, plus the layout marker's, and never every bin.
  if served | grep -Eq '^(simple/|targets/simple/index)'; then served; return 1; fi
  nbins=$(served | grep -c '\.bins-')
  npages=$(echo "$pages" | wc -l)
  [ "$nbins" -le $((3 * npages + 1)) ] || { echo "$nbins bins for $npages pages"; served; return 1; }
  [ "$nbins" -lt 128 ] || { echo "$nbins bins of 256"; return 1; }
  # The .metadata read are those of the pages' candidates only.
  if served | grep '\.whl\.metadata$' | grep -Ev "\.($(echo "$pages" | tr '-' '_' | paste -sd'|'))-[^-]*-py3-none-any\.whl\.metadata$" | grep -q .; then
    served | grep '\.metadata$'
    return 1
  fi
  # The bins read are kept: a second lock reads no bin again.
  clear_log
  run "$PL" -q -C "$PROJ" lock
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  if served | grep -q '\.bins-'; then served; return 1; fi
}

@test "registry_without_index_targets_still_locks_reading_every_bin" {
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins 16 --no-project-index
  "$PL" -q registry add "$REG" --key "$ON" "$SIX" "$IDNA"
  cp "$REG/1.root.json" "$ROOT"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
  [ ! -e "$REG/targets/simple" ]
  clear_log
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  assert_eq "$(served | grep -c '\.bins-')" 16
  run "$PL" -C "$PROJ" run python3 -c 'import six; print(six.__version__)'
  assert_eq "$output" "1.16.0"
}

@test "single_targets_registry_with_index_targets_locks" {
  "$PL" -q registry init "$REG" --key "$OFF" --project-index
  "$PL" -q registry add "$REG" --key "$OFF" "$SIX"
  cp "$REG/root.json" "$ROOT"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
  [ -f "$REG/targets/simple/six/index.json" ]
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  grep -q 'six-1.16.0-py3-none-any.whl' "$PROJ/pylock.toml"
}

# ---- a holder of the online key serves pages that lie ----

@test "a_page_giving_a_wheel_another_hash_is_refused_and_changes_nothing" {
  make_indexed 16 "$SIX" "$IDNA"
  evil=$(sha256sum "$IDNA" | cut -d' ' -f1)
  edit_index six "dict(page, files=[dict(f, hashes={\"sha256\": \"$evil\"}) for f in page[\"files\"]])"
  clear_log
  # pip resolves from the page and .metadata alone now: the page's hash is
  # refused where pip reports it, against the signed target.
  assert_lock_refused "six-1.16.0-py3-none-any.whl: sha256 $evil differs from the registry's signed"
  if served | grep -q "$evil"; then echo "fetched the file the page names"; return 1; fi
}

@test "a_page_leaving_files_out_hides_them_and_changes_nothing" {
  make_indexed 16 "$SIX" "$IDNA"
  edit_index six 'dict(page, files=[])'
  assert_lock_refused "six"
}

@test "a_page_listing_another_projects_file_is_refused_and_changes_nothing" {
  make_indexed 16 "$SIX" "$IDNA"
  idna_page=$(reg index idna)
  edit_index six "dict(page, files=page[\"files\"] + $idna_page[\"files\"])"
  assert_lock_refused "index of six lists idna-3.3-py3-none-any.whl, a file of another project"
}

@test "a_page_naming_another_project_is_refused_and_changes_nothing" {
  make_indexed 16 "$SIX" "$IDNA"
  edit_index six 'dict(page, name="idna")'
  assert_lock_refused "index of six names the project \"idna\""
}

@test "a_huge_page_is_refused_before_a_byte_of_it_is_fetched" {
  make_indexed 16 "$SIX" "$IDNA"
  reg index six | python3 -c 'import sys; sys.stdout.write(sys.stdin.read()[:-1] + " " * (9 << 20) + "}")' \
    >"$BATS_TEST_TMPDIR/huge.json"
  publish simple/six/index.json "$BATS_TEST_TMPDIR/huge.json"
  clear_log
  assert_lock_refused "more than the 4194304 allowed"
  if served | grep -q 'simple/six/'; then echo "the huge page was fetched"; return 1; fi
}

@test "a_page_in_the_wrong_bin_is_not_trusted_and_changes_nothing" {
  make_indexed 16 "$SIX" "$IDNA"
  own=$(reg bin-of simple/six/index.json)
  other=bins-$(printf '%x' $(((0x${own#bins-} + 1) % 16)))
  reg index six >"$BATS_TEST_TMPDIR/page.json"
  publish simple/six/index.json "$BATS_TEST_TMPDIR/page.json" "$other"
  clear_log
  assert_lock_refused "six"
  if served | grep -q 'simple/six/'; then echo "the misplaced page was fetched"; return 1; fi
}

@test "a_page_at_a_name_that_is_not_the_normalized_one_is_never_read" {
  make_indexed 16 "$SIX" "$IDNA"
  # simple/Six/ and simple/six_/ are other targets: a client asks only for
  # the normalized name's page, whatever the requirement spells.
  "$PL" -q registry add "$REG" --key "$ON" "$FIX/bumped/six-1.17.0-py3-none-any.whl"
  reg index six >"$BATS_TEST_TMPDIR/evil.json" # lists 1.17.0
  edit_index six 'dict(page, files=[f for f in page["files"] if f["filename"].startswith("six-1.16")])'
  publish simple/Six/index.json "$BATS_TEST_TMPDIR/evil.json"
  clear_log
  run "$PL" -q -C "$PROJ" install Six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  grep -q 'six-1.16.0-py3-none-any.whl' "$PROJ/pylock.toml"
  if grep -q '1.17.0' "$PROJ/pylock.toml"; then echo "locked what the other page lists"; return 1; fi
  if served | grep -q 'simple/Six/'; then echo "read the other page"; return 1; fi
}

@test "without pip in the base, lock finds the registry's pip through its index target" {
  case "$("$PY" -c 'import sys; print(sys.version_info[:2] >= (3, 12))')" in
  True) skip "Debian's pip 23.0.1 wheel does not run on Python 3.12 (pkgutil.ImpImporter)" ;;
  esac
  make_indexed 256 "$SIX" "$W/pip-23.0.1-py3-none-any.whl"
  clear_log
  run --separate-stderr env PYLOCK_RESOLVE_PIP=registry "$PL" -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  grep -q 'six-1.16.0-py3-none-any.whl' "$PROJ/pylock.toml"
  served | grep -q '^targets/simple/pip/[0-9a-f]*\.index\.json$'
  # Its bins, not every bin, were read.
  [ "$(served | grep -c '\.bins-')" -lt 16 ] || { served; return 1; }
}
