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

/* fstatat, not faccessat with flags: that needs faccessat2 (Linux 5.8), and
 * where it fails ENOSYS (older kernels, a container's seccomp profile) musl
 * answers EINVAL for every file where glibc falls back to a stat: the front
 * end would have seen no project anywhere while pylock saw one.  Only a
 * file that is not there is "no"; any other failure is doubt. */
int pl_project_has_lock_file(const char *dir) {
  char path[PATH_MAX];
  struct stat st;
  int r = snprintf(path, sizeof path, "%s/%s", dir, PL_LOCK_FILE);
  if (r < 0 || (size_t)r >= sizeof path) return errno = ENAMETOOLONG, -1;
  if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0) return 1;
  return errno == ENOENT ? 0 : -1;
}

int pl_project_walk_up(char *cwd, bool (*listed_safe)(const char *dir), bool *passed,
                       struct stat *st) {
  for (bool first = true;; first = false) {
    if (stat(cwd, st) < 0) return -1;
    if (!first && pl_project_writable_by_others(st)) {
      if (listed_safe == NULL)
        *passed = true;
      else if (!listed_safe(cwd))
        return 0;
    }
    int has = pl_project_has_lock_file(cwd);
    if (has != 0) return has;
    char *slash = strrchr(cwd, '/');
    if (slash == NULL || cwd[1] == '\0') return 0;
    if (slash == cwd)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}
