/* pylock — the upward search for pylock.toml; see projwalk.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "projwalk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "project.h"

bool pl_project_writable_by_others(const struct stat *st) {
  return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

/* Is there a pylock.toml at dirfd/name (1), surely not (0), or is it
 * doubt (-1)?  fstatat, not faccessat with flags: that needs faccessat2
 * (Linux 5.8), and where it fails ENOSYS (older kernels, a container's
 * seccomp profile) musl answers EINVAL for every file where glibc falls
 * back to a stat: the front end would have seen no project anywhere while
 * pylock saw one.  Only a file that is not there is "no". */
static int lock_file_at(int dirfd, const char *name) {
  struct stat st;
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
  return errno == ENOENT ? 0 : -1;
}

int pl_project_has_lock_file(const char *dir) {
  char path[PATH_MAX];
  int r = snprintf(path, sizeof path, "%s/%s", dir, PL_LOCK_FILE);
  if (r < 0 || (size_t)r >= sizeof path) return errno = ENAMETOOLONG, -1;
  return lock_file_at(AT_FDCWD, path);
}

/* The walk follows the working directory's real parents by descriptor
 * (".." from the one before) and asks each for a pylock.toml there; the
 * path, cut down a component at a time, must name the same directory at
 * each step or the walk is doubt (-1, ESTALE).  By path alone, anyone who
 * may rename a directory above a project (a group's shared directory) could
 * swap in one of theirs between getcwd and the lookups, and the project's
 * code would run with no sandbox, the front end and pylock both seeing no
 * project. */
int pl_project_walk_up(char *cwd, bool (*listed_safe)(const char *dir), bool *passed,
                       struct stat *st) {
  int fd = openat(AT_FDCWD, ".", O_PATH | O_DIRECTORY | O_CLOEXEC); /* musl: no fcntl */
  if (fd < 0) return -1;
  int r;
  for (bool first = true;; first = false) {
    struct stat here;
    if (stat(cwd, st) < 0 || fstat(fd, &here) < 0) {
      r = -1;
      break;
    }
    if (st->st_dev != here.st_dev || st->st_ino != here.st_ino) {
      errno = ESTALE;
      r = -1;
      break;
    }
    if (!first && pl_project_writable_by_others(st)) {
      if (listed_safe == NULL)
        *passed = true;
      else if (!listed_safe(cwd)) {
        r = 0;
        break;
      }
    }
    if ((r = lock_file_at(fd, PL_LOCK_FILE)) != 0) break;
    char *slash = strrchr(cwd, '/');
    if (slash == NULL || cwd[1] == '\0') break; /* r == 0 */
    if (slash == cwd)
      slash[1] = '\0';
    else
      *slash = '\0';
    int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (up < 0) {
      r = -1;
      break;
    }
    close(fd);
    fd = up;
  }
  int e = errno;
  close(fd);
  errno = e;
  return r;
}
