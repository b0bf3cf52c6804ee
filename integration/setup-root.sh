#!/bin/sh
# Root-only preparation for the integration suite and benchmarks:
#  - a readable Python 3.12 at /opt/python3.12 (copied from pyenv if this
#    machine has one; RUNPATH fixed; site-packages reduced to pip);
#  - an ordinary user, pylocktest, to run pylock as.
# Idempotent. Prints what it could not do; never fails the suite by itself.
set -u
PY312=${PYLOCK_TEST_PY312:-/opt/python3.12}
SRC=${PYLOCK_PY312_SOURCE:-/root/.pyenv/versions/3.12.1}
USER_NAME=${PYLOCK_TEST_USER:-pylocktest}

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
exit 0
