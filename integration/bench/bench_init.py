# SPDX-License-Identifier: Apache-2.0
"""init benchmark: `pylock init` against `python -m venv --without-pip`, each
into a fresh directory every round (both through the same `sh -c` wrapper),
interleaved; the interpreter probe cache warmed first, as on any machine
that has run pylock once."""
import os
import subprocess

from abtime import measure


def init(d, rounds, python):
    pl = os.path.join(d, "pylock")
    work = os.path.join(d, "init-runs")
    os.makedirs(work, exist_ok=True)
    subprocess.run([pl, "-q", "init", "--python", python, os.path.join(work, "warm")], check=True)
    wrap = 'd=$(mktemp -d -p "$1") && exec "$2" "${@:3}" "$d/p"'
    cmds = [["/bin/bash", "-c", wrap, "_", work, python, "-m", "venv", "--without-pip"],
            ["/bin/bash", "-c", wrap, "_", work, pl, "-q", "init", "--python", python],
            ["/bin/bash", "-c", 'd=$(mktemp -d -p "$1") && exec true', "_", work]]
    res = measure(cmds, max(rounds // 5, 20), 3)
    venv, pli, shell = (r["median"] for r in res)
    print("\ninit: a new environment (%s; %d interleaved rounds, median, the bash+mktemp "
          "wrapper's %.2f ms taken off both)" % (python, max(rounds // 5, 20), shell))
    print("  python -m venv --without-pip  %7.2f ms" % (venv - shell))
    print("  pylock init                   %7.2f ms  x%.3f of venv  (goal <= 10 ms)"
          % (pli - shell, (pli - shell) / (venv - shell)))
