#!/usr/bin/env bats
# pylock-test: once
# Per-project pages as the default, added to an existing registry, and
# checked against the signed files (issue 14), the real binary end to end
# over nginx.  `registry init` publishes a PEP 691 page per project unless
# --no-project-index; `registry index` gives an existing registry its
# pages, re-signing only the bins that list them, snapshot and timestamp,
# and repairs pages that disagree; `registry verify --targets` fails on a
# page that disagrees with the signed file targets, naming the project and
# the file.  A mirror (no key) serving a page other than the signed one, an
# unsigned page, or a page at a name that is not the normalized one gets
# nothing past the client; a registry with pages for some projects only is
# read whole unless its signed layout marker says every project has one.
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
  SIXW=six-1.16.0-py3-none-any.whl
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# make_reg INIT-OPTIONS... -- [WHEEL...]: $REG with 16 bins, made with the
# options, holding the wheels; $ROOT its first root; a project on it.
make_reg() {
  local opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins 16 "${opts[@]}"
  [ "$#" -eq 0 ] || "$PL" -q registry add "$REG" --key "$ON" "$@"
  cp "$REG/1.root.json" "$ROOT"
  "$PL" -q init --python "$PY" --registry "$URL" --root "$ROOT" "$PROJ"
}

# reg CMD ARGS...: read (and, for publish/unpublish, edit) $REG's bins.
reg() {
  {
    reg_bins_py
    cat <<'EOF'
if cmd == "bin-file":          # NAME: the file of its bin's current version
    print(os.path.basename(bin_file(bin_of(args[0]))))
elif cmd == "page-file":       # PROJECT: the file of its signed page
    e = entry(f"simple/{args[0]}/index.json")
    print(target_path(f"simple/{args[0]}/index.json", e["hashes"]["sha256"]))
elif cmd == "index":           # PROJECT: its published page
    e = entry(f"simple/{args[0]}/index.json")
    sys.stdout.write(open(target_path(f"simple/{args[0]}/index.json", e["hashes"]["sha256"])).read())
elif cmd == "has":             # NAME: exit 0 when a bin signs it
    sys.exit(0 if entry(args[0]) else 1)
elif cmd in ("publish", "unpublish"):  # NAME [FILE]: FILE's bytes as target NAME, or no
    name = args[0]                     # target NAME; print the bin edited
    f = bin_file(bin_of(name))
    md = load(f)
    md["signed"]["targets"].pop(name, None)
    if cmd == "publish":
        data = open(args[1], "rb").read()
        sha = hashlib.sha256(data).hexdigest()
        path = target_path(name, sha)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "wb").write(data)
        md["signed"]["targets"][name] = {"length": len(data), "hashes": {"sha256": sha}}
    json.dump(md, open(f, "w"))
    print(f)
EOF
  } | python3 - "$REG" "$@"
}

# publish NAME FILE / unpublish NAME: the online key's holder (a buggy
# publisher) signs target NAME's bin again at its version without or with
# FILE as NAME (a fresh client cannot tell).
publish() {
  local f
  for f in $(reg publish "$@"); do
    node "$PYLOCK_SCRATCH/interop/tuf-tool.js" resign "$f" --key "$ON" >/dev/null
  done
}
unpublish() {
  local f
  for f in $(reg unpublish "$1"); do
    node "$PYLOCK_SCRATCH/interop/tuf-tool.js" resign "$f" --key "$ON" >/dev/null
  done
}

# edit_index PROJECT PYTHON-EXPR: PROJECT's page rewritten by PYTHON-EXPR
# (on `page`, the parsed JSON), into $BATS_TEST_TMPDIR/page.json.
edit_page() {
  reg index "$1" | python3 -c 'import json,sys; page=json.load(sys.stdin); print(json.dumps('"$2"'))' \
    >"$BATS_TEST_TMPDIR/page.json"
}
edit_index() {
  edit_page "$@"
  publish "simple/$1/index.json" "$BATS_TEST_TMPDIR/page.json"
}

# verify_pages: `registry verify --targets` of $URL against $ROOT, fresh.
verify_pages() {
  run --separate-stderr timeout 120 "$PL" registry verify "$URL" --root "$ROOT" --targets
}

# assert_verify_fails TEXT...: verify --targets exits 1, and one error line
# holds every TEXT.
assert_verify_fails() {
  verify_pages
  [ "$status" -eq 1 ] || { echo "status $status: $output $stderr"; return 1; }
  local t line
  line=$(grep '^pylock: ' <<<"$stderr" | grep -F -- "$1" | head -n 1)
  [ -n "$line" ] || { echo "no error line with '$1': $stderr"; return 1; }
  for t in "$@"; do assert_contains "$line" "$t"; done
  assert_contains "$output" "failed: "
}

# ---- the default, and --no-project-index ----

@test "init_publishes_pages_by_default_and_no_project_index_opts_out" {
  make_reg -- "$SIX" "$IDNA"
  [ -n "$(reg index six)" ] && [ -n "$(reg index idna)" ]
  reg has simple/index-layout.json
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 7"
  REG="$REG-none" URL="$URL-none"
  "$PL" -q registry init "$REG" --key "$OFF" --online-key "$ON" --bins 16 --no-project-index
  "$PL" -q registry add "$REG" --key "$ON" "$SIX" "$IDNA"
  [ ! -e "$REG/targets/simple" ]
  cp "$REG/1.root.json" "$ROOT"
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 4"
  run --separate-stderr "$PL" registry add "$REG" --key "$ON" --no-project-index "$SIX"
  [ "$status" -eq 2 ] || { echo "status $status: $stderr"; return 1; }
}

# ---- registry index: pages for an existing registry ----

@test "registry_index_gives_an_existing_registry_its_pages_signing_only_what_lists_them" {
  make_reg --no-project-index -- "$W"/*.whl
  before=$(reg_digest)
  run --separate-stderr "$PL" registry index "$REG" --key "$ON"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  nproj=$(ls "$W"/*.whl | wc -l)
  assert_contains "$stderr" "indexed $REG: $nproj page(s) written, 0 withdrawn"
  after=$(reg_digest)
  # Nothing that existed changed but the timestamp; what is new: a page
  # per project, the marker, the bins that list them, one snapshot.
  assert_eq "$(comm -23 <(echo "$before") <(echo "$after") | awk '{print $1}')" "./timestamp.json"
  added=$(comm -13 <(echo "$before") <(echo "$after") | awk '{print $1}' | grep -v '^./timestamp.json$' |
    sed -E 's|/[0-9a-f]{64}\.|/SHA.|' | sort)
  expected=$( {
    echo "./3.snapshot.json"
    echo "./targets/simple/SHA.index-layout.json"
    echo "./$(reg bin-file simple/index-layout.json)"
    for w in "$W"/*.whl; do
      p=$(basename "$w" | cut -d- -f1 | tr '_.' '--' | tr 'A-Z' 'a-z')
      echo "./targets/simple/$p/SHA.index.json"
      echo "./$(reg bin-file "simple/$p/index.json")"
    done
  } | sort -u)
  assert_eq "$added" "$expected"
  # The pages are those a registry made with pages from the start has.
  six_page=$(reg index six)
  REG2="$FIX/www/$NAME-from-start"
  "$PL" -q registry init "$REG2" --key "$OFF" --online-key "$ON" --bins 16
  "$PL" -q registry add "$REG2" --key "$ON" "$W"/*.whl
  assert_eq "$(REG=$REG2 reg index six)" "$six_page"
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  # Later adds keep them current; a second index signs nothing.
  "$PL" -q registry add "$REG" --key "$ON" "$FIX/bumped/six-1.17.0-py3-none-any.whl"
  reg index six | grep -q six-1.17.0-py3-none-any.whl
  before=$(reg_digest)
  run --separate-stderr "$PL" registry index "$REG" --key "$ON"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "every project page is current; nothing signed"
  assert_eq "$(reg_digest)" "$before"
  # And a client now reads pages, not every bin.
  clear_log
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  grep -q 'six-1.17.0-py3-none-any.whl' "$PROJ/pylock.toml"
  served | grep -q '^targets/simple/six/[0-9a-f]*\.index\.json$'
  [ "$(served | grep -c '\.bins-')" -lt 16 ] || { served; return 1; }
}

@test "registry_index_of_a_single_targets_registry_signs_targets" {
  "$PL" -q registry init "$REG" --key "$OFF" --no-project-index
  "$PL" -q registry add "$REG" --key "$OFF" "$SIX" "$IDNA"
  cp "$REG/1.root.json" "$ROOT"
  # A leftover page no metadata lists, at the very name six's will take:
  # replaced at publication, never taken as it is.
  mkdir -p "$REG/targets/simple/six"
  echo '{"files":[],"meta":{"api-version":"1.1"},"name":"six"}' >"$REG/targets/simple/six/index.json"
  "$PL" -q registry index "$REG" --key "$OFF"
  reg_page=$(cat "$REG/targets/simple/six/index.json")
  assert_contains "$reg_page" "$SIXW"
  [ -f "$REG/targets/simple/six/index.json" ] && [ -f "$REG/targets/simple/index-layout.json" ]
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "targets: version 3,"
  assert_contains "$output" "target-count: 7"
}

@test "registry_index_never_writes_through_a_link_planted_in_targets_simple" {
  make_reg --no-project-index -- "$SIX" "$IDNA"
  mkdir -p "$REG/targets/simple" "$BATS_TEST_TMPDIR/elsewhere"
  ln -s "$BATS_TEST_TMPDIR/elsewhere" "$REG/targets/simple/six"
  before=$(reg_digest)
  run --separate-stderr "$PL" registry index "$REG" --key "$ON"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "targets/simple/six is a symbolic link"
  # Nothing published changed; at most another project's page was written
  # under a name no metadata lists (a second run reuses it).
  assert_eq "$(reg_digest | grep -v '^./targets/simple/idna/')" "$before"
  [ -z "$(reg_digest | grep '^./targets/simple/idna/' | grep -Ev '/[0-9a-f]{64}\.index\.json ')" ]
  [ -z "$(ls -A "$BATS_TEST_TMPDIR/elsewhere")" ]
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 4"
}

@test "registry_index_without_the_bins_key_is_refused_and_changes_nothing" {
  make_reg --no-project-index -- "$SIX"
  before=$(reg_digest)
  run --separate-stderr "$PL" registry index "$REG" --key "$OFF"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "cannot sign bins.json"
  assert_eq "$(reg_digest)" "$before"
}

@test "registry_index_refuses_a_registry_whose_metadata_file_was_damaged_and_changes_nothing" {
  make_reg --no-project-index -- "$SIX" "$IDNA"
  md=$(ls "$REG"/targets/*."$SIXW".metadata)
  echo "Requires-Python: >=9" >>"$md"
  before=$(reg_digest)
  run --separate-stderr "$PL" registry index "$REG" --key "$ON"
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$(basename "$md") is not the file the registry signed"
  assert_eq "$(reg_digest)" "$before"
}

# ---- verify --targets: pages against the signed files (a publisher's bug) ----

@test "verify_targets_fails_on_a_page_leaving_a_signed_file_out_naming_it" {
  make_reg -- "$SIX" "$IDNA" "$FIX/bumped/six-1.17.0-py3-none-any.whl"
  edit_index six 'dict(page, files=[f for f in page["files"] if "1.17" not in f["filename"]])'
  assert_verify_fails "six-1.17.0-py3-none-any.whl: the page of six does not list it"
  # index repairs it, signing again only what lists the page.
  "$PL" -q registry index "$REG" --key "$ON"
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

@test "verify_targets_fails_on_a_page_giving_another_hash_size_metadata_or_requires_python" {
  make_reg -- "$SIX" "$IDNA"
  evil=$(sha256sum "$IDNA" | cut -d' ' -f1)
  # Each edit starts from the signed page (reg index reads the current one).
  reg index six >"$BATS_TEST_TMPDIR/orig.json"
  restore() { publish simple/six/index.json "$BATS_TEST_TMPDIR/orig.json"; }
  edit_index six "dict(page, files=[dict(f, hashes={\"sha256\": \"$evil\"}) for f in page[\"files\"]])"
  assert_verify_fails "the page of six gives $SIXW sha256 $evil"
  restore
  edit_index six 'dict(page, files=[dict(f, size=f["size"] + 1) for f in page["files"]])'
  assert_verify_fails "the page of six gives $SIXW" "bytes"
  restore
  edit_index six 'dict(page, files=[{k: v for k, v in f.items() if "metadata" not in k} for f in page["files"]])'
  assert_verify_fails "the page of six says $SIXW has no .metadata, and the registry signs one"
  restore
  edit_index six "dict(page, files=[dict(f, **{\"core-metadata\": {\"sha256\": \"$evil\"}}) for f in page[\"files\"]])"
  assert_verify_fails "the page of six gives $SIXW.metadata sha256 $evil"
  restore
  edit_index six 'dict(page, files=[dict(f, **{"requires-python": ">=3.99"}) for f in page["files"]])'
  assert_verify_fails "the page of six gives $SIXW requires-python \">=3.99\"" \
    "its METADATA says \">=2.7, !=3.0.*, !=3.1.*, !=3.2.*\""
}

@test "verify_targets_fails_on_a_page_listing_an_unsigned_file_or_another_projects" {
  make_reg -- "$SIX" "$IDNA"
  edit_index six 'dict(page, files=page["files"] + [dict(page["files"][0], filename="six-9.9-py3-none-any.whl")])'
  assert_verify_fails "the page of six lists six-9.9-py3-none-any.whl, which is not a signed target"
  idna_page=$(reg index idna)
  edit_index six "dict(page, files=page[\"files\"] + $idna_page[\"files\"])"
  assert_verify_fails "index of six lists idna-3.3-py3-none-any.whl, a file of another project"
}

@test "verify_targets_fails_on_pages_at_other_spellings_traversal_or_without_files" {
  make_reg -- "$SIX" "$IDNA"
  reg index six >"$BATS_TEST_TMPDIR/six.json"
  # Traversal: the client refuses the whole bin that signs such a name.
  publish simple/../index.json "$BATS_TEST_TMPDIR/six.json"
  verify_pages
  [ "$status" -eq 1 ] || { echo "status $status: $output $stderr"; return 1; }
  assert_contains "$stderr" 'target "simple/../index.json" has an unsafe path'
  run --separate-stderr "$PL" registry index "$REG" --key "$ON"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "0 page(s) written, 1 withdrawn"
  # A project whose name normalizes to six's (PEP 503).
  publish simple/Six/index.json "$BATS_TEST_TMPDIR/six.json"
  assert_verify_fails "simple/Six/index.json: not a project page at its normalized name"
  # A project without files.
  echo '{"files":[],"meta":{"api-version":"1.1"},"name":"nosuch","versions":[]}' >"$BATS_TEST_TMPDIR/nosuch.json"
  publish simple/nosuch/index.json "$BATS_TEST_TMPDIR/nosuch.json"
  assert_verify_fails "simple/nosuch/index.json: a page of nosuch, a project without files"
  # index withdraws them.
  run --separate-stderr "$PL" registry index "$REG" --key "$ON"
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$stderr" "0 page(s) written, 2 withdrawn"
  run reg has simple/../index.json
  [ "$status" -eq 1 ]
  run reg has simple/Six/index.json
  [ "$status" -eq 1 ]
  run reg has simple/nosuch/index.json
  [ "$status" -eq 1 ]
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
}

# ---- partly indexed registries: what the client does ----

@test "a_project_without_a_page_under_the_marker_fails_the_lock_safely_and_verify_names_it" {
  make_reg -- "$SIX" "$IDNA"
  unpublish simple/six/index.json
  assert_verify_fails "$SIXW: its project six has no page"
  # The signed marker says every project has a page: the client trusts
  # the signed targets, offers pip no six, and locks nothing.
  assert_lock_refused "No matching distribution found for six"
  "$PL" -q registry index "$REG" --key "$ON"
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "a_registry_with_pages_for_some_projects_and_no_marker_is_read_whole" {
  make_reg --no-project-index -- "$SIX" "$IDNA"
  # Signed pages for idna only (made by hand, or by another tool): without
  # the marker, the client never reads a page, and misses no file.
  "$PL" -q registry init "$REG-p" --key "$OFF" --online-key "$ON" --bins 16
  "$PL" -q registry add "$REG-p" --key "$ON" "$IDNA"
  REG="$REG-p" reg index idna >"$BATS_TEST_TMPDIR/idna.json"
  publish simple/idna/index.json "$BATS_TEST_TMPDIR/idna.json"
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  clear_log
  run "$PL" -q -C "$PROJ" install six idna
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  grep -q "$SIXW" "$PROJ/pylock.toml" && grep -q idna-3.3-py3-none-any.whl "$PROJ/pylock.toml"
  if served | grep -q '^targets/simple/'; then served; return 1; fi
  assert_eq "$(served | grep -c '\.bins-')" 16
}

# ---- a mirror (no key) serves other pages ----

@test "a_mirror_serving_a_page_other_than_the_signed_one_is_refused_and_changes_nothing" {
  make_reg -- "$SIX" "$IDNA"
  page=$(reg page-file six)
  idna_page=$(reg index idna)
  # Each of these, in place of the signed page's bytes: another hash for
  # six, idna's file added, an unsigned file added, a page of another name.
  for expr in \
    "dict(page, files=[dict(f, hashes={\"sha256\": \"$(sha256sum "$IDNA" | cut -d' ' -f1)\"}) for f in page[\"files\"]])" \
    "dict(page, files=page[\"files\"] + $idna_page[\"files\"])" \
    'dict(page, files=page["files"] + [dict(page["files"][0], filename="six-9.9-py3-none-any.whl")])' \
    'dict(page, name="idna")'; do
    cp "$page" "$BATS_TEST_TMPDIR/signed.json"
    edit_page six "$expr"
    cat "$BATS_TEST_TMPDIR/page.json" >"$page"
    assert_lock_refused "index.json"
    assert_verify_fails "simple/six/index.json"
    cp "$BATS_TEST_TMPDIR/signed.json" "$page"
  done
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

@test "an_unsigned_page_or_marker_on_a_mirror_is_never_read" {
  make_reg --no-project-index -- "$SIX" "$IDNA"
  # The mirror adds a marker and a page for six listing only a wheel of
  # its choosing, under both the plain and a hashed name.
  mkdir -p "$REG/targets/simple/six"
  echo '{"files":[],"meta":{"api-version":"1.1"},"name":"six","versions":[]}' >"$REG/targets/simple/six/index.json"
  cp "$REG/targets/simple/six/index.json" "$REG/targets/simple/six/$(sha256sum <"$REG/targets/simple/six/index.json" | cut -d' ' -f1).index.json"
  echo '{"layout":"pylock-project-index"}' >"$REG/targets/simple/index-layout.json"
  clear_log
  run "$PL" -q -C "$PROJ" install six
  [ "$status" -eq 0 ] || { echo "$output"; return 1; }
  grep -q "$SIXW" "$PROJ/pylock.toml"
  if served | grep -q '^targets/simple/'; then served; return 1; fi
  verify_pages
  [ "$status" -eq 0 ] || { echo "$stderr"; return 1; }
  assert_contains "$output" "target-count: 4"
}
