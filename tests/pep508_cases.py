#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Expected results for lib/version.c and lib/pep508.c, from the reference
implementation of the packaging specifications (Debian's python3-packaging)
and from pip itself.

    pep508_cases.py collect FILE       the Requires-Dist of the distributions and
                                       wheels installed here (requires-dist.txt)
    pep508_cases.py generate OUTDIR    write the tables tests/test_pep508.c reads
                                       (tests/data/pep508/*.tsv) from OUTDIR/
                                       requires-dist.txt and the cases below;
                                       deterministic (source.txt: which packaging
                                       and pip)
    pep508_cases.py check-pip FILE     FILE: lines "ORIGINAL<TAB>FORMATTED" (what
                                       pylock hands pip for a requirement it
                                       accepted); fails unless this
                                       interpreter's pip reads FORMATTED as a
                                       named requirement (no link: not a URL, a
                                       path or an archive) meaning what
                                       ORIGINAL means to packaging

Tables (tab-separated, one case a line; no field holds a tab or a newline):
  versions.tsv      INPUT  NORMALIZED | !            (! = not a PEP 440 version)
  order.tsv         A  B  CMP                        (-1, 0, 1)
  specifiers.tsv    SPEC  1 | 0                      (valid as one specifier)
  contains.tsv      SPEC  VERSION  PRE_TRUE  PRE_FALSE  (1/0: contains(v, prereleases=...))
  envs.tsv          ENV  VARIABLE  VALUE
  markers.tsv       MARKER  RESULTS | !              (one of T, F, E per ENV x EXTRA)
  requirements.tsv  REQ  STATUS  NAME  EXTRAS  SPECS  MARKER-RESULTS
                    STATUS: ok, invalid, direct (a direct reference: pylock's
                    refusal), option (a pip option)

Where pylock deliberately differs from packaging 23.0, the expected value is
not packaging's answer but the one the specifications give, and every such
case is named below (DIVERGENCES, STRICT) and checked to be one: if packaging
changes, generation fails instead of silently moving the goalposts.
"""
import itertools
import os
import random
import re
import sys

try:
    from packaging import markers as pmarkers
    from packaging.markers import InvalidMarker, Marker, UndefinedComparison
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, Specifier
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version
except ImportError:  # check-pip needs only pip (an interpreter without packaging)
    pmarkers = None

# ------------------------------------------------------------------ versions

RELEASES = ["0", "1", "1.0", "1.0.0", "01.2", "1.2", "1.2.3", "1.2.3.4", "2", "2.0", "10",
            "1.10", "1.9", "0.0.1", "3.12", "3.12.1", "12345678901234567890123"]
EPOCHS = ["", "", "", "0!", "1!", "01!", "2!"]
PRES = ["", "", "", "a", "a1", "alpha2", ".a.1", "-beta_3", "b0", "c1", "rc", "RC2", "pre3",
        "-preview.4", "_a", "a-1", "b.", "rc01"]
POSTS = ["", "", "", ".post1", "-1", "post", ".rev2", "-r3", "_post_4", "r", "-post", ".post0"]
DEVS = ["", "", "", ".dev0", "dev", "-dev1", "_dev.2", ".DEV3"]
LOCALS = ["", "", "", "+abc", "+1.2", "+ubuntu-1", "+01", "+abc.007", "+A_b", "+1a", "+0"]
PREFIXES = ["", "", "", "v", "V"]

HANDWRITTEN_VERSIONS = [
    "1.0", "1.0.0", "1", "1!1.0", "1.0a1", "1.0b2", "1.0rc3", "1.0c3", "1.0.post4", "1.0.dev5",
    "1.0a1.post2.dev3+local.7", "1.0-1", "1.0_1", "1.0.1", "1.0a", "1.0.a", "1.0-a", "1.0alpha",
    "1.0preview", "1.0pre", "1.0-rev", "1.0r", "1.0rev1", "1.0.post", "1.0-post-1", "1.0dev",
    "1.0.dev", "1.0-dev-1", "v1.0", "V1.0", "1.0+abc", "1.0+ABC.def", "1.0+1_2-3",
    "1.0+abc..def", "1.0+", "1.0+-abc", "1.0+abc-", "+1.0", "1.0-", "1.0.", ".1.0", "1..0",
    "1.0a1b1", "1.0rc1rc1", "1.0post1post1", "1.0.dev1.dev2", "1.0+abc+def", "1!", "!1",
    "1!2!3", "1.0 ", " 1.0", "1 .0", "abc", "", "1.0a.post1", "1.0a-1", "1.0a.-1", "1.0a..post1",
    "1.0.post.dev", "1.0-1-1", "1.0-r1", "1.0.-1", "1.0_-1", "1.0ab", "1.0preview1", "1.0prev",
    "1.0pos", "1.0devv", "1.0.dev1+x", "0.0", "00", "0!0", "1.0.*", "1.*", "*", "1.0+*",
    "1.0e1", "1.0e", "1e3", "0x10", "1_0", "1-0", "1.0-beta", "1.0.0-RC.1", "2.0.0-beta.1",
    "2012.10", "20230101120000.1", "1.0+00001", "1.0+a.1.b", "1.0+1.a", "1.0+a", "1.0+1",
]


def gen_versions(rnd):
    out = list(HANDWRITTEN_VERSIONS)
    for _ in range(2500):
        v = "".join([rnd.choice(PREFIXES), rnd.choice(EPOCHS), rnd.choice(RELEASES),
                     rnd.choice(PRES), rnd.choice(POSTS), rnd.choice(DEVS), rnd.choice(LOCALS)])
        out.append(v)
    # Mutations: most become invalid, some stay valid in a new spelling.
    alphabet = "0123456789.-_+!abcdeloprstvABC"
    for _ in range(1500):
        v = list(rnd.choice(out))
        k = rnd.randrange(3)
        i = rnd.randrange(len(v) + 1)
        if k == 0:
            v.insert(i, rnd.choice(alphabet))
        elif k == 1 and v:
            del v[min(i, len(v) - 1)]
        elif v:
            v[min(i, len(v) - 1)] = rnd.choice(alphabet)
        out.append("".join(v))
    seen, result = set(), []
    for v in out:
        # pylock takes versions without surrounding blanks (packaging strips them).
        if v not in seen and v == v.strip() and "\t" not in v and len(v) <= 128:
            seen.add(v)
            result.append(v)
    return result


def parse_version(v):
    try:
        return Version(v)
    except InvalidVersion:
        return None


def cmp(a, b):
    return (a > b) - (a < b)


# ------------------------------------------------------------------ specifiers

OPS = ["~=", "==", "!=", "<=", ">=", "<", ">", "==="]
PEP508_VERSION = re.compile(r"^[A-Za-z0-9._*+!-]+$")


def spec_valid(op, version):
    """Valid for pylock: packaging's grammar, with === limited to PEP 508's
    version characters (packaging takes anything but blanks, ';' and ')')."""
    if op == "===" and not PEP508_VERSION.match(version):
        return False
    try:
        s = Specifier(op + version)
    except InvalidSpecifier:
        return False
    # "<" + "=1" is "<=1" to packaging: the operator must be the one given.
    return s.operator == op and s.version == version


def _strip_epoch(text):
    return text.split("!", 1)[1] if "!" in text else text


def oracle_contains(op, version, item, prereleases):
    """PEP 440's answer.  packaging 23.0 computes prefix matches (==X.*, and
    the X.* of ~=) on the text: it glues a non-zero epoch to the first release
    number (==1!2.0.* refuses 1!2) and takes '.pre1', '.c1', '.r1', '.rev1'
    or upper case for release numbers in ~= (~=1.4.5.pre1 becomes ==1.4.5.*).
    Here the epoch is compared on its own and the specifier's version spelled
    normally first."""
    v = Version(item)
    if op != "===":
        star = version.endswith(".*")
        base = Version(version[:-2] if star else version)
        if op == "~=" or star:
            if base.epoch != v.epoch:
                return op == "!=" and (prereleases or not v.is_prerelease)
            version = _strip_epoch(str(base)) + (".*" if star else "")
            item = _strip_epoch(str(v))
        else:
            version = str(base)
    return Specifier(op + version).contains(item, prereleases=prereleases)


def contains_divergence(op, version, item, prereleases):
    raw = Specifier(op + version).contains(item, prereleases=prereleases)
    return raw != oracle_contains(op, version, item, prereleases)


SPEC_VERSIONS = ["1", "1.0", "1.0.0", "2.0", "1.4.5", "1.4.5a4", "1.4.5.pre1", "1.4.5.c1",
                 "1.4.5.r1", "1.4.5-1", "1.4.5.post2", "1.4.5.dev3", "1.4.5.RC1", "1!1.4",
                 "1!2.0", "0!1.0", "1.0+local", "1.0+LOCAL.1", "1.*", "1.0.*", "1!2.*",
                 "1!2.0.*", "1.0a1.*", "1.0+x.*", "*", "v1.0", "v1.*", "3.12", "3.12.*",
                 "3.13.0rc1", "1.0.post1", "1.0-r1", "01.02", "foo", "1.0-foo", "1.0.0.0.0",
                 "2.0.dev1", "2.0a1", "2.0b1.post1.dev1", "1.5", "1.5.0", "1.4", "1.4.5.*"]
CONTAINS_ITEMS = ["1", "1.0", "1.0.0", "1.0.1", "1.0a1", "1.0.dev0", "1.0.post1", "1.0+local",
                  "1.0+local.1", "1.0.post1+local", "1.1", "1.4", "1.4.5", "1.4.5a4", "1.4.5a5",
                  "1.4.5rc1", "1.4.5.post1", "1.4.5.post2", "1.4.6", "1.4.99", "1.5", "1.5.0",
                  "1.5a1", "2.0", "2.0.dev1", "2.0a1", "2.0rc1", "2.0.post1", "2.0+l", "0.9",
                  "1!1.4", "1!1.4.5", "1!1.5", "1!2", "1!2.0", "1!2.0.1", "1!2a1", "1!3",
                  "0!1.0", "3.12", "3.12.0", "3.12.1", "3.13.0rc1", "3.13", "3.11.2",
                  "1.0a1.dev1", "1.0b2.post1", "1.0rc1", "1.0.0.0.1", "2.0b1.post1.dev1"]


# ------------------------------------------------------------------ markers

ENVS = {
    "cp312": {
        "implementation_name": "cpython", "implementation_version": "3.12.1",
        "os_name": "posix", "platform_machine": "x86_64",
        "platform_python_implementation": "CPython", "platform_release": "6.1.0-18-amd64",
        "platform_system": "Linux",
        "platform_version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
        "python_full_version": "3.12.1", "python_version": "3.12", "sys_platform": "linux",
    },
    "cp311": {
        "implementation_name": "cpython", "implementation_version": "3.11.2",
        "os_name": "posix", "platform_machine": "aarch64",
        "platform_python_implementation": "CPython", "platform_release": "5.10",
        "platform_system": "Linux", "platform_version": "#1 SMP Debian 5.10.205-2",
        "python_full_version": "3.11.2", "python_version": "3.11", "sys_platform": "linux",
    },
    "pypy-win": {
        "implementation_name": "pypy", "implementation_version": "7.3.15",
        "os_name": "nt", "platform_machine": "AMD64",
        "platform_python_implementation": "PyPy", "platform_release": "10",
        "platform_system": "Windows", "platform_version": "10.0.19041",
        "python_full_version": "3.10.13", "python_version": "3.10", "sys_platform": "win32",
    },
    "rc-mac": {
        "implementation_name": "cpython", "implementation_version": "3.13.0rc1",
        "os_name": "posix", "platform_machine": "arm64",
        "platform_python_implementation": "CPython", "platform_release": "23.1.0",
        "platform_system": "Darwin",
        "platform_version": "Darwin Kernel Version 23.1.0: Mon Oct  9 21:27:24 PDT 2023",
        "python_full_version": "3.13.0rc1", "python_version": "3.13", "sys_platform": "darwin",
    },
}
EXTRAS = ["", "test", "Foo.Bar"]
VARIABLES = list(ENVS["cp312"]) + ["extra"]
VALUES = {
    "implementation_name": ["cpython", "pypy", "CPython", "py"],
    "implementation_version": ["3.12", "3.12.1", "3.13", "7.3", "3.13.0rc1", "3.12.*"],
    "os_name": ["posix", "nt", "pos", "java"],
    "platform_machine": ["x86_64", "AMD64", "arm64", "x86", "aarch64"],
    "platform_python_implementation": ["CPython", "PyPy", "Jython", "Py"],
    "platform_release": ["6", "6.1", "5.10", "6.1.0-18-amd64", "23", "10"],
    "platform_system": ["Linux", "Windows", "Darwin", "Lin"],
    "platform_version": ["10.0.19041", "Debian", "#1", "10"],
    "python_full_version": ["3.12.1", "3.12", "3.12.0", "3.13.0rc1", "3.13", "3.10.13",
                            "3.12.*", "3.11.2", "3.12.1+local"],
    "python_version": ["3.12", "3.8", "3.10", "3.9", "3", "3.12.0", "3.*", "3.1", "2.7",
                       "3.12.*", "3.13"],
    "sys_platform": ["linux", "win32", "darwin", "lin", "linux2", "cygwin"],
    "extra": ["test", "Test", "foo-bar", "foo_bar", "Foo.Bar", "", "tes"],
}

HANDWRITTEN_MARKERS = [
    'python_version >= "3.8" and python_version < "4"',
    'python_version < "3.11" or sys_platform == "win32"',
    'python_version >= "3" and (os_name == "nt" or sys_platform == "darwin")',
    '(python_version >= "3" and os_name == "nt") or sys_platform == "darwin"',
    'python_version>"3"and os_name=="posix"',
    "python_version>'3'",
    'python_version > "3.0" and python_version < "3.13" or extra == "test"',
    'extra == "test" and python_version >= "3.12"',
    '((((python_version >= "3"))))',
    '"linux" in sys_platform',
    '"win" not in sys_platform',
    'sys_platform in "linux darwin"',
    'python_version in "3.10 3.11 3.12"',
    'python_version not in "3.10 3.11"',
    'platform_release >= "6"',
    'platform_release < "5"',
    'platform_version ~= "10.0"',
    'platform_release ~= "6.1"',
    'python_full_version === "3.12.1"',
    'python_full_version === "3.12.01"',
    'python_version === "foo"',
    'implementation_name === "cpython"',
    'os_name ~= "posix"',
    'python_version ~= "3"',
    'python_version ~= "3.8"',
    'python_full_version < "3.13"',
    'python_full_version >= "3.13"',
    'python_full_version == "3.13.*"',
    'python_full_version != "3.13.0"',
    'python_version == "=3.12"',
    'python_version < "=3.12"',
    'python_version > "=3.12"',
    'python_version == " 3.12 "',
    'python_full_version == "3.12.1+local"',
    '"3.12" == python_version',
    '"3.8" < python_version',
    '"3.*" == python_version',
    'os.name == "posix"',
    'sys.platform == "linux"',
    'platform.machine == "x86_64"',
    'platform.version == "10.0.19041"',
    'platform.python_implementation == "CPython"',
    'python_implementation == "PyPy"',
    'extra == "Foo.Bar"',
    'extra == "foo-bar"',
    'extra != "test"',
    '"test" == extra',
    '"tes" in extra',
    'extra in "test other"',
    'extra == "foo" or extra == "test"',
    'platform_version == "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"',
    "platform_version == 'Darwin Kernel Version 23.1.0: Mon Oct  9 21:27:24 PDT 2023'",
    'os_name == \'it"s\'',
    "os_name == \"it's\"",
    'python_version\t>=\t"3"',
    ' python_version >= "3" ',
    # invalid
    "", "python_version", 'python_version >=', '>= "3"', 'python_version >= 3',
    'python_version >= "3" and', 'and python_version >= "3"', '(python_version >= "3"',
    'python_version >= "3")', 'python_version = "3"', 'python_version => "3"',
    'python_versions >= "3"', 'os_name == "posix" xor os_name == "nt"', '"a" == "a"',
    "python_version == os_name", "'unterminated", 'python_version >= "3" &&  os_name',
    'os_name in"posix"', '"posix"in os_name', 'os_name notin "posix"', 'os_name not  in "p"',
    'os_name not"in" "p"', 'python_version >= "3"or os_name == "nt"',
    'python_version>"3"andos_name=="nt"', 'os_name == "\\x41"', 'os_name == "a\\"b"',
    'os_name == "é"', "extras == \"a\"", '"a" in extras', "dependency_groups",
    'implementation_name.x == "a"', 'os_name == "a";', 'os_name == ""', '"" in os_name',
    'platform_release in "6.1.0-18-amd64"',
]

# Markers packaging 23.0 takes that PEP 508's grammar (and pylock) does not.
STRICT_MARKERS = {
    'os_name in"posix"': "PEP 508 wants blanks around 'in'",
    '"posix"in os_name': "PEP 508 wants blanks around 'in'",
    'os_name == "\\x41"': "a backslash is not a python_str_c (packaging runs ast.literal_eval)",
    'os_name == "é"': "a marker string is ASCII (PEP 508's letters are a-z, A-Z)",
    '"a" == "a"': "pylock wants one variable and one string (packaging fails at evaluation)",
    "python_version == os_name": "pylock wants one variable and one string (packaging compares "
                                 "python_version with the text 'os_name')",
}


def spec_eval_op(lhs, op, rhs):
    """packaging 23.0's markers._eval_op, with the PEP 508 rules where 23.0
    strays: a version comparison only when the right side is a valid version
    for that very operator (23.0 reads `< "=3"` as `<=3`), and Python's
    operator when the left side is not a version (23.0 raises InvalidVersion),
    with oracle_contains for the specifier itself."""
    o = op.serialize()
    rhs_s = rhs.strip(" \t\n\r\f\v")
    lhs_s = lhs.strip(" \t\n\r\f\v")
    if o == "===":
        valid = re.match(r"^[^\s;)]*$", rhs_s) is not None
    else:
        valid = spec_valid(o, rhs_s)
    if valid and parse_version(lhs_s) is not None:
        if o == "===":
            return str(Version(lhs_s)).lower() == rhs_s.lower()
        return oracle_contains(o, rhs_s, lhs_s, True)
    oper = pmarkers._operators.get(o)
    if oper is None:
        raise UndefinedComparison(o)
    return oper(lhs, rhs)


def marker_results(text, packaging_eval_op):
    """One of T, F, E for each (env, extra); None if the marker does not parse."""
    try:
        # 23.0's Marker() ignores what follows a complete marker ("a == 'b' xor"):
        # read it as a requirement's, which must end there.
        Requirement("x ;" + text)
        m = Marker(text)
    except (InvalidMarker, InvalidRequirement, SyntaxError, ValueError):
        return None  # 23.0 also lets literal_eval's errors out
    out = []
    saved = pmarkers._eval_op
    pmarkers._eval_op = packaging_eval_op
    try:
        for env in ENVS.values():
            for extra in EXTRAS:
                try:
                    out.append("T" if m.evaluate(dict(env, extra=extra)) else "F")
                except Exception:  # noqa: BLE001 - any failure is an evaluation error
                    out.append("E")
    finally:
        pmarkers._eval_op = saved
    return "".join(out)


def gen_markers(rnd):
    out = list(HANDWRITTEN_MARKERS)
    for var in VARIABLES:
        for op in OPS + ["in", "not in"]:
            for val in VALUES[var]:
                out.append(f'{var} {op} "{val}"')
    for _ in range(600):
        parts = []
        for i in range(rnd.randrange(1, 4)):
            var = rnd.choice(VARIABLES)
            op = rnd.choice(OPS + ["in", "not in"])
            val = rnd.choice(VALUES[var])
            cmp_ = f'"{val}" {op} {var}' if rnd.random() < 0.2 else f'{var} {op} "{val}"'
            if rnd.random() < 0.3:
                cmp_ = "(" + cmp_ + ")"
            if i:
                parts.append(rnd.choice(["and", "or"]))
            parts.append(cmp_)
        out.append(" ".join(parts))
    seen, result = set(), []
    for m in out:
        if m not in seen and "\n" not in m:
            seen.add(m)
            result.append(m)
    return result


# ------------------------------------------------------------------ requirements

HANDWRITTEN_REQS = [
    "requests", "Requests", "requests>=2", "requests >= 2", "requests (>=2.0, <3)",
    "requests(>=2.0,<3)", "requests[security]", "requests [security, socks] >= 2.8.1, == 2.8.*",
    "requests[security,tests]>=2.8.1,==2.8.*;python_version<'2.7'", "name[ quux , strange ];"
    "python_version<'2.7' and platform_version=='2'", "zope.interface", "zope_interface",
    "Zope.Interface>=4", "a", "A1", "a-b_c.d", "a--b", "a._b", "a_", "_a", "a-", "-a", ".a",
    "a.", "foo,bar", "foo bar", "foo>=1 bar", "foo>=1,", "foo>=1,<2,", "foo>=1, ,<2",
    "foo (>=1,)", "foo ()", "foo( )", "foo[]", "foo[ ]", "foo[bar", "foo[bar,]", "foo[,bar]",
    "foo[bar baz]", "foo[bar]>=1;", "foo;", "foo ;", "foo; ", "foo; os_name", "foo;os_name=='nt'",
    "foo==1.0.*", "foo==1.0a1.*", "foo~=1", "foo~=1.0", "foo~=1.0.*", "foo<1.0+local",
    "foo==1.0+local", "foo!=1.0+local", "foo>=1.0+local", "foo===anything", "foo===1.0 ",
    "foo=== 1.0", "foo===", "foo==", "foo>=", "foo=>1", "foo=1", "foo==1.0==2.0", "foo>=1<2",
    "foo>=1,<2", "foo >=1 , <2", "foo>=1 ,<2", "foo == 1.0 ; python_version >= '3'",
    "foo==1.0;python_version>='3'", "foo @ https://example.org/foo.whl",
    "foo@https://example.org/foo.whl", "foo @ file:///tmp/foo", "foo @ file:///x.tar.gz",
    "foo @ git+https://github.com/x/foo", "foo[bar] @ https://x/y.whl ; os_name == 'nt'",
    "foo @ https://x/y.whl; os_name == 'nt'", "foo @ ", "foo @", "foo@", "foo ==1.0 @ http://x",
    "-e .", "-e git+https://x/y#egg=y", "--index-url=https://evil", "--index-url https://evil",
    "-r requirements.txt", "--editable=./x", "-i https://evil", "--extra-index-url", "--",
    "-", "./dir", "../dir", "/abs/dir", "/abs/x.whl", "./x.tar.gz", "~/x", "dir/", "dir/x",
    "x/y.whl", "foo.whl", "foo-1.0-py3-none-any.whl", "foo.tar.gz", "foo.zip", "foo.tgz",
    "foo.tar", "foo.tar.bz2", "foo.tbz", "foo.tar.xz", "foo.txz", "foo.tlz", "foo.tar.lz",
    "foo.tar.lzma", "foo.bz2", "foo.gz", "foo.lzma", "foo.WHL", "foo==1.0+b.tar.gz",
    "foo==1.0+tar", "foo===1.whl", "foo>=1.0+b.zip", "foo[bar.zip]", "file:///x",
    "file:x", "file:/x", "https://example.org/foo.whl", "http://x/y", "git+https://x/y",
    "git+ssh://git@x/y.git", "git+file:///tmp/repo", "hg+https://x/y", "svn+https://x/y",
    "bzr+https://x/y", "C:\\x\\y.whl", "C:/x", "c:foo", "\\\\server\\share",
    "foo\\bar", "foo:bar", "foo/bar", "foo; os_name == 'a/b'", "foo; os_name == 'C:\\x'",
    "", " ", "\t", "foo\tbar", " foo ", "\tfoo>=1\t", "foo\n", "foo\r", "foo\x00",
    "föo", "foo; os_name == 'é'", "foo>=1.0 ; os_name == \"nt\" or os_name == 'posix'",
    "foo; extra == 'test'", "foo; extra == 'Test_Foo'", "foo; '3' > python_version",
    "foo; (os_name == 'nt') and (python_version >= '3' or sys_platform == 'linux')",
    "foo>=1.0; python_version >= '3' and python_version < '3.13'",
    "foo>=1.0;python_version>='3'and python_version<'3.13'",
    "foo; os.name == 'posix'", "foo; python_implementation == 'CPython'",
    "foo (>=1.0) ; python_version >= '3'", "foo(>=1.0);python_version>='3'",
    "foo (>=1.0) (<2)", "foo >=1.0 (<2)", "foo[bar](>=1)", "foo [bar] (>=1)",
    "foo>=1.0.dev0", "foo>=1.0-dev", "foo>1.0.post1", "foo<=v1.0", "foo==V1.0", "foo==1.0.0.0",
    "foo>=1!2.0", "foo==01.002", "foo!=1.*", "foo>=1.*", "foo<1.*", "foo~=1.*", "foo~=1.0+l",
    "foo>=1.0;", "foo>=1.0 ;", "foo==1.0 and", "foo==1.0.", "foo==1.0-", "foo==1..0",
    "foo==1.0;extras == 'a'", "foo; dependency_groups == 'a'",
    # Requirements as popular projects on PyPI publish them.
    'importlib-metadata>=4.6; python_version < "3.10"',
    'typing-extensions>=4.0.0; python_version < "3.11"',
    'colorama; platform_system == "Windows"',
    'pywin32>=223; sys_platform == "win32" and platform_python_implementation == "CPython"',
    'numpy>=1.23.2; python_version == "3.11"', "tzdata>=2022.7",
    'cffi>=1.12; platform_python_implementation != "PyPy"',
    'exceptiongroup>=1.0.0rc8; python_version < "3.11"',
    'sphinx!=4.0.0,>=3.3.0; extra == "docs"', 'backports.zoneinfo; python_version < "3.9"',
    'pyobjc-framework-Cocoa; sys_platform == "darwin"',
    'uvloop!=0.15.0,!=0.15.1,>=0.14.0; (sys_platform != "win32" and (sys_platform != "cygwin" '
    'and platform_python_implementation != "PyPy")) and extra == "standard"',
    'greenlet!=0.4.17; platform_machine == "aarch64" or (platform_machine == "ppc64le" or '
    '(platform_machine == "x86_64" or (platform_machine == "amd64" or (platform_machine == '
    '"AMD64" or (platform_machine == "win32" or platform_machine == "WIN32")))))',
    "torch==2.1.0+cu118",
    'nvidia-cudnn-cu12==8.9.2.26; platform_system == "Linux" and platform_machine == "x86_64"',
    'tomli>=1.1.0; python_full_version < "3.11.0a7"',
    'pexpect>4.3; sys_platform != "win32" and sys_platform != "emscripten"',
    "requests[socks]<3,>=2.21", "grpcio<2.0dev,>=1.33.2",
    "google-api-core[grpc]!=2.0.*,!=2.1.*,!=2.10.*,!=2.2.*,<3.0.0dev,>=1.34.0",
    "protobuf!=3.20.0,!=3.20.1,!=4.21.0,<5.0.0dev,>=3.19.5", "enum34; python_version < '3.4'",
    'futures; python_version == "2.7"', 'win32-setctime>=1.0.0; sys_platform == "win32"',
    'ruamel.yaml.clib>=0.2.7; platform_python_implementation == "CPython" and python_version < '
    '"3.13"', 'foo ; implementation_name == "cpython" and implementation_version >= "3.12"',
    "pyOpenSSL>=0.14; extra == 'security'", "PySocks!=1.5.7,>=1.5.6; extra == 'socks'",
]

# Requirements packaging 23.0 takes that PEP 508's grammar (and pylock) does not.
STRICT_REQS = {
    "a_": "a name ends with a letter or digit (packaging's \\b lets '_' end it)",
    "foo ()": "PEP 508's version_many needs one specifier inside parentheses",
    "foo( )": "PEP 508's version_many needs one specifier inside parentheses",
    "foo; os_name == 'é'": "a marker string is ASCII",
    "foo===": "PEP 508's version is one character or more",
    "foo\n": "a newline is not a blank (packaging's $ matches before a final newline)",
}

# pip's forms that are not requirements, as pip's command line reads them, and
# pylock's refusal of each (pip would otherwise fetch, read or build what
# they name).
PIP_FORMS = {
    "./dir": "direct", "../dir": "direct", "/abs/dir": "direct", "/abs/x.whl": "direct",
    "./x.tar.gz": "direct", "~/x": "direct", "dir/": "direct", "dir/x": "direct",
    "x/y.whl": "direct", "C:\\x\\y.whl": "direct", "C:/x": "direct", "c:foo": "direct",
    "\\\\server\\share": "direct", "foo\\bar": "direct", "foo:bar": "direct",
    "foo/bar": "direct", "file:x": "direct", "file:/x": "direct", "foo===1.whl": "direct",
    ".a": "direct",
    # Not requirements either way, but pylock stops at the '@' of a direct
    # reference (packaging wants a URL, then a blank before ';').
    "foo @ ": "direct", "foo @": "direct", "foo@": "direct",
    "foo @ https://x/y.whl; os_name == 'nt'": "direct",
}


def req_status_and_fields(s):
    """(status, name, extras, specs, marker results) by packaging and pip."""
    body = s.strip(" \t")
    if body.startswith("-"):
        return "option", "", "", "", ""
    if s in PIP_FORMS:
        return PIP_FORMS[s], "", "", "", ""
    try:
        r = Requirement(s)
    except (InvalidRequirement, SyntaxError, ValueError):
        return ("direct" if pip_link(s) else "invalid"), "", "", "", ""
    if r.url:
        return "direct", "", "", "", ""
    link = pip_link(s)
    if link is not None:
        return "direct", "", "", "", ""
    if s in STRICT_REQS:
        return "invalid", "", "", "", ""
    name = canonicalize_name(r.name)
    extras = ",".join(sorted({canonicalize_name(e) for e in r.extras}))
    specs = ",".join(sorted(str(sp) for sp in r.specifier))
    mres = marker_results(str(r.marker), spec_eval_op) if r.marker else ""
    return "ok", name, extras, specs, mres


_PIP = None


def pip_link(s):
    """What pip's command line makes of s: a link (URL, path, archive), or None
    (a named requirement, or one pip refuses).  Run in an empty directory."""
    global _PIP
    if _PIP is None:
        import logging
        logging.disable(logging.CRITICAL)
        from pip._internal.req.constructors import install_req_from_line
        _PIP = install_req_from_line
    try:
        ireq = _PIP(s)
    except Exception as e:  # noqa: BLE001
        # pip took it for a path or a wheel file that is not there; anything
        # else it refuses, it fetches nothing for.
        text = str(e)
        if "looks like a path" in text or "not a valid wheel filename" in text:
            return "path: " + text.splitlines()[0]
        return None
    return str(ireq.link) if ireq.link else None


# ------------------------------------------------------------------ output

def write(path, rows):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for row in rows:
            for field in row:
                assert "\t" not in field and "\n" not in field, row
            f.write("\t".join(row) + "\n")


def esc(s):
    """Tabs, newlines, CR, NUL and backslashes in a field, escaped (the C reader undoes it)."""
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r").replace("\x00", "\\0"))


def generate(outdir):
    os.makedirs(outdir, exist_ok=True)
    os.chdir(outdir)  # pip checks paths relative to the working directory
    tmp = os.path.join(outdir, ".empty")
    os.makedirs(tmp, exist_ok=True)
    os.chdir(tmp)
    rnd = random.Random(508440)
    notes = []

    versions = gen_versions(rnd)
    rows, valid = [], []
    for v in versions:
        pv = parse_version(v)
        rows.append((esc(v), str(pv) if pv is not None else "!"))
        if pv is not None:
            valid.append((v, pv))
    write(os.path.join(outdir, "versions.tsv"), rows)

    rows = []
    ordered = sorted(valid, key=lambda x: x[1])
    for (a, pa), (b, pb) in zip(ordered, ordered[1:]):
        rows.append((a, b, str(cmp(pa, pb))))
    for _ in range(6000):
        (a, pa), (b, pb) = rnd.choice(valid), rnd.choice(valid)
        rows.append((a, b, str(cmp(pa, pb))))
    write(os.path.join(outdir, "order.tsv"), rows)

    spec_rows, contains_rows, divergent = [], [], 0
    spec_versions = SPEC_VERSIONS + [v for v, _ in rnd.sample(valid, 60)]
    spec_versions += [rnd.choice(RELEASES) + ".*" for _ in range(10)]
    for op in OPS:
        for sv in spec_versions:
            ok = spec_valid(op, sv)
            spec_rows.append((op + sv, "1" if ok else "0"))
            if not ok:
                continue
            items = CONTAINS_ITEMS + [v for v, _ in rnd.sample(valid, 10)]
            for item in items:
                t = oracle_contains(op, sv, item, True)
                f = oracle_contains(op, sv, item, False)
                if contains_divergence(op, sv, item, True):
                    divergent += 1
                contains_rows.append((op + sv, item, "1" if t else "0", "1" if f else "0"))
    write(os.path.join(outdir, "specifiers.tsv"), spec_rows)
    write(os.path.join(outdir, "contains.tsv"), contains_rows)
    notes.append(f"contains: {len(contains_rows)} cases, {divergent} where packaging 23.0's "
                 "prefix matching is not PEP 440's (epochs, spellings)")

    write(os.path.join(outdir, "envs.tsv"),
          [(name, k, v) for name, env in ENVS.items() for k, v in env.items()])

    rows, strict_seen, diverge = [], set(), 0
    for m in gen_markers(rnd):
        ours = marker_results(m, spec_eval_op)
        stock = marker_results(m, saved_eval_op)
        if m in STRICT_MARKERS:
            assert ours is not None, f"STRICT_MARKERS: packaging refuses {m!r} already"
            strict_seen.add(m)
            ours = None
        elif ours != stock:
            diverge += 1
        rows.append((esc(m), ours if ours is not None else "!"))
    assert strict_seen == set(STRICT_MARKERS), set(STRICT_MARKERS) - strict_seen
    write(os.path.join(outdir, "markers.tsv"), rows)
    notes.append(f"markers: {len(rows)} cases, {diverge} where packaging 23.0 raises "
                 "InvalidVersion or reads `< \"=3\"` as `<=3`")

    rows = []
    with open(os.path.join(outdir, "requires-dist.txt"), encoding="utf-8") as f:
        corpus = HANDWRITTEN_REQS + [line.rstrip("\n") for line in f]
    seen = set()
    for s in corpus:
        if s in seen:
            continue
        seen.add(s)
        status, name, extras, specs, mres = req_status_and_fields(s)
        rows.append((esc(s), status, name, extras, specs, mres))
    for s in STRICT_REQS:
        assert s in seen
        Requirement(s)  # packaging does take it
    write(os.path.join(outdir, "requirements.tsv"), rows)
    notes.append(f"requirements: {len(rows)} cases ({sum(r[1] == 'ok' for r in rows)} ok)")
    import importlib.metadata
    with open(os.path.join(outdir, "source.txt"), "w", encoding="utf-8") as f:
        f.write(f"packaging {importlib.metadata.version('packaging')}\n")
        f.write(f"pip {importlib.metadata.version('pip')}\n")
    os.rmdir(tmp)
    for n in notes:
        print(n)


def collect(path):
    """Every Requires-Dist of the distributions installed on this machine, and of
    the wheels Debian ships (pip, setuptools, wheel): a corpus of real
    requirements, committed as requires-dist.txt so that the tables do not
    depend on what a machine has installed."""
    import zipfile
    out = []
    roots = ["/usr/lib/python3/dist-packages"] + [
        p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]
    for root in roots:
        for d in sorted(os.listdir(root)):
            md = os.path.join(root, d, "METADATA")
            if d.endswith(".dist-info") and os.path.isfile(md):
                with open(md, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if not line.strip():
                            break
                        if line.lower().startswith("requires-dist:"):
                            out.append(line.split(":", 1)[1].strip())
    wheels = "/usr/share/python-wheels"
    for w in sorted(os.listdir(wheels)) if os.path.isdir(wheels) else []:
        with zipfile.ZipFile(os.path.join(wheels, w)) as z:
            for name in z.namelist():
                if name.endswith(".dist-info/METADATA"):
                    for line in z.read(name).decode("utf-8", "replace").splitlines():
                        if not line.strip():
                            break
                        if line.lower().startswith("requires-dist:"):
                            out.append(line.split(":", 1)[1].strip())
    with open(path, "w", encoding="utf-8") as f:
        for r in sorted(set(out)):
            f.write(r + "\n")


saved_eval_op = pmarkers._eval_op if pmarkers else None


# ------------------------------------------------------------------ check-pip

def unesc(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append({"t": "\t", "n": "\n", "r": "\r", "0": "\x00", "\\": "\\"}[s[i + 1]])
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def check_pip(path):
    """pip's command line reads what pylock formats as a named requirement (no
    link) meaning what pip reads in the original: same name, extras,
    specifiers, and a marker that evaluates the same in every test env."""
    import logging
    import tempfile
    logging.disable(logging.CRITICAL)
    from pip._internal.req.constructors import install_req_from_line
    from pip._vendor.packaging.utils import canonicalize_name as canon
    import pip
    failures, n = 0, 0
    os.chdir(tempfile.mkdtemp())
    for line in open(path, encoding="utf-8"):
        orig, formatted = (unesc(x) for x in line.rstrip("\n").split("\t"))
        n += 1
        problems = []
        try:
            got = install_req_from_line(formatted)
        except Exception as e:  # noqa: BLE001
            got, problems = None, [f"pip refuses it: {e}"]
        try:
            want = install_req_from_line(orig)
        except Exception:  # noqa: BLE001 - pip cannot read the original: nothing to compare
            want = None
        if got is None:
            pass
        elif got.link is not None or got.req is None:
            problems.append(f"pip reads a link {got.link}")
        elif want is not None and want.req is not None and want.link is None:
            if canon(got.req.name) != canon(want.req.name):
                problems.append(f"name {got.req.name}")
            if set(got.req.extras) != set(want.req.extras):
                problems.append(f"extras {sorted(got.req.extras)}")
            if sorted(map(str, got.req.specifier)) != sorted(map(str, want.req.specifier)):
                problems.append(f"specifiers {got.req.specifier}")
            if (got.markers is None) != (want.markers is None):
                problems.append(f"marker {got.markers}")
            elif got.markers is not None:
                for env in ENVS.values():
                    for extra in EXTRAS:
                        e = dict(env, extra=extra)
                        r = []
                        for m in (want.markers, got.markers):
                            try:
                                r.append(m.evaluate(e))
                            except Exception:  # noqa: BLE001
                                r.append("error")
                        if r[0] != r[1]:
                            problems.append(f"marker {got.markers} gives {r[1]}, not {r[0]}")
        if problems:
            failures += 1
            print(f"pip {pip.__version__}: {formatted!r} (from {orig!r}): " + "; ".join(problems))
    print(f"pip {pip.__version__} on Python {sys.version.split()[0]}: {n} requirements, "
          f"{failures} read otherwise")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "collect":
        collect(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "generate":
        generate(os.path.abspath(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "check-pip":
        sys.exit(check_pip(sys.argv[2]))
    else:
        sys.exit(__doc__)
