/* Benchmark helper: the least any sandboxing launcher must add — one more
 * exec, no_new_privs and pylock's own seccomp filter — then exec the command.
 * `make bench` reports pylock against this floor as well as bare python.
 * SPDX-License-Identifier: Apache-2.0 */
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "seccomp_bpf.h"

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  struct sock_fprog prog = {.len = sizeof pl_seccomp_bpf / sizeof pl_seccomp_bpf[0],
                            .filter = (struct sock_filter *)pl_seccomp_bpf};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
    perror("exec-floor");
    return 1;
  }
  execv(argv[1], argv + 1);
  perror(argv[1]);
  return 127;
}
