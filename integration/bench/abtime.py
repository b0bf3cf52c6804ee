#!/usr/bin/env python3
"""Interleaved timing of commands: each round runs every command once, in
turn, so drift in machine load hits all of them alike.  Prints the median
and mean wall time of each in ms, and its difference from the first.

usage: abtime.py ROUNDS WARMUP -- CMD1 -- CMD2 ...   (each CMD a shell-free argv)"""
import os, statistics, subprocess, sys, time


def main():
    rounds, warmup = int(sys.argv[1]), int(sys.argv[2])
    cmds, cur = [], None
    for a in sys.argv[3:]:
        if a == "--":
            cur = []
            cmds.append(cur)
        else:
            cur.append(a)
    times = [[] for _ in cmds]
    devnull = subprocess.DEVNULL
    for r in range(warmup + rounds):
        for i, c in enumerate(cmds):
            t = time.perf_counter_ns()
            pid = os.posix_spawn(c[0], c, os.environ, file_actions=[
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0)])
            _, status = os.waitpid(pid, 0)
            dt = (time.perf_counter_ns() - t) / 1e6
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit("abtime: %s failed (%d)" % (" ".join(c), status))
            if r >= warmup:
                times[i].append(dt)
    base = statistics.median(times[0])
    for c, t in zip(cmds, times):
        m = statistics.median(t)
        print("%-60s median %7.3f ms  mean %7.3f ms  %+7.3f ms" % (
            " ".join(c)[:60], m, statistics.fmean(t), m - base))


if __name__ == "__main__":
    main()
