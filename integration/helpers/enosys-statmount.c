/* Test helper: exec a command as on kernels before 6.8, or under a seccomp profile that
 * does not know their calls yet: statmount(2) and listmount(2) fail ENOSYS, the nsfs ioctl
 * NS_GET_MNTNS_ID ENOTTY.  A run then checks a keep-alive holder's mount namespace from its
 * mountinfo (pl_sandbox_check_mounts).
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

/* The same on every architecture pylock builds for (not in older libseccomp's tables). */
#define NR_STATMOUNT 457
#define NR_LISTMOUNT 458
#define NS_GET_MNTNS_ID 0x8008b705U /* _IOR(0xb7, 0x5, __u64) */

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: enosys-statmount CMD [ARGS...]\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), NR_STATMOUNT, 0) < 0 ||
      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), NR_LISTMOUNT, 0) < 0 ||
      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1,
                       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffU, NS_GET_MNTNS_ID)) < 0 ||
      seccomp_load(ctx) < 0) {
    fprintf(stderr, "enosys-statmount: cannot install the filter\n");
    return 1;
  }
  execvp(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
