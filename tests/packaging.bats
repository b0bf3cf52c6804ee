#!/usr/bin/env bats
# Install rules and packages, run by tests/packaging.sh from `make check`.
# The install rules are checked in a DESTDIR as anyone.  The .deb and the .rpm
# are built (make package) when their tools are installed; installing the .deb
# into the real system, running it as the unprivileged test user and purging
# it needs root, and is skipped otherwise.

TEST_USER=${PYLOCK_TEST_USER:-pylocktest}

setup_file() {
  cd "$BATS_TEST_DIRNAME/.."
  export TOP=$PWD
  export VERSION=$(sed -n 's/^## \[\([0-9][0-9.]*\)\].*/\1/p' CHANGELOG.md | head -n 1)
  export PKG_LOG="$BATS_FILE_TMPDIR/package.log"
  export NO_PACKAGE=""
  local tool
  for tool in dpkg-buildpackage dh lintian rpmbuild git; do
    command -v "$tool" >/dev/null ||
      NO_PACKAGE="$tool is not installed (apt-get install debhelper lintian rpm git)"
  done
  # Installing the .deb must not replace a pylock this machine already has.
  export NO_SYSTEM=""
  if [ "$(id -u)" -ne 0 ]; then
    NO_SYSTEM="installing the .deb into the system needs root"
  elif dpkg-query -W -f='${Status}' pylock 2>/dev/null | grep -q 'install ok installed' || [ -e /usr/bin/pylock ]; then
    NO_SYSTEM="pylock is already installed on this machine (/usr/bin/pylock); not replacing it"
  fi
  if [ -z "$NO_PACKAGE" ]; then
    rm -f build/packages/*.deb build/packages/*.rpm
    make --no-print-directory package >"$PKG_LOG" 2>&1 || true
  fi
  export DEB=$(ls build/packages/pylock_"$VERSION"-*.deb 2>/dev/null | head -n 1)
  export RPM=$(ls build/packages/pylock-"$VERSION"-*.rpm 2>/dev/null | head -n 1)
}

teardown_file() {
  # Never leave the test's package installed, whatever failed.
  if [ -z "$NO_SYSTEM" ] && dpkg-query -W -f='${Status}' pylock 2>/dev/null | grep -q 'install ok installed'; then
    dpkg -P pylock >/dev/null 2>&1 || true
  fi
}

need_packages() {
  [ -z "$NO_PACKAGE" ] || skip "$NO_PACKAGE"
  if [ -z "$DEB" ] || [ -z "$RPM" ]; then
    tail -n 40 "$PKG_LOG" >&2
    echo "make package built no .deb or no .rpm" >&2
    return 1
  fi
}

need_system() {
  need_packages
  [ -z "$NO_SYSTEM" ] || skip "$NO_SYSTEM"
}

assert_eq() {
  if [ "$1" != "$2" ]; then
    echo "expected: $2" >&2
    echo "     got: $1" >&2
    return 1
  fi
}

# "perms path" of every file, and of every directory that is pylock's own,
# without distribution-specific parts: documentation (README, changelogs,
# copyright), RPM's build-id links and the compression of man pages.
normalize() {
  awk '{ t = substr($1, 1, 1); p = $2
         if (p == "" || p ~ /^\/usr\/share\/doc\// || p ~ /^\/usr\/lib\/\.build-id/) next
         if (t == "d" && p !~ /pylock/) next
         if (p ~ /^\/usr\/share\/man\//) sub(/\.gz$/, "", p)
         print $1, p }' | sort
}

deb_files() {
  dpkg-deb -c "$1" | awk '{ print $1, $6 }' | sed 's| \./| /|; s|/$||' | normalize
}

rpm_files() {
  rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$1" | normalize
}

@test "make install puts the binary, man pages and /etc/pylock in DESTDIR, nothing setuid" {
  d="$BATS_TEST_TMPDIR/root"
  make --no-print-directory install DESTDIR="$d" PREFIX=/usr >"$BATS_TEST_TMPDIR/log" 2>&1 ||
    { cat "$BATS_TEST_TMPDIR/log" >&2; return 1; }
  assert_eq "$(stat -c %a "$d/usr/bin/pylock")" 755
  for scd in man/*.scd; do
    page=$(basename "$scd" .scd)
    assert_eq "$(stat -c %a "$d/usr/share/man/man${page##*.}/$page")" 644
  done
  [ -d "$d/etc/pylock/trust.d" ]
  [ -z "$(ls -A "$d/etc/pylock/trust.d")" ]
  cmp packaging/config.toml "$d/etc/pylock/config.toml"
  assert_eq "$(find "$d" -perm /6000)" ""
  assert_eq "$("$d/usr/bin/pylock" --version)" "pylock $VERSION"
}

@test "make install takes the completions the tree has, to their standard directories" {
  d="$BATS_TEST_TMPDIR/root"
  make --no-print-directory install DESTDIR="$d" >/dev/null 2>&1
  [ -x "$d/usr/local/bin/pylock" ]
  [ -d "$d/etc/pylock/trust.d" ] # SYSCONFDIR is /etc for every PREFIX
  want="" got=""
  [ -f completions/pylock.bash ] && want="$want $d/usr/local/share/bash-completion/completions/pylock"
  [ -f completions/_pylock ] && want="$want $d/usr/local/share/zsh/vendor-completions/_pylock"
  [ -f completions/pylock.fish ] && want="$want $d/usr/local/share/fish/vendor_completions.d/pylock.fish"
  got=$(find "$d/usr/local/share" -type f ! -path '*/man/*' | sort | tr '\n' ' ')
  assert_eq "$got" "$(for f in $want; do echo "$f"; done | sort | tr '\n' ' ')"
}

@test "make uninstall removes every file install put there, and keeps an admin's edits" {
  d="$BATS_TEST_TMPDIR/root"
  make --no-print-directory install DESTDIR="$d" >/dev/null 2>&1
  make --no-print-directory uninstall DESTDIR="$d" >/dev/null 2>&1
  assert_eq "$(find "$d" ! -type d)" ""
  [ ! -e "$d/etc/pylock" ]

  make --no-print-directory install DESTDIR="$d" >/dev/null 2>&1
  echo 'keepalive = 5' >>"$d/etc/pylock/config.toml"
  echo '{}' >"$d/etc/pylock/trust.d/corp.json"
  make --no-print-directory install DESTDIR="$d" >/dev/null 2>&1 # does not replace the edit
  grep -qx 'keepalive = 5' "$d/etc/pylock/config.toml"
  make --no-print-directory uninstall DESTDIR="$d" >/dev/null 2>&1
  assert_eq "$(find "$d" ! -type d | sort | tr '\n' ' ')" \
    "$d/etc/pylock/config.toml $d/etc/pylock/trust.d/corp.json "
}

@test "make package builds a .deb and an .rpm of CHANGELOG.md's version" {
  need_packages
  assert_eq "$(dpkg-deb -f "$DEB" Version)" "$VERSION-1"
  assert_eq "$(rpm -qp --qf '%{VERSION}-%{RELEASE}' "$RPM")" "$VERSION-1"
  [ ! -e debian ] # the tree itself never holds a debian/
}

@test "lintian finds no error in the .deb" {
  need_packages
  changes=$(ls build/deb/pylock_"$VERSION"-*.changes)
  out=$(lintian --fail-on error "$changes" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out" | grep -v '^running with root' || true # warnings, for the log
  assert_eq "$(echo "$out" | grep -c '^E:')" 0
}

@test "the .deb depends on the libraries pylock dlopens" {
  need_packages
  deps=$(dpkg-deb -f "$DEB" Depends)
  for lib in libssl3 libarchive13 libcurl4 libjansson4 libmount1 libc6; do
    echo "$deps" | tr ',' '\n' | grep -q "^ *$lib\( \|$\)" || { echo "no $lib in: $deps" >&2; return 1; }
  done
  reqs=$(rpm -qpR "$RPM")
  for so in libcrypto.so.3 libarchive.so.13 libcurl.so.4 libjansson.so.4 libmount.so.1; do
    echo "$reqs" | grep -q "^$so" || { echo "no $so in: $reqs" >&2; return 1; }
  done
}

@test "the .deb and the .rpm install the same files with the same modes, none setuid" {
  need_packages
  deb_files "$DEB" >"$BATS_TEST_TMPDIR/deb"
  rpm_files "$RPM" >"$BATS_TEST_TMPDIR/rpm"
  diff -u "$BATS_TEST_TMPDIR/deb" "$BATS_TEST_TMPDIR/rpm" >&2
  grep -qx -- '-rwxr-xr-x /usr/bin/pylock' "$BATS_TEST_TMPDIR/deb"
  grep -qx -- '-rw-r--r-- /etc/pylock/config.toml' "$BATS_TEST_TMPDIR/deb"
  grep -qx 'drwxr-xr-x /etc/pylock/trust.d' "$BATS_TEST_TMPDIR/deb"
  ! awk '{ print $1 }' "$BATS_TEST_TMPDIR/deb" | grep -q '[sS]'
}

@test "the .deb installs; as $TEST_USER, pylock --version is CHANGELOG's and pylock doctor passes" {
  need_system
  id "$TEST_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$TEST_USER"
  dpkg -i "$DEB" >"$BATS_TEST_TMPDIR/log" 2>&1 || { cat "$BATS_TEST_TMPDIR/log" >&2; return 1; }
  setid=$(dpkg -L pylock | while read -r p; do [ -e "$p" ] && find "$p" -maxdepth 0 -perm /6000 || true; done)
  assert_eq "$setid" ""
  home=$(getent passwd "$TEST_USER" | cut -d: -f6)
  as_user=(runuser -u "$TEST_USER" -- env -i HOME="$home" USER="$TEST_USER" LANG=C.UTF-8 PATH=/usr/bin:/bin)
  assert_eq "$(cd / && "${as_user[@]}" pylock --version)" "pylock $VERSION"
  out=$(cd / && "${as_user[@]}" pylock doctor 2>&1) || { echo "$out" >&2; return 1; }
  echo "$out"
}

@test "purging the .deb leaves nothing behind" {
  need_system
  dpkg-query -W -f='${Status}' pylock 2>/dev/null | grep -q 'install ok installed' ||
    dpkg -i "$DEB" >/dev/null 2>&1
  dpkg -L pylock >"$BATS_TEST_TMPDIR/files"
  dpkg -P pylock >"$BATS_TEST_TMPDIR/log" 2>&1 || { cat "$BATS_TEST_TMPDIR/log" >&2; return 1; }
  left=$(while read -r p; do
    if [ -d "$p" ] && [ ! -L "$p" ]; then
      case "$p" in *pylock*) echo "$p" ;; esac # shared directories (/usr/bin...) stay
    elif [ -e "$p" ] || [ -L "$p" ]; then
      echo "$p"
    fi
  done <"$BATS_TEST_TMPDIR/files")
  assert_eq "$left" ""
  [ ! -e /etc/pylock ]
  ! dpkg-query -W -f='${Status}' pylock 2>/dev/null | grep -q 'install ok installed'
}
