#!/usr/bin/env bats
# One pip run per resolution (issue 14), the real binary end to end on each
# base interpreter, against a registry served by nginx on loopback: a cold
# resolution of a multi-package set execs pip exactly once (counted by
# strace, not by pylock's word), pip no program to describe the system,
# and fetches each file from the registry at most once (counted in
# nginx's access log); pip, in a sandbox whose only
# network is loopback, gets its index, metadata and wheels from pylock's
# server, each checked against the signed target before a byte reaches it;
# a .metadata file the registry serves tampered is refused mid-resolution,
# a wheel when pylock fetches it after (pip resolves from .metadata), and
# nothing changes: pylock.toml, the environment, the
# cache; code in pip's place (a registry's "pip") gets 404 or 400 for all
# but the signed files, a refusal from the registry's own server, and the
# signed bytes exactly.  (direct_refs.bats proves that a signed .metadata
# or wheel with a direct reference is still refused before pip reads it.)
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers
load attack_helpers
load "$PYLOCK_SCRATCH/lib/nginx"

setup_file() {
  export FIX="$BATS_FILE_TMPDIR"
  python3 "$PYLOCK_BIN/make-wheels.py" "$FIX/wheels" >/dev/null
  mkdir -p "$FIX/www"
  "$PL" key generate -o "$KEYS/k.key" >/dev/null
  "$PL" -q registry init "$FIX/www/reg" --key "$KEYS/k.key"
  # Every wheel with its PEP 658 .metadata (registry add signs both).
  "$PL" -q registry add "$FIX/www/reg" --key "$KEYS/k.key" "$FIX"/wheels/*.whl 2>/dev/null
  cp "$FIX/www/reg/1.root.json" "$FIX/trusted-root.json"
  nginx_start "$FIX/nginx" "$FIX/www"
}

teardown_file() {
  nginx_stop
}

setup() {
  # A cold state (cache and TUF state) for every test.
  export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config" XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
  export PYLOCK_KEEPALIVE=0
  PROJ="$BATS_TEST_TMPDIR/proj"
}

teardown() {
  chmod -R u+w "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

# project DIR REGISTRY_URL: a new project on the base under test.
project() {
  "$PL" -q init --python "$PY" --registry "$2" --root "$FIX/trusted-root.json" "$1"
}

# pip_installs TRACE: how many times pip's `install` was exec'd (through
# pylock's driver: -c and its code, strace cuts it short, first).
pip_installs() {
  grep -E 'execve\(".*", \[".*", "-I", ("-c", "[^"]*"(\.\.\.)?, )?("-m", "pip"|"[^"]*/pip"), "install"' "$1" |
    grep -c '= 0$' || true
}

# registry_copy NAME: a copy of the fixture registry served by nginx; its URL.
registry_copy() {
  cp -a "$FIX/www/reg" "$FIX/www/$1"
  echo "$NGINX_HTTP/$1"
}

# fetches LOG REGNAME PATTERN: GETs of that registry copy's targets matching PATTERN.
fetches() {
  grep -c "GET /$2/targets/$3" "$1" || true
}

@test "a cold resolution of a multi-package set runs pip exactly once" {
  local url log=$FIX/nginx/access.log
  url=$(registry_copy cold)
  project "$PROJ" "$url"
  run --separate-stderr strace -f -qq -e trace=execve -e signal=none -o "$BATS_TEST_TMPDIR/trace" \
    "$PL" -C "$PROJ" install requests jinja2 pygments
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  # Nine packages (requests' four dependencies, six for urllib3, markupsafe).
  names=$(grep -A1 '^\[\[packages\]\]$' "$PROJ/pylock.toml" | sed -n 's/^name = "\(.*\)"$/\1/p' |
    sort | tr '\n' ' ')
  assert_eq "$names" "Jinja2 MarkupSafe Pygments certifi charset-normalizer idna requests six urllib3 "
  assert_eq "$(pip_installs "$BATS_TEST_TMPDIR/trace")" 1
  assert_contains "$stderr" "pip ran 1 time(s)"
  # pip works out its User-Agent from the system: `lsb_release -a` (a shell
  # script on Debian: uname, tr, cut...) and `rustc --version`, some 25
  # programs a resolution.  pylock's driver gives it a fixed one.
  run ! grep -E 'execve\("[^"]*/(lsb_release|uname|rustc)"' "$BATS_TEST_TMPDIR/trace"
  # Each wheel and each .metadata came from the registry once, however
  # often pip asked for it (pip 23.0 downloads a wheel twice).
  local w
  for w in requests-2.28.1 jinja2-3.1.2 markupsafe six-1.16.0 urllib3 idna certifi \
    charset_normalizer pygments; do
    assert_eq "$(fetches "$log" cold "${w}[^/ ]*\.whl ")" 1
    assert_eq "$(fetches "$log" cold "${w}[^/ ]*\.whl\.metadata ")" 1
  done
  # Wheels pip never asked for were not fetched: click, docutils, chardet...
  assert_eq "$(fetches "$log" cold "click-")" 0
  assert_eq "$(fetches "$log" cold "docutils-")" 0
  # What pip resolved is what imports in the environment.
  run --separate-stderr "$PL" -C "$PROJ" run python3 -c 'import requests, jinja2, pygments; print(requests.__version__)'
  [ "$status" -eq 0 ]
  assert_eq "$output" "2.28.1"
}

@test "a warm resolution runs pip once and fetches no wheel again" {
  local url log=$FIX/nginx/access.log
  url=$(registry_copy warm)
  project "$PROJ" "$url"
  "$PL" -q -C "$PROJ" install requests
  project "$PROJ.2" "$url"
  local before
  before=$(fetches "$log" warm "[^ ]*\.whl ")
  run --separate-stderr strace -f -qq -e trace=execve -e signal=none -o "$BATS_TEST_TMPDIR/trace" \
    "$PL" -C "$PROJ.2" install requests click
  [ "$status" -eq 0 ] || { echo "$stderr"; false; }
  assert_eq "$(pip_installs "$BATS_TEST_TMPDIR/trace")" 1
  # From the shared cache, checked again: only click's wheel is new.
  assert_eq "$(fetches "$log" warm "[^ ]*\.whl ")" "$((before + 1))"
  assert_eq "$(fetches "$log" warm "click-[^ ]*\.whl ")" 1
}

# tampered_refused REGNAME FILE WHY: install requests from a copy of the
# registry whose target FILE nginx serves altered after signing; it must
# fail naming FILE and WHY, with nothing changed.
tampered_refused() {
  local url=$NGINX_HTTP/$1 file=$2 why=$3
  project "$PROJ" "$url"
  "$PL" -q -C "$PROJ" install six
  local lock_before env_before state
  lock_before=$(sha256sum <"$PROJ/pylock.toml")
  env_before=$(tree_digest "$(layer_dir)")
  state=$("$PL" -C "$PROJ" info state-root)
  run --separate-stderr strace -f -qq -e trace=execve -e signal=none -o "$BATS_TEST_TMPDIR/trace" \
    timeout 300 "$PL" -C "$PROJ" install requests
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
  assert_contains "$stderr" "$file"
  assert_contains "$stderr" "$why"
  # Still one pip run: the refusal ended it, pylock did not retry.
  assert_eq "$(pip_installs "$BATS_TEST_TMPDIR/trace")" 1
  # Nothing changed: the lock, the environment; the tampered bytes are in
  # no cache file.
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock_before"
  assert_eq "$(tree_digest "$(layer_dir)")" "$env_before"
  local bad
  bad=$(sha256sum "$FIX/www/$1/targets/$file" | cut -d' ' -f1)
  run find "$state" -name "$bad*"
  assert_eq "$output" ""
  run "$PL" -C "$PROJ" list
  assert_eq "$(awk '{print $1}' <<<"$output")" "six"
}

@test "a wheel the registry serves tampered is refused before use, nothing installed" {
  registry_copy tampered-wheel >/dev/null
  local t=$FIX/www/tampered-wheel/targets w
  w=$(basename "$(ls "$t"/urllib3-*.whl)")
  # Other bytes than signed, the same length: one byte of the code flipped.
  python3 - "$t/$w" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 3] ^= 0xFF
open(p, "wb").write(b)
PY
  tampered_refused tampered-wheel "$w" "sha256"
}

@test "a .metadata file the registry serves tampered is refused, nothing installed" {
  registry_copy tampered-metadata >/dev/null
  local t=$FIX/www/tampered-metadata/targets m
  m=$(basename "$(ls "$t"/urllib3-*.whl.metadata)")
  # A dependency changed after signing, the same length: pip must never read it.
  sed -i 's/^Requires-Dist: six$/Requires-Dist: evi/' "$t/$m"
  grep -q '^Requires-Dist: evi$' "$t/$m"
  tampered_refused tampered-metadata "$m" "sha256"
  # pip asked for it: the index server refused it mid-resolution.
  assert_contains "$stderr" "refuses"
}

@test "a truncated wheel from the registry is refused by its signed length" {
  registry_copy truncated >/dev/null
  local t=$FIX/www/truncated/targets w
  w=$(basename "$(ls "$t"/idna-*.whl)")
  truncate -s 1000 "$t/$w"
  tampered_refused truncated "$w" "length"
}

# probe_pip OUT PORT: a wheel pip-99.0 whose `pip` is the attacker's code,
# not pip: run in pip's place in the resolver's sandbox, it asks pylock's
# index server for what is not a signed target, speaks other than HTTP to
# it, fetches a signed wheel, tries the registry's own server (nginx, PORT
# in the host's network), and reports each answer as pip's ERROR line.
probe_pip() {
  python3 - "$1" "$2" <<'PY'
import base64, hashlib, sys, zipfile
out, port = sys.argv[1], int(sys.argv[2])
main = r'''
import hashlib, socket
def ask(raw):
    try:
        c = socket.create_connection(("127.0.0.1", 8658), timeout=20)
        c.sendall(raw)
        data = b""
        while True:
            b = c.recv(65536)
            if not b:
                break
            data += b
        c.close()
    except OSError as e:
        return "ERR " + type(e).__name__, b""
    head, _, body = data.partition(b"\r\n\r\n")
    return (head.split(b" ")[1].decode() if head.startswith(b"HTTP/1.1 ") else "none"), body
def get(path):
    return ask(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n\r\n")
r = {}
for i, p in enumerate(["/files/..%2F..%2F..%2Fetc%2Fpasswd", "/files/../targets.json", "/targets.json",
          "/1.root.json", "/simple/..%2F..%2F", "/simple/six/../../targets.json",
          "/files/six-1.16.0-py3-none-any.whl%00.metadata", "/etc/passwd",
          "/files/nonexistent-1.0-py3-none-any.whl"]):
    r["p%d" % i] = get(p)[0]
r["POST"] = ask(b"POST /simple/six/ HTTP/1.1\r\nContent-Length: 0\r\n\r\n")[0]
r["garbage"] = ask(b"\x16\x03\x01 not http\r\n\r\n")[0]
r["huge"] = ask(b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n")[0]
st, body = get("/files/six-1.16.0-py3-none-any.whl")
r["six"] = st + " " + hashlib.sha256(body).hexdigest()[:16]
r["six-page"] = get("/simple/six/")[0]
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=5).close()
    r["registry"] = "reached"
except OSError as e:
    r["registry"] = type(e).__name__
print("ERROR: probe " + " ".join("%s=%s" % (k, v.replace(" ", "_")) for k, v in r.items()))
raise SystemExit(1)
'''.replace("PORT", str(port))
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
files = {
    "pip/__init__.py": b"",
    "pip/__main__.py": main.encode(),
    "pip-99.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pip\nVersion: 99.0\n",
    "pip-99.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: probe\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
rec = "".join("%s,%s,%d\n" % (n, digest(b), len(b)) for n, b in files.items())
rec += "pip-99.0.dist-info/RECORD,,\n"
files["pip-99.0.dist-info/RECORD"] = rec.encode()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for n, b in files.items():
        z.writestr(zipfile.ZipInfo(n, (1980, 1, 1, 0, 0, 0)), b)
PY
}

@test "code in pip's place reaches signed files only, and not the registry's server" {
  base_blind
  # The registry signs the attacker's "pip" (a hostile registry may): run
  # as the registry's pip, it is code in the resolver's sandbox.
  local reg=$FIX/www/probe port
  cp -a "$FIX/www/reg" "$reg"
  port=${NGINX_HTTP##*:}
  mkdir -p "$BATS_TEST_TMPDIR/w"
  probe_pip "$BATS_TEST_TMPDIR/w/pip-99.0-py3-none-any.whl" "$port"
  "$PL" -q registry add "$reg" --key "$KEYS/k.key" "$BATS_TEST_TMPDIR/w/pip-99.0-py3-none-any.whl"
  # The control: from the host's network, nginx answers on that port.
  curl -fsS -o /dev/null "$NGINX_HTTP/probe/timestamp.json"
  project "$PROJ" "$NGINX_HTTP/probe"
  local lock_before
  lock_before=$(sha256sum <"$PROJ/pylock.toml")
  run --separate-stderr env PYLOCK_RESOLVE_PIP=registry timeout 300 "$PL" -C "$PROJ" install six
  [ "$status" -eq 1 ] || { echo "status $status: $stderr"; false; }
  local probe six_sha
  probe=$(sed -n 's/.*"probe \([^"]*\)".*/\1/p' <<<"$stderr")
  [ -n "$probe" ] || { echo "no probe line: $stderr"; false; }
  echo "# what the code in pip's place got: $probe" >&3
  six_sha=$(sha256sum "$FIX/wheels/six-1.16.0-py3-none-any.whl" | cut -c1-16)
  python3 - "$probe" "$six_sha" <<'PY'
import sys
r, six = dict(kv.split("=", 1) for kv in sys.argv[1].split()), sys.argv[2]
bad = {k: v for k, v in r.items() if k.startswith("p") and v not in ("404", "400")}
assert not bad, "served what is not a signed target: %r" % r
assert r["POST"] == "400" and r["garbage"] == "400", r
# Dropped unanswered.
assert r["huge"] in ("none", "ERR_ConnectionResetError", "ERR_BrokenPipeError"), r
assert r["six"] == "200_" + six, r  # the signed bytes, exactly
assert r["six-page"] == "200", r
assert r["registry"] in ("ConnectionRefusedError", "OSError", "TimeoutError"), r
PY
  # Nothing changed, nothing installed.
  assert_eq "$(sha256sum <"$PROJ/pylock.toml")" "$lock_before"
  run "$PL" -C "$PROJ" list
  assert_contains "$output" "holds no packages"
}
