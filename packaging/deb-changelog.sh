#!/bin/sh
# Print a debian/changelog for the newest release in CHANGELOG.md (its version,
# Debian revision 1), so the package version is never written down twice.
# The date is CHANGELOG.md's mtime: in a tree unpacked from `make dist`, the
# commit's date.  Usage: deb-changelog.sh CHANGELOG.md
# SPDX-License-Identifier: Apache-2.0
set -eu
log=${1:-CHANGELOG.md}
version=$(sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' "$log" | head -n 1)
[ -n "$version" ] || { echo "deb-changelog: no '## [X.Y.Z]' heading in $log" >&2; exit 1; }
maintainer=${PYLOCK_MAINTAINER:-pylock maintainers <maintainers@pylock.invalid>}
cat <<END
pylock ($version-1) unstable; urgency=medium

  * pylock $version; its changes are in /usr/share/doc/pylock/changelog.gz.

 -- $maintainer  $(LC_ALL=C date -u -R -r "$log")
END
