#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Benchmark: `pylock registry index` of an existing registry made without
per-project pages (issue 14), at several sizes.

Each registry is written by `pylock registry init --bins 16384
--no-project-index`, then filled here with N synthetic targets (two wheels a
project and their .metadata, the .metadata files real on disk, since index
reads each one's Requires-Python; the wheels' bytes are not read), bins and
snapshot signed with real signatures.  Measured: wall time and peak RSS of
`registry index` (one run each), bytes it writes, and a second `index`
(nothing to do).  Peak RSS should not grow with N: the targets are read one
bin at a time and spilled by project to temporary files.

Prints a table; asserts nothing.  Usage: bench_index.py PYLOCK [N...]"""
import hashlib, json, os, shutil, subprocess, sys, tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkeys  # noqa: E402
from bench_scale import BINS, load_key, run_rss, sign_tail, sign_to, tree, written  # noqa: E402


def metadata(p, k):
    return ("Metadata-Version: 2.1\nName: proj%06d\nVersion: %d.0\nRequires-Python: >=3.%d\n\n"
            % (p, k, 7 + p % 5)).encode()


def fill(pl, reg, offline, online, n):
    subprocess.run([pl, "-q", "registry", "init", reg, "--key", offline, "--online-key", online,
                    "--bins", str(BINS), "--no-project-index"], check=True)
    key = load_key(online)
    root = json.load(open(os.path.join(reg, "root.json")))["signed"]
    keyid = root["roles"]["snapshot"]["keyids"][0]
    bits = BINS.bit_length() - 1
    bins = [dict() for _ in range(BINS)]
    tdir = os.path.join(reg, "targets")
    for i in range(n):
        p, k = divmod(i, 4)
        w = "proj%06d-%d.0-py3-none-any.whl" % (p, k // 2 + 1)
        if k % 2 == 0:
            name = w
            h = hashlib.sha256(name.encode()).hexdigest()
            e = {"length": 1000 + i % 977, "hashes": {"sha256": h}}
        else:
            name = w + ".metadata"
            md = metadata(p, k // 2 + 1)
            h = hashlib.sha256(md).hexdigest()
            with open(os.path.join(tdir, "%s.%s" % (h, name)), "wb") as f:
                f.write(md)
            e = {"length": len(md), "hashes": {"sha256": h}}
        b = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") >> (32 - bits)
        bins[b][name] = e
    meta = json.load(open(os.path.join(reg, "1.snapshot.json")))["signed"]["meta"]
    for b in range(BINS):
        role = "bins-%04x" % b
        body = {"_type": "targets", "spec_version": "1.0.31", "version": 2,
                "expires": "2099-01-01T00:00:00Z", "targets": bins[b]}
        sign_to(os.path.join(reg, "2.%s.json" % role), body, key, keyid)
        meta["%s.json" % role] = {"version": 2}
    sign_tail(reg, key, keyid, meta)


def main():
    pl = os.path.abspath(sys.argv[1])
    sizes = [int(a) for a in sys.argv[2:]] or [10000, 100000]
    work = tempfile.mkdtemp(prefix="pylock-bench-index-")
    os.chmod(work, 0o700)
    try:
        offline, online = benchkeys.generate(pl, "index-off.key"), benchkeys.generate(pl, "index-on.key")
        print("| targets (projects) | `registry index`: time; peak RSS | written | again: time |")
        print("|---|---|---|---|")
        for n in sizes:
            reg = os.path.join(work, "reg%d" % n)
            fill(pl, reg, offline, online, n)
            before = tree(reg)
            dt, rss = run_rss([pl, "-q", "registry", "index", reg, "--key", online])
            wrote = written(before, tree(reg))
            dt2, _ = run_rss([pl, "-q", "registry", "index", reg, "--key", online])
            # A client finds a page through its bin (not a full verify, which
            # reads every bin).
            subprocess.run([pl, "-q", "registry", "verify", reg, "--root",
                            os.path.join(reg, "1.root.json"), "--target",
                            "simple/proj000001/index.json"], check=True,
                           stdout=subprocess.DEVNULL)
            print("| %d (%d) | %.2f s; %.1f MB | %.2f MB | %.2f s |"
                  % (n, n // 4, dt, rss, wrote / 1e6, dt2), flush=True)
            shutil.rmtree(reg)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
