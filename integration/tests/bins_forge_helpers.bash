# Reading and forging a hashed-bin registry's metadata, shared by bins.bats and
# verify_stream.bats (after bins_helpers): bins, versions, digests, nginx's log.
# SPDX-License-Identifier: Apache-2.0

tuf_tool() {
  node "$PYLOCK_SCRATCH/interop/tuf-tool.js" "$@"
}

# bin_of TARGET: the succinct bin (of 16) a target name falls in.
bin_of() {
  python3 -c 'import hashlib,sys; print("bins-%x" % (int(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:8], 16) >> 28))' "$1"
}

# listed ROLE: the version the current snapshot lists for ROLE.
listed() {
  python3 - "$REG" "$1" <<'EOF'
import json, sys
reg, role = sys.argv[1], sys.argv[2]
ts = json.load(open(f"{reg}/timestamp.json"))["signed"]
v = ts["meta"]["snapshot.json"]["version"]
snap = json.load(open(f"{reg}/{v}.snapshot.json"))["signed"]
print(snap["meta"][f"{role}.json"]["version"])
EOF
}

state_digest() {
  [ -d "$STATE" ] || { echo "no state"; return; }
  (cd "$STATE" && find . -type f -exec sha256sum {} + | sort -k2)
}

# Requests nginx served for this test's registry since the log was cleared.
clear_log() { : >"$NGINX_DIR/access.log"; }
served() { grep -o "GET /$NAME/[^ ]*" "$NGINX_DIR/access.log" | sed "s|GET /$NAME/||" | sort; }

# republish_snapshot ROLE=VERSION: a new snapshot version listing ROLE at
# VERSION, and a timestamp over it, both signed with the online key (what a
# holder of the online key can publish).
republish_snapshot() {
  python3 - "$REG" "$1" <<'EOF'
import json, sys
reg, edit = sys.argv[1], sys.argv[2]
ts = json.load(open(f"{reg}/timestamp.json"))
v = ts["signed"]["meta"]["snapshot.json"]["version"]
snap = json.load(open(f"{reg}/{v}.snapshot.json"))
snap["signed"]["version"] = v + 1
role, version = edit.split("=")
snap["signed"]["meta"][f"{role}.json"]["version"] = int(version)
json.dump(snap, open(f"{reg}/{v + 1}.snapshot.json", "w"))
EOF
  local v
  v=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["meta"]["snapshot.json"]["version"] + 1)' "$REG/timestamp.json")
  tuf_tool resign "$REG/$v.snapshot.json" --key "$ON"
  python3 - "$REG" "$v" <<'EOF'
import hashlib, json, sys
reg, v = sys.argv[1], int(sys.argv[2])
raw = open(f"{reg}/{v}.snapshot.json", "rb").read()
ts = json.load(open(f"{reg}/timestamp.json"))
ts["signed"]["version"] += 1
ts["signed"]["meta"]["snapshot.json"] = {"version": v, "length": len(raw),
                                         "hashes": {"sha256": hashlib.sha256(raw).hexdigest()}}
json.dump(ts, open(f"{reg}/timestamp.json", "w"))
EOF
  tuf_tool resign "$REG/timestamp.json" --key "$ON"
}

# list_in_next_bin TARGET WHEEL: TARGET's entry moved out of its own bin
# ($own) into the next one ($other), pointing at WHEEL's bytes (their sha256
# in $evil_sha), and both bins signed again with the online (bins) key.
list_in_next_bin() {
  local t=$1
  own=$(bin_of "$t")
  other=bins-$(printf '%x' $(((0x${own#bins-} + 1) % 16)))
  evil_sha=$(sha256sum "$2" | cut -d' ' -f1)
  python3 - "$REG/$(listed "$own").$own.json" "$REG/$(listed "$other").$other.json" "$t" "$evil_sha" \
    "$(stat -c %s "$2")" <<'EOF'
import json, sys
own, other, t, sha, size = sys.argv[1:]
a, b = json.load(open(own)), json.load(open(other))
del a["signed"]["targets"][t]
b["signed"]["targets"][t] = {"length": int(size), "hashes": {"sha256": sha}}
json.dump(a, open(own, "w")); json.dump(b, open(other, "w"))
EOF
  tuf_tool resign "$REG/$(listed "$own").$own.json" --key "$ON"
  tuf_tool resign "$REG/$(listed "$other").$other.json" --key "$ON"
}
