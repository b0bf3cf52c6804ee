/* pylock — AppArmor's restriction of unprivileged user namespaces (Ubuntu
 * 23.10+), and whether pylock's profile lifts it for this process.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_APPARMOR_H
#define PYLOCK_APPARMOR_H

#include <stddef.h>

#include "error.h"

/* The profile's name (packaging/apparmor/pylock) and where it is installed. */
#define PL_APPARMOR_PROFILE "pylock"
#define PL_APPARMOR_PROFILE_PATH "/etc/apparmor.d/pylock"

enum pl_apparmor_state {
  PL_AA_UNRESTRICTED, /* no restriction (no AppArmor, or the sysctl absent or 0) */
  PL_AA_CONFINED,     /* restricted, and this process runs under pylock's profile */
  PL_AA_NOT_APPLIED,  /* restricted; the profile file exists but does not confine us */
  PL_AA_MISSING,      /* restricted; no profile file */
};

/* Where the state is read from; NULL members (or a NULL struct) mean the
 * system's: /proc, /etc/apparmor.d/pylock, and this executable. */
struct pl_apparmor_paths {
  const char *proc;    /* holds sys/kernel/apparmor_restrict_unprivileged_userns and self/attr */
  const char *profile; /* the installed profile */
  const char *exe;     /* this executable, PREFIX/lib/pylock/pylock (the helper is beside it) */
};

/* The restriction's state; *label (when not NULL) gets this process's
 * AppArmor label ("unconfined", "pylock (enforce)"), truncated to size. */
enum pl_apparmor_state pl_apparmor_state(const struct pl_apparmor_paths *p, char *label,
                                         size_t size);

/* The doctor's check: 0 with *detail when pylock can use user namespaces as
 * far as AppArmor goes, -1 with the cause and the fix otherwise. */
int pl_apparmor_check(const struct pl_apparmor_paths *p, char **detail, pl_error_t *err);

#endif
