/* pylock — manifests: the sha256 of every file pylock puts in an environment.
 *
 * A wheel's RECORD lists byte-code without a hash and cannot list itself, so
 * it cannot prove an environment intact.  pylock keeps its own list:
 *
 *   a cache tree's .manifest (beside .complete, at the tree's root): every
 *   regular file of the tree, byte-code, scripts, RECORD and INSTALLER
 *   included, made when the tree is built and sealed;
 *
 *   a generation's N.manifest (beside generations/N in the project's state):
 *   the trees it is made of, each with the sha256 of its .manifest and the
 *   wheel it came from, and every file the generation holds -- the trees'
 *   and its own (a REQUESTED, the RECORD rewritten to list it) -- so that it
 *   can be verified whatever became of the cache since.
 *
 * Text, one entry a line, sorted by path; paths hold no newline (wheel paths
 * are checked long before: archive_path.h).
 *
 *   pylock-manifest 1
 *   <sha256> <size> <mode, octal> <path>
 *
 *   pylock-generation 1
 *   tree <tree key> <sha256 of its .manifest> <wheel file name>
 *   file <sha256> <size> <mode> <path>
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_MANIFEST_H
#define PYLOCK_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sys/stat.h>

#include "error.h"
#include "sha.h"

#define PL_TREE_MANIFEST ".manifest"
#define PL_MANIFEST_MAX_BYTES ((size_t)64 << 20)
#define PL_MANIFEST_MAX_ENTRIES 1000000

struct pl_manifest_entry {
  char *path; /* relative to the tree's root (the prefix) */
  uint64_t size;
  mode_t mode; /* permission bits */
  char sha256[PL_SHA256_HEX];
};

struct pl_manifest {
  struct pl_manifest_entry *e;
  size_t n, cap;
};

/* Every regular file under root_fd (top-level names in `skip` aside, a
 * NULL-terminated list), hashed; anything but files and directories fails. */
int pl_manifest_build(int root_fd, const char *const *skip, struct pl_manifest *m, pl_error_t *err);

/* A cheap fingerprint of what is under root_fd (top-level names in `skip`
 * aside): every entry's path, type, mode, size, device, inode and mtime, not
 * its bytes.  It changes when a file is written, added, removed, renamed or
 * replaced, or the tree copied elsewhere; not when bits rot on disk (only
 * hashing, pl_manifest_build, sees that).  `out`: 32 hex digits and NUL. */
#define PL_STAT_DIGEST_LEN 32
int pl_manifest_stat_digest(int root_fd, const char *const *skip, char out[PL_STAT_DIGEST_LEN + 1],
                            pl_error_t *err);
/* The same fingerprint, gathered entry by entry (in any order: entries are
 * added up), for callers that stat the entries anyway (envgen.h's linking).
 * `path` is relative to the root, as pl_manifest_stat_digest names it. */
struct pl_stat_sum {
  uint64_t sum, mix, count;
};
void pl_stat_sum_add(struct pl_stat_sum *s, const char *path, const struct stat *st);
void pl_stat_sum_remove(struct pl_stat_sum *s, const char *path, const struct stat *st);
/* into: the entries of both, as if each of from's had been added to it. */
void pl_stat_sum_merge(struct pl_stat_sum *into, const struct pl_stat_sum *from);
void pl_stat_sum_digest(const struct pl_stat_sum *s, char out[PL_STAT_DIGEST_LEN + 1]);
/* Add one entry (the path is copied); then sort with pl_manifest_sort. */
int pl_manifest_add(struct pl_manifest *m, const char *path, uint64_t size, mode_t mode,
                    const char sha256[PL_SHA256_HEX], pl_error_t *err);
void pl_manifest_sort(struct pl_manifest *m);

/* Text form (header line included), and its parser; `what` names it in errors. */
int pl_manifest_format(const struct pl_manifest *m, char **text, size_t *len, pl_error_t *err);
int pl_manifest_parse(const char *text, size_t len, const char *what, struct pl_manifest *m,
                      pl_error_t *err);

/* The entry for path, or NULL (the manifest must be sorted). */
const struct pl_manifest_entry *pl_manifest_find(const struct pl_manifest *m, const char *path);

void pl_manifest_free(struct pl_manifest *m);

/* sha256 and size of the regular file dirfd/name. */
int pl_manifest_hash_file(int dirfd, const char *name, char sha256[PL_SHA256_HEX], uint64_t *size,
                          mode_t *mode, pl_error_t *err);

/* A generation's manifest. */
struct pl_gen_tree {
  char *key;                  /* trees/<key> in the cache */
  char digest[PL_SHA256_HEX]; /* sha256 of its .manifest */
  char *wheel;                /* the wheel's file name */
};
struct pl_gen_manifest {
  struct pl_gen_tree *trees;
  size_t ntrees;
  struct pl_manifest files; /* the generation's own files */
};

int pl_gen_manifest_add_tree(struct pl_gen_manifest *g, const char *key,
                             const char digest[PL_SHA256_HEX], const char *wheel, pl_error_t *err);
int pl_gen_manifest_format(const struct pl_gen_manifest *g, char **text, size_t *len,
                           pl_error_t *err);
int pl_gen_manifest_parse(const char *text, size_t len, const char *what, struct pl_gen_manifest *g,
                          pl_error_t *err);
void pl_gen_manifest_free(struct pl_gen_manifest *g);

#endif
