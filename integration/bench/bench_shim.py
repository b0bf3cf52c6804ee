# SPDX-License-Identifier: Apache-2.0
"""Shim benchmark: python3 through pylock's shims, outside a project against
the real interpreter (goal: at most +0.2 ms), inside a project against
`pylock run`; interleaved, run by name through PATH as a user would.  The
shims `pylock shim install` makes (links to the static front end,
pylock-shim, when it is installed beside pylock) are measured beside links
straight to pylock, as shims were made before the front end."""
import os
import subprocess

from abtime import measure


def legacy_links(shims, legacy, pl):
    """legacy: the same manifest as shims, every link straight to pylock."""
    if os.path.exists(legacy):
        return
    os.makedirs(legacy)
    text = open(os.path.join(shims, ".pylock-shims")).read()
    open(os.path.join(legacy, ".pylock-shims"), "w").write(text)
    for line in text.splitlines():
        if line and not line.startswith("#"):
            os.symlink(pl, os.path.join(legacy, line.split("\t")[0]))


def shim(d, rounds, python):
    pl = os.path.join(d, "pylock")
    shims = os.path.join(d, "shims-" + os.path.basename(python))
    if not os.path.exists(shims):
        subprocess.run([pl, "shim", "install", "--dir", shims, "--python", python],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    legacy = os.path.join(d, "shims-legacy-" + os.path.basename(python))
    legacy_links(shims, legacy, pl)
    target = os.path.basename(os.readlink(os.path.join(shims, "python3")))
    real = os.path.realpath(python)
    path = os.environ.get("PATH", "/usr/bin:/bin")
    env = dict(os.environ, PATH=shims + ":" + path)
    lenv = dict(os.environ, PATH=legacy + ":" + path)
    outside = os.path.join(d, "outside")
    os.makedirs(outside, exist_ok=True)
    proj = os.path.join(d, "shimproj-" + os.path.basename(python))
    if not os.path.exists(proj):
        subprocess.run([pl, "-q", "init", "--python", python, proj], check=True)

    # posix_spawnp searches the caller's PATH, not the child's: set ours.  The
    # legacy links run by file, under the same bare argv[0].
    saved = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    cmd = ["python3", "-c", "pass"]
    paths = [None, None, os.path.join(legacy, "python3")]
    try:
        for e in (env, lenv):
            assert subprocess.run(["python3", "-c", "import sys; print(sys.executable)"],
                                  cwd=outside, env=e, capture_output=True,
                                  text=True).stdout.strip() == real
        os.chdir(outside)
        res = measure([[real, "-c", "pass"], cmd, cmd], rounds, 20, [env, env, lenv], paths)
        base, out, lout = (r["median"] for r in res)
        os.chdir(proj)
        res = measure([[pl, "run", real, "-c", "pass"], cmd, cmd], rounds, 20, [env, env, lenv],
                      paths)
        run, inside, linside = (r["median"] for r in res)
    finally:
        os.environ["PATH"] = saved
    print("\nshim: python3 -c pass by name through PATH (%s; links to %s; %d interleaved rounds,"
          " median)" % (real, target, rounds))
    print("  outside a project:  real %.2f ms, shim %.2f ms  %+.2f ms  x%.3f  (goal <= +0.2 ms)"
          % (base, out, out - base, out / base))
    print("                      links straight to pylock %.2f ms  %+.2f ms  x%.3f"
          % (lout, lout - base, lout / base))
    print("  inside a project:   pylock run %.2f ms, shim %.2f ms  %+.2f ms  x%.3f"
          % (run, inside, inside - run, inside / run))
    print("                      links straight to pylock %.2f ms  %+.2f ms  x%.3f"
          % (linside, linside - run, linside / run))
