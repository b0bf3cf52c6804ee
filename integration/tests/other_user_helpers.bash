# A second local user for attacks "as another user" (shim_manifest_trust.bats, attacks_1201.bats).
# SPDX-License-Identifier: Apache-2.0

OTHER=pylocktest2

# other_user: skip unless the second user exists and we may act as it (integration/run as root).
other_user() {
  id "$OTHER" >/dev/null 2>&1 && (cd / && sudo -n -u "$OTHER" true) 2>/dev/null ||
    skip "needs the second user $OTHER and sudo to act as it (integration/run as root)"
  [ -n "${PYLOCK_FOREIGN_STICKY_DIR:-}" ] || skip "needs integration/run as root (PYLOCK_FOREIGN_STICKY_DIR)"
}

# as_other CMD...: CMD as the second user, umask 022.
as_other() {
  (cd / && sudo -n -u "$OTHER" -H -- sh -c 'umask 022; "$@"' _ "$@")
}
