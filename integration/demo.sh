#!/usr/bin/env bash
# make demo: pylock's main job on a small example, as an ordinary user.
#   - a project on a read-only system Python, run in unprivileged namespaces;
#   - a signed (TUF) registry of real wheels that refuses a tampered one.
# As root it prepares /opt/python3.12 and the user `pylocktest` and runs the
# demo as that user; otherwise it runs as you.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
user=${PYLOCK_TEST_USER:-pylocktest}

if [ "${PYLOCK_DEMO_INNER:-}" != 1 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    "$here/setup-root.sh"
    dir=$(mktemp -d /tmp/pylock-demo.XXXXXX)
    cp "$top/pylock/pylock" "$here/demo.sh" "$dir/"
    cp /usr/share/python-wheels/*.whl "$dir/" 2>/dev/null || true
    chown -R "$user:" "$dir"
    chmod 755 "$dir"
    home=$(getent passwd "$user" | cut -d: -f6)
    trap 'rm -rf "$dir"' EXIT # keep-alive holders leave once it is gone
    cd "$dir"
    runuser -u "$user" -- env -i HOME="$home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
      TERM="${TERM:-dumb}" PYLOCK_DEMO_INNER=1 PYLOCK="$dir/pylock" bash "$dir/demo.sh"
  else
    dir=$(mktemp -d "${TMPDIR:-/tmp}/pylock-demo.XXXXXX")
    trap 'rm -rf "$dir"' EXIT
    cp "$top/pylock/pylock" "$dir/"
    cp /usr/share/python-wheels/*.whl "$dir/" 2>/dev/null || true
    cd "$dir"
    PYLOCK_DEMO_INNER=1 PYLOCK="$dir/pylock" bash "$here/demo.sh"
  fi
  exit
fi

# ---- the demo itself (as an ordinary user, in a scratch directory) ----
export PATH="$(dirname "$PYLOCK"):$PATH"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; else bold="" plain=""; fi
step() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '$ %s\n' "$*"; "$@" 2>&1 || printf '(exit status %d)\n' "$?"; }
python=/opt/python3.12/bin/python3.12
[ -x "$python" ] || python=python3

step "Can this machine run pylock? (as $(id -un), uid $(id -u): no root, no setuid)"
show pylock doctor

step "A project on the system's Python: pylock.toml and an empty first generation"
show pylock init --python "$python" demo
cd demo
show cat pylock.toml

step "Inside 'pylock run', Python runs at its usual path, as you, with every capability dropped"
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

step "A package put into the project's generation imports; the user site (~/.local) does not leak in"
purelib=$(sed -n 's/^purelib=//p' .pylock/interp)
prefix=$(sed -n 's/^prefix=//p' .pylock/interp)
layer=".pylock/$(readlink .pylock/current)${purelib#"$prefix"}"
mkdir -p "$layer/hello_pylock" "$HOME/.local/lib/python$(pylock run python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')/site-packages/leaky"
echo 'print("hello from the project generation")' > "$layer/hello_pylock/__init__.py"
show pylock run python3 -c 'import hello_pylock'
show pylock run python3 -c 'import leaky'

step "--no-network: its own network namespace, loopback only"
show pylock run --no-network python3 -c '
import socket
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
except OSError as e:
    print("connect to the host:", e.strerror)'

step "Nested user namespaces are refused, and exit statuses pass through"
show pylock run unshare -U true
show pylock run python3 -c 'raise SystemExit(3)'
cd ..

step "A signed registry (TUF) of real wheels"
show pylock key generate -o demo.key
show pylock registry init registry --key demo.key
wheels=(*.whl)
if [ -e "${wheels[0]}" ]; then
  show pylock registry add registry --key demo.key "${wheels[@]}"
  show pylock registry verify registry --root registry/1.root.json --targets
  step "One flipped byte in a wheel: the registry no longer verifies"
  target=$(ls registry/targets/*.whl | head -n 1)
  printf '\x00' | dd of="$target" bs=1 seek=100 conv=notrunc status=none
  show pylock registry verify registry --root registry/1.root.json --targets
fi
printf '\nDone. Every step above ran as %s, with nothing privileged installed.\n' "$(id -un)"
