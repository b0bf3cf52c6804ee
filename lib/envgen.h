/* pylock — environment generations on disk (see project.h for the layout). */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ENVGEN_H
#define PYLOCK_ENVGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "interp.h"

/* Create .pylock/generations/<n>/ with the interpreter's scheme directories
 * (purelib, platlib, scripts, include, data) mirrored relative to its prefix,
 * empty and owned by the caller: the only places an install may write. */
int pl_envgen_create(int state_fd, unsigned n, const struct pl_interp *in, pl_error_t *err);
/* The same at a path relative to state_fd (e.g. a partial "generations/.N.tmp"). */
int pl_envgen_create_at(int state_fd, const char *gen, const struct pl_interp *in, pl_error_t *err);

/* How the files of a tree got into a generation. */
struct pl_link_stats {
  uint64_t dirs;       /* directories created */
  uint64_t hardlinked; /* files linked: the cache's inode, no data read */
  uint64_t reflinked;  /* FICLONE: the cache is on another filesystem that shares extents */
  uint64_t copied;     /* neither: bytes copied, modes and times kept */
};

/* Put every file of the cache tree `tree_fd` (laid out like the prefix; its
 * top-level .complete marker skipped) at the same path in the generation
 * `gen_fd`: directories created as needed (0755), files hard-linked, else
 * reflinked, else copied (times kept, so byte-code stays valid).  Symlinks
 * are never followed.  A path that exists already is a conflict: the error
 * names it and the distributions shipping it.  `stats` may be NULL (else it
 * is added to).  On failure the generation is partly linked: discard it. */
int pl_envgen_link_tree(int gen_fd, int tree_fd, struct pl_link_stats *stats, pl_error_t *err);

/* Mark a distribution as requested by the user (pip's REQUESTED): an empty
 * `<dist_info>/REQUESTED` in the generation and its row in that RECORD,
 * which is rewritten as a new file (the cache's linked copy is untouched).
 * `dist_info` is relative to the prefix; idempotent. */
int pl_envgen_write_requested(int gen_fd, const char *dist_info, pl_error_t *err);

/* Which distribution of the tree `root_fd` (a generation or a cache tree)
 * lists `path` (relative to the prefix) in its RECORD, the .dist-info named
 * `skip` (or NULL) aside: its name into `out`; false when none does.  Walks
 * the tree: for error messages. */
bool pl_envgen_find_owner(int root_fd, const char *path, const char *skip, char *out, size_t cap);

/* Point .pylock/current at generation n with one rename (atomic switch). */
int pl_envgen_switch(int state_fd, unsigned n, pl_error_t *err);

#endif
