#!/usr/bin/env bats
# Install rules and packages, run by tests/packaging.sh from `make check`.
# The install rules are checked in a DESTDIR as anyone.  The .deb and the .rpm
# are built (make package) when their tools are installed; installing the .deb
# into the real system, running it as the unprivileged test user and purging
# it needs root, and is skipped otherwise.
# SPDX-License-Identifier: Apache-2.0

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
    make --no-print-directory -j2 package >"$PKG_LOG" 2>&1 || true
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

assert_contains() {
  case "$1" in
  *"$2"*) ;;
  *) echo "expected to contain: $2" >&2; echo "got: $1" >&2; return 1 ;;
  esac
}

# "perms path" of every file, and of every directory that is pylock's own,
# without distribution-specific parts: documentation (README, changelogs,
# copyright, RPM's licence directory), RPM's build-id links and the compression
# of man pages.
normalize() {
  awk '{ t = substr($1, 1, 1); p = $2
         if (p == "" || p ~ /^\/usr\/share\/(doc|licenses|lintian)\// || p ~ /^\/usr\/lib\/\.build-id/) next
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

# The AppArmor parser the profile is checked with: PYLOCK_APPARMOR_PARSER (a
# command line, e.g. a 4.x parser with --base DIR) or the system's.  Skips
# where there is none, or where it predates the userns rule (AppArmor 4.0;
# Debian 12 has 3.0).
need_userns_parser() {
  PARSER=${PYLOCK_APPARMOR_PARSER:-}
  if [ -z "$PARSER" ]; then
    PARSER=$(PATH=$PATH:/usr/sbin:/sbin command -v apparmor_parser) ||
      skip "apparmor_parser is not installed (apt-get install apparmor)"
  fi
  printf 'abi <abi/4.0>,\nprofile pylock-probe {\n  userns,\n}\n' >"$BATS_TEST_TMPDIR/probe"
  # shellcheck disable=SC2086
  $PARSER -Q -K "$BATS_TEST_TMPDIR/probe" >/dev/null 2>&1 ||
    skip "$($PARSER --version 2>/dev/null | head -n 1) predates the userns rule (AppArmor 4.0); set PYLOCK_APPARMOR_PARSER to a newer one"
}

@test "make install puts the binary, man pages and /etc/pylock in DESTDIR, nothing setuid" {
  d="$BATS_TEST_TMPDIR/root"
  make --no-print-directory install DESTDIR="$d" PREFIX=/usr >"$BATS_TEST_TMPDIR/log" 2>&1 ||
    { cat "$BATS_TEST_TMPDIR/log" >&2; return 1; }
  assert_eq "$(stat -c %a "$d/usr/bin/pylock")" 755       # the front end
  assert_eq "$(stat -c %a "$d/usr/bin/pylock-shim")" 755  # the shims' front end, beside it
  assert_eq "$(stat -c %a "$d/usr/lib/pylock/pylock")" 755 # the full program it runs
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
  got=$(find "$d/usr/local/share" -type f ! -path '*/man/*' ! -path '*/share/pylock/*' | sort | tr '\n' ' ')
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

@test "make install puts the AppArmor profile, attached to PKGLIBDIR/pylock, and the script that loads it" {
  d="$BATS_TEST_TMPDIR/root"
  make --no-print-directory install DESTDIR="$d" PREFIX=/usr >/dev/null 2>&1
  cmp packaging/apparmor/pylock "$d/usr/share/pylock/apparmor/pylock"
  assert_eq "$(stat -c %a "$d/usr/share/pylock/apparmor/pylock")" 644
  assert_eq "$(stat -c %a "$d/usr/lib/pylock/apparmor-profile")" 755
  grep -qx 'src=${PYLOCK_APPARMOR_PROFILE:-/usr/share/pylock/apparmor/pylock}' "$d/usr/lib/pylock/apparmor-profile"
  [ ! -e "$d/etc/apparmor.d" ] # a DESTDIR install never touches /etc/apparmor.d

  d="$BATS_TEST_TMPDIR/local"
  make --no-print-directory install DESTDIR="$d" PREFIX=/opt/pl >/dev/null 2>&1
  grep -qx 'profile pylock /opt/pl/lib/pylock/pylock flags=(attach_disconnected,mediate_deleted) {' \
    "$d/opt/pl/share/pylock/apparmor/pylock"
  [ "$(grep -c '/usr/lib/pylock/pylock' "$d/opt/pl/share/pylock/apparmor/pylock")" -eq 0 ]
  # The front end finds the full program at BINDIR/../lib/pylock: another PKGLIBDIR is refused.
  run make --no-print-directory install DESTDIR="$d" PREFIX=/opt/pl PKGLIBDIR=/opt/other
  [ "$status" -ne 0 ]
  assert_contains "$output" "PKGLIBDIR must be BINDIR/../lib/pylock"
}

@test "apparmor_parser accepts the AppArmor profile: pylock with userns, its children stacked without capabilities" {
  need_userns_parser
  # shellcheck disable=SC2086
  out=$($PARSER -Q -K packaging/apparmor/pylock 2>&1) || { echo "$out" >&2; return 1; }
  # shellcheck disable=SC2086
  assert_eq "$($PARSER -N packaging/apparmor/pylock 2>/dev/null | sort | tr '\n' ' ')" "pylock unpriv_pylock "
  # What the parse cannot say: every exec is stacked with unpriv_pylock, which denies capabilities.
  grep -qx '  allow pix /\*\* -> &pylock//&unpriv_pylock,' packaging/apparmor/pylock
  awk '/^profile unpriv_pylock/ { u = 1 } u && /^  audit deny capability,$/ { f = 1 } END { exit !f }' \
    packaging/apparmor/pylock
  [ "$(grep -c '^ *\(allow \)\?\(px\|ux\|Ux\|pux\|cx\)\b' packaging/apparmor/pylock)" -eq 0 ]
}

@test "apparmor-profile install puts nothing in place where apparmor_parser rejects the profile, and never fails" {
  aa="$BATS_TEST_TMPDIR/apparmor.d"
  mkdir -p "$aa/local"
  script=packaging/apparmor/apparmor-profile.sh
  export PYLOCK_APPARMOR_DIR="$aa" PYLOCK_APPARMOR_PROFILE="$TOP/packaging/apparmor/pylock"
  # A parser that rejects the profile (as AppArmor 3, Debian 12's, rejects userns): a rule no
  # parser knows.  Nothing installed, exit 0, and why said.
  sysparser=$(PATH=$PATH:/usr/sbin:/sbin command -v apparmor_parser) ||
    skip "apparmor_parser is not installed (apt-get install apparmor)"
  sed 's/^  allow userns,$/  allow userns,\n  userns_from_the_future,/' packaging/apparmor/pylock >"$BATS_TEST_TMPDIR/future"
  echo stale >"$aa/pylock"
  out=$(PYLOCK_APPARMOR_PARSER="$sysparser" PYLOCK_APPARMOR_PROFILE="$BATS_TEST_TMPDIR/future" \
    sh "$script" install 2>&1)
  echo "$out"
  assert_contains "$out" "AppArmor 4.0+ is needed"
  [ ! -e "$aa/pylock" ] # a copy an older install left would fail apparmor.service at boot
  # No parser at all: nothing, exit 0.
  PYLOCK_APPARMOR_PARSER=/nonexistent/apparmor_parser sh "$script" install 2>/dev/null
  [ ! -e "$aa/pylock" ]
}

@test "apparmor-profile install puts the profile in place where apparmor_parser accepts it; remove and purge take it away" {
  aa="$BATS_TEST_TMPDIR/apparmor.d"
  mkdir -p "$aa/local"
  script=packaging/apparmor/apparmor-profile.sh
  export PYLOCK_APPARMOR_DIR="$aa" PYLOCK_APPARMOR_PROFILE="$TOP/packaging/apparmor/pylock"
  need_userns_parser
  PYLOCK_APPARMOR_PARSER="$PARSER" sh "$script" install
  cmp packaging/apparmor/pylock "$aa/pylock"
  assert_eq "$(stat -c %a "$aa/pylock")" 644
  [ ! -e "$aa/pylock.dpkg-new" ]
  echo '# admin' >"$aa/local/pylock"
  PYLOCK_APPARMOR_PARSER="$PARSER" sh "$script" remove
  [ ! -e "$aa/pylock" ]
  [ -e "$aa/local/pylock" ] # an admin's additions stay until purge
  PYLOCK_APPARMOR_PARSER="$PARSER" sh "$script" purge
  [ ! -e "$aa/local/pylock" ]
}

@test "the packages are Apache-2.0 (DEP-5 copyright) and name pylock maintainers" {
  need_packages
  assert_eq "$(dpkg-deb -f "$DEB" Maintainer)" "pylock maintainers <maintainers@pylock.invalid>"
  assert_eq "$(rpm -qp --qf '%{LICENSE}|%{PACKAGER}' "$RPM")" \
    "Apache-2.0|pylock maintainers <maintainers@pylock.invalid>"
  x="$BATS_TEST_TMPDIR/deb"
  dpkg-deb -x "$DEB" "$x"
  c="$x/usr/share/doc/pylock/copyright"
  assert_eq "$(head -n 1 "$c")" "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  grep -qx 'License: Apache-2.0' "$c"
  grep -q '/usr/share/common-licenses/Apache-2.0' "$c"
  cmp LICENSE /usr/share/common-licenses/Apache-2.0
  rpm -qpl "$RPM" | grep -q '/LICENSE$'
  zcat "$x/usr/share/doc/pylock/changelog.Debian.gz" | grep -q -- '-- pylock maintainers <maintainers@pylock.invalid>  '
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
  grep -qx -- '-rwxr-xr-x /usr/lib/pylock/pylock' "$BATS_TEST_TMPDIR/deb"
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
  assert_contains "$out" "ok    AppArmor"
}

@test "the .deb puts /etc/apparmor.d/pylock in place only where apparmor_parser accepts it" {
  need_system
  dpkg-query -W -f='${Status}' pylock 2>/dev/null | grep -q 'install ok installed' ||
    dpkg -i "$DEB" >/dev/null 2>&1
  [ -x /usr/lib/pylock/apparmor-profile ]
  # What postinst ran, again, as dpkg runs it (not with a test's parser).
  out=$(env -u PYLOCK_APPARMOR_PARSER -u PYLOCK_APPARMOR_DIR -u PYLOCK_APPARMOR_PROFILE \
    /usr/lib/pylock/apparmor-profile install 2>&1)
  echo "$out"
  parser=$(PATH=$PATH:/usr/sbin:/sbin command -v apparmor_parser) || parser=""
  if [ -n "$parser" ] && "$parser" -Q -K /usr/share/pylock/apparmor/pylock >/dev/null 2>&1; then
    cmp /usr/share/pylock/apparmor/pylock /etc/apparmor.d/pylock
  else
    [ ! -e /etc/apparmor.d/pylock ] # an AppArmor 3 parser would fail apparmor.service on it
    [ -z "$parser" ] || assert_contains "$out" "AppArmor 4.0+ is needed"
  fi
  # Configured again when AppArmor changes (a newer parser installs abi files).
  grep -qx 'interest-noawait /etc/apparmor.d/abi' /var/lib/dpkg/info/pylock.triggers
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
  [ ! -e /etc/apparmor.d/pylock ]
  [ ! -e /etc/apparmor.d/local/pylock ]
  ! dpkg-query -W -f='${Status}' pylock 2>/dev/null | grep -q 'install ok installed'
}
