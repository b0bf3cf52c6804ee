#!/bin/sh
# Interop: pylock's canonical JSON and signatures against securesystemslib
# (python3-securesystemslib), the reference every TUF implementation follows.
#   1. canonical form of tricky documents, byte for byte;
#   2. a registry written by `pylock registry` verified by securesystemslib:
#      keyids recomputed, every signature checked over canonical `signed`.
# Run from the top of the tree after `make`.  Speaks TAP.
# SPDX-License-Identifier: Apache-2.0
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
py=${PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import securesystemslib' 2>/dev/null; then
  echo "1..0 # SKIP python3-securesystemslib is not installed"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=gnu11 -D_GNU_SOURCE -I"$top/lib" -I"$top/build/gen" -o "$tmp/canon" \
  "$top/integration/interop/canon.c" "$top/build/libpylock.a" -ldl

n=0 fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $1"; }

i=0
while IFS= read -r doc; do
  i=$((i + 1))
  printf '%s' "$doc" > "$tmp/doc.json"
  "$tmp/canon" < "$tmp/doc.json" > "$tmp/pylock.out"
  "$py" -c 'import json,sys
from securesystemslib.formats import encode_canonical
sys.stdout.buffer.write(encode_canonical(json.load(open(sys.argv[1], encoding="utf-8"))).encode("utf-8"))' \
    "$tmp/doc.json" > "$tmp/ssl.out"
  if cmp -s "$tmp/pylock.out" "$tmp/ssl.out"; then ok "canonical document $i"; else notok "canonical document $i: $doc"; fi
done <<'DOCS'
{"b":1,"a":[true,false,null],"c":{"z":"x","y":-5}}
{"s":"quote\" back\\ nl\n tab\t cr\r uni\u00e9\u4e2d\ud83d\ude00 ctl\u0001\u001f del\u007f slash\/"}
{"\u00e9":1,"z":2,"a":3,"\u4e2d":4,"Z":5,"\ud83d\ude00":6,"\uffff":7,"":8," ":9}
{"n":[0,-1,1,9007199254740993,-9223372036854775808,9223372036854775807]}
{"deep":{"a":{"b":{"c":[[],{},[{}],{"k":[1,[2,[3]]]}]}}},"empty":"","t":true}
{"signed":{"_type":"targets","targets":{"a b+c~d.whl":{"length":1,"hashes":{"sha256":"00"}}}}}
DOCS

# A registry written by the pylock CLI, checked by securesystemslib.
export XDG_CONFIG_HOME="$tmp/cfg"
"$top/pylock/pylock" key generate -o "$tmp/k.key" > /dev/null
"$top/pylock/pylock" -q registry init "$tmp/reg" --key "$tmp/k.key"
"$top/pylock/pylock" -q key generate -o "$tmp/k2.key" > /dev/null
"$top/pylock/pylock" -q registry sign "$tmp/reg" --key "$tmp/k.key" --add-root-key "$tmp/k2.key"
if "$py" - "$tmp/reg" <<'PY'
import hashlib, json, sys
from securesystemslib.formats import encode_canonical
from securesystemslib.keys import verify_signature
reg = sys.argv[1]
root = json.load(open(f"{reg}/root.json"))["signed"]
bad = 0
for keyid, key in root["keys"].items():
    if hashlib.sha256(encode_canonical(key).encode()).hexdigest() != keyid:
        print(f"# keyid {keyid} does not match its key"); bad += 1
for name, role in [("1.root.json", "root"), ("2.root.json", "root"), ("root.json", "root"),
                   ("timestamp.json", "timestamp"), ("snapshot.json", "snapshot"),
                   ("targets.json", "targets")]:
    md = json.load(open(f"{reg}/{name}"))
    data = encode_canonical(md["signed"]).encode()
    good = 0
    for sig in md["signatures"]:
        key = dict(root["keys"][sig["keyid"]], keyid=sig["keyid"])
        good += verify_signature(key, sig, data)
    need = root["roles"][role]["threshold"]
    if good < need:
        print(f"# {name}: {good} valid signatures, threshold {need}"); bad += 1
sys.exit(1 if bad else 0)
PY
then ok "registry written by pylock verifies in securesystemslib"
else notok "registry written by pylock verifies in securesystemslib"; fi
# A registry signed by securesystemslib (consistent snapshots, sha256+sha512
# targets, indented JSON) verified by the pylock CLI.
if "$py" - "$tmp/sslreg" <<'PY'
import hashlib, json, os, sys
from datetime import datetime, timedelta, timezone
from securesystemslib.formats import encode_canonical
from securesystemslib.keys import create_signature, generate_ed25519_key
reg = sys.argv[1]
os.makedirs(f"{reg}/targets")
key = generate_ed25519_key()
pub = {k: key[k] for k in ("keytype", "scheme")} | {"keyval": {"public": key["keyval"]["public"]}}
exp = (datetime.now(timezone.utc) + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%SZ")
def write(name, signed):
    sig = create_signature(key, encode_canonical(signed).encode())
    data = json.dumps({"signed": signed, "signatures": [sig]}, indent=2).encode()
    open(f"{reg}/{name}", "wb").write(data)
    return data
roles = {r: {"keyids": [key["keyid"]], "threshold": 1} for r in ("root", "timestamp", "snapshot", "targets")}
root = {"_type": "root", "spec_version": "1.0.31", "version": 1, "expires": exp,
        "consistent_snapshot": True, "keys": {key["keyid"]: pub}, "roles": roles}
write("1.root.json", root)
blob = b"wheel bytes \xe2\x9c\x93\n"
sha256, sha512 = hashlib.sha256(blob).hexdigest(), hashlib.sha512(blob).hexdigest()
open(f"{reg}/targets/{sha256}.demo-1.0-py3-none-any.whl", "wb").write(blob)
targets = {"_type": "targets", "spec_version": "1.0.31", "version": 3, "expires": exp,
           "targets": {"demo-1.0-py3-none-any.whl": {"length": len(blob),
                       "hashes": {"sha256": sha256, "sha512": sha512}}}}
write("3.targets.json", targets)
snapshot = {"_type": "snapshot", "spec_version": "1.0.31", "version": 2, "expires": exp,
            "meta": {"targets.json": {"version": 3}}}
snap = write("2.snapshot.json", snapshot)
timestamp = {"_type": "timestamp", "spec_version": "1.0.31", "version": 5, "expires": exp,
             "meta": {"snapshot.json": {"version": 2, "length": len(snap),
                      "hashes": {"sha256": hashlib.sha256(snap).hexdigest()}}}}
write("timestamp.json", timestamp)
PY
  out=$("$top/pylock/pylock" registry verify "$tmp/sslreg" --root "$tmp/sslreg/1.root.json" --targets) &&
  printf '%s\n' "$out" | grep -q '^verified: 1 targets$'
then ok "registry signed by securesystemslib verifies in pylock"
else notok "registry signed by securesystemslib verifies in pylock"; fi

echo "1..$n"
[ "$fail" -eq 0 ]
