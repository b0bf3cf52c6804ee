#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Install benchmark at scale (make bench-install; issue 14): a cold `pylock install` of
a large set of real distributions against pip installing the same wheels
into a fresh venv, interleaved in the same run.

The set: every distribution of an installed site-packages that pip filled
(integration/fixtures/make-wheels.py --site; by default the pyenv Python
3.11 of this machine, ~90 distributions, pure and compiled, with their own
tags and their real dependency graph), signed into a local registry.  The
requested set is every project whose wheel fits the base interpreter.

  pylock install, cold   an empty state (no cache, no TUF state): TUF update;
                         resolution, one pip run (`pip install --dry-run
                         --report`) served by pylock over loopback (index
                         pages and .metadata, each fetched and verified as
                         asked: pip resolves from them without the wheels);
                         then the wheels fetched (signed length and sha256),
                         checked again, unpacked and RECORD-verified,
                         byte-compiled (one pool, in the sandbox),
                         sealed, linked into a new generation
  pip install            python -m pip install --no-index --find-links WHEELS
                         <the same names> into a fresh venv: resolution, copy,
                         unpack, byte-compile (pip's default)

Untimed: pylock init, python -m venv (with pip).  pylock's stderr gives
the resolution's share ("pip ran N time(s) in S s"): the rest is fetch,
unpack, compile and link (`pylock -v` times each phase)."""
import os, re, shutil, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_sync import rmtree, run, timed  # noqa: E402
import bench_layers  # noqa: E402
import benchkeys  # noqa: E402

# BENCH_INSTALL_* variables: see integration/bench/run-install.


def fitting_names(wheels, python):
    """Project names of the wheels whose tags the interpreter accepts."""
    ver = subprocess.run([python, "-c", "import sys; print('%d%d' % sys.version_info[:2])"],
                         check=True, capture_output=True, text=True).stdout.strip()
    names = set()
    for f in sorted(os.listdir(wheels)):
        m = re.fullmatch(r"([^-]+)-[^-]+-([^-]+)-([^-]+)-([^-]+)\.whl", f)
        if not m:
            continue
        pys = m.group(2).split(".")
        if any(p in ("py3", "cp" + ver) for p in pys) and (
                m.group(3) in ("none", "abi3", "cp" + ver)):
            names.add(re.sub(r"[-_.]+", "-", m.group(1)).lower())
    # The venv has these already (pip would keep its own): not asked for.
    return sorted(names - {"pip", "setuptools", "wheel"})


def prepare(d, pl, wheels):
    w = os.path.join(d, "install")
    rmtree(w)
    os.makedirs(w)
    key, reg = benchkeys.generate(pl, "install.key"), os.path.join(w, "reg")
    run([pl, "-q", "registry", "init", reg, "--key", key])
    run([pl, "-q", "registry", "add", reg, "--key", key] +
        sorted(os.path.join(wheels, f) for f in os.listdir(wheels) if f.endswith(".whl")),
        stderr=subprocess.DEVNULL)
    root = os.path.join(w, "root.json")
    shutil.copyfile(os.path.join(reg, "1.root.json"), root)
    return w, reg, root


def install(d, rounds, python, wheels):
    pl = os.path.join(d, "pylock")
    if not os.path.isdir(wheels) or not os.listdir(wheels):
        print("\ninstall at scale: no wheel set at %s (make-wheels.py --site): skipped" % wheels)
        return
    names = fitting_names(wheels, python)
    w, reg, root = prepare(d, pl, wheels)
    which = ["pylock install, cold", "pip install, fresh venv"]
    base = os.environ.get("BENCH_BASELINE")
    if base:
        which.append("baseline: install, cold")
    times = {n: [] for n in which}
    resolve_s, runs, served, locked = [], set(), "", 0
    err = os.path.join(w, "stderr")
    for r in range(rounds):
        for n in which:
            scratch = os.path.join(w, "round")
            rmtree(scratch)
            os.makedirs(scratch)
            if n.startswith("pip"):
                venv = os.path.join(scratch, "venv")
                run([python, "-m", "venv", venv])
                times[n].append(timed([os.path.join(venv, "bin", "python"), "-m", "pip", "install",
                                       "--no-index", "--find-links", wheels,
                                       "--disable-pip-version-check", "-q"] + names,
                                      dict(os.environ), err))
                continue
            exe = base if n.startswith("baseline") else pl
            env = dict(os.environ, XDG_STATE_HOME=os.path.join(scratch, "state"),
                       XDG_CONFIG_HOME=os.path.join(scratch, "config"), PYLOCK_KEEPALIVE="0")
            proj = os.path.join(scratch, "proj")
            run([exe, "-q", "init", "--python", python, "--registry", reg, "--root", root, proj],
                env=env)
            times[n].append(timed([exe, "-C", proj, "install"] + names, env, err))
            out = open(err).read()
            m = re.search(r"pip ran (\d+) time\(s\) in ([\d.]+) s; it was served (.*)", out)
            if m and not n.startswith("baseline"):
                runs.add(int(m.group(1)))
                resolve_s.append(float(m.group(2)))
                served = m.group(3)
            got = len(re.findall(r"(?m)^\[\[packages\]\]$", open(os.path.join(proj, "pylock.toml"))
                                 .read()))
            if got < len(names):  # each name asked for, and their dependencies
                sys.exit("bench_install: %s locked %d packages, fewer than the %d asked for"
                         % (n, got, len(names)))
            locked = got
        rmtree(os.path.join(w, "round"))
    med = {n: statistics.median(t) / 1000 for n, t in times.items()}
    pip = med[which[1]]
    print("\ninstall at scale: cold install of %d real distributions, %d locked (%s; %d "
          "interleaved round(s), median wall time)" % (len(names), locked, python, rounds))
    for n in which:
        extra = "" if n == which[1] else "  x%.2f of pip" % (med[n] / pip)
        print("  %-26s %8.1f s  (min %.1f, max %.1f)%s" % (n, med[n], min(times[n]) / 1000,
                                                          max(times[n]) / 1000, extra))
    if resolve_s:
        rs = statistics.median(resolve_s)
        print("  pylock's resolution: pip ran %s time(s), %.1f s (served %s; the rest of "
              "that is pip's own work); the rest of the install (fetch, unpack, compile, "
              "link): %.1f s"
              % ("/".join(str(x) for x in sorted(runs)), rs, served, med[which[0]] - rs))
    print("  goal: pylock within 0.5x of pip's time (x1.5 at most): x%.2f" % (med[which[0]] / pip))
    print("  both byte-compile every module; pip's venv creation and pylock init are untimed")
    large_layers(pl, w, reg, root, python, names)


def large_layers(pl, w, reg, root, python, names):
    """bench_layers on the large set: installed once more (untimed), every
    top-level module of it imported (those that fail to import skipped)."""
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(w, "layers-state"),
               XDG_CONFIG_HOME=os.path.join(w, "layers-config"), PYLOCK_KEEPALIVE="0")
    proj = os.path.join(w, "layers-proj")
    run([pl, "-q", "init", "--python", python, "--registry", reg, "--root", root, proj], env=env)
    run([pl, "-q", "-C", proj, "install"] + names, env=env, stderr=subprocess.DEVNULL)
    purelib = subprocess.run([pl, "-C", proj, "run", python, "-c",
                              "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             env=env, check=True, capture_output=True, text=True).stdout.strip()
    layer, prefix = (bench_layers.info(pl, proj, env, k) for k in ("layer", "prefix"))
    site = layer + purelib[len(prefix):]
    mods = set()
    for n in os.listdir(site):
        if n.startswith("_"):
            continue
        if os.path.isdir(os.path.join(site, n)) and "-" not in n and "." not in n:
            mods.add(n)  # a package (not a .dist-info, not a .data)
        elif n.endswith(".py"):
            mods.add(n[:-3])
        elif n.endswith(".so"):
            mods.add(n.split(".")[0])  # name.cpython-311-x86_64-linux-gnu.so
    mods = sorted(m for m in mods if m.isidentifier())
    # Marked: a module may print as it is imported.
    out = subprocess.run([pl, "-C", proj, "run", python, "-c",
                          "import importlib\nfor m in %r:\n try: importlib.import_module(m)\n"
                          " except BaseException: pass\n else: print('imported:' + m)" % mods],
                         env=env, capture_output=True, text=True, timeout=300).stdout
    probe = [l[len("imported:"):] for l in out.splitlines() if l.startswith("imported:")]
    code = "import " + ", ".join(probe) if probe else "pass"
    bench_layers.layers(pl, proj, env, python, code, 10,
                        "the large set, %d modules imported" % len(probe))


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--wheels", required=True)
    a = ap.parse_args()
    install(a.dir, a.rounds, a.python, a.wheels)
