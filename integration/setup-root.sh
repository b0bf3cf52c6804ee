#!/bin/sh
# Root-only preparation for the integration suite and benchmarks:
#  - a readable Python 3.12 at /opt/python3.12 (copied from pyenv if this
#    machine has one; RUNPATH fixed; site-packages reduced to pip);
#  - an ordinary user, pylocktest, to run pylock as, with a runtime directory
#    (/run/user/UID) as a login session has; and a second one, pylocktest2, as
#    whom pylocktest may run commands (sudo), to play another local user;
#  - Debian's pure-Python packages that integration/fixtures/make-wheels.py
#    repacks into fixture wheels, and nginx for serving registries;
#  - the pinned npm TUF implementation for the interop tests, cached in
#    /var/cache/pylock-test/node (integration/setup-node.sh).
# Idempotent. Prints what it could not do; never fails the suite by itself.
# SPDX-License-Identifier: Apache-2.0
set -u
PY312=${PYLOCK_TEST_PY312:-/opt/python3.12}
SRC=${PYLOCK_PY312_SOURCE:-/root/.pyenv/versions/3.12.1}
USER_NAME=${PYLOCK_TEST_USER:-pylocktest}
OTHER_NAME=${PYLOCK_TEST_USER2:-pylocktest2}

if [ ! -x "$PY312/bin/python3.12" ] && [ -x "$SRC/bin/python3.12" ]; then
  echo "setup: copying Python 3.12 from $SRC to $PY312" >&2
  rm -rf "$PY312.tmp" && cp -a "$SRC" "$PY312.tmp" || exit 1
  patchelf --set-rpath '$ORIGIN/../lib' "$PY312.tmp/bin/python3.12"
  sp="$PY312.tmp/lib/python3.12/site-packages"
  find "$sp" -mindepth 1 -maxdepth 1 ! -name 'pip' ! -name 'pip-*.dist-info' -exec rm -rf {} +
  chown -R root:root "$PY312.tmp" && chmod -R go-w,a+rX "$PY312.tmp"
  mv "$PY312.tmp" "$PY312"
fi
if ! id "$USER_NAME" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/bash "$USER_NAME" || exit 1
fi
uid=$(id -u "$USER_NAME")
[ -d "/run/user/$uid" ] || install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "/run/user/$uid"
if ! id "$OTHER_NAME" >/dev/null 2>&1; then
  useradd --create-home --shell /bin/sh "$OTHER_NAME" || echo "setup: no user $OTHER_NAME" >&2
fi

# Only what is missing, so a warm machine costs one dpkg-query.
want="nginx-light python3-requests python3-urllib3 python3-idna python3-certifi
  python3-charset-normalizer python3-chardet python3-click python3-jinja2
  python3-markupsafe python3-pygments python3-docutils python3-six
  python3-packaging python3-pyparsing python3-httplib2 python3-toml
  python3-xmltodict python3-distro python3-colorama python3-blinker
  python3-pip-whl python3-setuptools-whl python3-wheel-whl sudo"
[ -x /usr/sbin/nginx ] && want=${want#nginx-light }
missing=$(for p in $want; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || echo "$p"
done)
if [ -n "$missing" ]; then
  echo "setup: installing" $missing >&2
  { apt-get install -y --no-install-recommends $missing ||
    { apt-get update && apt-get install -y --no-install-recommends $missing; }; } >/dev/null ||
    echo "setup: could not install" $missing >&2
fi
rule="$USER_NAME ALL=($OTHER_NAME) NOPASSWD: ALL"
sudoers=/etc/sudoers.d/pylock-test
if [ -d /etc/sudoers.d ] && [ "$(cat "$sudoers" 2>/dev/null)" != "$rule" ]; then
  printf '%s\n' "$rule" >"$sudoers.tmp" && chmod 0440 "$sudoers.tmp" &&
    visudo -cqf "$sudoers.tmp" && mv "$sudoers.tmp" "$sudoers" ||
    { rm -f "$sudoers.tmp"; echo "setup: $USER_NAME cannot act as $OTHER_NAME" >&2; }
fi
"$(dirname "$0")/setup-node.sh" "${PYLOCK_TEST_CACHE:-/var/cache/pylock-test}/node" ||
  echo "setup: no npm TUF implementation; interop tests will fail" >&2
exit 0
