/* Test helper: make a system call through the i386 ABI (int $0x80) from a
 * 64-bit process, the way code in a sandbox would try to slip past a
 * seccomp filter written for the native ABI (sandbox_policy.bats).
 *
 *   i386-syscall socket-unix      socket(AF_UNIX, SOCK_STREAM, 0)
 *   i386-syscall socketcall-unix  socketcall(SYS_SOCKET, {AF_UNIX, ...})
 *   i386-syscall io-uring         io_uring_setup(1, params)
 *   i386-syscall ptrace-child     ptrace(PTRACE_ATTACH) of a child of ours
 *   i386-syscall unshare-user     unshare(CLONE_NEWUSER)
 *   i386-syscall mount            mount a tmpfs (on a new directory of /tmp)
 *   i386-syscall probe            getpid(), in a child: is there an i386 ABI?
 *
 * Prints "NAME OK" or "NAME ERRNO-NAME" and exits 0; 2 on a usage error, 3
 * where there is no i386 ABI to call: not x86-64, or a kernel that answers
 * int $0x80 with a fault (ia32_emulation=0, some paravirtualised guests).
 * Every call first makes sure of the ABI in a child, so that a fault never
 * leaves a forked child behind (a paused child holding the caller's pipe).
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__x86_64__)
/* i386 system call numbers (arch/x86/entry/syscalls/syscall_32.tbl). */
enum {
  I386_GETPID = 20,
  I386_MOUNT = 21,
  I386_PTRACE = 26,
  I386_SOCKETCALL = 102,
  I386_UNSHARE = 310,
  I386_SOCKET = 359,
  I386_IO_URING_SETUP = 425
};

/* Three arguments, the fourth and fifth 0; the kernel's 32-bit entry
 * clears r8-r11 on the way back. */
static long call32(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80"
                   : "=a"(ret)
                   : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(0L), "D"(0L)
                   : "memory", "r8", "r9", "r10", "r11");
  return ret;
}

/* Memory the i386 ABI can address (32-bit pointers). */
static char *low;

static long low_ptr(const void *p) {
  return (long)(uintptr_t)p;
}

static long run(const char *what) {
  uint32_t *args = (uint32_t *)low;
  if (strcmp(what, "socket-unix") == 0) return call32(I386_SOCKET, AF_UNIX, SOCK_STREAM, 0);
  if (strcmp(what, "socketcall-unix") == 0) {
    args[0] = AF_UNIX, args[1] = SOCK_STREAM, args[2] = 0;
    return call32(I386_SOCKETCALL, 1 /* SYS_SOCKET */, low_ptr(args), 0);
  }
  if (strcmp(what, "io-uring") == 0) {
    memset(low + 512, 0, 512);
    return call32(I386_IO_URING_SETUP, 1, low_ptr(low + 512), 0);
  }
  if (strcmp(what, "unshare-user") == 0) return call32(I386_UNSHARE, 0x10000000, 0, 0);
  if (strcmp(what, "mount") == 0) {
    /* On a directory of its own, undone at once: harmless wherever it works. */
    char dir[] = "/tmp/i386-mount.XXXXXX";
    if (mkdtemp(dir) == NULL) return -errno;
    memcpy(low + 64, "none", 5);
    memcpy(low + 128, dir, sizeof dir);
    memcpy(low + 192, "tmpfs", 6);
    long r = call32(I386_MOUNT, low_ptr(low + 64), low_ptr(low + 128), low_ptr(low + 192));
    if (r == 0) umount2(dir, MNT_DETACH);
    rmdir(dir);
    return r;
  }
  if (strcmp(what, "ptrace-child") == 0) {
    pid_t child = fork();
    if (child < 0) return -errno;
    if (child == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() == 1) _exit(0);
      pause();
      _exit(0);
    }
    long r = call32(I386_PTRACE, 16 /* PTRACE_ATTACH */, child, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, __WALL);
    return r;
  }
  return -EINVAL - 10000;
}

/* Whether int $0x80 answers here: a child makes getpid() through it. */
static bool have_i386_abi(void) {
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) _exit(call32(I386_GETPID, 0, 0, 0) == getpid() ? 0 : 1);
  int status;
  if (waitpid(child, &status, 0) != child) return false;
  if (WIFSIGNALED(status))
    fprintf(stderr, "i386-syscall: no i386 ABI here: int $0x80 ended in %s\n",
            strsignal(WTERMSIG(status)));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: i386-syscall socket-unix|socketcall-unix|io-uring|ptrace-child|"
                    "unshare-user|mount|probe\n");
    return 2;
  }
  if (!have_i386_abi()) return 3;
  if (strcmp(argv[1], "probe") == 0) {
    printf("probe OK\n");
    return 0;
  }
  low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) {
    perror("i386-syscall: mmap");
    return 2;
  }
  long r = run(argv[1]);
  if (r == -EINVAL - 10000) {
    fprintf(stderr, "i386-syscall: unknown call %s\n", argv[1]);
    return 2;
  }
  if (r >= 0 || r < -4095)
    printf("%s OK\n", argv[1]);
  else
    printf("%s %s\n", argv[1], strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "?");
  return 0;
}
#else
int main(void) {
  printf("no i386 ABI here\n");
  return 3;
}
#endif
