/* Test helper: exec a command with faccessat2 failing ENOSYS, as on kernels before 5.8 or
 * under a container runtime's seccomp profile that does not know the call yet.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: enosys-faccessat2 CMD [ARGS...]\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == NULL || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(faccessat2), 0) < 0 ||
      seccomp_load(ctx) < 0) {
    fprintf(stderr, "enosys-faccessat2: cannot install the filter\n");
    return 1;
  }
  execvp(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
