#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make bench-verify: `pylock registry verify` (plain and --targets) of
hashed-bin registries at 10,000 to 1,000,000 targets (issue 14): time and
peak RSS, against a reference binary measured alongside, interleaved.

Registries as bench_scale.py writes them (16,384 real-signed bins, each
target's metadata real, the synthetic targets' files absent): --targets
then reports each synthetic target as missing (stderr discarded), which
still walks every bin, looks every sibling up and fetches what exists.

Usage: bench_verify.py PYLOCK [REFERENCE_PYLOCK] [TARGETS...]
(BENCH_VERIFY_ROUNDS, default 1).  Prints a table; asserts nothing."""
import os, shutil, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_scale  # noqa: E402
import benchkeys  # noqa: E402


def run(cmd):
    """(seconds, peak RSS MiB, exit status) of cmd under /usr/bin/time."""
    t = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    dt = time.perf_counter() - t
    last = p.stderr.strip().split("\n")[-1]
    return dt, int(last) / 1024, p.returncode, p.stdout


def main():
    pl = os.path.abspath(sys.argv[1])
    args = sys.argv[2:]
    ref = os.path.abspath(args.pop(0)) if args and not args[0].isdigit() else None
    sizes = [int(a) for a in args] or [10_000, 100_000, 1_000_000]
    rounds = int(os.environ.get("BENCH_VERIFY_ROUNDS", "1"))
    work = tempfile.mkdtemp(prefix="pylock-bench-verify.")
    rows = []
    try:
        keys = {}
        for k in ("offline", "online"):
            keys[k] = benchkeys.generate(pl, "verify-" + k + ".key")
        for n in sizes:
            reg = os.path.join(work, "bins-%d" % n)
            t = time.perf_counter()
            bench_scale.fill_binned(pl, reg, keys["offline"], keys["online"], n)
            print("generated %s in %.1f s" % (reg, time.perf_counter() - t), file=sys.stderr)
            root = os.path.join(reg, "1.root.json")
            for mode in ([], ["--targets"]):
                for _ in range(rounds):
                    for who, binary in (("pylock", pl), ("reference", ref)):
                        if binary is None:
                            continue
                        dt, rss, st, out = run([binary, "-q", "registry", "verify", reg,
                                                "--root", root] + mode)
                        count = [l for l in out.split("\n") if l.startswith("target-count")]
                        rows.append(("%d" % n, "verify " + " ".join(mode), who, "%.2f s" % dt,
                                     "%.1f MiB" % rss, "exit %d" % st,
                                     count[0] if count else ""))
                        print("  ".join(rows[-1]), file=sys.stderr)
            shutil.rmtree(reg, ignore_errors=True)
        w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
