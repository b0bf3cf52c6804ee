/* pylock — the upward search for pylock.toml; see projwalk.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "projwalk.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "project.h"

bool pl_project_writable_by_others(const struct stat *st) {
  return (st->st_mode & (S_IWGRP | S_IWOTH)) != 0;
}

bool pl_project_has_lock_file(const char *dir) {
  char path[PATH_MAX];
  int r = snprintf(path, sizeof path, "%s/%s", dir, PL_LOCK_FILE);
  if (r < 0 || (size_t)r >= sizeof path) return false;
  return faccessat(AT_FDCWD, path, F_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0;
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
    if (pl_project_has_lock_file(cwd)) return 1;
    char *slash = strrchr(cwd, '/');
    if (slash == NULL || cwd[1] == '\0') return 0;
    if (slash == cwd)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}
