#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Interleaved timing of commands: each round runs every command once, in
turn, so drift in machine load hits all of them alike.  Prints the median
and mean wall time of each in ms, and its difference from the first.

usage: abtime.py ROUNDS WARMUP -- CMD1 -- CMD2 ...   (each CMD a shell-free argv)"""
import os, statistics, sys, time


def measure(cmds, rounds, warmup, envs=None, paths=None):
    """Interleaved runs; returns [{'median': ms, 'mean': ms}] per command.
    envs, if given, holds one environment (or None) per command; paths, the
    file to execute (or None: c[0], by PATH when it has no '/'), so that a
    command can run a file of its own under a bare argv[0]."""
    times = [[] for _ in cmds]
    envs = envs or [None] * len(cmds)
    paths = paths or [None] * len(cmds)
    for r in range(warmup + rounds):
        for i, c in enumerate(cmds):
            t = time.perf_counter_ns()
            path = paths[i] or c[0]
            spawn = os.posix_spawn if "/" in path else os.posix_spawnp  # bare name: PATH
            pid = spawn(path, c, envs[i] or os.environ, file_actions=[
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
            _, status = os.waitpid(pid, 0)
            dt = (time.perf_counter_ns() - t) / 1e6
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("abtime: %s failed (%d)" % (" ".join(c), status))
            if r >= warmup:
                times[i].append(dt)
    return [{"median": statistics.median(t), "mean": statistics.fmean(t)} for t in times]


def main():
    rounds, warmup = int(sys.argv[1]), int(sys.argv[2])
    cmds, cur = [], None
    for a in sys.argv[3:]:
        if a == "--":
            cur = []
            cmds.append(cur)
        else:
            cur.append(a)
    res = measure(cmds, rounds, warmup)
    base = res[0]["median"]
    for c, r in zip(cmds, res):
        print("%-60s median %7.3f ms  mean %7.3f ms  %+7.3f ms" % (
            " ".join(c)[:60], r["median"], r["mean"], r["median"] - base))


if __name__ == "__main__":
    main()
