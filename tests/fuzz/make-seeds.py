#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write the fuzz targets' seeds (tests/fuzz/seeds/<target>/) from real files.

    tests/fuzz/make-seeds.py [PYLOCK] [PYTHON]

PYLOCK (default pylock/pylock) writes real TUF metadata (`pylock registry init/add/sign`)
with the two test keys that fuzz_tuf.c signs with; PYTHON (default /opt/python3.12/bin/
python3.12, else python3) runs a real `pip install --dry-run --report` over the wheels
Debian ships in /usr/share/python-wheels and the fixture wheels of
integration/fixtures/make-wheels.py, which are also the wheel seeds.  Only small files
are written (the largest wheel seed is Debian's wheel-0.38.4, 36 KB).  Running it again
rewrites the generated seeds (TUF metadata carries the time it was signed, so they differ);
crash reproducers (seeds named crash-*) are kept.  Never give a target a seed directory as
its first corpus directory: libFuzzer adds what it finds there (tests/fuzz/run.sh gives a
corpus directory of its own first).
"""
import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(TOP, "tests", "fuzz", "seeds")
# The seeds of fuzz_tuf.c's keys 1 and 2 (test keys, for fuzzing only).
KEYS = ["301dc5ce1f0f9d400d145869e332bbea3086938fd4b12b7802ccbebe0d3c917a",
        "ef986586b7f9e6a40ee82371961b4f995380e415f5394e062d0b7a8fae7746be"]
SEP = b"\n%%\n"


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, **kw).stdout


def sha256(data):
    return hashlib.sha256(data).hexdigest()


# ---- TUF metadata: a registry's files as fuzz_tuf.c reads them ----

def harness_doc(raw, keyids):
    """The envelope with its signatures replaced by the harness's key numbers."""
    doc = json.loads(raw)
    signers = [str(keyids.index(s["keyid"]) + 1) for s in doc["signatures"]]
    doc["signatures"] = signers
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def tuf_seeds(pylock, tmp, wheel):
    keys, keyids = [], []
    for i, seed in enumerate(KEYS):
        k = os.path.join(tmp, "k%d.key" % (i + 1))
        with open(os.open(k, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("pylock-ed25519-private-key-v1\n%s\n" % seed)
        keys.append(k)
        keyids.append(run(pylock, "key", "show", k).decode().split()[1])
    env = dict(os.environ, HOME=tmp, XDG_CONFIG_HOME=os.path.join(tmp, "cfg"))

    def reg(*args):
        run(pylock, "-q", "registry", *args, env=env)

    def files(d, names):
        out = []
        for n in names:
            with open(os.path.join(d, n), "rb") as f:
                out.append(f.read())
        return out

    r = os.path.join(tmp, "reg")
    reg("init", r, "--key", keys[0])
    reg("add", r, "--key", keys[0], wheel)
    first = files(r, ["root.json", "timestamp.json", "snapshot.json", "targets.json"])
    reg("sign", r, "--key", keys[0], "--add-root-key", keys[1])
    second = files(r, ["2.root.json", "timestamp.json", "snapshot.json", "targets.json"])
    h = [harness_doc(x, keyids) for x in first + second]
    write("fuzz_tuf", "registry", SEP.join(h[:4]))
    write("fuzz_tuf", "rotation", SEP.join(h))
    # Signed as published: the harness writes them as they are.
    write("fuzz_tuf", "published", SEP.join(first))
    # The newer timestamp, snapshot and targets first, then the older ones: a rollback.
    write("fuzz_tuf", "rollback", SEP.join(h[:1] + h[5:8] + [b""] + h[1:4]))
    # Consistent snapshots: VERSION.snapshot.json and VERSION.targets.json.
    root = json.loads(h[0])
    root["signed"]["consistent_snapshot"] = True
    write("fuzz_tuf", "consistent",
          SEP.join([json.dumps(root, indent=1, sort_keys=True).encode()] + h[1:4]))
    r2 = os.path.join(tmp, "reg2")
    reg("init", r2, "--key", keys[0], "--key", keys[1], "--threshold", "2")
    t2 = [harness_doc(x, keyids) for x in
          files(r2, ["root.json", "timestamp.json", "snapshot.json", "targets.json"])]
    write("fuzz_tuf", "threshold2", SEP.join(t2))
    for name, raw in zip(["root", "timestamp", "snapshot", "targets"], first):
        write("fuzz_canonjson", "tuf-" + name, raw)


# ---- pip's report ----

def report_seed(python, tmp, name, findlinks, reqs):
    out = os.path.join(tmp, name + ".json")
    subprocess.run([python, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
                    "--no-index", "--find-links", findlinks, "--report", out] + reqs,
                   check=True, env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"))
    with open(out, "rb") as f:
        report = json.load(f)
    # The long descriptions are most of a report's bytes and none of its structure.
    for item in report["install"]:
        item["metadata"].pop("description", None)
    lines = []
    for item in report["install"]:
        path = item["download_info"]["url"][len("file://"):]
        with open(path, "rb") as f:
            data = f.read()
        lines.append("%s %d %s\n" % (os.path.basename(path), len(data), sha256(data)))
    report = json.dumps(report, indent=2).encode()
    write("fuzz_report", name, "".join(lines).encode() + b"\n" + report)
    write("fuzz_canonjson", "pip-report-" + name, report)


# ---- wheels ----

def describe(whl, auto_record):
    """A wheel as fuzz_wheel.c's member description."""
    out = io.BytesIO()
    with zipfile.ZipFile(whl) as z:
        for i, info in enumerate(z.infolist()):
            mode = (info.external_attr >> 16) & 0o7777 or 0o644
            data = z.read(info)
            kind = "d" if info.is_dir() else ("s" if info.compress_type == 0 else "f")
            if auto_record and info.filename.endswith(".dist-info/RECORD"):
                data = b"@RECORD@"
            # A member's content ends at the next "\n@@ " (that newline is not part of it).
            out.write(b"%s@@ %s%o %s\n" % (b"\n" if i else b"", kind.encode(), mode,
                                            info.filename.encode()))
            out.write(data)
    return out.getvalue()


def wheel_seeds(tmp):
    fix = os.path.join(tmp, "wheels")
    bad = os.path.join(tmp, "malicious")
    run(sys.executable, os.path.join(TOP, "integration", "fixtures", "make-wheels.py"), fix)
    run(sys.executable, os.path.join(TOP, "integration", "fixtures", "make-wheels.py"),
        "--malicious", bad)
    keep = ("roman-", "markupsafe-", "six-", "xmltodict-", "wheel-")
    for d in (fix, bad):
        for n in sorted(os.listdir(d)):
            p = os.path.join(d, n)
            if not n.endswith(".whl") or os.path.getsize(p) > 40000 or (
                    d == fix and not n.startswith(keep)):
                continue
            with open(p, "rb") as f:
                write("fuzz_wheel", n, n.encode() + b"\n" + f.read())
    roman = os.path.join(fix, "roman-3.3-py3-none-any.whl")
    write("fuzz_wheel", "described-roman", b"roman-3.3-py3-none-any.whl\n" + describe(roman, True))
    write("fuzz_wheel", "described-roman-tiny-limits",
          b"!roman-3.3-py3-none-any.whl\n" + describe(roman, True))
    record = "demo-1.0.dist-info/RECORD"
    members = [
        ("d755", "demo/", b""),
        ("f644", "demo/__init__.py", b"print('demo')\n" * 40),
        ("s644", "demo/data.bin", bytes(range(256))),
        ("f755", "demo-1.0.data/scripts/demo", b"#!python\nimport demo\n"),
        ("f644", "demo-1.0.data/data/share/demo.txt", b"x\n"),
        ("f644", "demo-1.0.data/headers/demo.h", b"int demo;\n"),
        ("f644", "demo-1.0.dist-info/METADATA",
         b"Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: six\n\nDemo.\n"),
        ("f644", "demo-1.0.dist-info/WHEEL",
         b"Wheel-Version: 1.0\nGenerator: fuzz\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
        ("f644", "demo-1.0.dist-info/entry_points.txt", b"[console_scripts]\ndemo = demo:main\n"),
        ("f644", record, b"@RECORD@"),
    ]
    desc = b"\n".join(b"@@ %s %s\n%s" % (k.encode(), n.encode(), d) for k, n, d in members)
    write("fuzz_wheel", "described-data-scheme", b"demo-1.0-py3-none-any.whl\n" + desc)
    # fuzz_install also reads fuzz_wheel's seeds (seeds/fuzz_install.dirs).
    members[8] = ("f644", "demo-1.0.dist-info/entry_points.txt",
                  b"[console_scripts]\ndemo = demo:main\ndemo-x = demo.cli:run.go [extra]\n"
                  b"[gui_scripts]\ndemo-gui = demo:gui\n[other]\nignored = x:y\n")
    desc = b"\n".join(b"@@ %s %s\n%s" % (k.encode(), n.encode(), d) for k, n, d in members)
    write("fuzz_install", "described-entry-points", b"demo-1.0-py3-none-any.whl\n" + desc)
    return fix


# ---- lock files and configuration ----

def lock_seeds(fix):
    def wheel(name):
        with open(os.path.join(fix, name), "rb") as f:
            data = f.read()
        return len(data), sha256(data)

    six_size, six = wheel("six-1.16.0-py3-none-any.whl")
    idna_size, idna = wheel("idna-3.3-py3-none-any.whl")
    reg = "https://registry.example/pypi"
    write("fuzz_lockfile", "pylock-written", f'''lock-version = "1.0"
created-by = "pylock"
requires-python = "==3.12.*"

[[packages]]
name = "idna"
version = "3.3"
index = "{reg}"
requires-python = ">=3.5"

[[packages.wheels]]
name = "idna-3.3-py3-none-any.whl"
url = "{reg}/targets/idna-3.3-py3-none-any.whl"
size = {idna_size}
hashes = {{sha256 = "{idna}"}}

[[packages]]
name = "six"
version = "1.16.0"
index = "{reg}"

[[packages.wheels]]
name = "six-1.16.0-py3-none-any.whl"
url = "{reg}/targets/six-1.16.0-py3-none-any.whl"
size = {six_size}
hashes = {{sha256 = "{six}"}}

[packages.tool.pylock]
requested = true

[tool.pylock]
requested = ["idna", "six>=1.16"]
python = "/usr/bin/python3.12"
python-version = "3.12.1"
python-prefix = "/usr"
registry = "{reg}"
registry-trusted = "example"
root-keyids = ["aac6c85a2eed78da435531f2bd1ac6535532405afcb662a826d7b3008f1f90d7"]

[tool.other]
kept = {{a = 1, b = [true, 1.5, 1979-05-27T07:32:00Z]}}
''')
    write("fuzz_lockfile", "pip-shaped", f'''lock-version = "1.0"
environments = ["sys_platform == 'linux'"]
requires-python = ">=3.11"
created-by = "pip"

[[packages]]
name = "six"
version = "1.16.0"
marker = "python_version >= '3'"

[[packages.wheels]]
name = "six-1.16.0-py3-none-any.whl"
path = "wheels/six-1.16.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{six}"

[[packages]]
name = "idna"
version = "3.3"
requires-python = ">=3.5"
wheels = [
  {{name = "idna-3.3-py3-none-any.whl", upload-time = 2021-10-13T00:00:00Z, url = "https://files.example/idna-3.3-py3-none-any.whl", size = {idna_size}, hashes = {{sha256 = "{idna}"}}}},
]

[[packages.attestation-identities]]
environment = "release"
kind = "GitHub"
repository = "kjd/idna"
workflow = "deploy.yml"
''')
    write("fuzz_lockfile", "sdist-refused", '''lock-version = "1.0"
created-by = "uv"
[[packages]]
name = "attrs"
version = "25.1.0"
sdist = {url = "https://files.example/attrs-25.1.0.tar.gz", hashes = {sha256 = "1c97078a80c814273a76b2a298a932eb681c87415c11dee0a6921de7f1b02c3e"}}
[[packages]]
name = "x"
vcs = {type = "git", url = "https://example/x.git", commit-id = "deadbeef"}
''')
    write("fuzz_config", "all-keys", '''# pylock-config(5)
keepalive = 30
cache-dir = "/srv/cache/pylock"
ca-bundle = "/etc/ssl/internal.pem"
''')
    write("fuzz_config", "unknown-key", 'keepalive = 0\n[cache]\ndir = "/x"\n')
    write("fuzz_config", "wrong-type", 'cache-dir = 5\nca-bundle = "relative"\n')
    with open(os.path.join(TOP, "packaging", "config.toml"), "rb") as f:
        write("fuzz_config", "packaging-example", f.read())


def main():
    pylock = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "pylock", "pylock"))
    python = sys.argv[2] if len(sys.argv) > 2 else (
        "/opt/python3.12/bin/python3.12" if os.path.exists("/opt/python3.12/bin/python3.12")
        else "python3")
    for d in os.listdir(SEEDS) if os.path.isdir(SEEDS) else []:
        full = os.path.join(SEEDS, d)
        if d in ("fuzz_tuf", "fuzz_canonjson", "fuzz_report", "fuzz_wheel", "fuzz_install",
                 "fuzz_lockfile", "fuzz_config") and os.path.isdir(full):
            for n in os.listdir(full):
                if not n.startswith("crash-"):
                    os.unlink(os.path.join(full, n))
    with tempfile.TemporaryDirectory() as tmp:
        fix = wheel_seeds(tmp)
        tuf_seeds(pylock, tmp, os.path.join(fix, "roman-3.3-py3-none-any.whl"))
        report_seed(python, tmp, "debian-wheels", "/usr/share/python-wheels",
                    ["wheel", "setuptools"])
        report_seed(python, tmp, "requests", fix, ["requests", "jinja2>=3"])
        lock_seeds(fix)


if __name__ == "__main__":
    main()
