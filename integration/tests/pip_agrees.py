#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Run inside `pylock run`: do pip list, pip show -f and pip check see
exactly what pylock.toml locks?

usage: python3 pip_agrees.py PYLOCK_TOML PURELIB BASE_JSON

BASE_JSON is `pip list --format json --path PURELIB` of the bare base
interpreter: what the base ships in PURELIB itself (pip, on Python 3.12),
which the environment's listing is expected to add to.  Prints one line per
disagreement and exits 1 if there is any; prints a summary and exits 0
otherwise."""
import contextlib, io, json, os, re, sys, tomllib
from types import SimpleNamespace


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pip(*args):
    """`python -m pip ARGS`, run in this process: pip's start-up (most of a
    pip command's time) is paid once for the three commands, not three times."""
    from pip._internal.cli.main import main as pip_main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = pip_main(["--disable-pip-version-check", *args])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
    return SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=err.getvalue())


def main():
    lock_path, purelib, base_json = sys.argv[1:4]
    with open(lock_path, "rb") as f:
        lock = {norm(p["name"]): p["version"] for p in tomllib.load(f).get("packages", [])}
    with open(base_json) as f:
        base = {norm(p["name"]): p["version"] for p in json.load(f)}
    bad = []

    listed = pip("list", "--format", "json", "--path", purelib)
    if listed.returncode != 0:
        bad.append("pip list failed: " + listed.stderr.strip())
        env = {}
    else:
        env = {norm(p["name"]): p["version"] for p in json.loads(listed.stdout)}
    for name in sorted(set(env) | set(lock)):
        want = lock.get(name, base.get(name))
        if env.get(name) != want:
            bad.append("pip list: %s %s, expected %s" % (name, env.get(name), want))

    if lock:
        shown = pip("show", "-f", *sorted(lock))
        blocks = [b for b in shown.stdout.split("\n---\n") if b.strip()]
        if shown.returncode != 0 or len(blocks) != len(lock):
            bad.append("pip show -f: %d of %d packages: %s" % (len(blocks), len(lock), shown.stderr.strip()))
        for block in blocks:
            fields, files, in_files = {}, [], False
            for line in block.splitlines():
                if in_files:
                    files.append(line.strip())
                elif line.startswith("Files:"):
                    in_files = True
                else:
                    k, _, v = line.partition(": ")
                    fields[k] = v.strip()
            name = norm(fields.get("Name", "?"))
            if fields.get("Version") != lock.get(name):
                bad.append("pip show: %s %s, locked %s" % (name, fields.get("Version"), lock.get(name)))
            if os.path.realpath(fields.get("Location", "")) != os.path.realpath(purelib):
                bad.append("pip show: %s is at %s, not %s" % (name, fields.get("Location"), purelib))
            if not files or files[0].startswith("Cannot locate"):
                bad.append("pip show -f: %s lists no files (no RECORD?)" % name)
            missing = [p for p in files if not os.path.exists(os.path.join(purelib, p))]
            if missing:
                bad.append("pip show -f: %s lists %d missing file(s), e.g. %s" % (name, len(missing), missing[0]))

    # The base may bring broken packages of its own (Debian's dist-packages);
    # none of pip check's complaints may involve a locked package.
    checked = pip("check")
    for line in checked.stdout.splitlines():
        words = re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", line)
        if words and norm(words[0]) in lock:
            bad.append("pip check: " + line)
        m = re.search(r"requires ([A-Za-z0-9._-]+)", line)
        if m and norm(m.group(1)) in lock:
            bad.append("pip check: " + line)

    for b in bad:
        print(b)
    if not bad:
        print("pip agrees: %d locked packages, pip check %s" % (
            len(lock), "clean" if checked.returncode == 0 else "clean for them"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
