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
