/* pylock — finding a project and opening its state; see project.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "project.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "change.h"
#include "cleanup.h"
#include "config.h"
#include "file.h"
#include "projwalk.h"

/* A project directory is trusted like git trusts a repository since
 * CVE-2022-24765: its pylock.toml decides which interpreter runs and what
 * gets installed, so another local user must not be able to plant one where
 * we would pick it up.  The directory and pylock.toml must be the caller's
 * (or root's) and writable by nobody else, unless the user listed the
 * directory in safe-directories; and the upward search never enters a
 * directory others can write (a sticky /tmp included), where anyone could
 * create a project above ours. */

static bool owned_ok(const struct stat *st) {
  return st->st_uid == getuid() || st->st_uid == 0;
}

/* Is `dir` listed in safe-directories (or is "*")?  Reads the
 * configuration only when asked, which the common case never does. */
static bool listed_safe(const char *dir) {
  const struct pl_config *cfg = pl_config_get(NULL);
  for (size_t i = 0; cfg && i < cfg->nsafe_dirs; i++)
    if (strcmp(cfg->safe_dirs[i], "*") == 0 || strcmp(cfg->safe_dirs[i], dir) == 0) return true;
  return false;
}

/* dir (canonical) and dir/pylock.toml are someone we may trust? */
static int check_trusted(const char *dir, const struct stat *dst, pl_error_t *err) {
  char path[PATH_MAX];
  struct stat fst;
  if (snprintf(path, sizeof path, "%s/%s", dir, PL_LOCK_FILE) >= (int)sizeof path)
    return pl_fail(err, ENAMETOOLONG, "%s", dir);
  if (lstat(path, &fst) < 0) return pl_fail(err, errno, "%s", path);
  const char *bad = NULL;
  const struct stat *st = NULL;
  if (!owned_ok(dst) || pl_project_writable_by_others(dst))
    bad = dir, st = dst;
  else if (!S_ISREG(fst.st_mode) || !owned_ok(&fst) || pl_project_writable_by_others(&fst))
    bad = path, st = &fst;
  if (bad == NULL || listed_safe(dir)) return 0;
  char owner[128];
  pl_owner_name(st->st_uid, owner, sizeof owner);
  return pl_fail_hint(err, PL_REFUSED,
                      "if you trust it, add it to safe-directories in ~/.config/pylock/config.toml "
                      "(pylock-config(5))",
                      "refusing the project in %s: %s is %s by %s with mode %04o, so someone "
                      "else could choose what runs",
                      dir, bad,
                      S_ISREG(st->st_mode) || S_ISDIR(st->st_mode) ? "owned" : "a link owned",
                      owner, (unsigned)(st->st_mode & 07777));
}

int pl_project_check_dir(const char *dir, pl_error_t *err) {
  struct stat st;
  if (stat(dir, &st) < 0) return pl_fail(err, errno, "%s", dir);
  if ((owned_ok(&st) && !pl_project_writable_by_others(&st)) || listed_safe(dir)) return 0;
  char owner[128];
  pl_owner_name(st.st_uid, owner, sizeof owner);
  return pl_fail_hint(err, PL_REFUSED,
                      "if you trust it, add it to safe-directories in ~/.config/pylock/config.toml "
                      "(pylock-config(5))",
                      "refusing a project in %s: it is owned by %s with mode %04o, so someone "
                      "else could choose what runs",
                      dir, owner, (unsigned)(st.st_mode & 07777));
}

int pl_project_find(const char *dir, char **root, pl_error_t *err) {
  struct stat st;
  if (dir) {
    cleanup_free char *abs = realpath(dir, NULL);
    if (abs == NULL) return pl_fail(err, errno, "project directory %s", dir);
    int has = pl_project_has_lock_file(abs);
    if (has < 0) return pl_fail(err, errno, "%s/%s", abs, PL_LOCK_FILE);
    if (has == 0)
      return pl_fail_hint(err, 0, "create one with: pylock init DIR", "no %s in %s", PL_LOCK_FILE,
                          abs);
    if (stat(abs, &st) < 0) return pl_fail(err, errno, "%s", abs);
    if (check_trusted(abs, &st, err) < 0) return -1;
    *root = steal_pointer(&abs);
    return 0;
  }
  cleanup_free char *cwd = getcwd(NULL, 0);
  if (cwd == NULL) return pl_fail(err, errno, "getcwd");
  cleanup_free char *start = strdup(cwd);
  if (start == NULL) return pl_fail(err, ENOMEM, "getcwd");
  /* First without the configuration (the shim's path outside a project
   * must not read it); only a pylock.toml found beyond a directory others
   * can write needs safe-directories, and then the search runs again as
   * it always did, stopping where that list says to. */
  bool passed = false;
  int r = pl_project_walk_up(cwd, NULL, &passed, &st);
  if (passed && r != 0) {
    memcpy(cwd, start, strlen(start) + 1); /* only ever cut short: it fits */
    r = pl_project_walk_up(cwd, listed_safe, NULL, &st);
  }
  if (r < 0) return pl_fail(err, errno, "%s", cwd);
  if (r > 0) {
    if (check_trusted(cwd, &st, err) < 0) return -1;
    *root = steal_pointer(&cwd);
    return 0;
  }
  return pl_fail_hint(err, 0, "run 'pylock init' in the project directory, or pass -C DIR",
                      "not inside a pylock project (no %s here or in any parent directory)",
                      PL_LOCK_FILE);
}

void pl_project_id(const char *root, char id[PL_PROJECT_ID_MAX]) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)root; *p; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  const char *base = strrchr(root, '/');
  base = base && base[1] ? base + 1 : "root";
  char name[33];
  size_t n = 0;
  for (const char *c = base; *c && n < sizeof name - 1; c++) {
    bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || (*c == '.' && n > 0);
    name[n++] = ok ? *c : '_';
  }
  name[n] = '\0';
  snprintf(id, PL_PROJECT_ID_MAX, "%s-%016llx", name, (unsigned long long)h);
}

bool pl_project_has_old_state(const char *root) {
  char path[PATH_MAX];
  struct stat st;
  return snprintf(path, sizeof path, "%s/%s", root, PL_OLD_STATE_DIR) < (int)sizeof path &&
         lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The state's `path` must name root exactly: an id never reaches another
 * project's state, whatever the hash does. */
static int check_path_file(int fd, const char *root, const char *shown, pl_error_t *err) {
  char buf[PATH_MAX + 2];
  cleanup_close int pfd = openat(fd, PL_PROJECT_PATH_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  ssize_t n = pfd < 0 ? -1 : read(pfd, buf, sizeof buf - 1);
  if (n < 0) return pl_fail(err, errno, "read %s/%s", shown, PL_PROJECT_PATH_FILE);
  buf[n] = '\0';
  size_t rl = strlen(root);
  if ((size_t)n != rl + 1 || memcmp(buf, root, rl) != 0 || buf[rl] != '\n')
    return pl_fail_hint(err, EEXIST, "remove that directory, then run: pylock sync",
                        "%s belongs to another project than %s", shown, root);
  return 0;
}

int pl_project_state_open(const struct pl_state *s, const char *root, bool create, char **path,
                          pl_error_t *err) {
  char id[PL_PROJECT_ID_MAX], rel[PL_PROJECT_ID_MAX + 16];
  pl_project_id(root, id);
  snprintf(rel, sizeof rel, "%s/%s", PL_STATE_PROJECTS, id);
  cleanup_free char *shown = NULL;
  if ((shown = pl_join(s->path, "/", rel)) == NULL) return pl_fail(err, ENOMEM, "project state");
  int fd = pl_state_subdir(s, rel, false, err);
  if (fd < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    if (!create) {
      pl_error_free(err);
      if (pl_project_has_old_state(root))
        return pl_fail_hint(err, ENOENT, "move it to pylock's state directory with: pylock sync",
                            "the environment of %s is in the old layout (%s/, which code in the "
                            "sandbox can change)",
                            root, PL_OLD_STATE_DIR);
      return pl_fail_hint(err, ENOENT, "build it with: pylock sync", "%s has no environment yet",
                          root);
    }
    pl_error_free(err);
    cleanup_free char *tmp = NULL;
    if (asprintf(&tmp, "%s/.new-%s-%d", PL_STATE_PROJECTS, id, (int)getpid()) < 0)
      return pl_fail(err, ENOMEM, "project state");
    /* Made aside with its `path`, then renamed: never a state without one. */
    cleanup_free char *text = NULL;
    if (asprintf(&text, "%s\n", root) < 0) return pl_fail(err, ENOMEM, "project state");
    int tfd = pl_state_subdir(s, tmp, true, err);
    if (tfd < 0) return -1;
    int r = pl_write_file_atomic_at(tfd, PL_PROJECT_PATH_FILE, text, strlen(text), 0600, err);
    close(tfd);
    if (r == 0 && renameat(s->fd, tmp, s->fd, rel) < 0 && errno != EEXIST && errno != ENOTEMPTY)
      r = pl_fail(err, errno, "create %s", shown);
    if (r < 0) {
      pl_remove_tree_at(s->fd, tmp, NULL);
      return -1;
    }
    pl_remove_tree_at(s->fd, tmp, NULL); /* lost a race: the winner's is as good */
    if ((fd = pl_state_subdir(s, rel, false, err)) < 0) return -1;
  }
  if (check_path_file(fd, root, shown, err) < 0) {
    close(fd);
    return -1;
  }
  if (path) *path = steal_pointer(&shown);
  return fd;
}

int pl_project_current(const char *state_path, int state_fd, int root_fd, char **gen, char **layer,
                       pl_error_t *err) {
  unsigned n = 0;
  char target[64];
  struct stat st;
  if (pl_change_effective(root_fd, state_fd, &n, err) < 0)
    return pl_error_set_hint(err, "rebuild it with: pylock sync");
  if (n == 0)
    return pl_fail_hint(err, ENOENT, "build it with: pylock sync",
                        "%s: no current environment generation", state_path);
  snprintf(target, sizeof target, "%s/%u", PL_GENERATIONS_DIR, n);
  int e = fstatat(state_fd, target, &st, AT_SYMLINK_NOFOLLOW) < 0 ? errno
          : S_ISDIR(st.st_mode)                                   ? 0
                                                                  : ENOTDIR;
  if (e)
    return pl_fail_hint(err, e, "rebuild it with: pylock sync",
                        "%s/%s: the current generation is missing", state_path, target);
  if (layer && (*layer = pl_join(state_path, "/", target)) == NULL)
    return pl_fail(err, ENOMEM, "current generation");
  *gen = strdup(target);
  if (*gen == NULL) {
    if (layer) {
      free(*layer);
      *layer = NULL;
    }
    return pl_fail(err, ENOMEM, "current generation");
  }
  return 0;
}
