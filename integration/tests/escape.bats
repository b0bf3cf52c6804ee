#!/usr/bin/env bats
# pylock-test: once
# Untrusted strings never reach the terminal raw (issue 11): escape sequences,
# C1 controls, bidi controls and invalid UTF-8 in metadata a mirror serves
# before any signature is checked (_type, spec_version, expires), in target
# names a registry signs, in the strings of a pylock.toml from a pull request
# and in file names of an environment are shown escaped by one rule
# (pylock(1) OUTPUT), and --json stays valid UTF-8 JSON that decodes back to
# the same text.  Each output is checked byte for byte, and each attack
# fails and changes nothing.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load "$PYLOCK_SCRATCH/lib/nginx"

# The hostile string: retitle the terminal (OSC ... BEL), clear it (CSI 2J),
# DEL, CSI in its 8-bit C1 form (U+009B, raw in the files), a right-to-left
# override (U+202E).  HOSTILE_PY is it as a Python literal; SHOWN is how pylock
# must show it, byte for byte.
HOSTILE_PY='"\x1b]0;pwned\x07\x1b[2J\x7f\u009b31m\u202e"'
SHOWN='\x1b]0;pwned\x07\x1b[2J\x7f\u009b31m\u202e'

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/www"
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/reg" --key "$KEYS/k.key"
  "$PL" -q registry add "$FIX/reg" --key "$KEYS/k.key" "$FIX/wheels/six-1.16.0-py3-none-any.whl"
  cp "$FIX/reg/1.root.json" "$FIX/trusted-root.json"
  write_tufedit "$FIX/tufedit.py"
  nginx_start "$FIX/nginx" "$FIX/www"
}

teardown_file() {
  nginx_stop
}

setup() {
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" PYLOCK_KEEPALIVE=0
  OUT="$BATS_TEST_TMPDIR/out" ERR="$BATS_TEST_TMPDIR/err"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# capture CMD...: stdout to $OUT, stderr to $ERR, exit status in $status.
capture() {
  status=0
  "$@" >"$OUT" 2>"$ERR" || status=$?
}

# assert_safe FILE [json|tsv]: FILE is valid UTF-8 with no raw control
# character but the newlines ending its lines (no ESC, BEL, DEL, C1 raw or as
# UTF-8, no bidi or line control); with json, each line starting with '{' is
# JSON; with tsv, tabs separate fields.
assert_safe() {
  python3 - "$@" <<'PY'
import json, sys
data = open(sys.argv[1], "rb").read()
try:
    text = data.decode("utf-8")
except UnicodeDecodeError as e:
    sys.exit("%s: not UTF-8: %s: %r" % (sys.argv[1], e, data))
mode = sys.argv[2] if len(sys.argv) > 2 else ""
bad = set(range(0x20)) - {0x0a} - ({0x09} if mode == "tsv" else set()) | set(range(0x7f, 0xa0))
bad |= {0x061c, 0x200e, 0x200f, 0x2028, 0x2029} | set(range(0x202a, 0x202f)) | set(range(0x2066, 0x206a))
raw = sorted({hex(ord(c)) for c in text if ord(c) in bad})
if raw:
    sys.exit("%s: raw control characters %s in %r" % (sys.argv[1], raw, data))
if mode == "json":
    for line in text.splitlines():
        if line.startswith("{"):
            json.loads(line)
PY
}

# assert_line FILE N TEXT: line N (1-based) of FILE is TEXT, byte for byte.
assert_line() {
  local got
  got=$(sed -n "${2}p" "$1")
  assert_eq "$got" "$3"
}

# json_error FILE: the "error" field of FILE's JSON line, decoded, as Python's
# ascii() shows it (so the test compares the real characters).
json_error() {
  python3 -c '
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    if line.startswith("{"):
        print(ascii(json.loads(line)["error"]))' "$1"
}

# tree_digest DIR: what DIR holds, to show an attack changed nothing.
tree_digest() {
  [ -d "$1" ] || { echo "no $1"; return; }
  (cd "$1" && find . -type f -exec sha256sum {} + | sort)
}

# write_tufedit FILE: a signer apart from pylock, for metadata pylock's own
# tools would refuse to write: OLPC canonical JSON (as TUF signs it) here,
# ed25519 by openssl(1) from a pylock private key file.
#   tufedit.py add-target REG KEY NAME
#       NAME (1 byte, some sha256) becomes a target of REG's targets.json;
#       targets, snapshot and timestamp are signed again, one version up.
write_tufedit() {
  cat >"$1" <<'PY'
import hashlib, json, os, subprocess, sys, tempfile

def canon(v):
    if v is True: return b"true"
    if v is False: return b"false"
    if v is None: return b"null"
    if isinstance(v, int): return str(v).encode()
    if isinstance(v, str): return b'"' + v.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'
    if isinstance(v, list): return b"[" + b",".join(canon(x) for x in v) + b"]"
    return b"{" + b",".join(canon(k) + b":" + canon(v[k]) for k in sorted(v)) + b"}"

def load_key(path, tmp):
    header, seed = open(path).read().split("\n")[:2]
    assert header == "pylock-ed25519-private-key-v1", header
    der = os.path.join(tmp, "k.der")
    open(der, "wb").write(bytes.fromhex("302e020100300506032b657004220420" + seed))
    pub = subprocess.run(["openssl", "pkey", "-inform", "DER", "-in", der, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout[-32:].hex()
    keyid = hashlib.sha256(canon({"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pub}})).hexdigest()
    return der, keyid

def sign(doc, der, keyid, tmp):
    msg = os.path.join(tmp, "msg")
    open(msg, "wb").write(canon(doc["signed"]))
    sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", der, "-keyform", "DER", "-rawin", "-in", msg],
                         check=True, capture_output=True).stdout
    assert any(s["keyid"] == keyid for s in doc["signatures"]), "not the registry's key"
    doc["signatures"] = [{"keyid": keyid, "sig": sig.hex()}]
    return (json.dumps(doc, indent=1, ensure_ascii=False) + "\n").encode()

def main():
    cmd, reg, key, name = sys.argv[1:5]
    assert cmd == "add-target"
    with tempfile.TemporaryDirectory() as tmp:
        der, keyid = load_key(key, tmp)
        meta = {r: json.load(open(os.path.join(reg, r + ".json"))) for r in ("targets", "snapshot", "timestamp")}
        t = meta["targets"]
        t["signed"]["targets"][name] = {"length": 1, "hashes": {"sha256": "ab" * 32}}
        t["signed"]["version"] += 1
        tbytes = sign(t, der, keyid, tmp)
        open(os.path.join(reg, "targets.json"), "wb").write(tbytes)
        s = meta["snapshot"]
        s["signed"]["meta"]["targets.json"] = {"version": t["signed"]["version"], "length": len(tbytes),
                                               "hashes": {"sha256": hashlib.sha256(tbytes).hexdigest()}}
        s["signed"]["version"] += 1
        snap = sign(s, der, keyid, tmp)
        open(os.path.join(reg, "snapshot.json"), "wb").write(snap)
        ts = meta["timestamp"]
        ts["signed"]["meta"]["snapshot.json"] = {"version": s["signed"]["version"], "length": len(snap),
                                                 "hashes": {"sha256": hashlib.sha256(snap).hexdigest()}}
        ts["signed"]["version"] += 1
        open(os.path.join(reg, "timestamp.json"), "wb").write(sign(ts, der, keyid, tmp))

main()
PY
}

# poison_timestamp FILE FIELD: the hostile string before FIELD's value in
# FILE's signed part, signatures left as they were (a mirror cannot sign).
poison_timestamp() {
  python3 - "$1" "$2" "$HOSTILE_PY" <<'PY'
import ast, json, sys
path, field, hostile = sys.argv[1], sys.argv[2], ast.literal_eval(sys.argv[3])
doc = json.load(open(path))
doc["signed"][field] = hostile + doc["signed"][field]
open(path, "w", encoding="utf-8").write(json.dumps(doc, indent=1, ensure_ascii=False))
PY
}

# project DIR: a project on the fixture registry.
project() {
  "$PL" -q init --python "$PY" --registry "$FIX/reg" --root "$FIX/trusted-root.json" "$1"
}

# ---- metadata a mirror serves before any signature is checked ----------------

# mirror_attack FIELD EXPECTED-LINE: served over http by nginx, a timestamp.json
# whose FIELD carries the hostile string is refused with EXPECTED-LINE, byte
# for byte, and the client's state is as the good verify left it.
mirror_attack() {
  local reg="$FIX/www/$BATS_TEST_NUMBER" state="$BATS_TEST_TMPDIR/tufstate"
  cp -a "$FIX/reg" "$reg"
  capture "$PL" registry verify "$NGINX_HTTP/$BATS_TEST_NUMBER" --root "$FIX/trusted-root.json" --state "$state"
  [ "$status" -eq 0 ] || { cat "$ERR"; return 1; }
  local before
  before=$(tree_digest "$state")
  poison_timestamp "$reg/timestamp.json" "$1"
  grep -q $'\x1b]0;pwned\x07' "$reg/timestamp.json" && return 1 # JSON-escaped in the file...
  grep -q $'\xc2\x9b31m\xe2\x80\xae' "$reg/timestamp.json"        # ...these two raw
  capture "$PL" registry verify "$NGINX_HTTP/$BATS_TEST_NUMBER" --root "$FIX/trusted-root.json" --state "$state"
  [ "$status" -eq 1 ] || { echo "status $status"; cat "$OUT" "$ERR"; return 1; }
  assert_safe "$ERR"
  assert_safe "$OUT"
  assert_line "$ERR" 1 "$2"
  [ "$(grep -vc '^pylock: hint: ' "$ERR")" -eq 1 ]
  assert_eq "$(tree_digest "$state")" "$before"
}

@test "a_mirror_s_unsigned_type_with_escape_sequences_is_refused_and_shown_escaped" {
  mirror_attack _type "pylock: registry verify: timestamp.json: wrong _type: expected \"timestamp\", got \"${SHOWN}timestamp\""
}

@test "a_mirror_s_unsigned_spec_version_with_escape_sequences_is_refused_and_shown_escaped" {
  mirror_attack spec_version "pylock: registry verify: timestamp.json: unsupported spec_version: expected 1.x, got \"${SHOWN}1.0.31\""
}

@test "a_mirror_s_unsigned_expires_with_escape_sequences_is_refused_and_shown_escaped" {
  local exp
  exp=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["signed"]["expires"])' "$FIX/reg/timestamp.json")
  mirror_attack expires "pylock: registry verify: timestamp.json: expires is not YYYY-MM-DDTHH:MM:SSZ: \"${SHOWN}${exp}\""
}

@test "raw_c1_bidi_and_invalid_utf8_bytes_in_metadata_are_shown_escaped" {
  local state="$BATS_TEST_TMPDIR/tufstate" reg="$BATS_TEST_TMPDIR/reg"
  cp -a "$FIX/reg" "$reg"
  "$PL" -q registry verify "$reg" --root "$FIX/trusted-root.json" --state "$state"
  local before
  before=$(tree_digest "$state")
  # Valid UTF-8 C1 and bidi characters, then a raw 0x9b (not UTF-8): the
  # parser's error quotes the text before the bad byte.
  printf '{"signed": {"_type": "ok\xc2\x9b[31m\xe2\x80\xae\x9b\xff"}}' >"$reg/timestamp.json"
  capture "$PL" registry verify "$reg" --root "$FIX/trusted-root.json" --state "$state"
  [ "$status" -eq 1 ]
  assert_safe "$ERR"
  assert_line "$ERR" 1 "pylock: registry verify: timestamp.json: invalid JSON at line 1 column 30: unable to decode byte 0x9b near '\"ok\\u009b[31m\\u202e'"
  assert_eq "$(tree_digest "$state")" "$before"
}

# ---- target names the registry signs ---------------------------------------

@test "a_signed_target_name_with_escape_sequences_is_refused_and_shown_escaped_by_verify_and_lock" {
  local reg="$BATS_TEST_TMPDIR/reg" state="$BATS_TEST_TMPDIR/tufstate"
  cp -a "$FIX/reg" "$reg"
  "$PL" -q registry verify "$reg" --root "$FIX/trusted-root.json" --state "$state"
  local before name
  before=$(tree_digest "$state")
  name=$(python3 -c 'import ast, sys; print("evil" + ast.literal_eval(sys.argv[1]) + ".txt")' "$HOSTILE_PY")
  python3 "$FIX/tufedit.py" add-target "$reg" "$KEYS/k.key" "$name"
  local refused="targets.json: target \"evil${SHOWN}.txt\" has an unsafe path or malformed length/hashes"
  # Validly signed, yet its name is no safe path: the whole targets.json is
  # refused, naming the target escaped, and nothing of it is kept.
  capture "$PL" registry verify "$reg" --root "$FIX/trusted-root.json" --state "$state" --targets
  [ "$status" -eq 1 ] || { cat "$OUT" "$ERR"; return 1; }
  assert_safe "$ERR"
  assert_eq "$(cat "$OUT")" ""
  assert_eq "$(cat "$ERR")" "pylock: registry verify: $refused"
  assert_eq "$(tree_digest "$state")" "$before"
  # A project on that registry: lock fails the same way and the lock stays.
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
  sed -i "s|^registry = .*|registry = \"$reg\"|; s|^requested = \\[\\]|requested = [\"six\"]|" "$PROJ/pylock.toml"
  local lock_before
  lock_before=$(sha256sum <"$PROJ/pylock.toml")
  capture "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ] || { cat "$ERR"; return 1; }
  assert_safe "$ERR"
  assert_line "$ERR" 2 "pylock: lock: $refused"
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock_before"
}

# ---- strings of a pylock.toml from a pull request ----------------------------

# hostile_lock REGEX REPLACEMENT: the first match of REGEX (Python) in the
# project's pylock.toml replaced; @H@ in REPLACEMENT is the hostile string as
# TOML writes it (ESC, BEL and DEL as \u escapes, C1 and RLO raw).
hostile_lock() {
  python3 - "$PROJ/pylock.toml" "$1" "$2" <<'PY'
import re, sys
path, regex, repl = sys.argv[1:4]
toml = "\\u001b]0;pwned\\u0007\\u001b[2J\\u007f\u009b31m\u202e"
text = open(path, encoding="utf-8").read()
m = re.search(regex, text, re.M)
assert m, regex
text = text[:m.start()] + m.expand(repl).replace("@H@", toml) + text[m.end():]
open(path, "w", encoding="utf-8").write(text)
PY
  grep -q $'\xc2\x9b31m\xe2\x80\xae' "$PROJ/pylock.toml"
}

@test "a_requested_requirement_with_escapes_is_shown_escaped_by_sync_lock_and_ci_json" {
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
  hostile_lock '^requested = \[\]' 'requested = ["six@H@"]'
  local lock_before gen_before
  lock_before=$(sha256sum <"$PROJ/pylock.toml")
  gen_before=$("$PL" -C "$PROJ" info generation)
  capture "$PL" -C "$PROJ" sync --frozen
  [ "$status" -eq 1 ]
  assert_safe "$ERR"
  assert_line "$ERR" 1 "pylock: sync: pylock.toml: tool.pylock.requested[0]: requirement \"six${SHOWN}\": expected '[', a version specifier, '@', ';' or the end (column 4)"
  # ci --json: the JSON decodes to the very string of the lock, and the
  # command never ran.
  cd "$PROJ"
  capture "$PL" ci --json -- touch "$BATS_TEST_TMPDIR/ran"
  [ "$status" -eq 1 ]
  [ ! -e "$BATS_TEST_TMPDIR/ran" ]
  assert_safe "$ERR" json
  # The requirement was quoted by the parser already (lib's own rule), so the
  # JSON carries that quoting: no raw control, valid JSON.
  grep -qF '"error": "pylock.toml: tool.pylock.requested[0]: requirement \"six\\x1b]0;pwned\\x07\\x1b[2J\\x7f\\u009b31m\\u202e\"' "$ERR"
  # lock refuses it the same way, escaped too, before pip sees it.
  capture "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  assert_safe "$ERR"
  assert_contains "$(cat "$ERR")" "pylock: lock: pylock.toml: tool.pylock.requested[0]: requirement \"six${SHOWN}\""
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock_before"
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen_before"
}

@test "a_registry_url_with_escapes_is_shown_escaped_in_progress_and_errors" {
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
  hostile_lock '^registry = "(.*)"' 'registry = "\1@H@"'
  local lock_before
  lock_before=$(sha256sum <"$PROJ/pylock.toml")
  capture "$PL" -C "$PROJ" lock
  [ "$status" -eq 1 ]
  assert_safe "$ERR"
  assert_line "$ERR" 1 "pylock: updating signed metadata of $FIX/reg$SHOWN"
  assert_line "$ERR" 2 "pylock: lock: open registry directory $FIX/reg$SHOWN: No such file or directory"
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock_before"
}

@test "a_locked_package_name_and_version_with_escapes_are_refused_and_shown_escaped" {
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
  hostile_lock '^packages = \[\]' "packages = [{name = \"evil@H@\", version = \"1@H@\", wheels = [{name = \"evil-1-py3-none-any.whl\", url = \"http://127.0.0.1:9/e.whl\", size = 1, hashes = {sha256 = \"$(printf 'ab%.0s' {1..32})\"}}]}]"
  local gen_before
  gen_before=$("$PL" -C "$PROJ" info generation)
  capture "$PL" -C "$PROJ" sync
  [ "$status" -eq 1 ]
  assert_safe "$ERR"
  assert_line "$ERR" 1 "pylock: sync: pylock.toml: packages[0]: 'evil${SHOWN}' is not a valid project name"
  cd "$PROJ"
  capture "$PL" ci --json -- true
  [ "$status" -eq 1 ]
  assert_safe "$ERR" json
  assert_eq "$(json_error "$ERR")" "\"pylock.toml: packages[0]: 'evil\\x1b]0;pwned\\x07\\x1b[2J\\x7f\\x9b31m\\u202e' is not a valid project name\""
  assert_eq "$("$PL" -C "$PROJ" info generation)" "$gen_before"
}

# ---- names in an environment, a trust store ----------------------------------

@test "verify_shows_a_file_name_with_escapes_and_invalid_utf8_escaped_and_ci_rebuilds" {
  PROJ="$BATS_TEST_TMPDIR/proj"
  project "$PROJ"
  local purelib dir rel name
  purelib=$(interp purelib)
  dir=$(gen_dir purelib)
  rel=${dir#"$("$PL" -C "$PROJ" info layer)/"}
  chmod u+w "$dir"
  # ESC, BEL, a raw 0x9b and 0xff (not UTF-8), a C1 as UTF-8, a bidi override.
  name=$(printf 'evil\033]0;pwned\007\x9b\xff\xc2\x9b\xe2\x80\xae.py')
  touch "$dir/$name"
  capture "$PL" -C "$PROJ" verify
  [ "$status" -eq 1 ]
  assert_safe "$OUT"
  assert_line "$OUT" 1 "unlisted: $rel/evil\\x1b]0;pwned\\x07\\x9b\\xff\\u009b\\u202e.py: not in pylock's manifest"
  # ci's sync sees the generation changed and builds it again, without the file.
  cd "$PROJ"
  capture "$PL" ci --json -- touch "$BATS_TEST_TMPDIR/ran"
  [ "$status" -eq 0 ] || { cat "$ERR"; return 1; }
  [ -e "$BATS_TEST_TMPDIR/ran" ]
  assert_safe "$ERR" json
  grep -q "changed since it was built" "$ERR"
  [ ! -e "$(gen_dir purelib)/$name" ]
}

@test "trust_list_shows_an_invalid_root_s_problem_escaped_in_its_own_column" {
  mkdir -p "$XDG_CONFIG_HOME/pylock/trust.d"
  cp "$FIX/trusted-root.json" "$XDG_CONFIG_HOME/pylock/trust.d/good.json"
  cp "$FIX/trusted-root.json" "$XDG_CONFIG_HOME/pylock/trust.d/evil.json"
  python3 - "$XDG_CONFIG_HOME/pylock/trust.d/evil.json" "$HOSTILE_PY" <<'PY'
import ast, json, sys
doc = json.load(open(sys.argv[1]))
doc["signed"]["_type"] = ast.literal_eval(sys.argv[2]) + "\troot\nfake\tline"
open(sys.argv[1], "w").write(json.dumps(doc, ensure_ascii=False))
PY
  capture "$PL" trust list
  [ "$status" -eq 0 ] || { cat "$ERR"; return 1; }
  assert_safe "$OUT" tsv
  # Five tab-separated fields on each line: a tab or newline inside a field
  # cannot make a column or a line.
  awk -F'\t' 'NF != 5 { exit 1 }' "$OUT"
  [ "$(wc -l <"$OUT")" -eq 2 ]
  local evil="$XDG_CONFIG_HOME/pylock/trust.d/evil.json"
  assert_line "$OUT" 1 "evil"$'\t'"user"$'\t'"invalid"$'\t'"$evil: wrong _type: expected \"root\", got \"${SHOWN}\\troot\\nfake\\tline\""$'\t'"$evil"
  assert_contains "$(sed -n 2p "$OUT")" $'good\tuser\tversion 1\texpires '
}
