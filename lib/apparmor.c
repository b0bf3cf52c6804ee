/* pylock — AppArmor's user namespace restriction; see apparmor.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "apparmor.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

#define SYSCTL "kernel.apparmor_restrict_unprivileged_userns"

/* The first line of proc/rel (a sysctl, an attribute), or NULL. */
static char *read_line(const char *proc, const char *rel) {
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%s", proc, rel);
  if (n < 0 || (size_t)n >= sizeof path) return NULL;
  char *buf = NULL;
  if (pl_read_file_at(AT_FDCWD, path, 4096, &buf, NULL, NULL) < 0) return NULL;
  buf[strcspn(buf, "\n")] = '\0';
  return buf;
}

/* "pylock" or "pylock (enforce)": the profile's own label, not one stacked on it. */
static bool is_pylock_label(const char *label) {
  size_t n = strlen(PL_APPARMOR_PROFILE);
  return strncmp(label, PL_APPARMOR_PROFILE, n) == 0 && (label[n] == '\0' || label[n] == ' ');
}

enum pl_apparmor_state pl_apparmor_state(const struct pl_apparmor_paths *p, char *label,
                                         size_t size) {
  const char *proc = p && p->proc ? p->proc : "/proc";
  const char *profile = p && p->profile ? p->profile : PL_APPARMOR_PROFILE_PATH;
  cleanup_free char *cur = read_line(proc, "self/attr/apparmor/current");
  if (cur == NULL) cur = read_line(proc, "self/attr/current"); /* before Linux 5.8 */
  if (label && size) snprintf(label, size, "%s", cur ? cur : "none");
  cleanup_free char *restricted =
      read_line(proc, "sys/kernel/apparmor_restrict_unprivileged_userns");
  if (restricted == NULL || strtol(restricted, NULL, 10) <= 0) return PL_AA_UNRESTRICTED;
  if (cur && is_pylock_label(cur)) return PL_AA_CONFINED;
  struct stat st;
  return stat(profile, &st) == 0 ? PL_AA_NOT_APPLIED : PL_AA_MISSING;
}

/* Security: the fix says "as root: run X".  X is the installed helper beside
 * this executable (PREFIX/bin/pylock -> PREFIX/lib/pylock/apparmor-profile),
 * named only when it and its directory are root's and writable by no one
 * else: a pylock built in a user's directory must not get root to run a
 * script that user (or anyone who can write there) controls. */
static bool root_only(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0 && st.st_uid == 0 && (st.st_mode & 022) == 0;
}

static bool helper_path(const struct pl_apparmor_paths *p, char *out, size_t size) {
  char exe[PATH_MAX];
  if (p && p->exe) {
    snprintf(exe, sizeof exe, "%s", p->exe);
  } else {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return false;
    exe[n] = '\0';
  }
  /* The full program is PREFIX/lib/pylock/pylock: the helper is beside it. */
  char *slash = strrchr(exe, '/');
  if (slash == NULL) return false;
  *slash = '\0';
  char dir[PATH_MAX];
  int n = snprintf(dir, sizeof dir, "%s", exe);
  if (n < 0 || (size_t)n >= sizeof dir) return false;
  n = snprintf(out, size, "%s/apparmor-profile", dir);
  if (n < 0 || (size_t)n >= size) return false;
  return root_only(dir) && root_only(out) && access(out, X_OK) == 0;
}

int pl_apparmor_check(const struct pl_apparmor_paths *p, char **detail, pl_error_t *err) {
  const char *profile = p && p->profile ? p->profile : PL_APPARMOR_PROFILE_PATH;
  char label[256], hint[PATH_MAX + 512];
  switch (pl_apparmor_state(p, label, sizeof label)) {
  case PL_AA_UNRESTRICTED:
    return asprintf(detail, "no restriction of user namespaces (%s is 0 or absent)", SYSCTL) < 0
               ? pl_fail(err, ENOMEM, "apparmor")
               : 0;
  case PL_AA_CONFINED:
    return asprintf(detail, "%s=1, lifted for pylock by its profile (label %s)", SYSCTL, label) < 0
               ? pl_fail(err, ENOMEM, "apparmor")
               : 0;
  case PL_AA_NOT_APPLIED:
    snprintf(hint, sizeof hint,
             "as root: apparmor_parser -r %s; it applies to the executable its 'profile pylock' "
             "line names: run pylock from there (or install this build as root with 'make "
             "install')",
             profile);
    return pl_fail_hint(err, 0, hint,
                        "AppArmor restricts user namespaces (%s=1) and pylock's profile %s "
                        "does not apply to this process (label %s)",
                        SYSCTL, profile, label);
  case PL_AA_MISSING: break;
  }
  char helper[PATH_MAX];
  if (helper_path(p, helper, sizeof helper))
    snprintf(hint, sizeof hint,
             "as root: %s install (installs %s and loads it); or lift the restriction for "
             "everyone: sysctl %s=0",
             helper, profile, SYSCTL);
  else
    snprintf(hint, sizeof hint,
             "as root: install pylock's AppArmor profile as %s (packaging/apparmor/pylock in "
             "pylock's source; 'make install' as root installs and loads it); or lift the "
             "restriction for everyone: sysctl %s=0",
             profile, SYSCTL);
  return pl_fail_hint(err, 0, hint,
                      "AppArmor restricts user namespaces (%s=1) and pylock's profile %s is "
                      "missing",
                      SYSCTL, profile);
}
