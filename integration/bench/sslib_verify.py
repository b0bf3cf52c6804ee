#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reference for `make bench`: what `pylock registry verify` does to the four
top-level roles, done by python-securesystemslib (Debian's
python3-securesystemslib): parse each role file, encode its `signed` in
canonical JSON, and verify its signatures against the keys root lists, up to
the role's threshold.  No expiry, version or hash checks: this is the
signature-checking floor of a TUF client in Python.

usage: sslib_verify.py REGISTRY_DIR ROOT_JSON"""
import json, os, sys

from securesystemslib import formats, keys


def verify(doc, root, role):
    signed = formats.encode_canonical(doc["signed"]).encode("utf-8")
    spec = root["roles"][role]
    good = set()
    for sig in doc["signatures"]:
        kid = sig["keyid"]
        if kid in spec["keyids"] and kid not in good:
            key = dict(root["keys"][kid], keyid=kid)
            if keys.verify_signature(key, sig, signed):
                good.add(kid)
    if len(good) < spec["threshold"]:
        sys.exit("%s: %d of %d signatures" % (role, len(good), spec["threshold"]))


def main():
    reg, anchor = sys.argv[1], sys.argv[2]
    with open(anchor, "rb") as f:
        root = json.load(f)
    verify(root, root["signed"], "root")
    n = 0
    for role in ("timestamp", "snapshot", "targets"):
        with open(os.path.join(reg, role + ".json"), "rb") as f:
            doc = json.load(f)
        verify(doc, root["signed"], role)
        if role == "targets":
            n = len(doc["signed"]["targets"])
    print("verified 4 roles, %d targets" % n)


if __name__ == "__main__":
    main()
