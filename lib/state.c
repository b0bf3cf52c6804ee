/* pylock — the per-user state root; see state.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "config.h"
#include "file.h"
#include "paths.h"
#include "pause.h"
#include "sha.h"

#define STATE_HINT "set PYLOCK_STATE_DIR, or state-dir in pylock-config(5), to a directory you own"

int pl_state_location(char **path, pl_error_t *err) {
  const char *env = getenv("PYLOCK_STATE_DIR");
  if (env && env[0]) {
    if (env[0] != '/')
      return pl_fail(err, EINVAL, "PYLOCK_STATE_DIR must be an absolute path, not %s", env);
    *path = strdup(env);
    return *path ? 0 : pl_fail(err, ENOMEM, "state path");
  }
  const struct pl_config *cfg = pl_config_get(err);
  if (cfg == NULL) return -1;
  if (cfg->state_dir) {
    *path = strdup(cfg->state_dir);
    return *path ? 0 : pl_fail(err, ENOMEM, "state path");
  }
  return pl_path_state_default(path, err);
}

/* Owner and mode of what st describes, as the error needs them. */
static int not_ours(const char *path, const struct stat *st, const char *what, pl_error_t *err) {
  return pl_fail_hint(err, PL_REFUSED, STATE_HINT,
                      "%s %s is owned by uid %u with mode %04o: pylock trusts what it keeps "
                      "there, so it must be yours and writable by nobody else",
                      what, path, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777));
}

int pl_state_check_owned(int fd, const char *path, pl_error_t *err) {
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "stat %s", path);
  if (st.st_uid != getuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return not_ours(path, &st, "pylock state", err);
  return 0;
}

int pl_path_check_ancestors(const char *path, const char *what, pl_error_t *err) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (path[0] != '/' || n >= sizeof buf) return pl_fail(err, EINVAL, "%s: %s", what, path);
  memcpy(buf, path, n + 1);
  uid_t me = getuid();
  /* Walk up: /a/b/c checks /a/b, /a, then /. */
  for (char *slash = strrchr(buf, '/'); slash;) {
    if (slash == buf)
      buf[1] = '\0';
    else
      *slash = '\0';
    /* lstat: the path is a realpath, so a link here is one swapped in
     * since (stat would judge where it points, not what is in the path). */
    struct stat st;
    if (lstat(buf, &st) < 0) return pl_fail(err, errno, "stat %s", buf);
    if (S_ISLNK(st.st_mode))
      return pl_fail(err, PL_REFUSED, "%s %s: %s became a symbolic link while it was checked", what,
                     path, buf);
    bool owner_ok = st.st_uid == me || st.st_uid == 0;
    bool write_ok = !(st.st_mode & (S_IWGRP | S_IWOTH)) || (st.st_mode & S_ISVTX);
    if (!owner_ok || !write_ok)
      return pl_fail_hint(err, PL_REFUSED, STATE_HINT,
                          "%s %s: %s is owned by uid %u with mode %04o, so another user could "
                          "replace what is below it",
                          what, path, buf, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
    if (buf[1] == '\0') break;
    slash = strrchr(buf, '/');
  }
  return 0;
}

int pl_path_check_trusted(const char *path, const char *what, pl_error_t *err) {
  cleanup_free char *real = realpath(path, NULL);
  struct stat st;
  if (real == NULL || stat(real, &st) < 0) return pl_fail(err, errno, "%s %s", what, path);
  if ((st.st_uid != getuid() && st.st_uid != 0) || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return pl_fail_hint(err, PL_REFUSED, "make it yours and writable by you alone (chmod go-w)",
                        "%s %s is owned by uid %u with mode %04o: someone else could change "
                        "what pylock does",
                        what, real, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
  return pl_path_check_ancestors(real, what, err);
}

/* Open the root at `path`; -1 with errno ENOENT when it does not exist. */
static int open_root(const char *path, struct pl_state *s, pl_error_t *err) {
  s->path = realpath(path, NULL);
  if (s->path == NULL) return pl_fail(err, errno, "state directory %s", path);
  s->fd = open(s->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (s->fd < 0) return pl_fail(err, errno, "open state directory %s", s->path);
  if (pl_state_check_owned(s->fd, s->path, err) < 0 ||
      pl_path_check_ancestors(s->path, "pylock state directory", err) < 0)
    return -1;
  /* The path checked must still name the directory opened: its parents,
   * now known to be ours or root's, can no longer be swapped. */
  struct stat opened, named;
  if (fstat(s->fd, &opened) < 0 || lstat(s->path, &named) < 0 || opened.st_dev != named.st_dev ||
      opened.st_ino != named.st_ino)
    return pl_fail(err, PL_REFUSED, "state directory %s changed while it was opened", s->path);
  return 0;
}

/* Before making the missing part of `path`: the deepest directory of it
 * that exists, and every one above, must be safe to make things in (ours
 * or root's, writable by nobody else unless sticky).  Otherwise a directory
 * another user controls would get our directories (and their names) made
 * in it, or have ours renamed away between the mkdir and the check that
 * open_root makes afterwards. */
static int check_before_create(const char *path, pl_error_t *err) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (path[0] != '/' || n >= sizeof buf) return pl_fail(err, EINVAL, "state directory %s", path);
  memcpy(buf, path, n + 1);
  struct stat st;
  bool missing = false;
  while (stat(buf, &st) < 0) {
    if (errno != ENOENT) return pl_fail(err, errno, "stat %s", buf);
    missing = true;
    char *slash = strrchr(buf, '/');
    if (slash == buf) {
      buf[1] = '\0'; /* "/" exists */
      break;
    }
    *slash = '\0';
  }
  if (!missing) return 0; /* there after all: open_root decides */
  /* buf is the deepest existing directory; check it, from its real path,
   * as the parent of the first directory to make. */
  size_t have = buf[1] ? strlen(buf) : 0;
  const char *next = path + have + 1;
  size_t nlen = strcspn(next, "/");
  cleanup_free char *real = realpath(buf, NULL);
  if (real == NULL) return pl_fail(err, errno, "state directory %s", buf);
  cleanup_free char *below = NULL;
  if (asprintf(&below, "%s/%.*s", strcmp(real, "/") == 0 ? "" : real, (int)nlen, next) < 0)
    return pl_fail(err, ENOMEM, "state directory");
  return pl_path_check_ancestors(below, "pylock state directory", err);
}

int pl_state_open(struct pl_state *s, pl_error_t *err) {
  s->path = NULL;
  s->fd = -1;
  cleanup_free char *path = NULL;
  if (pl_state_location(&path, err) < 0) return -1;
  pl_error_t e = NULL;
  if (open_root(path, s, &e) == 0) return 0;
  if (e->errnum != ENOENT) {
    pl_error_free(err);
    *err = e;
    pl_state_close(s);
    return -1;
  }
  pl_error_free(&e);
  pl_state_close(s);
  if (check_before_create(path, err) < 0 || pl_mkdir_p(path, 0700, err) < 0)
    return pl_error_wrap(err, "pylock state");
  if (open_root(path, s, err) < 0) {
    pl_state_close(s);
    return -1;
  }
  return 0;
}

void pl_state_close(struct pl_state *s) {
  free(s->path);
  if (s->fd >= 0) close(s->fd);
  s->path = NULL;
  s->fd = -1;
}

int pl_state_subdir(const struct pl_state *s, const char *name, bool create, pl_error_t *err) {
  int fd = pl_open_dir_beneath(s->fd, name, err);
  if (fd < 0) {
    if (!create || (*err)->errnum != ENOENT) return pl_error_wrap(err, "pylock state %s", s->path);
    pl_error_free(err);
    if (pl_mkdir_p_at(s->fd, name, 0700, err) < 0) return pl_error_wrap(err, "%s", s->path);
    if ((fd = pl_open_dir_beneath(s->fd, name, err)) < 0)
      return pl_error_wrap(err, "pylock state %s", s->path);
  }
  char shown[PATH_MAX + 64];
  snprintf(shown, sizeof shown, "%s/%s", s->path, name);
  if (pl_state_check_owned(fd, shown, err) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

int pl_state_registry_path(const struct pl_state *s, const char *key, char **path,
                           pl_error_t *err) {
  char hash[PL_SHA256_HEX], rel[64];
  if (pl_sha256_hex(key, strlen(key), hash, err) < 0) return -1;
  snprintf(rel, sizeof rel, "%s/%.32s", PL_STATE_REGISTRIES, hash);
  int fd = pl_state_subdir(s, rel, true, err);
  if (fd < 0) return -1;
  close(fd);
  if (asprintf(path, "%s/%s", s->path, rel) < 0) return pl_fail(err, ENOMEM, "registry state");
  return 0;
}

int pl_state_published_dir(const struct pl_state *s, const char *dir, bool create,
                           pl_error_t *err) {
  char hash[PL_SHA256_HEX], rel[64];
  if (pl_sha256_hex(dir, strlen(dir), hash, err) < 0) return -1;
  snprintf(rel, sizeof rel, "%s/%.32s", PL_STATE_PUBLISHED, hash);
  return pl_state_subdir(s, rel, create, err);
}

int pl_state_scratch(const struct pl_state *s, const char *what, char **path, int *lock_fd,
                     pl_error_t *err) {
  cleanup_close int dfd = pl_state_subdir(s, PL_STATE_SCRATCH, true, err);
  if (dfd < 0) return -1;
  char name[96];
  /* Held while the directory is in use: a sweeper that can take it knows
   * its maker is gone (pl_dir_make_locked_at: locked before it is seen). */
  unsigned long long rnd = 0;
  if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) rnd ^= (unsigned long long)getpid();
  snprintf(name, sizeof name, "%.32s-%d-%016llx", what, (int)getpid(), rnd);
  int fd = pl_dir_make_locked_at(dfd, name, 0700, err);
  if (fd < 0) return pl_error_wrap(err, "%s/%s", s->path, PL_STATE_SCRATCH);
  pl_pause("scratch-made");
  if (asprintf(path, "%s/%s/%s", s->path, PL_STATE_SCRATCH, name) < 0) {
    close(fd);
    pl_remove_tree_at(dfd, name, NULL);
    return pl_fail(err, ENOMEM, "scratch");
  }
  *lock_fd = fd;
  return 0;
}

void pl_state_sweep_scratch(const struct pl_state *s) {
  pl_error_t ignored = NULL;
  int dfd = pl_state_subdir(s, PL_STATE_SCRATCH, false, &ignored);
  pl_error_free(&ignored);
  if (dfd < 0) return;
  cleanup_dir DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') {
      pl_dir_sweep_stage(dirfd(d), e->d_name, 60); /* a killed maker's (file.h) */
      continue;
    }
    cleanup_close int fd =
        openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* Not a directory (nothing of ours), or its maker still holds it. */
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
      if (fd < 0 && errno == ENOTDIR) unlinkat(dirfd(d), e->d_name, 0);
      continue;
    }
    pl_remove_tree_at(dirfd(d), e->d_name, NULL);
  }
}
