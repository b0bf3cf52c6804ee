/* pylock — what musl 1.2 lacks of glibc's Linux interfaces, for the static front ends. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_COMPAT_MUSL_H
#define PYLOCK_COMPAT_MUSL_H

/* Forced into every file compiled with musl (the Makefile's -include): the
 * kernel's own declarations of the new mount API, statx and renameat2
 * flags, and thin system-call wrappers with glibc's prototypes.  Nothing
 * here when the C library declares them itself. */
#ifndef __GLIBC__
#include <linux/fs.h>
#include <linux/mount.h>
#include <linux/stat.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

struct mount_attr;
struct statx;

static inline int renameat2(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                            unsigned int flags) {
  return (int)syscall(SYS_renameat2, olddirfd, oldpath, newdirfd, newpath, flags);
}
static inline int statx(int dirfd, const char *path, int flags, unsigned int mask,
                        struct statx *buf) {
  return (int)syscall(SYS_statx, dirfd, path, flags, mask, buf);
}
static inline int fsopen(const char *fsname, unsigned int flags) {
  return (int)syscall(SYS_fsopen, fsname, flags);
}
static inline int fsconfig(int fd, unsigned int cmd, const char *key, const void *value, int aux) {
  return (int)syscall(SYS_fsconfig, fd, cmd, key, value, aux);
}
static inline int fsmount(int fd, unsigned int flags, unsigned int attr_flags) {
  return (int)syscall(SYS_fsmount, fd, flags, attr_flags);
}
static inline int move_mount(int from_dirfd, const char *from_path, int to_dirfd,
                             const char *to_path, unsigned int flags) {
  return (int)syscall(SYS_move_mount, from_dirfd, from_path, to_dirfd, to_path, flags);
}
static inline int open_tree(int dirfd, const char *path, unsigned int flags) {
  return (int)syscall(SYS_open_tree, dirfd, path, flags);
}
static inline int mount_setattr(int dirfd, const char *path, unsigned int flags,
                                struct mount_attr *attr, size_t size) {
  return (int)syscall(SYS_mount_setattr, dirfd, path, flags, attr, size);
}
/* musl's open() follows an O_CLOEXEC open with fcntl(F_SETFD), for kernels
 * before 2.6.23: one more system call for every file the front end opens.
 * openat(AT_FDCWD) is the same call without it. */
#include <fcntl.h>
#define open(path, ...) openat(AT_FDCWD, path, __VA_ARGS__)
#endif

#endif
