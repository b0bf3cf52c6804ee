#!/bin/sh
# Installs the pinned TUF implementation used by the interop tests
# (integration/interop/package-lock.json: tuf-js, @tufjs/models) into
# CACHE/node_modules, from the npm registry.  Idempotent: does nothing when
# CACHE already holds exactly this lock file's packages.
# Usage: setup-node.sh CACHE
# SPDX-License-Identifier: Apache-2.0
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cache=$1
lock="$here/interop/package-lock.json"
want=$(cat "$here/interop/package.json" "$lock" | sha256sum | cut -d' ' -f1)
[ "$(cat "$cache/.stamp" 2>/dev/null)" = "$want" ] && [ -d "$cache/node_modules/tuf-js" ] && exit 0
command -v npm >/dev/null || { echo "setup-node: npm not found; the interop tests will fail" >&2; exit 1; }
mkdir -p "$cache"
cp "$here/interop/package.json" "$lock" "$cache/"
(cd "$cache" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error --cache "$cache/.npm") >&2
rm -rf "$cache/.npm"
echo "$want" > "$cache/.stamp"
