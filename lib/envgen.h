/* pylock — environment generations on disk (see project.h for the layout). */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ENVGEN_H
#define PYLOCK_ENVGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "interp.h"
#include "manifest.h"

/* Create .pylock/generations/<n>/ with the interpreter's scheme directories
 * (purelib, platlib, scripts, include, data) mirrored relative to its prefix,
 * empty and owned by the caller: the only places an install may write. */
int pl_envgen_create(int state_fd, unsigned n, const struct pl_interp *in, pl_error_t *err);
/* The same at a path relative to state_fd (e.g. a partial "generations/.N.tmp"),
 * not synced: the caller fsyncs it once complete. */
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
/* Stat fingerprints (manifest.h) gathered while linking, so that neither
 * the tree nor the generation needs a walk of its own to be fingerprinted:
 * every entry of the tree is stat'ed once, as linking reads it. */
struct pl_link_print {
  struct pl_stat_sum tree; /* the tree linked last, as pl_manifest_stat_digest sees it
                              (its marker and manifest aside); the caller resets it */
  struct pl_stat_sum gen;  /* the generation's files linked so far, as they are there */
  char **dirs;             /* directories linking created in the generation */
  size_t ndirs, cap;
};
/* Folding.  A directory at the top of site-packages (purelib, platlib) that
 * no other tree of the generation has, a package's own, is not made again
 * file by file: it becomes one symbolic link to the tree's directory, at
 * the absolute path every sandbox sees the state root at (read-only, its
 * ancestors pinned: sandbox.c).  A warm sync is then a system call per
 * package, not per file.  The tree is still read whole (each entry stat'ed:
 * its fingerprint).  Not folded: .dist-info directories (pylock writes
 * REQUESTED and RECORD there), names `shared` lists (two trees or more have
 * them: a namespace package, a top-level __pycache__; or the base
 * interpreter has them, whose directory a link would hide, where a
 * directory merges with it), anything elsewhere (bin, include, data: merged
 * with the base prefix's). */
struct pl_fold {
  const char *tree;    /* the tree's absolute path: <cache>/trees/<key> */
  const char *libs[2]; /* purelib and platlib relative to the prefix; NULL: none */
  char *const *shared; /* names at the top of a lib kept as directories (above), sorted */
  size_t nshared;
};
/* fold: NULL links every file. */
int pl_envgen_link_tree(int gen_fd, int tree_fd, const struct pl_fold *fold,
                        struct pl_link_stats *stats, struct pl_link_print *print, pl_error_t *err);

/* Is `name` (an entry of lib directory `lib` of a generation, relative to the
 * prefix) a fold, and where to: open its tree's directory (O_RDONLY,
 * O_DIRECTORY), found beneath trees_fd, the cache's trees/
 * directory whose absolute path is trees_path.  The link must name
 * <trees_path>/<key>/<lib>/<name> exactly (pl_gen_fold_read), and nothing
 * on the way may be a symbolic link.  *key (cap bytes)
 * gets <key>.  -1 with errno: EINVAL not a fold (or leading elsewhere),
 * else why it could not be opened. */
int pl_envgen_fold_open(int lib_fd, const char *lib, const char *name, int trees_fd,
                        const char *trees_path, char *key, size_t cap);
/* The generation's stat fingerprint from `print`, once every tree is linked:
 * its directories (created by linking, or pl_envgen_create_at's scheme
 * directories) stat'ed, added to its files.  Files the caller wrote itself
 * it adds to (or takes out of) print->gen first.  Equal to
 * pl_manifest_stat_digest(gen_fd, NULL, ...) of the same generation. */
int pl_envgen_print_digest(int gen_fd, const struct pl_interp *in, struct pl_link_print *print,
                           char out[PL_STAT_DIGEST_LEN + 1], pl_error_t *err);
void pl_link_print_free(struct pl_link_print *print);
/* The print of one tree linked on its own (another thread's, say) into the
 * whole generation's: `into` gets from's tree, files and directories, and
 * from is freed. */
int pl_link_print_take(struct pl_link_print *into, struct pl_link_print *from, pl_error_t *err);

/* Mark a distribution as requested by the user (pip's REQUESTED): an empty
 * `<dist_info>/REQUESTED` in the generation and its row in that RECORD,
 * which is rewritten as a new file (the cache's linked copy is untouched).
 * `dist_info` is relative to the prefix.  A REQUESTED already there must be
 * the own of the distribution's cache tree tree_fd, not another wheel's
 * (which would be taken for pylock's): that is a conflict (EEXIST); with
 * tree_fd -1 it is taken as written before (idempotent).  Neither file is
 * synced: the caller fsyncs both before the generation can become current
 * (together with the rest, pl_fsync_all). */
int pl_envgen_mark_requested(int gen_fd, int tree_fd, const char *dist_info, pl_error_t *err);

/* Which distribution of the tree `root_fd` (a generation or a cache tree)
 * lists `path` (relative to the prefix), or a file below it, in its RECORD,
 * the .dist-info named
 * `skip` (or NULL) aside: its name into `out`; false when none does.  Walks
 * the tree: for error messages. */
bool pl_envgen_find_owner(int root_fd, const char *path, const char *skip, char *out, size_t cap);

/* Point .pylock/current at generation n with one rename (atomic switch). */
int pl_envgen_switch(int state_fd, unsigned n, pl_error_t *err);

#endif
