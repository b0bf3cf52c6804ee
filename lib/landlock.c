/* pylock — Landlock allow-lists; see landlock.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "landlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* The UAPI as of ABI 6, spelled out here: distribution headers lag behind
 * the kernels they run on (Debian 12's stops at ABI 2). */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1

#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_REMOVE_DIR (1ULL << 4)
#define LL_FS_REMOVE_FILE (1ULL << 5)
#define LL_FS_MAKE_CHAR (1ULL << 6)
#define LL_FS_MAKE_DIR (1ULL << 7)
#define LL_FS_MAKE_REG (1ULL << 8)
#define LL_FS_MAKE_SOCK (1ULL << 9)
#define LL_FS_MAKE_FIFO (1ULL << 10)
#define LL_FS_MAKE_BLOCK (1ULL << 11)
#define LL_FS_MAKE_SYM (1ULL << 12)
#define LL_FS_REFER (1ULL << 13)                  /* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)               /* ABI 3 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

struct ll_ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net; /* ABI 4 */
  uint64_t scoped;             /* ABI 6 */
};

struct ll_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

int pl_landlock_abi(const char **why) {
  const char *off = getenv("PYLOCK_LANDLOCK");
  if (off && strcmp(off, "off") == 0) {
    if (why) *why = "Landlock is turned off (PYLOCK_LANDLOCK=off)";
    return 0;
  }
  long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LL_CREATE_RULESET_VERSION);
  if (v > 0) return (int)v;
  if (why)
    *why = errno == EOPNOTSUPP ? "Landlock is built into the kernel but not enabled (add "
                                 "landlock to the lsm= boot parameter)"
           : errno == ENOSYS   ? "the kernel has no Landlock (Linux 5.13 or later has it)"
                               : "Landlock is blocked here (a container's seccomp policy?)";
  return 0;
}

/* Every right that changes the filesystem, as far as this ABI knows them. */
static uint64_t write_rights(int abi) {
  uint64_t r = LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR |
               LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO |
               LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM;
  if (abi >= 2) r |= LL_FS_REFER;
  if (abi >= 3) r |= LL_FS_TRUNCATE;
  return r;
}

static int add_path(int ruleset, const char *path, uint64_t rights, pl_error_t *err) {
  cleanup_close int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : pl_fail(err, errno, "%s", path);
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "%s", path);
  /* A file takes only the rights that apply to files. */
  if (!S_ISDIR(st.st_mode)) rights &= LL_FS_WRITE_FILE | LL_FS_TRUNCATE;
  struct ll_path_beneath_attr attr = {.allowed_access = rights, .parent_fd = fd};
  if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH, &attr, 0) < 0)
    return pl_fail(err, errno, "Landlock rule for %s", path);
  return 0;
}

int pl_landlock_restrict(const char *const *writable, size_t n, pl_error_t *err) {
  int abi = pl_landlock_abi(NULL);
  if (abi <= 0) return pl_fail(err, ENOSYS, "Landlock is not available");
  uint64_t rights = write_rights(abi);
  struct ll_ruleset_attr attr = {.handled_access_fs = rights};
  size_t size = sizeof attr.handled_access_fs;
  if (abi >= 6) {
    attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
    size = sizeof attr;
  }
  cleanup_close int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
  if (rs < 0) return pl_fail(err, errno, "create a Landlock ruleset (ABI %d)", abi);
  for (size_t i = 0; i < n; i++)
    if (writable[i] && add_path(rs, writable[i], rights, err) < 0) return -1;
  /* restrict_self needs no_new_privs (or CAP_SYS_ADMIN): the caller sets it
   * anyway, before the seccomp filter. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return pl_fail(err, errno, "set no_new_privs");
  if (syscall(SYS_landlock_restrict_self, rs, 0) < 0)
    return pl_fail(err, errno, "enforce the Landlock ruleset");
  return 0;
}
