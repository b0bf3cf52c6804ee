#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make-data-wheel.py OUTDIR: a wheel exercising every installer step the
fixture wheels do not — .data/{scripts,headers,data,purelib,platlib},
#!python shebangs, console and gui entry points (with an extra and a dotted
function), a generated script named *.py, Root-Is-Purelib false.
Deterministic: the same bytes every run."""
import base64
import csv
import hashlib
import io
import os
import stat
import sys
import zipfile

DATE = (1980, 1, 1, 0, 0, 0)
NAME, VERSION = "data_pkg", "1.0"
DI = "%s-%s.dist-info" % (NAME, VERSION)
DATA = "%s-%s.data" % (NAME, VERSION)

FILES = {
    "data_pkg/__init__.py": (b"def main():\n    return 0\n", 0o644),
    "data_pkg/sub.py": (b"class Cls:\n    @staticmethod\n    def run():\n        return 0\n", 0o644),
    "data_pkg/bin/helper": (b"#!/bin/sh\nexit 0\n", 0o755),
    DATA + "/scripts/dp-shebang": (b"#!python -u\nprint('hi')\n", 0o755),
    DATA + "/scripts/dp-plain": (b"#!/bin/sh\necho plain\n", 0o755),
    DATA + "/scripts/dp_tool.py": (b"#!pythonw\nimport sys\n", 0o644),
    DATA + "/headers/dp.h": (b"#define DP 1\n", 0o644),
    DATA + "/data/share/data_pkg/notes.txt": (b"notes\n", 0o644),
    DATA + "/data/share/data_pkg/tool.py": (b"X = 1\n", 0o644),
    DATA + "/purelib/data_pkg_pure.py": (b"PURE = 1\n", 0o644),
    DATA + "/platlib/data_pkg_plat.py": (b"PLAT = 1\n", 0o644),
    DI + "/METADATA": (b"Metadata-Version: 2.1\nName: data-pkg\nVersion: 1.0\n", 0o644),
    DI + "/WHEEL": (b"Wheel-Version: 1.0\nGenerator: pylock-tests\nRoot-Is-Purelib: false\n"
                    b"Tag: py3-none-any\n", 0o644),
    DI + "/entry_points.txt": (b"[console_scripts]\ndp-console = data_pkg:main\n"
                               b"dp-ext = data_pkg.sub:Cls.run [extra]\n"
                               b"dp-gen.py = data_pkg:main\n"
                               b"\n[gui_scripts]\ndp-gui = data_pkg:main\n"
                               b"\n[other.group]\nignored = data_pkg:main\n", 0o644),
}


def record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def main(outdir):
    rows = [[p, record_hash(d), str(len(d))] for p, (d, _) in sorted(FILES.items())]
    rows.append([DI + "/RECORD", "", ""])
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    entries = dict(FILES)
    entries[DI + "/RECORD"] = (buf.getvalue().encode(), 0o644)
    dest = os.path.join(outdir, "%s-%s-py3-none-any.whl" % (NAME, VERSION))
    with zipfile.ZipFile(dest, "w") as z:
        for path in sorted(entries, key=lambda p: (p.startswith(DI), p.endswith("/RECORD"), p)):
            data, mode = entries[path]
            zi = zipfile.ZipInfo(path, DATE)
            zi.create_system = 3
            zi.external_attr = (stat.S_IFREG | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    print(dest)


if __name__ == "__main__":
    main(sys.argv[1])
