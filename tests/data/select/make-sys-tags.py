#!/usr/bin/env python3
"""The tag lists test_select.c checks pylock's order against: pypa/packaging's
sys_tags() for a described interpreter (cpython_tags then compatible_tags, as
sys_tags yields them), with the libc and ABI probes replaced by the values
given.  Run with a packaging that has create_compatible_tags_selector
(26.1+, e.g. PYTHONPATH=packaging/src); writes one tag per line.

    make-sys-tags.py 3.12 cp312 x86_64 glibc 2.36 > sys-tags-cp312-x86_64-glibc2.36.txt
"""
import sys

from packaging import _manylinux, _musllinux, tags


def main(version, abi, arch, libc, libc_version):
    major, minor = (int(x) for x in version.split("."))
    lmaj, lmin = (int(x) for x in libc_version.split("."))
    if libc == "glibc":
        _manylinux._get_glibc_version = lambda: (lmaj, lmin)
        _manylinux._have_compatible_abi = lambda executable, archs: True
        _musllinux._get_musl_version = lambda executable: None
    else:
        _manylinux._have_compatible_abi = lambda executable, archs: False
        _musllinux._get_musl_version = lambda executable: _musllinux._MuslVersion(lmaj, lmin)
    platforms = list(_manylinux.platform_tags([arch]))
    platforms += list(_musllinux.platform_tags([arch]))
    platforms.append("linux_" + arch)
    interp = "cp%d%d" % (major, minor)
    out = list(tags.cpython_tags((major, minor), [abi], platforms))
    out += list(tags.compatible_tags((major, minor), interp, platforms))
    for t in out:
        print(t)


if __name__ == "__main__":
    main(*sys.argv[1:])
