/* Test helper: exec a command as on a filesystem without renameat2's RENAME_EXCHANGE (or a
 * kernel or seccomp profile that refuses it): renameat2 with that flag fails EINVAL, as the
 * kernel says for a flag the filesystem does not support.  A sync then replaces a damaged
 * cache tree the other way: the damaged one into quarantine/, then the new one in place.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

#define EXCHANGE 2U /* RENAME_EXCHANGE, <linux/fs.h> */

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: no-rename-exchange CMD [ARGS...]\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL ||
      seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EINVAL), SCMP_SYS(renameat2), 1,
                       SCMP_A4(SCMP_CMP_MASKED_EQ, EXCHANGE, EXCHANGE)) < 0 ||
      seccomp_load(ctx) < 0) {
    fprintf(stderr, "no-rename-exchange: cannot install the filter\n");
    return 1;
  }
  execvp(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
