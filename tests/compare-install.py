#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""compare-install.py PIP_PREFIX OURS: is the generation OURS what pip
installed into PIP_PREFIX from the same wheels?  Exit 0 when it is.

Accepted differences, and why:
- INSTALLER says pylock, not pip (its RECORD row differs accordingly);
- direct_url.json: pip writes it for a wheel given as a file (PEP 610);
  pylock installs from a registry;
- modes: pylock's files are 0444/0555 (shared read-only with the cache),
  pip's 0644/0755: only the executable bits are compared;
- byte-code: the source mtime in the header (bytes 8-11) is the time of
  each installer's own extraction; and for a file outside the lib directory
  (.data/scripts, .data/data) pip compiles "site-packages/../../../bin/x.py"
  into co_filename where pylock writes the normalized path; and CPython
  3.11's marshal marks objects for back-references by their refcount in the
  compiling process (pip compiles in-process, pylock in compileall's
  workers), so equal code can serialize differently: then the code objects
  are compared (== compares everything but co_filename) and the file names.
"""
import marshal
import os
import sys

pip_root, ours_root = sys.argv[1], sys.argv[2]
problems = []


def files(root):
    out = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def record_rows(path):
    with open(path, "rb") as f:
        return [r for r in f.read().split(b"\r\n")
                if b"/INSTALLER," not in r and b"/direct_url.json," not in r]


def same_code(a, b):
    """Compare code objects, co_filename apart (code == ignores it)."""
    return a == b


a, b = files(pip_root), files(ours_root)
for rel in sorted(a - b):
    if not rel.endswith("/direct_url.json"):
        problems.append("only pip installed " + rel)
for rel in sorted(b - a):
    problems.append("only pylock installed " + rel)
for rel in sorted(a & b):
    pa, pb = os.path.join(pip_root, rel), os.path.join(ours_root, rel)
    if bool(os.stat(pa).st_mode & 0o111) != bool(os.stat(pb).st_mode & 0o111):
        problems.append("executable bit differs: " + rel)
    da, db = open(pa, "rb").read(), open(pb, "rb").read()
    name = os.path.basename(rel)
    if name == "INSTALLER":
        if db != b"pylock\n":
            problems.append("INSTALLER is not pylock: " + rel)
    elif name == "RECORD":
        if record_rows(pa) != record_rows(pb):
            problems.append("RECORD differs: " + rel)
    elif rel.endswith(".pyc"):
        if da[:8] != db[:8]:
            problems.append("byte-code header differs: " + rel)
        elif da[16:] != db[16:]:
            ca, cb = marshal.loads(da[16:]), marshal.loads(db[16:])
            if not (cb.co_filename == os.path.normpath(ca.co_filename) and same_code(ca, cb)):
                problems.append("byte-code differs: %s (%s vs %s)" % (rel, ca.co_filename,
                                                                      cb.co_filename))
    elif da != db:
        problems.append("content differs: " + rel)

for p in problems:
    print(p)
print("compared %d files, %d differences" % (len(a & b), len(problems)))
sys.exit(1 if problems else 0)
