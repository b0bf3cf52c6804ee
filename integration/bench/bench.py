#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""pylock benchmarks (run by integration/bench/run as an unprivileged user).

startup: `pylock run python3 -c pass` against bare python, the exec+seccomp
floor, pylock without keep-alive, and bubblewrap doing the equivalent setup,
all interleaved in the same run; medians and ratios.  Then the comparison a
user would make: `pylock run` in a project holding the 14 fixture packages
(bench_sync.REQUESTED) against a venv holding the same packages.
registry, wheels: see bench_trust.py.
sync: 14 wheels, warm and cold cache, against pip: see bench_sync.py."""
import argparse, os, shutil, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from abtime import measure  # noqa: E402
import bench_init  # noqa: E402
import bench_shim  # noqa: E402
import bench_sync  # noqa: E402
import bench_trust  # noqa: E402


def project(d, pl, python, tag=""):
    proj = os.path.join(d, "proj" + tag + "-" +
                        os.path.basename(os.path.dirname(os.path.dirname(python))))
    if not os.path.exists(proj):
        subprocess.run([pl, "-q", "init", "--python", python, proj], check=True)
    if os.path.isdir(proj + "/.pylock"):  # a baseline binary of the old layout
        info = dict(l.split("=", 1) for l in open(proj + "/.pylock/interp").read().splitlines()
                    if "=" in l)
        return proj, info, os.path.join(proj, ".pylock", os.readlink(proj + "/.pylock/current"))
    state = subprocess.run([pl, "-C", proj, "info", "state"], check=True, capture_output=True,
                           text=True).stdout.strip()
    layer = subprocess.run([pl, "-C", proj, "info", "layer"], check=True, capture_output=True,
                           text=True).stdout.strip()
    info = dict(l.split("=", 1) for l in open(state + "/interp").read().splitlines() if "=" in l)
    return proj, info, layer


def startup(d, rounds, python):
    pl = os.path.join(d, "pylock")
    proj, info, layer = project(d, pl, python)
    os.chdir(proj)
    prefix, purelib = info["prefix"], info["purelib"]
    layer_purelib = layer + purelib[len(prefix):]
    py = info["python"]
    cmds = {
        "bare python": [py, "-c", "pass"],
        "exec+seccomp floor": [os.path.join(d, "exec-floor"), py, "-c", "pass"],
        "pylock run": [pl, "run", py, "-c", "pass"],
    }
    bwrap = shutil.which("bwrap")
    if bwrap:
        cmds["bwrap (equivalent setup)"] = [
            bwrap, "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/", "--dev", "/dev",
            "--proc", "/proc", "--ro-bind", layer_purelib, purelib, py, "-c", "pass"]
    cmds["pylock run, no keep-alive"] = [pl, "run", py, "-c", "pass"]
    # BENCH_BASELINE: an earlier pylock binary, measured in the same run (its
    # own project: the state layout may differ).
    base = os.environ.get("BENCH_BASELINE")
    if base:
        bpl = os.path.join(d, "pylock-baseline")
        if not os.path.exists(bpl):
            shutil.copy(base, bpl)
        bproj, _, _ = project(d, bpl, python, "-baseline")
        cmds["baseline: pylock run"] = [bpl, "-C", bproj, "run", py, "-c", "pass"]
        cmds["baseline: no keep-alive"] = [bpl, "-C", bproj, "run", py, "-c", "pass"]
    # The 14 fixture packages: a synced project (its own state, config and
    # warm cache: bench_sync.prepare's env) and a venv pip filled with the
    # same wheel files.
    pkgs = packages_setup(d, pl, python)
    cmds[PKG_RUN] = [pl, "-C", pkgs["project"], "run", py, "-c", "pass"]
    cmds[PKG_VENV] = [pkgs["venv_python"], "-c", "pass"]
    # The same run by the full program (PREFIX/lib/pylock/pylock), without the static
    # front end that makes a joined run itself.
    full = os.path.join(os.path.dirname(os.path.realpath(pl)), "..", "lib", "pylock", "pylock")
    if os.path.exists(full):
        cmds[PKG_FULL] = [full, "-C", pkgs["project"], "run", py, "-c", "pass"]
    if base:
        cmds["baseline: run, 14 packages"] = [bpl, "-C", packages_baseline(bpl, pkgs, python),
                                              "run", py, "-c", "pass"]
    names = list(cmds)
    envs = [dict(os.environ, PYLOCK_KEEPALIVE="0") if n.endswith("no keep-alive")
            else pkgs["env"] if "14 packages" in n and not n.startswith("venv") else None
            for n in names]
    res = measure([cmds[n] for n in names], rounds, 20, envs)
    med = dict(zip(names, (r["median"] for r in res)))
    bare = med["bare python"]
    print("\nstartup: run python -c pass  (%s, Python %s; %d interleaved rounds, median wall time)"
          % (py, info["version"], rounds))
    for n, m in med.items():
        extra = "" if n == "bare python" else "  %+6.2f ms  x%.3f" % (m - bare, m / bare)
        print("  %-28s %7.2f ms%s" % (n, m, extra))
    over = med["pylock run"] - bare
    print("  pylock run over bare python: %+.2f ms (goal <= +0.5 ms); over the exec+seccomp floor: %+.2f ms"
          % (over, med["pylock run"] - med["exec+seccomp floor"]))
    if bwrap:
        bw = med["bwrap (equivalent setup)"] - bare
        print("  overhead ratio pylock/bwrap: %.2f  (pylock %+.2f ms, bwrap %+.2f ms)" % (over / bw, over, bw))
    pv = med[PKG_RUN] - med[PKG_VENV]
    print("  pylock run over a venv holding the same 14 packages: %+.2f ms (goal <= +0.5 ms); "
          "the venv over bare python: %+.2f ms" % (pv, med[PKG_VENV] - bare))
    if PKG_FULL in med:
        print("  the same by the full program, without the front end: %+.2f ms over the venv"
              % (med[PKG_FULL] - med[PKG_VENV]))
    if base:
        print("  against the baseline binary: joined %+.2f ms, fresh %+.2f ms, 14 packages %+.2f ms"
              % (med["pylock run"] - med["baseline: pylock run"],
                 med["pylock run, no keep-alive"] - med["baseline: no keep-alive"],
                 med[PKG_RUN] - med["baseline: run, 14 packages"]))


PKG_RUN = "pylock run, 14 packages"
PKG_VENV = "venv with the 14 packages"
PKG_FULL = "full program, 14 packages"


def packages_setup(d, pl, python):
    """The 14 fixture packages, installed by pylock (a synced project) and by
    pip into a venv, once per base interpreter."""
    tag = os.path.basename(os.path.dirname(os.path.dirname(python))) or "base"
    w = os.path.join(d, "startup-pkgs-" + tag)
    venv = os.path.join(w, "venv")
    _, env, lock, _, _, wheel_files = bench_sync.prepare(d, pl, python, os.path.basename(w))
    subprocess.run([python, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q",
                    "--no-index", "--no-deps", "--disable-pip-version-check"] + wheel_files,
                   check=True)
    return {"project": os.path.dirname(lock), "env": env, "w": w, "lock": lock,
            "venv_python": os.path.join(venv, "bin", "python")}


def packages_baseline(bpl, pkgs, python):
    """The same lock synced by the baseline binary, from the same warm cache."""
    proj = os.path.join(pkgs["w"], "baseline-template")
    if not os.path.exists(proj):
        subprocess.run([bpl, "-q", "init", "--python", python, proj], env=pkgs["env"], check=True)
        shutil.copyfile(pkgs["lock"], os.path.join(proj, "pylock.toml"))
        subprocess.run([bpl, "-q", "-C", proj, "sync"], env=pkgs["env"], check=True)
    return proj


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rounds", type=int, default=300)
    a = ap.parse_args()
    bases = [p for p in ("/opt/python3.12/bin/python3.12", "/usr/bin/python3") if os.access(p, os.X_OK)]
    # BENCH_PYTHON=PATH: only that base.
    if os.environ.get("BENCH_PYTHON"):
        bases = [p for p in bases if p == os.environ["BENCH_PYTHON"]]
    # BENCH_ONLY=sync,trust,...: only those parts (startup, trust, sync).
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    want = lambda part: not only or part in only  # noqa: E731
    for python in bases if want("startup") else []:
        startup(a.dir, a.rounds, python)
        bench_shim.shim(a.dir, a.rounds, python)
        bench_init.init(a.dir, a.rounds, python)
    # Each round of these takes ~0.1 s, not ~10 ms: fewer of them.
    if want("trust"):
        bench_trust.registry(a.dir, max(5, a.rounds // 20))
        bench_trust.wheels(a.dir, max(5, a.rounds // 10), os.path.join(a.dir, "wheels"))
    # A round of these takes seconds (pip ~3 s, venv creation ~3 s untimed).
    if "/opt/python3.12/bin/python3.12" in bases and want("sync"):
        bench_sync.sync(a.dir, max(3, a.rounds // 60), "/opt/python3.12/bin/python3.12")


if __name__ == "__main__":
    main()
