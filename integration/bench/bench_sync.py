#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sync benchmark (run from bench.py): a 14-wheel set from the fixtures
(integration/fixtures/make-wheels.py) into an empty project, against pip
installing the same wheel files, interleaved in the same run.

  pylock sync, warm cache   every tree already in the shared cache: link only
  pylock sync, cold cache   an empty cache directory and no TUF state, the
                            registry a local directory: TUF update, fetch and
                            verify each wheel, unpack, byte-compile, link
  pip install               python -m pip install --no-index --no-deps
                            <the 14 wheel files> into a fresh venv
  compileall -j0            python -m compileall -j0 over a copy of the
                            generation's site-packages without byte-code

Issue 15's three figures come from the cold sync's rounds, the sync
compiling after its switch (PYLOCK_COMPILE=after-switch): time to a usable
environment (when it says "usable now"), time to a fully compiled one (the
sync returns), and the first run's import of the requested packages in
between, from the source trees: on an untimed cold sync of its own stopped
at its `usable` pause point (the run alone on the machine), and on another
let go on (the run started as the sync says "usable now", while its
compiler uses every core: what a user starting a run then gets), against
the same imports once the byte-code is in place.  The same cold sync compiling before its
one switch (PYLOCK_COMPILE=before-switch) runs in the same rounds.  Those
figures are of the compile in the command (PYLOCK_COMPILE=after-switch-wait,
as before it moved to a detached pylock); the same cold sync as a terminal
gets it (PYLOCK_COMPILE=after-switch) runs in the same rounds too: the time
until the command returns, and until `pylock info byte-code` says compiled.

Untimed, before each timed command: the project (pylock init, the prepared
lock copied in), the empty cache, the venv (python -m venv, with pip: its
creation is not part of pip's time).  Every command byte-compiles, as both
tools do by default."""
import os, re, shutil, statistics, subprocess, sys, time

import bench_layers
import benchkeys

# Closed under the fixtures' dependencies: 14 distributions.
REQUESTED = ["requests", "chardet", "click", "jinja2", "pygments", "docutils", "packaging",
             "pyparsing"]
IMPORTS = ("import requests, chardet, click, jinja2, pygments.lexers, docutils.core, "
           "packaging.version, pyparsing")


def run(cmd, env=None, **kw):
    return subprocess.run(cmd, env=env, check=True, **kw)


def timed(cmd, env, err_path, flush=True):
    """Wall time of one command in ms (stdout to /dev/null, stderr to err_path).
    The set-up's dirty pages are written back first (flush), untimed: no
    command pays for the one before it."""
    if flush:
        os.sync()
    t = time.perf_counter_ns()
    pid = os.posix_spawn(cmd[0], cmd, env, file_actions=[
        (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)])
    _, status = os.waitpid(pid, 0)
    dt = (time.perf_counter_ns() - t) / 1e6
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bench_sync: %s failed:\n%s" % (" ".join(cmd), open(err_path).read()))
    return dt


def timed_usable(cmd, env, err_path):
    """timed(), and when the command said "usable now" on stderr (ms; None
    if it never did)."""
    os.sync()
    t = time.perf_counter_ns()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    usable, lines = None, []
    for line in p.stderr:
        if usable is None and b"usable now" in line:
            usable = (time.perf_counter_ns() - t) / 1e6
        lines.append(line)
    status = p.wait()
    dt = (time.perf_counter_ns() - t) / 1e6
    open(err_path, "wb").write(b"".join(lines))
    if status != 0:
        sys.exit("bench_sync: %s failed:\n%s" % (" ".join(cmd), b"".join(lines).decode()))
    return dt, usable


def imports_while_usable(exe, python, proj, env, err_path):
    """A cold sync stopped once usable (PYLOCK_PAUSE_AT=usable): the first
    run's imports from its source trees (ms), then the sync let finish."""
    e = dict(env, PYLOCK_PAUSE_AT="usable", PYLOCK_COMPILE="after-switch-wait")
    p = subprocess.Popen([exe, "-C", proj, "sync"], env=e, stdout=subprocess.DEVNULL,
                         stderr=open(err_path + ".paused", "wb"))
    try:
        for _ in range(6000):
            state = open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()[0]
            if state in "TZ":
                break
            time.sleep(0.01)
        if state != "T":
            sys.exit("bench_sync: the sync never became usable: %s"
                     % open(err_path + ".paused").read())
        dt = timed([exe, "-C", proj, "run", python, "-c", IMPORTS],
                   dict(env, PYLOCK_KEEPALIVE="0"), err_path)
    finally:
        os.kill(p.pid, 18)  # SIGCONT
        p.wait()
    return dt


def imports_while_compiling(exe, python, proj, env, err_path):
    """A cold sync compiling after its switch, not stopped: the first run's
    imports started as soon as it says "usable now" (ms), and whether the
    compile was still going when they ended."""
    e = dict(env, PYLOCK_COMPILE="after-switch-wait")
    p = subprocess.Popen([exe, "-C", proj, "sync"], env=e, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    lines, dt, during = [], None, False
    for line in p.stderr:
        lines.append(line)
        if dt is None and b"usable now" in line:
            dt = timed([exe, "-C", proj, "run", python, "-c", IMPORTS],
                       dict(env, PYLOCK_KEEPALIVE="0"), err_path, flush=False)
            during = p.poll() is None
    if p.wait() != 0 or dt is None:
        sys.exit("bench_sync: the sync compiling after its switch failed or never became "
                 "usable:\n%s" % b"".join(lines).decode())
    return dt, during


def timed_detached(cmd, proj, env, err_path):
    """A sync compiling after its switch in a detached pylock: the time until
    the command returns, and until `pylock info byte-code` stops saying
    compiling (ms, polled every 5 ms)."""
    returned = timed(cmd, env, err_path)
    t = time.perf_counter_ns() - returned * 1e6
    while True:
        state = subprocess.run([cmd[0], "-C", proj, "info", "byte-code"], env=env,
                               capture_output=True, text=True).stdout.strip()
        if state != "compiling":
            break
        time.sleep(0.005)
    compiled = (time.perf_counter_ns() - t) / 1e6
    if state != "compiled":
        sys.exit("bench_sync: the detached compile ended %s:\n%s" % (state, open(err_path).read()))
    return returned, compiled


def rmtree(path):
    """Cache trees are sealed read-only."""
    if os.path.lexists(path):
        for root, dirs, _ in os.walk(path):
            for d in dirs:
                try:
                    os.chmod(os.path.join(root, d), 0o755)
                except OSError:
                    pass
        shutil.rmtree(path, ignore_errors=True)


def count_files(top):
    return sum(len(files) for _, _, files in os.walk(top))


def prepare(d, pl, python, name="sync"):
    """Fixture wheels, a signed registry, the lock of the 14, a warm cache,
    all in d/name; the synced project is w/template."""
    w = os.path.join(d, name)
    rmtree(w)
    os.makedirs(w)
    wheels = os.path.join(w, "wheels")
    run([sys.executable, os.path.join(d, "make-wheels.py"), wheels], stdout=subprocess.DEVNULL)
    key, reg = benchkeys.generate(pl, name + ".key"), os.path.join(w, "reg")
    run([pl, "-q", "registry", "init", reg, "--key", key])
    run([pl, "-q", "registry", "add", reg, "--key", key] +
        sorted(os.path.join(wheels, f) for f in os.listdir(wheels)))
    root = os.path.join(w, "root.json")
    shutil.copyfile(os.path.join(reg, "1.root.json"), root)
    env = dict(os.environ, XDG_STATE_HOME=os.path.join(w, "state"),
               XDG_CONFIG_HOME=os.path.join(w, "config"),
               PYLOCK_CACHE_DIR=os.path.join(w, "warm-cache"))
    tmpl = os.path.join(w, "template")
    run([pl, "-q", "init", "--python", python, "--registry", reg, "--root", root, tmpl], env=env)
    lock = os.path.join(tmpl, "pylock.toml")
    text = open(lock).read()
    text = re.sub(r"(?ms)^requested = \[.*?\]$",
                  "requested = [%s]" % ", ".join('"%s"' % r for r in REQUESTED), text, count=1)
    open(lock, "w").write(text)
    run([pl, "-q", "-C", tmpl, "lock"], env=env)
    run([pl, "-q", "-C", tmpl, "sync"], env=env)  # fills the warm cache
    names = re.findall(r'(?m)^\[\[packages\.wheels\]\]\nname = "([^"]+)"', open(lock).read())
    if len(names) != 14:
        sys.exit("bench_sync: the lock holds %d wheels, not 14: %s" % (len(names), names))
    return w, env, lock, root, reg, [os.path.join(wheels, n) for n in names]


def sync(d, rounds, python):
    pl = os.path.join(d, "pylock")
    w, env, lock, root, reg, wheel_files = prepare(d, pl, python)
    names = ["pylock sync, warm cache", "pylock sync, cold cache", "pip install, fresh venv",
             "python -m compileall -j0", "pylock sync, cold, compiling first",
             "pylock sync, cold: usable", "pylock sync, cold, detached: returns",
             "pylock sync, cold, detached: compiled"]
    # BENCH_BASELINE: an earlier pylock, its warm sync measured in the same
    # rounds (the signature check at every use may cost at most +10%).
    base = os.environ.get("BENCH_BASELINE")
    bpl = os.path.join(d, "pylock-baseline")
    if base:
        if not os.path.exists(bpl):
            shutil.copy(base, bpl)
        btmpl = os.path.join(w, "baseline-template")
        run([bpl, "-q", "init", "--python", python, "--registry", reg, "--root", root, btmpl],
            env=env)
        shutil.copyfile(lock, os.path.join(btmpl, "pylock.toml"))
        run([bpl, "-q", "-C", btmpl, "sync"], env=env)  # its own warm cache
        names += ["baseline: sync, warm cache", "baseline: sync, cold cache"]
    times = {n: [] for n in names}
    phases = []  # pylock's own split of the cold sync
    compile_ms = []  # and its compile after the switch
    # import times in between (alone, and while the compiler runs), and after
    first_run = {"byte-code": [], "source": [], "contended": [], "during": 0}
    site_copy = None  # the generation's site-packages without byte-code, for compileall
    files = {}
    err = os.path.join(w, "stderr")
    for r in range(rounds + 1):  # round 0 warms the page cache and is not counted
        for n in names:
            scratch = os.path.join(w, "round")
            rmtree(scratch)
            os.makedirs(scratch)
            proj = os.path.join(scratch, "proj")
            if n in ("pylock sync, cold: usable", "pylock sync, cold, detached: compiled"):
                continue  # measured by the cold sync, the detached one
            if n.startswith("pylock") or n.startswith("baseline"):
                exe = bpl if n.startswith("baseline") else pl
                # cold: pylock's state of its own, where init (untimed) leaves the
                # project's record but no cache and no registry metadata.
                e = env
                if "cold" in n:
                    e = dict(env, PYLOCK_STATE_DIR=os.path.join(scratch, "state"))
                run([exe, "-q", "init", "--python", python, "--registry", reg, "--root", root,
                     proj], env=e)
                shutil.copyfile(lock, os.path.join(proj, "pylock.toml"))
                if n == "pylock sync, cold cache":
                    dt, usable = timed_usable([exe, "-C", proj, "sync"],
                                              dict(e, PYLOCK_COMPILE="after-switch-wait"), err)
                    if usable is None:
                        sys.exit("bench_sync: the cold sync never said it was usable:\n"
                                 + open(err).read())
                    if r > 0:
                        times["pylock sync, cold: usable"].append(usable)
                elif "detached" in n:
                    dt, whole = timed_detached([exe, "-C", proj, "sync"], proj,
                                               dict(e, PYLOCK_COMPILE="after-switch"), err)
                    if r > 0:
                        times["pylock sync, cold, detached: compiled"].append(whole)
                elif "compiling first" in n:
                    dt = timed([exe, "-C", proj, "sync"], dict(e, PYLOCK_COMPILE="before-switch"),
                               err)
                else:
                    dt = timed([exe, "-C", proj, "sync"], e, err)
                out = open(err).read()
                if n == "pylock sync, cold cache":
                    ke = dict(e, PYLOCK_KEEPALIVE="0")
                    pyc = timed([exe, "-C", proj, "run", python, "-c", IMPORTS], ke, err)
                    # In between, on a cold sync of its own (untimed but the imports).
                    e2 = dict(env, PYLOCK_STATE_DIR=os.path.join(scratch, "state2"))
                    proj2 = os.path.join(scratch, "proj2")
                    run([exe, "-q", "init", "--python", python, "--registry", reg, "--root",
                         root, proj2], env=e2)
                    shutil.copyfile(lock, os.path.join(proj2, "pylock.toml"))
                    src = imports_while_usable(exe, python, proj2, e2, err)
                    # And on a third, not stopped: while its compiler runs.
                    e3 = dict(env, PYLOCK_STATE_DIR=os.path.join(scratch, "state3"))
                    proj3 = os.path.join(scratch, "proj3")
                    run([exe, "-q", "init", "--python", python, "--registry", reg, "--root",
                         root, proj3], env=e3)
                    shutil.copyfile(lock, os.path.join(proj3, "pylock.toml"))
                    busy, during = imports_while_compiling(exe, python, proj3, e3, err)
                    if r > 0:
                        first_run["source"].append(src)
                        first_run["byte-code"].append(pyc)
                        first_run["contended"].append(busy)
                        first_run["during"] += during
                    if site_copy is None:
                        site_copy = os.path.join(w, "site-copy")
                        layer = subprocess.run([exe, "-C", proj, "info", "layer"], env=e,
                                               check=True, capture_output=True,
                                               text=True).stdout.strip()
                        state = subprocess.run([exe, "-C", proj, "info", "state"], env=e,
                                               check=True, capture_output=True,
                                               text=True).stdout.strip()
                        info = dict(l.split("=", 1) for l in open(state + "/interp").read()
                                    .splitlines() if "=" in l)
                        purelib = layer + info["purelib"][len(info["prefix"]):]
                        shutil.copytree(purelib, site_copy,
                                        ignore=shutil.ignore_patterns("__pycache__"))
                        # Folded packages come from the sealed (read-only) cache.
                        for top, dirs, _ in os.walk(site_copy):
                            for x in dirs:
                                os.chmod(os.path.join(top, x), 0o755)
                m = re.search(r"(\d+) packages, (\d+) files .*fetch (\d+) ms, unpack (\d+) ms, "
                              r"link (\d+) ms", out)
                if m:
                    files[n] = int(m.group(2))
                    if n == "pylock sync, cold cache" and r > 0:
                        phases.append(tuple(int(m.group(i)) for i in (3, 4, 5)))
                        c = re.search(r"byte-code compiled after the switch .* in (\d+) ms", out)
                        compile_ms.append(int(c.group(1)) if c else 0)
            elif n.startswith("python -m compileall"):
                if site_copy is None:
                    continue
                tree = os.path.join(scratch, "site")
                shutil.copytree(site_copy, tree)
                dt = timed([python, "-m", "compileall", "-q", "-j0", tree], dict(os.environ), err)
                files[n] = sum(f.endswith(".pyc") for _, _, fs in os.walk(tree) for f in fs)
            else:
                venv = os.path.join(scratch, "venv")
                run([python, "-m", "venv", venv])
                site = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                                       "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                      check=True, capture_output=True, text=True).stdout.strip()
                before = count_files(site)
                dt = timed([os.path.join(venv, "bin", "python"), "-m", "pip", "install",
                            "--no-index", "--no-deps", "--disable-pip-version-check", "-q"] +
                           wheel_files, dict(os.environ), err)
                files[n] = count_files(site) - before
            if r > 0:
                times[n].append(dt)
        rmtree(os.path.join(w, "round"))
    med = {n: statistics.median(t) for n, t in times.items() if t}
    pip = med[names[2]]
    print("\nsync: 14 wheels from the fixtures into an empty project (%s; %d interleaved rounds, "
          "median wall time)" % (python, rounds))
    print("  pylock: %d files in the generation; pip: %d files added to the venv's site-packages"
          % (files.get(names[0], 0), files.get(names[2], 0)))
    for n in names:
        if n not in med:
            continue
        ratio = med[n] / pip
        extra = "" if n == names[2] else "  x%.3f of pip (%s)" % (
            ratio, "%.1fx faster" % (1 / ratio) if ratio < 1 else "%.2fx slower" % ratio)
        print("  %-26s %9.1f ms  (min %.1f, max %.1f)%s" % (n, med[n], min(times[n]), max(times[n]),
                                                             extra))
    print("  goals: warm <= 30 ms: %.1f ms; cold <= 1000 ms: %.1f ms  (pip's venv creation, "
          "untimed, is not included)" % (med[names[0]], med[names[1]]))
    if base:
        b = med["baseline: sync, warm cache"]
        print("  warm sync against the baseline binary: %+.1f ms (x%.3f; limit x1.10)"
              % (med[names[0]] - b, med[names[0]] / b))
        b = med["baseline: sync, cold cache"]
        print("  cold sync against the baseline binary: %+.1f ms (x%.3f)"
              % (med[names[1]] - b, med[names[1]] / b))
    # verify: every file of the 14 hashed against the manifest, RECORDs, the
    # lock, the signed targets (offline) and the root.
    vt = []
    for r in range(max(rounds, 5) + 1):
        dt = timed([pl, "-C", os.path.dirname(lock), "verify"], env, err)
        if r > 0:
            vt.append(dt)
    print("  pylock verify, the same environment: %.1f ms (min %.1f; goal < 150 ms)"
          % (statistics.median(vt), min(vt)))
    if first_run["source"]:
        cold = med["pylock sync, cold cache"]
        print("  issue 15's figures (median): time to usable %.0f ms; time to fully compiled %.0f ms "
              "(byte-code compiled after the switch); the first run's imports in between, from "
              "source: %.0f ms alone, %.0f ms while the compiler runs (it still ran at the end "
              "of %d of %d); once compiled: %.0f ms"
              % (med["pylock sync, cold: usable"], cold, statistics.median(first_run["source"]),
                 statistics.median(first_run["contended"]), first_run["during"],
                 len(first_run["contended"]), statistics.median(first_run["byte-code"])))
        if "python -m compileall -j0" in med:
            print("  references in the same rounds: pip into a fresh venv %.0f ms; "
                  "python -m compileall -j0 over the same %d files %.0f ms; pylock compiling "
                  "before its one switch %.0f ms"
                  % (pip, files.get("python -m compileall -j0", 0), med["python -m compileall -j0"],
                     med["pylock sync, cold, compiling first"]))
    if "pylock sync, cold, detached: returns" in med:
        ret, whole = med["pylock sync, cold, detached: returns"], med[
            "pylock sync, cold, detached: compiled"]
        inproc, usable = med["pylock sync, cold cache"], med["pylock sync, cold: usable"]
        print("  compiling in a detached pylock (a terminal's default): the command returns "
              "after %.0f ms (x%.2f of the sync compiling in the command, %.0f ms; its "
              "\"usable now\" came at %.0f ms); fully compiled at %.0f ms"
              % (ret, ret / inproc, inproc, usable, whole))
    if phases:
        f, u, l = (statistics.median(p[i] for p in phases) for i in range(3))
        print("  cold sync as pylock reports it (median): fetch %d ms, unpack %d ms, link %d ms, "
              "then byte-code after the switch %d ms" % (f, u, l, statistics.median(compile_ms)))
    bench_layers.layers(pl, os.path.dirname(lock), env, python, IMPORTS, max(rounds, 20),
                        "the 14 fixture packages")


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--python", default="/opt/python3.12/bin/python3.12")
    a = ap.parse_args()
    sync(a.dir, a.rounds, a.python)
