# Registry forgery for the re-signing tests (registry_resign.bats,
# attacks_r8.bats): what anyone who can write a registry's directory can do
# without a key.  Needs REG (the registry's directory).
# SPDX-License-Identifier: Apache-2.0

# reg_digest [DIR]: every entry under DIR (default: $REG) with its type and
# mode, then every file's sha256.
reg_digest() {
  (cd "${1:-$REG}" && find . -mindepth 1 -printf '%p %y %m\n' | LC_ALL=C sort &&
    find . -type f -exec sha256sum {} + | LC_ALL=C sort)
}

# forge add FILE | forge rehash TARGET FILE: what any writer of the
# directory can do, with no key: list FILE (its bytes copied in) as a
# target of the role a client looks it up in (targets.json, or its hashed
# bin), or give published TARGET the hash and bytes of FILE.  Prints the
# document it edited.
forge() {
  python3 - "$REG" "$@" <<'PY'
import hashlib, json, os, shutil, sys
reg, mode = sys.argv[1:3]
name = os.path.basename(sys.argv[3]) if mode == "add" else sys.argv[3]
src = sys.argv[-1]
data = open(src, "rb").read()
sha = hashlib.sha256(data).hexdigest()
root = json.load(open(f"{reg}/root.json"))["signed"]
consistent = root.get("consistent_snapshot", False)
ts = json.load(open(f"{reg}/timestamp.json"))["signed"]
sv = ts["meta"]["snapshot.json"]["version"]
snap = json.load(open(f"{reg}/{sv}.snapshot.json" if consistent else f"{reg}/snapshot.json"))["signed"]
def role_file(role):
    v = snap["meta"][role + ".json"]["version"]
    return f"{v}.{role}.json" if consistent else f"{role}.json"
role = "targets"
d = json.load(open(f"{reg}/{role_file('targets')}"))["signed"].get("delegations")
if d and "succinct_roles" in d:
    sr = d["succinct_roles"]
    bits = sr["bit_length"]
    b = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") >> (32 - bits)
    role = "%s-%0*x" % (sr["name_prefix"], len("%x" % ((1 << bits) - 1)), b)
path = f"{reg}/{role_file(role)}"
doc = json.load(open(path))
doc["signed"]["targets"][name] = {"hashes": {"sha256": sha}, "length": len(data)}
shutil.copy(src, f"{reg}/targets/" + (f"{sha}.{name}" if consistent else name))
json.dump(doc, open(path, "w"))
print(os.path.basename(path))
PY
}

# take_over FILE [as-yours]: what a writer of the directory can do before the
# maintainer's first command on a machine (no record there yet): a root of
# the next version that adds a key of theirs to every role, signed by that
# key alone, and targets (FILE listed), snapshot and timestamp re-signed by
# it; as-yours: their key put in under the keyid of the maintainer's root
# key.  A registry with one targets.json only.  With TAKE_OVER_KEY set to
# a pylock key file, that key is theirs.
take_over() {
  python3 - "$REG" "$@" <<'PY'
import hashlib, json, os, shutil, subprocess, sys, tempfile
reg, src = sys.argv[1:3]
# Their key, made and used with openssl; canonical JSON of these bodies
# (ASCII strings, integers) is sorted keys without spaces.
tmp = tempfile.mkdtemp()
sk = f"{tmp}/their.pem"
if os.environ.get("TAKE_OVER_KEY"):
    seed = bytes.fromhex(open(os.environ["TAKE_OVER_KEY"]).read().split()[1])
    der = bytes.fromhex("302e020100300506032b657004220420") + seed
    subprocess.run(["openssl", "pkey", "-inform", "DER", "-out", sk], input=der, check=True)
else:
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", sk], check=True)
pub = subprocess.run(["openssl", "pkey", "-in", sk, "-pubout", "-outform", "DER"],
                     check=True, capture_output=True).stdout[-32:].hex()
def canonical(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
def sign(msg):
    open(f"{tmp}/msg", "wb").write(msg)
    return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", sk, "-in", f"{tmp}/msg"],
                          check=True, capture_output=True).stdout.hex()
key = {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": pub}}
kid = hashlib.sha256(canonical(key)).hexdigest()
if len(sys.argv) > 3:
    # as-yours: their key under the keyid of the maintainer's root key.
    kid = json.load(open(f"{reg}/root.json"))["signed"]["roles"]["root"]["keyids"][0]
def load(name):
    return json.load(open(f"{reg}/{name}"))["signed"]
def write(names, body):
    sig = sign(canonical(body))
    data = json.dumps({"signatures": [{"keyid": kid, "sig": sig}], "signed": body}).encode()
    for n in names:
        open(f"{reg}/{n}", "wb").write(data)
    return data
def meta(data, version):
    return {"version": version, "length": len(data),
            "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}
root = load("root.json")
root["version"] += 1
root["keys"][kid] = key
for r in root["roles"].values():
    if kid not in r["keyids"]:
        r["keyids"].append(kid)
cons = root.get("consistent_snapshot", False)
write(["root.json", f"{root['version']}.root.json"], root)
ts = load("timestamp.json")
sv = ts["meta"]["snapshot.json"]["version"]
snap = load(f"{sv}.snapshot.json" if cons else "snapshot.json")
tv = snap["meta"]["targets.json"]["version"]
targets = load(f"{tv}.targets.json" if cons else "targets.json")
data = open(src, "rb").read()
name = os.path.basename(src)
sha = hashlib.sha256(data).hexdigest()
targets["targets"][name] = {"hashes": {"sha256": sha}, "length": len(data)}
shutil.copy(src, f"{reg}/targets/" + (f"{sha}.{name}" if cons else name))
targets["version"] += 1
tdata = write([f"{targets['version']}.targets.json" if cons else "targets.json"], targets)
snap["version"] += 1
snap["meta"]["targets.json"] = meta(tdata, targets["version"])
sdata = write([f"{snap['version']}.snapshot.json" if cons else "snapshot.json"], snap)
ts["version"] += 1
ts["meta"]["snapshot.json"] = meta(sdata, snap["version"])
write(["timestamp.json"], ts)
PY
}
