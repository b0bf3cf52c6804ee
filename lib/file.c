/* pylock — bounded reads and atomic writes; see file.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "file.h"

#include <errno.h>
#include <stdarg.h>
#include <pwd.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <linux/openat2.h>
#include <sys/syscall.h>

#include "cleanup.h"

int pl_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_file_at(int dirfd, const char *name, int flags, size_t max, char **buf, size_t *len,
                        pl_error_t *err) {
  /* O_NONBLOCK: a FIFO planted under the name must not hang us; it fails
   * the regular-file check below instead. */
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
  if (fd < 0) return pl_fail(err, errno, "open %s", name);
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "stat %s", name);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, EINVAL, "%s is not a regular file", name);
  if ((unsigned long long)st.st_size > max)
    return pl_fail(err, EFBIG, "%s is larger than the %zu bytes allowed", name, max);
  /* procfs and sysfs files stat as empty: start from a page-sized buffer
   * (capped by max) instead of doubling up from one byte, one read each. */
  size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : (max < 16384 ? max + 1 : 16384), n = 0;
  cleanup_free char *b = malloc(cap + 1);
  if (b == NULL) return pl_fail(err, ENOMEM, "read %s", name);
  /* The file may grow while we read it: read at most max+1 bytes whatever stat said. */
  for (;;) {
    if (n == cap) {
      if (cap > max)
        return pl_fail(err, EFBIG, "%s is larger than the %zu bytes allowed", name, max);
      size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
      char *nb = realloc(b, ncap + 1);
      if (nb == NULL) return pl_fail(err, ENOMEM, "read %s", name);
      b = nb;
      cap = ncap;
    }
    ssize_t r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return pl_fail(err, errno, "read %s", name);
    if (r == 0) break;
    n += (size_t)r;
  }
  if (n > max) return pl_fail(err, EFBIG, "%s is larger than the %zu bytes allowed", name, max);
  b[n] = '\0';
  if (len) *len = n;
  *buf = steal_pointer(&b);
  return 0;
}

int pl_read_file_at(int dirfd, const char *name, size_t max, char **buf, size_t *len,
                    pl_error_t *err) {
  return read_file_at(dirfd, name, 0, max, buf, len, err);
}

int pl_read_file_nofollow_at(int dirfd, const char *name, size_t max, char **buf, size_t *len,
                             pl_error_t *err) {
  return read_file_at(dirfd, name, O_NOFOLLOW, max, buf, len, err);
}

/* A new temporary name for name (a path relative to a directory): in name's
 * directory, ".BASE.tmp" and 16 random hex digits; NULL when out of memory. */
static char *tmp_name(const char *name) {
  const char *slash = strrchr(name, '/');
  int dirlen = slash ? (int)(slash - name + 1) : 0;
  const char *base = slash ? slash + 1 : name;
  unsigned long long rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (unsigned long long)getpid();
  char *tmp = NULL;
  return asprintf(&tmp, "%.*s.%s.tmp%016llx", dirlen, name, base, rnd) < 0 ? NULL : tmp;
}

int pl_tmpfile_open_at(int dirfd, const char *name, mode_t mode, char **tmpname, pl_error_t *err) {
  for (int attempt = 0; attempt < 16; attempt++) {
    char *tmp = tmp_name(name);
    if (tmp == NULL) return pl_fail(err, ENOMEM, "write %s", name);
    int fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0) {
      /* The umask must not loosen or tighten what the caller asked for. */
      if (fchmod(fd, mode) < 0) {
        int e = errno;
        close(fd);
        unlinkat(dirfd, tmp, 0);
        free(tmp);
        return pl_fail(err, e, "chmod %s", name);
      }
      *tmpname = tmp;
      return fd;
    }
    int e = errno;
    free(tmp);
    if (e != EEXIST) return pl_fail(err, e, "create a temporary file for %s", name);
  }
  return pl_fail(err, EEXIST, "create a temporary file for %s", name);
}

/* An unnamed file in dirfd, locked, then linked under one of
 * pl_tmpfile_open_at's names: a sweep that takes an unlocked temporary file
 * for a dead writer's never sees this one unlocked.  -2 where the kernel or
 * filesystem cannot (no O_TMPFILE, no /proc): the caller falls back. */
static int tmpfile_locked(int dirfd, const char *name, mode_t mode, char **tmpname,
                          pl_error_t *err) {
  int fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
  if (fd < 0) return -2;
  if (fchmod(fd, mode) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    close(fd);
    return pl_fail(err, e, "create a temporary file for %s", name);
  }
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  for (int attempt = 0; attempt < 16; attempt++) {
    char *tmp = tmp_name(name);
    if (tmp == NULL) {
      close(fd);
      return pl_fail(err, ENOMEM, "write %s", name);
    }
    if (linkat(AT_FDCWD, proc, dirfd, tmp, AT_SYMLINK_FOLLOW) == 0) {
      *tmpname = tmp;
      return fd;
    }
    int e = errno;
    free(tmp);
    if (e != EEXIST) {
      close(fd);
      return -2;
    }
  }
  close(fd);
  return pl_fail(err, EEXIST, "create a temporary file for %s", name);
}

int pl_tmpfile_open_locked_at(int dirfd, const char *name, mode_t mode, char **tmpname,
                              pl_error_t *err) {
  if (strchr(name, '/') == NULL) {
    int fd = tmpfile_locked(dirfd, name, mode, tmpname, err);
    if (fd != -2) return fd;
  }
  int fd = pl_tmpfile_open_at(dirfd, name, mode, tmpname, err);
  if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0) {
    int e = errno;
    close(fd);
    unlinkat(dirfd, *tmpname, 0);
    free(*tmpname);
    *tmpname = NULL;
    return pl_fail(err, e, "lock a temporary file for %s", name);
  }
  return fd;
}

/* Close the temporary file fd (fsync'ed first when `sync`) and rename it
 * over name; unlinked on failure. */
static int commit(int dirfd, int fd, const char *tmpname, const char *name, bool sync,
                  pl_error_t *err) {
  int e = 0;
  if (sync && fsync(fd) < 0) e = errno;
  if (close(fd) < 0 && e == 0) e = errno;
  if (e == 0 && renameat(dirfd, tmpname, dirfd, name) < 0) e = errno;
  if (e != 0) {
    unlinkat(dirfd, tmpname, 0);
    return pl_fail(err, e, "write %s", name);
  }
  return 0;
}

int pl_tmpfile_commit_at(int dirfd, int fd, const char *tmpname, const char *name,
                         pl_error_t *err) {
  return commit(dirfd, fd, tmpname, name, true, err);
}

int pl_tmpfile_rename_at(int dirfd, int fd, const char *tmpname, const char *name,
                         pl_error_t *err) {
  return commit(dirfd, fd, tmpname, name, false, err);
}

int pl_tmpfile_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                        char **tmpname, pl_error_t *err) {
  int fd = pl_tmpfile_open_at(dirfd, name, mode, tmpname, err);
  if (fd < 0) return -1;
  if (pl_write_all(fd, data, len) == 0) return fd;
  int e = errno;
  close(fd);
  unlinkat(dirfd, *tmpname, 0);
  return pl_fail(err, e, "write %s", name);
}

static int replace(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                   bool sync, pl_error_t *err) {
  cleanup_free char *tmp = NULL;
  int fd = pl_tmpfile_write_at(dirfd, name, data, len, mode, &tmp, err);
  return fd < 0 ? -1 : commit(dirfd, fd, tmp, name, sync, err);
}

int pl_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            pl_error_t *err) {
  return replace(dirfd, name, data, len, mode, true, err);
}

int pl_write_file_unsynced_at(int dirfd, const char *name, const void *data, size_t len,
                              mode_t mode, pl_error_t *err) {
  return replace(dirfd, name, data, len, mode, false, err);
}

int pl_mkdir_p_at(int dirfd, const char *relpath, mode_t mode, pl_error_t *err) {
  cleanup_free char *copy = strdup(relpath);
  if (copy == NULL) return pl_fail(err, ENOMEM, "mkdir %s", relpath);
  /* An absolute path starts at /, whatever dirfd is; AT_FDCWD at ".". */
  const char *start = relpath[0] == '/' ? "/" : dirfd == AT_FDCWD ? "." : NULL;
  cleanup_close int cur =
      start ? open(start, O_PATH | O_DIRECTORY | O_CLOEXEC) : fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (cur < 0) return pl_fail(err, errno, "open %s", start ? start : "directory");
  char *save = NULL;
  for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
    if (strcmp(part, ".") == 0) continue;
    if (strcmp(part, "..") == 0) return pl_fail(err, EINVAL, "'..' in %s", relpath);
    if (mkdirat(cur, part, mode) < 0 && errno != EEXIST)
      return pl_fail(err, errno, "mkdir %s (in %s)", part, relpath);
    int next = openat(cur, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return pl_fail(err, errno, "open %s (in %s)", part, relpath);
    close(cur);
    cur = next;
  }
  return 0;
}

int pl_mkdir_p(const char *path, mode_t mode, pl_error_t *err) {
  size_t n = strlen(path);
  if (n == 0 || n >= PATH_MAX) return pl_fail(err, ENAMETOOLONG, "mkdir %s", path);
  char buf[PATH_MAX];
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (mkdir(buf, mode) < 0 && errno != EEXIST) return pl_fail(err, errno, "mkdir %s", buf);
    buf[i] = saved;
  }
  struct stat st;
  if (stat(path, &st) < 0) return pl_fail(err, errno, "mkdir %s", path);
  if (!S_ISDIR(st.st_mode)) return pl_fail(err, ENOTDIR, "mkdir %s", path);
  return 0;
}

int pl_open_dir_beneath(int dirfd, const char *rel, pl_error_t *err) {
  if (rel[0] == '\0') {
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
    return fd < 0 ? pl_fail(err, errno, "dup") : fd;
  }
  struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
                         .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
  int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
  if (fd >= 0) return fd;
  if (errno != ENOSYS) return pl_fail(err, errno, "open %s", rel);
  /* Before 5.6: the same walk by hand. */
  cleanup_free char *copy = strdup(rel);
  if (copy == NULL) return pl_fail(err, ENOMEM, "open %s", rel);
  fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return pl_fail(err, errno, "open %s", rel);
  char *save = NULL;
  for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    int next = strcmp(c, "..") == 0
                   ? (errno = EXDEV, -1)
                   : openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(fd);
    if (next < 0) return pl_fail(err, e, "open %s", rel);
    fd = next;
  }
  return fd;
}

int pl_dir_make_locked_at(int dirfd, const char *name, mode_t mode, pl_error_t *err) {
  unsigned long long rnd[2] = {0, 0};
  if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
    return pl_fail(err, errno ? errno : EIO, "random name for %s", name);
  char stage[32], tmp[32];
  snprintf(stage, sizeof stage, "%s%016llx", PL_DIR_STAGE_PREFIX, rnd[0]);
  snprintf(tmp, sizeof tmp, "%016llx", rnd[1]);
  if (mkdirat(dirfd, stage, 0300) < 0) return pl_fail(err, errno, "mkdir %s", stage);
  int e = fchmodat(dirfd, stage, 0300, 0) < 0 ? errno : 0; /* not the umask's */
  cleanup_close int sfd = openat(dirfd, stage, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int fd = -1;
  if (e == 0 && (sfd < 0 || mkdirat(sfd, tmp, mode) < 0)) {
    e = errno;
  } else if (e == 0) {
    fd = openat(sfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    e = fd < 0 ? errno : flock(fd, LOCK_EX | LOCK_NB) < 0 ? errno : 0;
    if (e == 0 && fchmod(fd, mode) < 0) e = errno; /* not the umask's */
    if (e == 0 && renameat2(sfd, tmp, dirfd, name, RENAME_NOREPLACE) < 0) {
      e = errno;
      if (e == EINVAL || e == ENOSYS) { /* no RENAME_NOREPLACE: a full target is refused anyway */
        struct stat st;
        e = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? EEXIST
            : renameat(sfd, tmp, dirfd, name) < 0               ? errno
                                                                : 0;
      }
    }
    if (e) unlinkat(sfd, tmp, AT_REMOVEDIR);
  }
  unlinkat(dirfd, stage, AT_REMOVEDIR);
  if (e) return pl_fail(err, e, "make %s", name);
  return steal_fd(&fd);
}

bool pl_dir_sweep_stage(int dirfd, const char *name, int min_age) {
  struct stat st;
  if (strncmp(name, PL_DIR_STAGE_PREFIX, sizeof PL_DIR_STAGE_PREFIX - 1) != 0) return false;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
      (min_age > 0 && time(NULL) - st.st_mtime < min_age))
    return true;
  /* 0300: made readable to be emptied (a directory: no link is followed) */
  if (fchmodat(dirfd, name, 0700, 0) == 0) pl_remove_tree_at(dirfd, name, NULL);
  return true;
}

#define REMOVE_DEPTH_MAX 256

/* Where a directory lives: its file system, and (statx, Linux 5.8+) its mount. */
struct fs_id {
  uint64_t dev, mnt;
  bool has_mnt;
};

static int fs_id_of(int fd, struct fs_id *id) {
  struct statx sx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0) return -1;
  id->dev = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
  id->has_mnt = (sx.stx_mask & STATX_MNT_ID) != 0;
  id->mnt = id->has_mnt ? sx.stx_mnt_id : 0;
  return 0;
}

/* Is the directory open at fd on the mount `within` names? */
static bool same_mount(int fd, const struct fs_id *within) {
  struct fs_id here;
  if (fs_id_of(fd, &here) < 0) return false;
  return here.dev == within->dev && (!within->has_mnt || !here.has_mnt || here.mnt == within->mnt);
}

/* dirfd/name, a directory of ours we may not read (mode 000, say), opened
 * after making it ours to read: chmod goes through an O_PATH descriptor, so
 * it changes the directory looked at, never what a name swapped in its
 * place (a symlink) points to; nor one on another mount than `within`.
 * -1 with errno set otherwise. */
static int open_unreadable_dir(int dirfd, const char *name, const struct fs_id *within) {
  int pfd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (pfd < 0) return -1;
  struct stat st;
  char proc[64];
  int fd = -1;
  if (fstat(pfd, &st) < 0 || st.st_uid != geteuid() || (within && !same_mount(pfd, within))) {
    errno = EACCES;
  } else {
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    if (chmod(proc, (st.st_mode & 07777) | 0700) == 0)
      fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  }
  int e = errno;
  close(pfd);
  errno = e;
  return fd;
}

/* rm -rf dirfd/name; `within` (may be NULL) is the mount it must not leave. */
static int remove_at(int dirfd, const char *name, int depth, const struct fs_id *within,
                     pl_error_t *err) {
  if (depth > REMOVE_DEPTH_MAX) return pl_fail(err, ELOOP, "remove %s: too deep", name);
  int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) fd = open_unreadable_dir(dirfd, name, within);
  if (fd < 0) {
    if (errno == ENOTDIR || errno == ELOOP) {
      if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        return pl_fail(err, errno, "remove %s", name);
      return 0;
    }
    return errno == ENOENT ? 0 : pl_fail(err, errno, "open %s", name);
  }
  /* A mount inside (a bind mount of some other directory, even of the same
   * file system): what is in it is not ours to remove. */
  if (within && !same_mount(fd, within)) {
    close(fd);
    return pl_fail(err, EXDEV, "%s is a mount point: not removed, nor anything in it", name);
  }
  /* Sealed trees and generations are 0555: make them writable to empty them. */
  struct stat st;
  if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700 && fchmod(fd, 0700) < 0) {
    int e = errno;
    close(fd);
    return pl_fail(err, e, "make %s writable to remove it", name);
  }
  cleanup_dir DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return pl_fail(err, errno, "read %s", name);
  }
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
      if (remove_at(fd, e->d_name, depth + 1, within, err) < 0) return -1;
    } else if (unlinkat(fd, e->d_name, 0) < 0 && errno != ENOENT) {
      return pl_fail(err, errno, "remove %s/%s", name, e->d_name);
    }
  }
  if (errno) return pl_fail(err, errno, "read %s", name);
  if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return pl_fail(err, errno, "remove %s", name);
  return 0;
}

int pl_remove_tree_at(int dirfd, const char *name, pl_error_t *err) {
  return remove_at(dirfd, name, 0, NULL, err);
}

int pl_remove_tree_within_at(int dirfd, const char *name, pl_error_t *err) {
  struct fs_id within;
  if (fs_id_of(dirfd, &within) < 0) return pl_fail(err, errno, "stat the directory of %s", name);
  return remove_at(dirfd, name, 0, &within, err);
}

void pl_owner_name(uid_t uid, char *buf, size_t n) {
  struct passwd pw, *res = NULL;
  char tmp[1024];
  if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
    snprintf(buf, n, "%s (uid %u)", res->pw_name, (unsigned)uid);
  else
    snprintf(buf, n, "uid %u", (unsigned)uid);
}

char *pl_join_(const char *first, ...) {
  va_list ap;
  size_t len = 0;
  va_start(ap, first);
  for (const char *s = first; s; s = va_arg(ap, const char *))
    len += strlen(s);
  va_end(ap);
  char *out = malloc(len + 1), *o = out;
  if (out == NULL) return NULL;
  va_start(ap, first);
  for (const char *s = first; s; s = va_arg(ap, const char *)) {
    size_t n = strlen(s);
    memcpy(o, s, n);
    o += n;
  }
  va_end(ap);
  *o = '\0';
  return out;
}

/* The kernel's record (linux_dirent64), 8-aligned in the buffer. */
struct dirent64_rec {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

void pl_dirents_init(struct pl_dirents *r, int fd) {
  r->fd = fd;
  r->len = r->pos = 0;
}

int pl_dirents_next(struct pl_dirents *r, const char **name, unsigned *type) {
  for (;;) {
    if (r->pos >= r->len) {
      long n = syscall(SYS_getdents64, r->fd, r->buf, sizeof r->buf);
      if (n < 0) return -1;
      if (n == 0) return 0;
      r->len = n;
      r->pos = 0;
    }
    const struct dirent64_rec *e = (const void *)(r->buf + r->pos);
    size_t room = (size_t)(r->len - r->pos), head = offsetof(struct dirent64_rec, d_name);
    if (room <= head || e->d_reclen <= head || e->d_reclen > room ||
        memchr(e->d_name, '\0', e->d_reclen - head) == NULL) {
      errno = EIO; /* not a record the kernel writes */
      return -1;
    }
    r->pos += e->d_reclen;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    *name = e->d_name;
    *type = e->d_type;
    return 1;
  }
}
