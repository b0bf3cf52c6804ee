/* pylock — why a user namespace could not be created, and the fix. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apparmor.h"
#include "cleanup.h"
#include "file.h"
#include "sandbox.h"

/* Read a small integer from /proc; -1 if absent or unreadable. */
static long read_proc_long(const char *path) {
  cleanup_free char *buf = NULL;
  if (pl_read_file_at(-100 /* AT_FDCWD */, path, 4096, &buf, NULL, NULL) < 0) return -1;
  char *end;
  long v = strtol(buf, &end, 10);
  return end == buf ? -1 : v;
}

static long status_field(const char *field) {
  cleanup_free char *buf = NULL;
  if (pl_read_file_at(-100, "/proc/self/status", 65536, &buf, NULL, NULL) < 0) return -1;
  const char *p = strstr(buf, field);
  if (p == NULL) return -1;
  return strtol(p + strlen(field), NULL, 10);
}

bool pl_sandbox_nested(pl_error_t *err) {
  const char *nested = getenv("PYLOCK_PROJECT");
  if (nested == NULL || status_field("Seccomp:") != 2) return false;
  pl_fail_hint(err, EPERM,
               "run the command directly: this shell is already inside the project's environment",
               "cannot enter a pylock environment from inside one (PYLOCK_PROJECT=%s)", nested);
  return true;
}

int pl_userns_diagnose(int errnum, pl_error_t *err) {
  if (pl_sandbox_nested(err)) return -1;
  if (read_proc_long("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1)
    return pl_fail_hint(
        err, errnum,
        "install and load pylock's AppArmor profile, " PL_APPARMOR_PROFILE_PATH
        " ('pylock doctor' says how), or as root: sysctl "
        "kernel.apparmor_restrict_unprivileged_userns=0 (persist it in /etc/sysctl.d/)",
        "user namespaces are blocked: AppArmor restricts unprivileged user "
        "namespaces (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10+)");
  if (read_proc_long("/proc/sys/kernel/unprivileged_userns_clone") == 0)
    return pl_fail_hint(
        err, errnum,
        "as root: sysctl kernel.unprivileged_userns_clone=1 (persist it in /etc/sysctl.d/)",
        "user namespaces are disabled for unprivileged users "
        "(kernel.unprivileged_userns_clone=0)");
  long max = read_proc_long("/proc/sys/user/max_user_namespaces");
  if (max == 0)
    return pl_fail_hint(
        err, errnum,
        "as root: sysctl user.max_user_namespaces=15000 (persist it in /etc/sysctl.d/)",
        "user namespaces are disabled (user.max_user_namespaces=0)");
  if (errnum == ENOSPC)
    return pl_fail_hint(
        err, errnum, "raise user.max_user_namespaces, or end processes holding namespaces",
        "the limit of user namespaces is reached (user.max_user_namespaces=%ld)", max);
  if (errnum == EINVAL || errnum == ENOSYS)
    return pl_fail_hint(err, errnum, "use a kernel built with CONFIG_USER_NS=y (5.11 or newer)",
                        "this kernel does not support user namespaces");
  if (errnum == EPERM && status_field("Seccomp:") == 2)
    return pl_fail_hint(err, errnum,
                        "allow unshare(CLONE_NEWUSER) in the container's seccomp profile "
                        "(e.g. docker/podman --security-opt seccomp=unconfined, or a profile "
                        "permitting unshare/clone with CLONE_NEWUSER)",
                        "user namespaces are blocked by a seccomp filter on this process "
                        "(are you inside a container?)");
  if (errnum == EPERM && getuid() != geteuid())
    return pl_fail_hint(err, errnum, "remove the setuid bit: pylock needs no privilege",
                        "a setuid process cannot create a user namespace");
  return pl_fail_hint(err, errnum,
                      "run 'pylock doctor'; a chroot or a security module (SELinux, AppArmor) "
                      "may forbid user namespaces",
                      "cannot create a user namespace");
}
