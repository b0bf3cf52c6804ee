/* pylock — capabilities, no_new_privs, seccomp; see harden.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "harden.h"

#include <errno.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"
#include "seccomp_bpf.h"

int pl_harden_drop_caps(pl_error_t *err) {
  /* Inside our user namespace we hold every capability over it.  Drop them
   * all, the bounding and ambient sets too, so neither the command nor
   * anything it execs can regain one.  System calls, not libcap: its
   * constructor probes the kernel at every start of pylock, the shim's. */
  for (int c = 0; c < 64; c++) {
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0) continue;
    if (errno == EINVAL) break; /* past the kernel's last capability */
    return pl_fail(err, errno, "drop capability %d from the bounding set", c);
  }
  /* One call (libcap's cap_reset_ambient first probes every capability);
   * EINVAL: a kernel without ambient capabilities has none to clear. */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return pl_fail(err, errno, "clear ambient capabilities");
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {{0}};
  if (syscall(SYS_capset, &hdr, none) < 0) return pl_fail(err, errno, "drop capabilities");
  return 0;
}

static int load_filter(const struct sock_filter *filter, size_t len, pl_error_t *err) {
  struct sock_fprog prog = {.len = (unsigned short)len, .filter = (struct sock_filter *)filter};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
    return pl_fail_hint(err, errno, "run 'pylock doctor'; the kernel needs CONFIG_SECCOMP_FILTER",
                        "load seccomp filter");
  return 0;
}

#define FILTER(f) f, sizeof f / sizeof f[0]

int pl_harden_seccomp(bool strict, pl_error_t *err) {
  if (strict) return load_filter(FILTER(pl_seccomp_bpf_strict), err);
  if (!pl_sandbox_has_landlock()) return load_filter(FILTER(pl_seccomp_bpf_no_ptrace), err);
  return load_filter(FILTER(pl_seccomp_bpf), err);
}

static struct rlimit files_given;
static bool files_raised;

void pl_files_limit_raise(void) {
  struct rlimit r;
  if (files_raised || getrlimit(RLIMIT_NOFILE, &r) < 0 || r.rlim_cur >= r.rlim_max) return;
  files_given = r;
  r.rlim_cur = r.rlim_max;
  files_raised = setrlimit(RLIMIT_NOFILE, &r) == 0;
}

void pl_files_limit_restore(void) {
  if (files_raised && setrlimit(RLIMIT_NOFILE, &files_given) == 0) files_raised = false;
}

int pl_harden(bool strict, pl_error_t *err) {
  pl_files_limit_restore();
  if (pl_harden_drop_caps(err) < 0) return -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return pl_fail(err, errno, "set no_new_privs");
  return pl_harden_seccomp(strict, err);
}
