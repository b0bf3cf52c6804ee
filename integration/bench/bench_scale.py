#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench-scale: registries at the scale of a public index (issue 14).

A synthetic registry of TARGETS targets over TARGETS/5 projects (each two
wheels, their .metadata and its PEP 691 index target) in 16,384 hashed bins
written by `pylock registry init --bins --project-index`, then filled here:
every bin and the snapshot and timestamp over them carry real ed25519
signatures by the registry's own online key (only the synthetic targets'
files do not exist).  The real wheels of integration/fixtures/make-wheels.py
are then added with `pylock registry add`.  Side by side, today's
single-targets.json layout (no index targets) at 10,000 and 100,000 targets,
and a PEP 458 registry as python-tuf and tuf-js write it (16,384 bins
delegated by explicit path_hash_prefixes).  Measured:

- publisher: `pylock registry add` of one real wheel (median of 5: time,
  bytes of the files it wrote, peak RSS);
- client: `pylock lock` of a project requiring 10 packages (16 with their
  dependencies), cold (empty state and cache), then with the wheel cache
  warm but the state empty: bytes downloaded by kind (TUF metadata and bins,
  index targets, .metadata, wheels), pylock's time apart from pip's own
  resolution time, peak RSS (pip's process included);
- client, warm state, nothing published since: the same lock again (its
  TUF update reads the timestamp alone), and `registry verify --target` of
  one wheel, cold and warm, for the RSS of pylock alone.

BENCH_SCALE_SINGLE=0 leaves the single-targets.json layouts out.

Prints a table; asserts nothing.  Usage: bench_scale.py PYLOCK [TARGETS]"""
import hashlib, json, os, re, shutil, socket, subprocess, sys, tempfile, time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchkeys  # noqa: E402

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


REQUIRES = ["requests", "jinja2", "click", "pygments", "packaging", "six", "toml", "xmltodict",
            "httplib2", "distro"]
PY = os.environ.get("BENCH_PYTHON", "/opt/python3.12/bin/python3.12")


def synthetic(i, per=4):
    """Target i of project i // per: its two wheels and their .metadata, and
    with per 5 its index target."""
    p, k = divmod(i, per)
    if k == 4:
        return "simple/proj%06d/index.json" % p
    w = "proj%06d-%d.0-py3-none-any.whl" % (p, k // 2 + 1)
    return w if k % 2 == 0 else w + ".metadata"


def entry(name, i):
    h = hashlib.sha256(name.encode()).digest()
    return {"length": 1000 + i % 977, "hashes": {"sha256": hashlib.sha256(h).hexdigest()}}


def sign_tail(reg, key, keyid, meta, version=2):
    """snapshot (listing meta) and timestamp at version, consistent names."""
    expires = "2099-01-01T00:00:00Z"
    snap = {"_type": "snapshot", "spec_version": "1.0.31", "version": version, "expires": expires,
            "meta": meta}
    sdata = sign_to(os.path.join(reg, "%d.snapshot.json" % version), snap, key, keyid)
    ts = {"_type": "timestamp", "spec_version": "1.0.31", "version": version, "expires": expires,
          "meta": {"snapshot.json": {"version": version, "length": len(sdata),
                                     "hashes": {"sha256": hashlib.sha256(sdata).hexdigest()}}}}
    sign_to(os.path.join(reg, "timestamp.json"), ts, key, keyid)


def fill_binned(pl, reg, offline, online, n):
    subprocess.run([pl, "-q", "registry", "init", reg, "--key", offline, "--online-key", online,
                    "--bins", str(BINS), "--project-index"], check=True)
    key = load_key(online)
    root = json.load(open(os.path.join(reg, "root.json")))["signed"]
    keyid = root["roles"]["snapshot"]["keyids"][0]
    bits = BINS.bit_length() - 1
    bins = [dict() for _ in range(BINS)]
    marker = "simple/index-layout.json"  # init's, in its bin: kept
    mb = int.from_bytes(hashlib.sha256(marker.encode()).digest()[:4], "big") >> (32 - bits)
    bins[mb] = json.load(open(os.path.join(reg, "1.bins-%04x.json" % mb)))["signed"]["targets"]
    for i in range(n):
        name = synthetic(i, 5)
        b = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big") >> (32 - bits)
        bins[b][name] = entry(name, i)
    meta = json.load(open(os.path.join(reg, "1.snapshot.json")))["signed"]["meta"]
    for b in range(BINS):
        role = "bins-%04x" % b
        body = {"_type": "targets", "spec_version": "1.0.31", "version": 2,
                "expires": "2099-01-01T00:00:00Z", "targets": bins[b]}
        sign_to(os.path.join(reg, "2.%s.json" % role), body, key, keyid)
        meta["%s.json" % role] = {"version": 2}
    sign_tail(reg, key, keyid, meta)


def fill_pep458(pl, reg, offline, online, n, wheels):
    """A registry as python-tuf's hashed-bin example writes it: targets.json
    delegates to 16,384 roles by explicit path_hash_prefixes (4 hex digits,
    4 a bin), consistent snapshots; the real wheels among the targets."""
    subprocess.run([pl, "-q", "registry", "init", reg, "--key", offline, "--online-key", online,
                    "--bins", "2", "--no-project-index"], check=True)
    root = json.load(open(os.path.join(reg, "root.json")))["signed"]
    okey, nkey = load_key(offline), load_key(online)
    okid = root["roles"]["targets"]["keyids"][0]
    nkid = root["roles"]["snapshot"]["keyids"][0]
    bins = [dict() for _ in range(BINS)]
    files = [(os.path.basename(w), open(w, "rb").read()) for w in wheels]
    for i in range(n):
        name = synthetic(i)
        bins[int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) // 4][name] = entry(name, i)
    os.makedirs(os.path.join(reg, "targets"), exist_ok=True)
    for name, data in files:
        sha = hashlib.sha256(data).hexdigest()
        bins[int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) // 4][name] = {
            "length": len(data), "hashes": {"sha256": sha}}
        open(os.path.join(reg, "targets", "%s.%s" % (sha, name)), "wb").write(data)
    expires = "2099-01-01T00:00:00Z"
    roles = [{"name": "bin-%04x" % b, "keyids": [nkid], "threshold": 1, "terminating": False,
              "path_hash_prefixes": ["%04x" % (4 * b + k) for k in range(4)]} for b in range(BINS)]
    tg = {"_type": "targets", "spec_version": "1.0.31", "version": 2, "expires": expires,
          "targets": {}, "delegations": {"keys": {nkid: root["keys"][nkid]}, "roles": roles}}
    tdata = sign_to(os.path.join(reg, "2.targets.json"), tg, okey, okid)
    meta = {"targets.json": {"version": 2, "length": len(tdata),
                             "hashes": {"sha256": hashlib.sha256(tdata).hexdigest()}}}
    for b in range(BINS):
        body = {"_type": "targets", "spec_version": "1.0.31", "version": 1, "expires": expires,
                "targets": bins[b]}
        sign_to(os.path.join(reg, "1.bin-%04x.json" % b), body, nkey, nkid)
        meta["bin-%04x.json" % b] = {"version": 1}
    sign_tail(reg, nkey, nkid, meta)


def fill_single(pl, reg, key_file, n):
    subprocess.run([pl, "-q", "registry", "init", reg, "--key", key_file, "--no-project-index"],
                   check=True)
    key = load_key(key_file)
    root = json.load(open(os.path.join(reg, "root.json")))["signed"]
    keyid = root["roles"]["targets"]["keyids"][0]
    expires = "2099-01-01T00:00:00Z"
    targets = {}
    for i in range(n):
        name = synthetic(i)
        targets[name] = entry(name, i)
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


class Nginx:
    """The registries served as in production, by nginx over loopback
    (keep-alive, sendfile); its access log gives each request's path and
    body bytes."""

    def __init__(self, work, root):
        self.dir = os.path.join(work, "nginx")
        os.makedirs(os.path.join(self.dir, "tmp"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log_path = os.path.join(self.dir, "access.log")
        d = self.dir
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""daemon on; pid %s/nginx.pid; worker_processes 1; error_log %s/error.log warn;
events { worker_connections 256; }
http {
  log_format sized '$request_uri $body_bytes_sent';
  access_log %s sized;
  client_body_temp_path %s/tmp/body; proxy_temp_path %s/tmp/proxy;
  fastcgi_temp_path %s/tmp/fastcgi; uwsgi_temp_path %s/tmp/uwsgi; scgi_temp_path %s/tmp/scgi;
  types { application/json json; }
  default_type application/octet-stream;
  sendfile on;
  server { listen 127.0.0.1:%d; root %s; }
}
""" % (d, d, self.log_path, d, d, d, d, d, self.port, root))
        subprocess.run(["/usr/sbin/nginx", "-p", d, "-c", conf, "-e", "stderr"], check=True)
        self.base = "http://127.0.0.1:%d" % self.port

    def clear(self):
        open(self.log_path, "w").close()

    def log(self):
        out = []
        for line in open(self.log_path):
            parts = line.split()
            if len(parts) == 2:
                out.append((parts[0], int(parts[1])))
        return out

    def stop(self):
        try:
            os.kill(int(open(os.path.join(self.dir, "nginx.pid")).read()), 15)
        except (OSError, ValueError):
            pass


SERVER = None


def kind(path):
    if "/targets/simple/" in path:
        return "index"
    if path.endswith(".metadata"):
        return "metadata"
    if "/targets/" in path:
        return "wheels"
    return "tuf"


def by_kind():
    out = {"tuf": 0, "index": 0, "metadata": 0, "wheels": 0, "requests": 0}
    for p, s in SERVER.log():
        out[kind(p)] += s
        out["requests"] += 1
    return out


def fmt_bytes(k):
    return "%.2f MB TUF+bins, %.3f MB index, %.2f MB .metadata, %.2f MB wheels, %d requests" % (
        k["tuf"] / 1e6, k["index"] / 1e6, k["metadata"] / 1e6, k["wheels"] / 1e6, k["requests"])


PIP_LINE = re.compile(r"pip ran \d+ time\(s\) in ([0-9.]+) s; .* fetched and checked in ([0-9.]+) s, "
                      r"([0-9.]+) s of CPU; sent in ([0-9.]+) s")
UPDATE_LINE = re.compile(r"updated in ([0-9.]+) s \(([0-9.]+) s of CPU\)")


def lock(pl, work, url, anchor, state, cache):
    """A fresh project locking REQUIRES: (wall s, pip's own s, TUF update s,
    serving pip s, RSS MB, packages locked)."""
    env = dict(os.environ, XDG_STATE_HOME=state, XDG_CACHE_HOME=cache, PYLOCK_KEEPALIVE="0",
               XDG_CONFIG_HOME=os.path.join(work, "config"))
    proj = tempfile.mkdtemp(prefix="proj.", dir=work)
    subprocess.run([pl, "-q", "init", "--python", PY, "--registry", url, "--root", anchor, proj],
                   check=True, env=env)
    with open(os.path.join(proj, "pyproject.toml"), "w") as f:
        f.write('[project]\nname = "bench"\nversion = "0"\ndependencies = %s\n'
                % json.dumps(REQUIRES))
    SERVER.clear()
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", pl, "-v", "-C", proj, "lock"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("lock failed: %s" % p.stderr[-3000:])
    m = PIP_LINE.search(p.stderr)
    u = UPDATE_LINE.search(p.stderr)
    if not m or not u:
        sys.exit("no timing lines in pylock -v's output: %s" % p.stderr[-2000:])
    pip_wall, fetch, fetch_cpu, sent = (float(g) for g in m.groups())
    u = [float(g) for g in u.groups()]
    npkg = open(os.path.join(proj, "pylock.toml")).read().count("[[packages]]")
    return {"wall": dt, "pip_own": pip_wall - fetch - sent, "update": u[0], "update_cpu": u[1],
            "fetch": fetch, "fetch_cpu": fetch_cpu, "npkg": npkg,
            "rss": int(p.stderr.strip().split("\n")[-1]) / 1024}


def measure(pl, name, reg, wheels, bumped, key_args, url, rows, work):
    anchor = os.path.join(work, name + "-root.json")
    shutil.copy(os.path.join(reg, "1.root.json"), anchor)
    if wheels and not name.startswith("pep458"):  # pep458's are in its bins already
        subprocess.run([pl, "-q", "registry", "add", reg] + key_args + wheels, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    adds = []
    for w in bumped:
        before = tree(reg)
        dt, rss = run_rss([pl, "-q", "registry", "add", reg] + key_args + [w])
        adds.append((dt, written(before, tree(reg)), rss))
    if adds:
        dt, wr, rss = sorted(adds)[len(adds) // 2]
        rows.append((name, "registry add (1 wheel, median of %d)" % len(adds),
                     "%.3f s" % dt, "%.2f MB written" % (wr / 1e6), "%.0f MB" % rss))
    if name.startswith("pep458"):
        state = os.path.join(work, name + "-vstate")
        cmd = [pl, "registry", "verify", url, "--root", anchor, "--state", state]
        for w in wheels[:10]:
            cmd += ["--target", os.path.basename(w)]
        for what in ("cold", "warm"):
            SERVER.clear()
            dt, rss = run_rss(cmd)
            rows.append((name, "verify --target x10, %s" % what, "%.3f s" % dt, fmt_bytes(by_kind()),
                         "%.0f MB" % rss))
        return
    # Cold: an empty state root.  Then the same root without the registry's
    # verified metadata (bins included): only the wheel cache is warm.
    state = tempfile.mkdtemp(prefix="state.", dir=work)
    cache = os.path.join(work, name + "-xdgcache")
    for what in ("cold", "no TUF state, wheels cached", "warm, nothing published"):
        if not what.startswith("warm"):
            shutil.rmtree(os.path.join(state, "pylock", "registries"), ignore_errors=True)
        r = lock(pl, work, url, anchor, state, cache)
        rows.append((name, "lock %d reqs (%d pkgs), %s" % (len(REQUIRES), r["npkg"], what),
                     "%.3f s: metadata %.3f s, %.3f s CPU (update %.3f + files %.3f), "
                     "pip's own %.3f s" % (r["wall"], r["update"] + r["fetch"],
                                           r["update_cpu"] + r["fetch_cpu"], r["update"],
                                           r["fetch"], r["pip_own"]),
                     fmt_bytes(by_kind()), "%.0f MB (with pip)" % r["rss"]))
    state = os.path.join(work, name + "-vstate")
    cmd = [pl, "registry", "verify", url, "--root", anchor, "--state", state, "--target",
           "six-1.16.0-py3-none-any.whl"]
    for what in ("cold", "warm, nothing published"):
        SERVER.clear()
        dt, rss = run_rss(cmd)
        rows.append((name, "%s: verify --target (pylock alone)" % what, "%.3f s" % dt,
                     fmt_bytes(by_kind()), "%.0f MB" % rss))


def main():
    pl = os.path.abspath(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    work = tempfile.mkdtemp(prefix="pylock-bench-scale.")
    os.chmod(work, 0o755)
    try:
        wdir = os.path.join(work, "wheels")
        subprocess.run([sys.executable, os.path.join(HERE, "../fixtures/make-wheels.py"), wdir],
                       check=True, stdout=subprocess.DEVNULL)
        wheels = sorted(os.path.join(wdir, w) for w in os.listdir(wdir))
        bumped = []
        for v in ("1.17.0", "1.18.0", "1.19.0", "1.20.0", "1.21.0"):
            out = subprocess.run([sys.executable, os.path.join(HERE, "../fixtures/make-wheels.py"),
                                  "--bump", os.path.join(wdir, "six-1.16.0-py3-none-any.whl"), v,
                                  os.path.join(work, "bumped")], check=True, text=True,
                                 stdout=subprocess.PIPE).stdout.strip()
            bumped.append(os.path.join(work, "bumped", out))
        keys = {}
        for k in ("offline", "online"):
            keys[k] = benchkeys.generate(pl, "scale-" + k + ".key")
        www = os.path.join(work, "www")
        os.makedirs(www)
        global SERVER
        SERVER = Nginx(work, www)
        base = SERVER.base
        rows = []
        sizes = [s for s in (10_000, 100_000) if s <= n and os.environ.get("BENCH_SCALE_SINGLE", "1") == "1"]
        for size in sizes:
            name = "single-%d" % size
            t = time.perf_counter()
            fill_single(pl, os.path.join(www, name), keys["offline"], size)
            print("generated %s in %.1f s" % (name, time.perf_counter() - t), file=sys.stderr)
            measure(pl, name, os.path.join(www, name), wheels, bumped[:3], ["--key", keys["offline"]],
                    base + "/" + name, rows, work)
        name = "bins-index-%d" % n
        t = time.perf_counter()
        fill_binned(pl, os.path.join(www, name), keys["offline"], keys["online"], n)
        print("generated %s in %.1f s" % (name, time.perf_counter() - t), file=sys.stderr)
        measure(pl, name, os.path.join(www, name), wheels, bumped, ["--key", keys["online"]],
                base + "/" + name, rows, work)
        name = "pep458-prefixes-%d" % n
        t = time.perf_counter()
        fill_pep458(pl, os.path.join(www, name), keys["offline"], keys["online"], n, wheels)
        print("generated %s in %.1f s" % (name, time.perf_counter() - t), file=sys.stderr)
        measure(pl, name, os.path.join(www, name), wheels, [], [], base + "/" + name, rows, work)
        w = [max(len(r[i]) for r in rows) for i in range(5)]
        for r in rows:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
    finally:
        if SERVER:
            SERVER.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
