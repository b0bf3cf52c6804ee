/* pylock — what the sandbox denies; see seccomp_policy.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "seccomp_policy.h"

#include <errno.h>
#include <linux/sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/ioctl.h>

/* Calls that would let a command undo the sandbox or reach the kernel's
 * riskiest surfaces.  They fail with EPERM so programs that probe for them
 * (feature tests) degrade instead of dying. */
static const int denied[] = {
    SCMP_SYS(mount),         SCMP_SYS(umount2),         SCMP_SYS(pivot_root),
    SCMP_SYS(fsopen),        SCMP_SYS(fsconfig),        SCMP_SYS(fsmount),
    SCMP_SYS(fspick),        SCMP_SYS(move_mount),      SCMP_SYS(open_tree),
    SCMP_SYS(mount_setattr), SCMP_SYS(setns),           SCMP_SYS(chroot),
    SCMP_SYS(keyctl),        SCMP_SYS(add_key),         SCMP_SYS(request_key),
    SCMP_SYS(bpf),           SCMP_SYS(userfaultfd),     SCMP_SYS(perf_event_open),
    SCMP_SYS(kexec_load),    SCMP_SYS(kexec_file_load), SCMP_SYS(init_module),
    SCMP_SYS(finit_module),  SCMP_SYS(delete_module),
};

/* No debugging other processes.  With Landlock a sandbox can only reach its
 * own descendants anyway; without it, this is what keeps a command from
 * the user's other processes (and their writable view of the files). */
static const int denied_ptrace[] = {
    SCMP_SYS(ptrace),
    SCMP_SYS(process_vm_readv),
    SCMP_SYS(process_vm_writev),
};

/* --strict: no io_uring (a second syscall path that seccomp cannot see). */
static const int denied_strict[] = {
    SCMP_SYS(io_uring_setup),
    SCMP_SYS(io_uring_enter),
    SCMP_SYS(io_uring_register),
};

int pl_seccomp_policy(scmp_filter_ctx ctx, int flags) {
  int r = 0;
  bool strict = flags & PL_SECCOMP_STRICT;
  for (size_t i = 0; i < sizeof denied / sizeof denied[0] && r == 0; i++)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
  for (size_t i = 0; (flags & (PL_SECCOMP_NO_PTRACE | PL_SECCOMP_STRICT)) &&
                     i < sizeof denied_ptrace / sizeof denied_ptrace[0] && r == 0;
       i++)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied_ptrace[i], 0);
  for (size_t i = 0; strict && i < sizeof denied_strict / sizeof denied_strict[0] && r == 0; i++)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied_strict[i], 0);
  /* --strict: no unix sockets at all (socketpair stays): pathname sockets
   * outside the sandbox (agents, docker, a listener in ~) and abstract ones
   * are both out of reach, and no mount can hide every socket file. */
  if (r == 0 && strict)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
                         SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
  /* A second user namespace would hand back every capability just dropped. */
  if (r == 0)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
  if (r == 0)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, CLONE_NEWUSER));
  /* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
   * libc fall back to clone(2), whose flags the rule above checks. */
  if (r == 0) r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  /* TIOCSTI/TIOCLINUX push input into the terminal the user is typing in.
   * TIOCSETD and TIOCEXCL change the terminal itself, shared with the
   * user's shell, for after the command: a line discipline that drops
   * every byte (N_NULL: the terminal is dead, no `reset` can be typed), or
   * exclusive mode (every later open of it fails: sudo's, ssh's password
   * prompt).  TIOCSETD is also the way into the line disciplines' kernel
   * code (n_gsm, n_hdlc...), on any pseudo-terminal. */
  static const unsigned long tty_ioctls[] = {TIOCSTI, TIOCLINUX, TIOCSETD, TIOCEXCL};
  for (size_t i = 0; i < sizeof tty_ioctls / sizeof tty_ioctls[0] && r == 0; i++)
    r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                         SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, tty_ioctls[i]));
  return r;
}
