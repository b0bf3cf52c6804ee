/* Test helper: attack another process the way code in a sandbox would
 * (trust_boundary.bats): attach to it, read its memory, open its /proc files.
 *
 *   ptrace-attack seize PID     PTRACE_SEIZE, then PTRACE_INTERRUPT
 *   ptrace-attack attach PID    PTRACE_ATTACH
 *   ptrace-attack vmread PID    process_vm_readv of its stack (address from
 *                               /proc/PID/stat when readable, else a guess)
 *   ptrace-attack mem PID       open /proc/PID/mem read-write
 *   ptrace-attack self          seize a child of our own: shows the helper
 *                               works where the kernel allows it
 *
 * Prints one line, "attack succeeded: ..." or "denied: ERRNO (...)"; exits 0
 * when the attack succeeded, 1 when it was denied, 2 on a usage error.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int denied(const char *what, int e) {
  printf("denied: %s (%s: %s)\n", strerrorname_np(e) ? strerrorname_np(e) : "?", what, strerror(e));
  return 1;
}

static int succeeded(const char *what) {
  printf("attack succeeded: %s\n", what);
  return 0;
}

/* Field 28 of /proc/PID/stat (startstack), or 0 when it is not readable. */
static unsigned long start_stack(pid_t pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (p == NULL) return 0;
  p += 2; /* field 3 */
  for (int field = 3; field < 28 && p; field++) {
    p = strchr(p, ' ');
    if (p) p++;
  }
  return p ? strtoul(p, NULL, 10) : 0;
}

static int seize(pid_t pid) {
  if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) < 0) return denied("PTRACE_SEIZE", errno);
  if (ptrace(PTRACE_INTERRUPT, pid, NULL, NULL) < 0) return denied("PTRACE_INTERRUPT", errno);
  ptrace(PTRACE_DETACH, pid, NULL, NULL);
  return succeeded("PTRACE_SEIZE");
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "self") == 0) {
    pid_t child = fork();
    if (child < 0) return denied("fork", errno);
    if (child == 0) {
      pause();
      _exit(0);
    }
    int r = seize(child);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return r;
  }
  if (argc != 3) {
    fprintf(stderr, "usage: ptrace-attack seize|attach|vmread|mem PID | ptrace-attack self\n");
    return 2;
  }
  char *end;
  long v = strtol(argv[2], &end, 10);
  pid_t pid = (pid_t)v;
  if (*end != '\0' || v <= 0 || v != pid) {
    fprintf(stderr, "ptrace-attack: bad pid %s\n", argv[2]);
    return 2;
  }
  if (strcmp(argv[1], "seize") == 0) return seize(pid);
  if (strcmp(argv[1], "attach") == 0) {
    if (ptrace(PTRACE_ATTACH, pid, NULL, NULL) < 0) return denied("PTRACE_ATTACH", errno);
    waitpid(pid, NULL, __WALL);
    ptrace(PTRACE_DETACH, pid, NULL, NULL);
    return succeeded("PTRACE_ATTACH");
  }
  if (strcmp(argv[1], "vmread") == 0) {
    unsigned long at = start_stack(pid);
    char buf[64];
    struct iovec local = {.iov_base = buf, .iov_len = sizeof buf};
    /* Without an address, one that is surely unmapped: the kernel checks
     * access before the address, so EFAULT still means "allowed". */
    struct iovec remote = {.iov_base = (void *)(at ? at - sizeof buf : 4096),
                           .iov_len = sizeof buf};
    if (process_vm_readv(pid, &local, 1, &remote, 1, 0) < 0) {
      if (errno == EFAULT) return succeeded("process_vm_readv (access granted, address unmapped)");
      return denied("process_vm_readv", errno);
    }
    return succeeded("process_vm_readv");
  }
  if (strcmp(argv[1], "mem") == 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return denied("open /proc/PID/mem", errno);
    close(fd);
    return succeeded("open /proc/PID/mem read-write");
  }
  fprintf(stderr, "ptrace-attack: unknown mode %s\n", argv[1]);
  return 2;
}
