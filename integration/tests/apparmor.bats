#!/usr/bin/env bats
# pylock-test: once
# pylock doctor and AppArmor's restriction of unprivileged user namespaces
# (Ubuntu 23.10+), on the real binary.  This kernel has no AppArmor: the
# sysctl, and the installed profile, are made to exist in a user and mount
# namespace of the test's own (tmpfs over /proc/sys/kernel, /etc/apparmor.d),
# and doctor runs in a nested user namespace as this user's uid again.
# SPDX-License-Identifier: Apache-2.0

bats_require_minimum_version 1.5.0
load helpers

# doctor_with SYSCTL [PROFILE]: pylock doctor where
# kernel.apparmor_restrict_unprivileged_userns reads SYSCTL and, with PROFILE
# given, /etc/apparmor.d/pylock holds it.
doctor_with() {
  local uid gid
  uid=$(id -u) gid=$(id -g)
  run unshare -Urm sh -c '
    set -e
    mount -t tmpfs none /proc/sys/kernel
    echo "$1" >/proc/sys/kernel/apparmor_restrict_unprivileged_userns
    if [ -n "$2" ]; then mount -t tmpfs none /etc/apparmor.d; echo "$2" >/etc/apparmor.d/pylock; fi
    exec unshare -U --map-user="$3" --map-group="$4" "$5" doctor' sh "$1" "${2:-}" "$uid" "$gid" "$PL"
}

# The doctor's lines for the AppArmor check (the check line, and its fix line if any).
apparmor_lines() {
  printf '%s\n' "$output" | sed -n '/^[A-Za-z]* *AppArmor /{p;n;/^  *fix:/p}'
}

@test "doctor finds no restriction where the AppArmor sysctl is absent" {
  [ ! -e /proc/sys/kernel/apparmor_restrict_unprivileged_userns ] ||
    skip "this kernel has AppArmor's userns sysctl"
  run "$PL" doctor
  assert_contains "$output" "ok    AppArmor           no restriction of user namespaces"
}

@test "doctor with the restriction at 0 passes the AppArmor check" {
  doctor_with 0
  assert_eq "$(apparmor_lines)" \
    "ok    AppArmor           no restriction of user namespaces (kernel.apparmor_restrict_unprivileged_userns is 0 or absent)"
}

@test "doctor with the restriction on and no profile names /etc/apparmor.d/pylock and the fix, and fails" {
  doctor_with 1
  [ "$status" -eq 1 ]
  lines=$(apparmor_lines)
  echo "$lines"
  assert_contains "$lines" "FAIL  AppArmor           AppArmor restricts user namespaces (kernel.apparmor_restrict_unprivileged_userns=1) and pylock's profile /etc/apparmor.d/pylock is missing"
  assert_contains "$lines" "fix: as root: install pylock's AppArmor profile as /etc/apparmor.d/pylock"
  assert_contains "$lines" "sysctl kernel.apparmor_restrict_unprivileged_userns=0"
  # This binary's directory is not root's: no script of it is offered to root.
  assert_not_contains "$lines" "apparmor-profile install"
}

@test "doctor with the restriction on and a profile that does not apply says to load it" {
  [ -d /etc/apparmor.d ] || skip "no /etc/apparmor.d to cover (apt-get install apparmor)"
  doctor_with 1 'profile pylock /usr/lib/pylock/pylock {}'
  [ "$status" -eq 1 ]
  lines=$(apparmor_lines)
  echo "$lines"
  assert_contains "$lines" "pylock's profile /etc/apparmor.d/pylock does not apply to this process (label "
  assert_contains "$lines" "fix: as root: apparmor_parser -r /etc/apparmor.d/pylock"
}
