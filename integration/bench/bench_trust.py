# SPDX-License-Identifier: Apache-2.0
"""make bench, trust sections (called by bench.py, as an unprivileged user).

registry: the full client update and signature verification of a registry
with 10,000 targets (5,000 tiny valid wheels and their .metadata, signed by
pylock's own writer), `pylock registry verify DIR --root ROOT` with a fresh
state directory each run, against python-securesystemslib verifying the same
four roles' signatures (sslib_verify.py).

wheels: pylock's full wheel verification (safe zip, WHEEL/METADATA, inflate
and sha256 of every file against RECORD) over real wheels, in uncompressed
MB/s, against sha256sum over the same files extracted once.

Both interleave the commands round by round and report medians; MB = 10^6 bytes."""
import base64, glob, hashlib, os, shutil, statistics, subprocess, sys, time, zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from abtime import measure  # noqa: E402
import benchkeys  # noqa: E402

REFERENCE_PYTHON = "/usr/bin/python3"  # Debian's, where python3-securesystemslib lives
EPOCH = (2020, 1, 1, 0, 0, 0)


def _row(path, data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, d, len(data))


def make_wheels(out, n):
    """n tiny valid wheels pkgNNNNN-1.0-py3-none-any.whl; returns their paths."""
    os.makedirs(out, exist_ok=True)
    paths = []
    for i in range(n):
        name, di = "pkg%05d" % i, "pkg%05d-1.0.dist-info" % i
        files = {
            name + "/__init__.py": b"N = %d\n" % i,
            di + "/METADATA": b"Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name.encode(),
            di + "/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
                           b"Tag: py3-none-any\n",
        }
        record = "\n".join([_row(p, d) for p, d in files.items()] + [di + "/RECORD,,"]) + "\n"
        path = os.path.join(out, name + "-1.0-py3-none-any.whl")
        with zipfile.ZipFile(path, "w") as z:
            for p, d in list(files.items()) + [(di + "/RECORD", record.encode())]:
                z.writestr(zipfile.ZipInfo(p, EPOCH), d)
        paths.append(path)
    return paths


def _timed(cmd, env=None):
    t = time.perf_counter_ns()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return (time.perf_counter_ns() - t) / 1e6


def registry(d, rounds, nwheels=5000):
    pl = os.path.join(d, "pylock")
    work = os.path.join(d, "trust-registry")
    shutil.rmtree(work, ignore_errors=True)
    reg, state = os.path.join(work, "reg"), os.path.join(work, "state")
    anchor = os.path.join(reg, "1.root.json")
    env = dict(os.environ, XDG_CONFIG_HOME=benchkeys.config_dir("trust"))
    t = time.perf_counter()
    wheels = make_wheels(os.path.join(work, "wheels"), nwheels)
    t_wheels = time.perf_counter() - t
    subprocess.run([pl, "-q", "key", "generate"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run([pl, "-q", "registry", "init", reg], check=True, env=env)
    t = time.perf_counter()
    subprocess.run([pl, "-q", "registry", "add", reg] + wheels, check=True, env=env)
    t_add = time.perf_counter() - t
    out = subprocess.run([pl, "registry", "verify", reg, "--root", anchor], check=True,
                         capture_output=True, text=True).stdout
    ntargets = int(out.split("target-count: ")[1].split()[0])
    ref = [REFERENCE_PYTHON, os.path.join(d, "sslib_verify.py"), reg, anchor]
    if subprocess.run(ref, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        print("\nregistry: skipped: python3-securesystemslib is missing or fails (%s)" % " ".join(ref))
        return
    cmds = {
        "pylock registry verify": [pl, "registry", "verify", reg, "--root", anchor, "--state", state],
        "securesystemslib, 4 roles": ref,
    }
    warmup, times = 2, {n: [] for n in cmds}
    for r in range(warmup + rounds):
        for n, c in cmds.items():
            shutil.rmtree(state, ignore_errors=True)  # a fresh state dir: no version kept
            dt = _timed(c)
            if r >= warmup:
                times[n].append(dt)
    med = {n: statistics.median(v) for n, v in times.items()}
    print("\nregistry: full client update + signature verification, %d targets (%d wheels + their"
          " .metadata; %d interleaved rounds, median wall time, fresh state dir each run)"
          % (ntargets, nwheels, rounds))
    print("  generated in %.1f s: %d wheels %.1f s, pylock registry add (verify, copy, sign) %.1f s"
          % (t_wheels + t_add, nwheels, t_wheels, t_add))
    for n, m in med.items():
        print("  %-28s %8.2f ms" % (n, m))
    p, s = med["pylock registry verify"], med["securesystemslib, 4 roles"]
    print("  ratio pylock/securesystemslib: %.3f  (pylock %.2f ms, securesystemslib %.2f ms; x%.1f faster)"
          % (p / s, p, s, s / p))


def wheels(d, rounds, wheel_dir):
    paths = sorted(glob.glob(os.path.join(wheel_dir, "*.whl")))
    if not paths:
        print("\nwheels: skipped: no wheels in %s" % wheel_dir)
        return
    helper = os.path.join(d, "wheel-verify")
    out = subprocess.run([helper] + paths, check=True, capture_output=True, text=True).stdout.split()
    nfiles, nbytes = int(out[1]), int(out[3])
    # The same uncompressed bytes as files, for sha256sum.
    ext = os.path.join(d, "trust-extracted")
    shutil.rmtree(ext, ignore_errors=True)
    files, ebytes = [], 0
    for p in paths:
        with zipfile.ZipFile(p) as z:
            for info in z.infolist():
                if not info.is_dir():
                    files.append(z.extract(info, os.path.join(ext, os.path.basename(p))))
                    ebytes += info.file_size
    if ebytes != nbytes or len(files) != nfiles:
        print("  warning: extracted %d files, %d bytes; pylock counted %d files, %d bytes"
              % (len(files), ebytes, nfiles, nbytes))
    res = measure([[helper] + paths, ["/usr/bin/sha256sum"] + files], rounds, 3)
    pm, sm = res[0]["median"], res[1]["median"]
    mbs = lambda ms: nbytes / 1e6 / (ms / 1e3)
    print("\nwheels: sha256 + RECORD verification throughput (%s; %d files, %.1f MB uncompressed;"
          " %d interleaved rounds, median wall time)"
          % (", ".join(os.path.basename(p) for p in paths), nfiles, nbytes / 1e6, rounds))
    print("  %-36s %8.2f ms  %7.1f MB/s" % ("pylock wheel verification (full)", pm, mbs(pm)))
    print("  %-36s %8.2f ms  %7.1f MB/s" % ("sha256sum over the extracted files", sm, mbs(sm)))
    print("  throughput ratio pylock/sha256sum: %.3f  (pylock %.1f MB/s, sha256sum %.1f MB/s)"
          % (mbs(pm) / mbs(sm), mbs(pm), mbs(sm)))
    shutil.rmtree(ext, ignore_errors=True)
