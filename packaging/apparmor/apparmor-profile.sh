#!/bin/sh
# pylock — put pylock's AppArmor profile in place and load it, or take it away.
# Run as root by the packages' maintainer scripts and by `make install` and
# `make uninstall` (installed as PKGLIBDIR/apparmor-profile):
#   apparmor-profile install  where this machine's apparmor_parser accepts the
#                             profile, copy it to /etc/apparmor.d/pylock and,
#                             where AppArmor is enabled, load it
#   apparmor-profile remove   unload it and delete /etc/apparmor.d/pylock
#   apparmor-profile purge    remove, and the admin's local/pylock additions
# It never fails: a machine without AppArmor gets nothing, and says so.
#
# Why not ship /etc/apparmor.d/pylock in the package: apparmor.service loads
# every profile there at boot, and a parser older than AppArmor 4.0 (Debian
# 12, Ubuntu 22.04) rejects the `userns` rule, which fails the whole service.
# Those systems have no userns restriction, so they need no profile; when
# AppArmor 4 arrives, the package's trigger on /etc/apparmor.d/abi runs
# `install` again.
# SPDX-License-Identifier: Apache-2.0
set -u
src=${PYLOCK_APPARMOR_PROFILE:-@PROFILE@}
dir=${PYLOCK_APPARMOR_DIR:-/etc/apparmor.d}
parser=${PYLOCK_APPARMOR_PARSER:-}
PATH=$PATH:/usr/sbin:/sbin
if [ -z "$parser" ] && command -v apparmor_parser >/dev/null 2>&1; then parser=apparmor_parser; fi
command -v "${parser%% *}" >/dev/null 2>&1 || parser=""
dst=$dir/pylock

say() { echo "pylock: AppArmor: $*" >&2; }

enabled() {
  [ -z "${PYLOCK_APPARMOR_DIR:-}" ] || return 1 # a scratch directory: never the kernel
  if command -v aa-enabled >/dev/null 2>&1; then aa-enabled --quiet 2>/dev/null; return; fi
  [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] &&
    [ -d /sys/kernel/security/apparmor ]
}

case "${1:-}" in
install)
  [ -f "$src" ] || { say "no profile at $src"; exit 0; }
  if [ -z "$parser" ]; then
    say "apparmor_parser not found; no profile installed (none is needed without AppArmor)"
    exit 0
  fi
  # shellcheck disable=SC2086
  if ! out=$($parser -Q -K "$src" 2>&1); then
    say "$parser does not accept the profile (AppArmor 4.0+ is needed for its userns rule;"
    say "  the userns restriction it lifts came with Ubuntu 23.10): not installed"
    printf '%s\n' "$out" | grep -v '^Cache read/write disabled' | sed -n '1,3s/^/  /p' >&2
    rm -f "$dst" # a copy an older install left would now fail apparmor.service
    exit 0
  fi
  [ -d "$dir" ] || exit 0
  # .dpkg-new: a name every profile loader skips, until the rename.
  if ! { cp "$src" "$dst.dpkg-new" && chmod 0644 "$dst.dpkg-new" && mv -f "$dst.dpkg-new" "$dst"; }; then
    say "could not write $dst"
    rm -f "$dst.dpkg-new"
    exit 0
  fi
  if enabled; then
    # shellcheck disable=SC2086
    if $parser -r -T -W "$dst" >/dev/null 2>&1; then
      say "loaded $dst (profiles pylock and unpriv_pylock)"
    else
      say "$dst installed but not loaded (run as root: apparmor_parser -r $dst)"
    fi
  else
    say "installed $dst (AppArmor is not enabled: not loaded)"
  fi
  ;;
remove | purge)
  if [ -f "$dst" ] && [ -n "$parser" ] && enabled; then
    # shellcheck disable=SC2086
    $parser -R "$dst" >/dev/null 2>&1 || true
  fi
  rm -f "$dst" "$dst.dpkg-new"
  if [ -z "${PYLOCK_APPARMOR_DIR:-}" ]; then
    for f in /var/cache/apparmor/*/pylock; do [ -e "$f" ] && rm -f "$f"; done
  fi
  if [ "$1" = purge ]; then rm -f "$dir/local/pylock" "$dir/local/unpriv_pylock"; fi
  ;;
*)
  echo "usage: apparmor-profile install|remove|purge" >&2
  exit 2
  ;;
esac
exit 0
