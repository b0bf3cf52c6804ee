#!/usr/bin/env bash
# Copy pylock as it is installed into DIR: DIR/stage/bin/pylock (the front end),
# DIR/stage/bin/pylock-shim and DIR/stage/lib/pylock/pylock (the full program),
# each found from the others' place; DIR/pylock and DIR/pylock-shim link to the
# front ends, where the demo and the benchmarks look for pylock.
#   integration/stage.sh DIR [PYLOCK]    PYLOCK: the build's pylock (default pylock/pylock)
# SPDX-License-Identifier: Apache-2.0
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1
bin=$(dirname "$(readlink -f "${2:-$top/pylock/pylock}")")
mkdir -p "$dir/stage/bin" "$dir/stage/lib/pylock"
cp "$bin/pylock" "$dir/stage/bin/pylock"
[ -x "$bin/pylock-shim" ] && cp "$bin/pylock-shim" "$dir/stage/bin/pylock-shim"
cp "$bin/../lib/pylock/pylock" "$dir/stage/lib/pylock/pylock"
ln -sfn stage/bin/pylock "$dir/pylock"
[ -x "$dir/stage/bin/pylock-shim" ] && ln -sfn stage/bin/pylock-shim "$dir/pylock-shim"
exit 0
