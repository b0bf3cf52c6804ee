# SPDX-License-Identifier: Apache-2.0
"""Shim benchmark: python3 through pylock's shim, outside a project against
the real interpreter (goal: at most +0.2 ms), inside a project against
`pylock run`; interleaved, run by name through PATH as a user would."""
import os
import subprocess

from abtime import measure


def shim(d, rounds, python):
    pl = os.path.join(d, "pylock")
    shims = os.path.join(d, "shims-" + os.path.basename(python))
    if not os.path.exists(shims):
        subprocess.run([pl, "shim", "install", "--dir", shims, "--python", python],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    real = os.path.realpath(python)
    env = dict(os.environ, PATH=shims + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
    outside = os.path.join(d, "outside")
    os.makedirs(outside, exist_ok=True)
    proj = os.path.join(d, "shimproj-" + os.path.basename(python))
    if not os.path.exists(proj):
        subprocess.run([pl, "-q", "init", "--python", python, proj], check=True)

    # posix_spawnp searches the caller's PATH, not the child's: set ours.
    saved = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    try:
        assert subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], cwd=outside,
                              capture_output=True, text=True).stdout.strip() == real
        os.chdir(outside)
        res = measure([[real, "-c", "pass"], ["python3", "-c", "pass"]], rounds, 20, [env, env])
        base, out = res[0]["median"], res[1]["median"]
        os.chdir(proj)
        res = measure([[pl, "run", real, "-c", "pass"], ["python3", "-c", "pass"]], rounds, 20,
                      [env, env])
        run, inside = res[0]["median"], res[1]["median"]
    finally:
        os.environ["PATH"] = saved
    print("\nshim: python3 -c pass by name through PATH (%s; %d interleaved rounds, median)"
          % (real, rounds))
    print("  outside a project:  real %.2f ms, shim %.2f ms  %+.2f ms  x%.3f  (goal <= +0.2 ms)"
          % (base, out, out - base, out / base))
    print("  inside a project:   pylock run %.2f ms, shim %.2f ms  %+.2f ms  x%.3f"
          % (run, inside, inside - run, inside / run))
