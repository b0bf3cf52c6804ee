#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""What one overlay layer per package would cost a run (issue 15): the
design question before a generation is made of the cached trees themselves
instead of hard links of their files.

For a synced project, the base interpreter's prefix is covered by a
read-only overlay in a user and mount namespace of this script's own
(`unshare -Urm`, as pylock's sandbox does, with userxattr), two ways:

  merged      one layer, the project's generation (what pylock mounts today)
              over the prefix;
  per tree    one layer per cache tree the generation's manifest names (the
              design in question; the generation's own files, REQUESTED and
              the rewritten RECORDs, left out) over the prefix.

For each: the mount (and unmount) itself; a stat of every file the
generation holds, on a fresh mount (every lookup through the layers is new:
what a run that is not joined to a keep-alive namespace pays) and again on
the same mount (the dentries cached: a joined run); the first
`python -c IMPORTS` after a fresh mount and the same imports again; and the
interpreter with no import, for the floor.  Interleaved rounds, medians.

Used by bench_sync (the 14 fixture packages) and bench_install (the large
set): layers(pl, project, env, python, imports, rounds).  Asserts nothing."""
import ctypes, os, shutil, statistics, subprocess, sys, tempfile, time

MS_RDONLY = 1
MNT_DETACH = 2


def info(pl, project, env, key):
    return subprocess.run([pl, "-C", project, "info", key], env=env, check=True,
                          capture_output=True, text=True).stdout.strip()


def tree_dirs(pl, project, env):
    """The cache trees the project's current generation is made of."""
    state, gen, cache = (info(pl, project, env, k) for k in ("state", "generation", "cache"))
    trees = []
    for line in open(os.path.join(state, "generations", gen + ".manifest")):
        if line.startswith("tree "):
            trees.append(os.path.join(cache, "trees", line.split()[1]))
    return trees


def layers(pl, project, env, python, imports, rounds, label):
    """Print the two ways' figures for project (synced by pl)."""
    layer = info(pl, project, env, "layer")
    prefix = info(pl, project, env, "prefix")
    trees = tree_dirs(pl, project, env)
    work = tempfile.mkdtemp(prefix="layers.", dir=os.path.dirname(project))
    try:
        # Short names for the layers: a mount's options fit in one page.
        for i, t in enumerate(trees):
            os.symlink(t, os.path.join(work, "t%d" % i))
        os.symlink(layer, os.path.join(work, "g"))
        os.symlink(prefix, os.path.join(work, "p"))
        with open(os.path.join(work, "files"), "w") as f:  # the trees' files
            for t in trees:
                for root, _, names in os.walk(t):
                    for n in names:
                        rel = os.path.relpath(os.path.join(root, n), t)
                        if not rel.startswith("."):  # .complete, .manifest
                            f.write(os.path.join(prefix, rel) + "\n")
        out = subprocess.run(
            ["unshare", "-Urm", sys.executable, os.path.abspath(__file__), "--inner", work,
             prefix, python, imports, str(rounds), str(len(trees))],
            capture_output=True, text=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if out.returncode != 0:
        sys.exit("bench_layers: %s" % out.stderr)
    res = dict(l.split(" ", 1) for l in out.stdout.splitlines() if " " in l)
    f = {k: float(v) for k, v in res.items()}
    print("\nlayers: %s, %d trees (%s; %d interleaved rounds, median ms)" % (
        label, len(trees), python, rounds))
    print("  %-36s %10s %10s %8s" % ("", "merged", "per tree", "diff"))
    for key, what in (("mount", "mount + unmount"),
                      ("stat1", "stat every file, fresh mount"),
                      ("stat2", "stat every file, same mount"),
                      ("first", "first run's imports, fresh mount"),
                      ("again", "imports again, same mount"),
                      ("bare", "python -c pass, same mount")):
        a, b = f["merged." + key], f["tree." + key]
        print("  %-36s %10.2f %10.2f %+8.2f" % (what, a, b, b - a))


def inner(work, prefix, python, imports, rounds, ntrees):
    """In the namespace: mount each way over the prefix, time, unmount."""
    libc = ctypes.CDLL(None, use_errno=True)
    os.chdir(work)
    ways = {"merged": "g:p", "tree": ":".join(["t%d" % i for i in range(ntrees)] + ["p"])}

    def mount(lower):
        opts = ("lowerdir=%s,userxattr" % lower).encode()
        if libc.mount(b"overlay", prefix.encode(), b"overlay", MS_RDONLY, opts) != 0:
            e = ctypes.get_errno()
            sys.exit("bench_layers: mount %s: %s" % (lower[:60], os.strerror(e)))

    def umount():
        if libc.umount2(prefix.encode(), MNT_DETACH) != 0:
            sys.exit("bench_layers: umount: %s" % os.strerror(ctypes.get_errno()))

    files = open("files").read().splitlines()

    def stat_all():
        t = time.perf_counter_ns()
        for f in files:
            os.stat(f)
        return (time.perf_counter_ns() - t) / 1e6

    def run(code):
        t = time.perf_counter_ns()
        subprocess.run([python, "-c", code], check=True, stdout=subprocess.DEVNULL)
        return (time.perf_counter_ns() - t) / 1e6

    times = {"%s.%s" % (w, k): [] for w in ways for k in ("mount", "stat1", "stat2", "first", "again",
                                                   "bare")}
    for r in range(rounds + 1):  # round 0 warms the page cache
        for w, lower in ways.items():
            t = time.perf_counter_ns()
            mount(lower)
            umount()
            mount_ms = (time.perf_counter_ns() - t) / 1e6
            mount(lower)
            stat1 = stat_all()
            stat2 = stat_all()
            umount()
            mount(lower)
            first = run(imports)
            again = run(imports)
            bare = run("pass")
            umount()
            if r:
                for k, v in (("mount", mount_ms), ("stat1", stat1), ("stat2", stat2),
                             ("first", first), ("again", again), ("bare", bare)):
                    times["%s.%s" % (w, k)].append(v)
    for k, v in times.items():
        print(k, statistics.median(v))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        a = sys.argv[2:]
        inner(a[0], a[1], a[2], a[3], int(a[4]), int(a[5]))
    else:
        sys.exit("usage: used by bench_sync.py and bench_install.py")
