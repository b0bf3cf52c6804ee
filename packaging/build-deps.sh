#!/bin/sh
# Install what building and testing pylock needs on Debian/Ubuntu.
# As root it installs what is missing (apt); otherwise it names what to install.
# SPDX-License-Identifier: Apache-2.0
set -eu
pkgs="build-essential pkg-config libcap-dev libmount-dev libseccomp-dev libarchive-dev libssl-dev
libcurl4-openssl-dev libjansson-dev libcmocka-dev musl-tools scdoc bats nginx patchelf bubblewrap hyperfine
apparmor python3 python3-pip-whl python3-setuptools-whl python3-wheel-whl python3-securesystemslib
util-linux iproute2 openssl curl debhelper lintian rpm zsh fish clang-format cppcheck clang"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "pylock: missing build dependencies:$missing" >&2
  echo "pylock: install them with: sudo apt-get install$missing" >&2
  exit 1
fi
echo "pylock: installing build dependencies:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >&2
