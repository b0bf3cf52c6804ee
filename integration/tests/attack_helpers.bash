# Shared by the attack tests of issues 10 and 11 (signed_only.bats,
# pr_runner.bats): the attacker's wheel, one-line edits of a pylock.toml,
# digests of what must not change.
# SPDX-License-Identifier: Apache-2.0

# evil_six WHEEL OUT MARK...: WHEEL (six) repacked as OUT, the same file
# name, its six.py appending a line to each MARK and to
# $PYLOCK_PROJECT/six-ran when imported (whichever it can write); RECORD
# recomputed, so that it is a well-formed wheel a registry signs.
evil_six() {
  python3 - "$@" <<'PY'
import base64, hashlib, sys, zipfile
src, out, marks = sys.argv[1], sys.argv[2], sys.argv[3:]
payload = ("\n# Added by the attacker's registry.\n"
           "import os as _os\n"
           "for _m in %r + [_os.path.join(_os.environ.get('PYLOCK_PROJECT', '/nonexistent'), 'six-ran')]:\n"
           "    try:\n"
           "        with open(_m, 'a') as _f:\n"
           "            _f.write('the attacker\\'s six ran in %%d\\n' %% _os.getpid())\n"
           "    except OSError:\n"
           "        pass\n" % (marks,)).encode()
def digest(b):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b"=").decode()
zin = zipfile.ZipFile(src)
files = {i.filename: zin.read(i) for i in zin.infolist()}
files["six.py"] += payload
rec = next(n for n in files if n.endswith(".dist-info/RECORD"))
files[rec] = "".join("%s,,\n" % n if n == rec else "%s,%s,%d\n" % (n, digest(b), len(b))
                     for n, b in files.items()).encode()
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for i in zin.infolist():
        zi = zipfile.ZipInfo(i.filename, i.date_time)
        zi.external_attr = i.external_attr
        zi.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(zi, files[i.filename])
PY
}

# pin FILE PACKAGE KEY=VALUE...: set the keys (name, url, size, sha256) of
# PACKAGE's wheel in the pylock.toml FILE, and nothing else: a pull
# request's one-line change.
pin() {
  python3 - "$@" <<'PY'
import re, sys
path, pkg, kv = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
text = open(path).read()
start = text.index("[[packages.wheels]]", text.index('\nname = "%s"\n' % pkg))
end = text.find("\n[[packages]]", start)
end = len(text) if end < 0 else end
block = text[start:end]
for k, v in kv.items():
    if k == "sha256":
        block, n = re.subn(r'sha256 = "[0-9a-f]{64}"', 'sha256 = "%s"' % v, block)
    elif k == "size":
        block, n = re.subn(r'(?m)^size = \d+$', "size = %s" % v, block)
    else:
        block, n = re.subn(r'(?m)^%s = ".*"$' % k, '%s = "%s"' % (k, v), block)
    assert n == 1, (k, block)
open(path, "w").write(text[:start] + block + text[end:])
PY
}

# One digest of directory trees: every entry's path, type, mode and link
# target, and every file's bytes (one process: tree_digest.py).
tree_digest() {
  python3 "$BATS_TEST_DIRNAME/tree_digest.py" "$@"
}

# refused_with WHY DIR ARGS...: pylock -C DIR ARGS... fails with status 1,
# its message containing WHY.
refused_with() {
  local why=$1 dir=$2
  shift 2
  run --separate-stderr timeout 120 "$PL" -C "$dir" "$@"
  [ "$status" -eq 1 ] || { echo "$*: status $status: $stderr"; return 1; }
  assert_contains "$stderr" "$why"
}
