#!/usr/bin/env bash
# make demo: pylock's main job on a small example, as an ordinary user.
#   - a signed (TUF) registry of real wheels (Debian's own Python packages,
#     repacked by integration/fixtures/make-wheels.py);
#   - `pylock install` of a package with dependencies from it, `pylock run`
#     importing it, `pylock list`;
#   - a tampered wheel refused at install, the project left as it was;
#   - what the sandbox of `pylock run` looks like from inside.
# As root it prepares /opt/python3.12, the user `pylocktest` and the Debian
# packages the wheels come from (integration/setup-root.sh), and runs the demo
# as that user; otherwise it runs as you.  Everything it makes (pylock's state
# and cache included) lives in one scratch directory, removed at the end.
# Exits non-zero if a step that must work did not, or the tampered wheel got in.
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
user=${PYLOCK_TEST_USER:-pylocktest}

if [ "${PYLOCK_DEMO_INNER:-}" != 1 ]; then
  files=("$here/demo.sh" "$here/fixtures/make-wheels.py")
  if [ "$(id -u)" -eq 0 ]; then
    "$here/setup-root.sh"
    dir=$(mktemp -d /tmp/pylock-demo.XXXXXX)
    trap 'rm -rf "$dir"' EXIT
    cp "${files[@]}" "$dir/"
    "$here/stage.sh" "$dir"
    chown -R "$user:" "$dir"
    chmod 755 "$dir"
    home=$(getent passwd "$user" | cut -d: -f6)
    cd "$dir"
    runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH=/usr/local/bin:/usr/bin:/bin \
      LANG=C.UTF-8 TERM="${TERM:-dumb}" ${NO_COLOR:+NO_COLOR=1} PYLOCK_DEMO_INNER=1 \
      PYLOCK_DEMO_DIR="$dir" bash "$dir/demo.sh"
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/pylock-demo.XXXXXX")
    # The cache is sealed read-only: make it removable first.
    trap 'chmod -R u+w "$dir" 2>/dev/null; rm -rf "$dir"' EXIT
    cp "${files[@]}" "$dir/"
    "$here/stage.sh" "$dir"
    cd "$dir"
    PYLOCK_DEMO_INNER=1 PYLOCK_DEMO_DIR="$dir" bash "$dir/demo.sh"
  fi
  exit
fi

# ---- the demo itself (as an ordinary user, in a scratch directory) ----
dir=$PYLOCK_DEMO_DIR
export PATH="$dir:$PATH"
# pylock's state and cache in the scratch directory, its configuration (the
# signing key's directory) in a directory of its own in your home: pylock
# refuses private keys under /tmp, where code in its sandboxes writes.  Both
# are removed at the end; no keep-alive holders outliving the demo.
conf=$(mktemp -d "$HOME/.pylock-demo.XXXXXX")
trap 'rm -rf "$conf"' EXIT
export XDG_STATE_HOME="$dir/state" XDG_CONFIG_HOME="$conf" PYLOCK_KEEPALIVE=0
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
# The command line as you would type it: arguments with blanks or quotes in single quotes.
cmdline() {
  local a out="" q="'"
  for a in "$@"; do
    case $a in
    '' | *[!A-Za-z0-9_./:=+@%^,-]*) out+=" '${a//$q/$q\\$q$q}'" ;;
    *) out+=" $a" ;;
    esac
  done
  printf '$%s\n' "$out"
}
# show CMD...: print it, run it; a failure is shown and ends the demo.
show() {
  cmdline "$@"
  local s=0
  "$@" 2>&1 || s=$?
  if [ "$s" -ne 0 ]; then printf '(exit status %d: this step must work; the demo stops)\n' "$s"; exit 1; fi
}
# refused CMD...: print it, run it; it must fail.
refused() {
  cmdline "$@"
  local s=0
  "$@" 2>&1 || s=$?
  if [ "$s" -eq 0 ]; then printf '(it worked: it must not; the demo stops)\n'; exit 1; fi
  printf '(exit status %d, as it must)\n' "$s"
}
python=/opt/python3.12/bin/python3.12
[ -x "$python" ] || python=$(command -v python3)

step "Can this machine run pylock? (as $(id -un), uid $(id -u): no root, no setuid)"
show pylock doctor

step "A signed registry (TUF) of real wheels: Debian's Python packages, repacked"
python3 "$dir/make-wheels.py" wheels >/dev/null
for w in requests urllib3 idna charset_normalizer certifi jinja2 markupsafe; do
  compgen -G "wheels/$w-*.whl" >/dev/null ||
    { echo "no $w wheel: install python3-$w (as root, integration/setup-root.sh does)"; exit 1; }
done
show ls wheels
# The key goes into the configuration's keys directory (a name without a
# '/'), the one place no sandbox reads.
key=demo.key
show pylock key generate -o "$key"
show pylock registry init registry --key "$key"
show pylock registry add registry --key "$key" wheels/*.whl
show pylock registry verify registry --root registry/1.root.json --targets

step "A project trusting that registry's root (the maintainer's registry/1.root.json, got out of band)"
cp registry/1.root.json trusted-root.json
show pylock init --python "$python" --registry "$dir/registry" --root trusted-root.json app
cd app

step "pylock install: requests and its dependencies, every wheel checked against the signed metadata"
show pylock install requests
show pylock list
show grep -A3 '^name = "requests-' pylock.toml

step "pylock run: the project's Python imports them; the system Python is untouched"
# -W ignore: Debian's requests 2.28.1 warns about Debian's own charset_normalizer 3.0.1.
show pylock run python3 -W ignore -c '
import requests, urllib3, idna
print("requests", requests.__version__, "from", requests.__file__)
print("urllib3", urllib3.__version__, "idna", idna.__version__)'
show "$python" -c '
try:
    import requests
    print("requests is in the system Python too:", requests.__file__)
except ImportError:
    print("the system Python has no requests: it stays as it was")'

step "A wheel tampered with on the server (one byte of jinja2's wheel) is refused at install"
target=$(ls "$dir"/registry/targets/jinja2-*.whl)
size=$(stat -c %s "$target")
printf '\x00' | dd of="$target" bs=1 seek=$((size / 2)) conv=notrunc status=none
cp pylock.toml ../before.toml
refused pylock install jinja2
show cmp pylock.toml ../before.toml
echo "(pylock.toml is unchanged)"
show pylock list
show pylock verify

step "Inside 'pylock run': your uid, every capability dropped, a seccomp filter"
show pylock run python3 -c 'import os, sys; print(sys.executable, "uid", os.getuid())'
show pylock run grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status

step "The system Python and the environment are read-only: only pylock changes them"
show pylock run python3 -c '
import sys, sysconfig
for d in (sys.prefix, sysconfig.get_paths()["purelib"]):
    try:
        open(d + "/evil.py", "w")
    except OSError as e:
        print(d, "->", e.strerror)'

step "--no-network: its own network namespace, loopback only"
show pylock run --no-network python3 -c '
import socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
except OSError as e:
    print("connect to the host:", e.strerror)'

step "Nested user namespaces are refused, and exit statuses pass through"
refused pylock run unshare -U true
cmdline pylock run python3 -c 'raise SystemExit(3)'
s=0
pylock run python3 -c 'raise SystemExit(3)' || s=$?
printf '(exit status %d)\n' "$s"
[ "$s" -eq 3 ] || exit 1

printf '\nDone. Every step above ran as %s, with nothing privileged installed.\n' "$(id -un)"
