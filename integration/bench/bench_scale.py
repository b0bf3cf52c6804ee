#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench-scale: registries at the scale of a public index (issue 14).

A synthetic registry of TARGETS targets (wheels and their .metadata, half
each, over TARGETS/5 projects) in 16,384 hashed bins written by
`pylock registry init --bins`, then filled here: every bin and the snapshot
and timestamp over them carry real ed25519 signatures by the registry's own
online key (only the synthetic targets' files do not exist).  Side by side,
today's single-targets.json layout at 10,000 and 100,000 targets.  Measured:

- publisher: `pylock registry add` of one real wheel (time, bytes of the
  files it wrote, peak RSS);
- client, cold state: `pylock registry verify URL --target NAME` for 10 real
  wheels over HTTP (loopback, Python's http.server): bytes of metadata
  downloaded, time, peak RSS;
- client, warm state, nothing published since: the same again.

Prints a table; asserts nothing.  Usage: bench_scale.py PYLOCK [TARGETS]"""
import hashlib, http.server, json, os, shutil, subprocess, sys, tempfile
import threading, time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

HERE = os.path.dirname(os.path.abspath(__file__))
BINS = 16384


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_key(path):
    lines = open(path).read().split("\n")
    assert lines[0] == "pylock-ed25519-private-key-v1", path
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(lines[1]))


def sign_to(path, signed, key, keyid):
    env = {"signatures": [{"keyid": keyid, "sig": key.sign(canonical(signed)).hex()}],
           "signed": signed}
    data = (json.dumps(env, indent=1, sort_keys=True) + "\n").encode()
    with open(path, "wb") as f:
        f.write(data)
    return data


def run_rss(cmd):
    """Run cmd under /usr/bin/time; return (seconds, peak RSS MB)."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(cmd), p.stderr))
    return dt, int(p.stderr.strip().split("\n")[-1]) / 1024


def tree(d):
    out = {}
    for root, _, files in os.walk(d):
        for n in files:
            p = os.path.join(root, n)
            st = os.stat(p)
            out[p] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return out


def written(before, after):
    return sum(v[1] for p, v in after.items() if before.get(p) != v)


def synthetic(i):
    """Target i: a wheel (even) or its .metadata (odd), of project i // 10."""
    w = "proj%06d-%d.0-py3-none-any.whl" % (i // 10, (i // 2) % 5)
    return w if i % 2 == 0 else w + ".metadata"


def fill_binned(pl, reg, offline, online, n):
    subprocess.run([pl, "-q", "registry", "init", reg, "--key", offline, "--online-key", online,
                    "--bins", str(BINS)], check=True)
    key = load_key(online)
    root = json.load(open(os.path.join(reg, "root.json")))["signed"]
    keyid = root["roles"]["snapshot"]["keyids"][0]
    bits = BINS.bit_length() - 1
    bins = [dict() for _ in range(BINS)]
    for i in range(n):
        name = synthetic(i)
        h = hashlib.sha256(name.encode()).digest()
        b = int.from_bytes(h[:4], "big") >> (32 - bits)
        bins[b][name] = {"length": 1000 + i % 977, "hashes": {"sha256": hashlib.sha256(h).hexdigest()}}
    expires = "2099-01-01T00:00:00Z"
    meta = json.load(open(os.path.join(reg, "1.snapshot.json")))["signed"]["meta"]
    for b in range(BINS):
        role = "bins-%04x" % b
        body = {"_type": "targets", "spec_version": "1.0.31", "version": 2, "expires": expires,
                "targets": bins[b]}
        sign_to(os.path.join(reg, "2.%s.json" % role), body, key, keyid)
        meta["%s.json" % role] = {"version": 2}
    snap = {"_type": "snapshot", "spec_version": "1.0.31", "version": 2, "expires": expires,
            "meta": meta}
    sdata = sign_to(os.path.join(reg, "2.snapshot.json"), snap, key, keyid)
    ts = {"_type": "timestamp", "spec_version": "1.0.31", "version": 2, "expires": expires,
          "meta": {"snapshot.json": {"version": 2, "length": len(sdata),
                                     "hashes": {"sha256": hashlib.sha256(sdata).hexdigest()}}}}
    sign_to(os.path.join(reg, "timestamp.json"), ts, key, keyid)


def fill_single(pl, reg, key_file, n):
    subprocess.run([pl, "-q", "registry", "init", reg, "--key", key_file], check=True)
    key = load_key(key_file)
    root = json.load(open(os.path.join(reg, "root.json")))["signed"]
    keyid = root["roles"]["targets"]["keyids"][0]
    expires = "2099-01-01T00:00:00Z"
    targets = {}
    for i in range(n):
        name = synthetic(i)
        h = hashlib.sha256(name.encode()).digest()
        targets[name] = {"length": 1000 + i % 977, "hashes": {"sha256": hashlib.sha256(h).hexdigest()}}
    body = {"_type": "targets", "spec_version": "1.0.31", "version": 2, "expires": expires,
            "targets": targets}
    tdata = sign_to(os.path.join(reg, "targets.json"), body, key, keyid)
    snap = {"_type": "snapshot", "spec_version": "1.0.31", "version": 2, "expires": expires,
            "meta": {"targets.json": {"version": 2, "length": len(tdata),
                                      "hashes": {"sha256": hashlib.sha256(tdata).hexdigest()}}}}
    sdata = sign_to(os.path.join(reg, "snapshot.json"), snap, key, keyid)
    ts = {"_type": "timestamp", "spec_version": "1.0.31", "version": 2, "expires": expires,
          "meta": {"snapshot.json": {"version": 2, "length": len(sdata),
                                     "hashes": {"sha256": hashlib.sha256(sdata).hexdigest()}}}}
    sign_to(os.path.join(reg, "timestamp.json"), ts, key, keyid)


class Counting(http.server.SimpleHTTPRequestHandler):
    log = []

    def log_message(self, *a):
        pass

    def send_head(self):
        f = super().send_head()
        if f is not None:
            Counting.log.append((self.path, os.fstat(f.fileno()).st_size))
        return f


def serve(root):
    handler = lambda *a, **kw: Counting(*a, directory=root, **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def measure(pl, name, reg, wheels, key_args, url, rows):
    anchor = os.path.join(os.path.dirname(reg), name + "-root.json")
    shutil.copy(os.path.join(reg, "1.root.json"), anchor)
    adds = []
    for w in wheels:
        before = tree(reg)
        dt, rss = run_rss([pl, "-q", "registry", "add", reg] + key_args + [w])
        adds.append((dt, written(before, tree(reg)), rss))
    dt, wr, rss = sorted(adds)[len(adds) // 2]
    rows.append((name, "registry add (1 wheel, median of %d)" % len(adds),
                 "%.3f s" % dt, "%.2f MB written" % (wr / 1e6), "%.0f MB" % rss))
    state = os.path.join(os.path.dirname(reg), name + "-state")
    names = [os.path.basename(w) for w in wheels]
    cmd = [pl, "registry", "verify", url, "--root", anchor, "--state", state]
    for n in names:
        cmd += ["--target", n]
    for what in ("cold", "warm"):
        Counting.log.clear()
        dt, rss = run_rss(cmd)
        md = sum(s for p, s in Counting.log if "/targets/" not in p)
        tg = sum(s for p, s in Counting.log if "/targets/" in p)
        rows.append((name, "client %s: %d lookups + downloads" % (what, len(names)),
                     "%.3f s" % dt, "%.2f MB metadata (+%.2f MB wheels), %d requests"
                     % (md / 1e6, tg / 1e6, len(Counting.log)), "%.0f MB" % rss))


def main():
    pl = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    work = tempfile.mkdtemp(prefix="pylock-bench-scale.")
    os.chmod(work, 0o755)
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "../fixtures/make-wheels.py"),
                        os.path.join(work, "wheels")], check=True, stdout=subprocess.DEVNULL)
        wheels = sorted(os.path.join(work, "wheels", w) for w in os.listdir(os.path.join(work, "wheels")))[:10]
        keys = {}
        for k in ("offline", "online"):
            keys[k] = os.path.join(work, k + ".key")
            subprocess.run([pl, "key", "generate", "-o", keys[k]], check=True, stdout=subprocess.DEVNULL)
        www = os.path.join(work, "www")
        os.makedirs(www)
        srv = serve(www)
        base = "http://127.0.0.1:%d" % srv.server_address[1]
        rows = []
        for size in (10_000, 100_000):
            name = "single-%d" % size
            t = time.perf_counter()
            fill_single(pl, os.path.join(www, name), keys["offline"], size)
            print("generated %s in %.1f s" % (name, time.perf_counter() - t), file=sys.stderr)
            measure(pl, name, os.path.join(www, name), wheels, ["--key", keys["offline"]],
                    base + "/" + name, rows)
        name = "bins-%d" % n
        t = time.perf_counter()
        fill_binned(pl, os.path.join(www, name), keys["offline"], keys["online"], n)
        print("generated %s in %.1f s" % (name, time.perf_counter() - t), file=sys.stderr)
        measure(pl, name, os.path.join(www, name), wheels, ["--key", keys["online"]],
                base + "/" + name, rows)
        srv.shutdown()
        w = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
