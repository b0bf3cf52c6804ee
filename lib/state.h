/* pylock — the per-user state root: everything pylock later trusts.
 *
 *   STATE/cache/wheels/<sha256>.whl     verified wheels          (cache.h)
 *   STATE/cache/trees/<sha256>-<key>/   installed, sealed trees  (cache.h)
 *   STATE/projects/<id>/                one project's interpreter record, trusted
 *                                       registry root, generations, change lock and
 *                                       keep-alive record        (project.h)
 *   STATE/registries/<hash>/            TUF state per registry (last versions seen)
 *   STATE/published/<hash>/             what pylock last signed of each registry it
 *                                       publishes (registry.h)
 *   STATE/interp/                       the interpreter probe cache (interp.h)
 *   STATE/scratch/                      the resolver's work directories, swept
 *
 * STATE is $PYLOCK_STATE_DIR, else `state-dir` of pylock-config(5), else
 * $XDG_STATE_HOME/pylock (~/.local/state/pylock).  Every pylock sandbox sees it
 * read-only (sandbox.h), so code that pylock runs can change none of it;
 * only pylock itself, outside any sandbox, writes there.
 *
 * Because pylock trusts what it reads back from here, the root must be the
 * caller's: owned by the caller and writable by nobody else, and so must
 * every directory on the way to it be (owned by the caller or root, and
 * writable by others only when sticky, as /tmp is: then nobody else can
 * rename our entry away).  This is checked every time the root is opened,
 * whichever variable or setting points there, as OpenSSH checks the paths
 * of its keys.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_STATE_H
#define PYLOCK_STATE_H

#include <stdbool.h>

#include "error.h"

#define PL_STATE_CACHE "cache"
#define PL_STATE_PROJECTS "projects"
#define PL_STATE_REGISTRIES "registries"
#define PL_STATE_PUBLISHED "published"
#define PL_STATE_INTERP "interp"
#define PL_STATE_SCRATCH "scratch"

struct pl_state {
  char *path; /* canonical, absolute */
  int fd;     /* the root, O_DIRECTORY */
};

/* Where the state root is (not created, not checked); newly allocated. */
int pl_state_location(char **path, pl_error_t *err);

/* Open the state root, creating it (0700) when missing, and check it and
 * the way to it. */
int pl_state_open(struct pl_state *s, pl_error_t *err);
void pl_state_close(struct pl_state *s);

/* Open (with create, make 0700 first) the directory `name` (one component
 * or a relative path without "..") under the root and check that it is the
 * caller's; returns the fd.  ENOENT when missing and !create. */
int pl_state_subdir(const struct pl_state *s, const char *name, bool create, pl_error_t *err);

/* A new scratch directory STATE/scratch/WHAT-PID-RANDOM (0700) at *path,
 * locked by *lock_fd: keep it open while the directory is in use, then
 * remove the directory and close it. */
int pl_state_scratch(const struct pl_state *s, const char *what, char **path, int *lock_fd,
                     pl_error_t *err);
/* Remove every scratch directory whose maker is gone (its lock is free). */
void pl_state_sweep_scratch(const struct pl_state *s);

/* STATE/registries/<first 32 hex digits of sha256(key)>: the TUF state of
 * the registry key names (env.c: its trusted root, whatever its address;
 * created, checked); newly allocated. */
int pl_state_registry_path(const struct pl_state *s, const char *key, char **path, pl_error_t *err);

/* STATE/published/<first 32 hex digits of sha256(dir)>: what pylock last
 * signed of the registry at dir (its real path), opened (created when
 * create) and checked; returns the fd, or -1 with ENOENT when missing. */
int pl_state_published_dir(const struct pl_state *s, const char *dir, bool create, pl_error_t *err);

/* Is the directory or file open at fd the caller's and writable by nobody
 * else?  `path` names it in the error. */
int pl_state_check_owned(int fd, const char *path, pl_error_t *err);

/* Is the file or directory at `path` (symlinks followed) one pylock may
 * trust: the caller's or root's, writable by nobody else, and so is every
 * directory on the way to it?  `what` names it in the error.  ENOENT when it
 * does not exist. */
int pl_path_check_trusted(const char *path, const char *what, pl_error_t *err);

/* Is every directory from / down to `path` (absolute, canonical; itself
 * excluded) owned by the caller or root, and writable by others only when
 * sticky?  `what` says what path is for, in the error. */
int pl_path_check_ancestors(const char *path, const char *what, pl_error_t *err);

#endif
