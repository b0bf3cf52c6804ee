/* pylock — the user's content-addressed cache, shared by all projects.
 *
 *   STATE/cache (state.h), shared by every project of the user:
 *   wheels/<sha256>.whl               verified wheel bytes, 0444
 *   trees/<sha256>-<interpkey>/       the wheel installed for one base
 *                                     interpreter, laid out relative to its
 *                                     prefix (see install.h); dirs 0555,
 *                                     files 0444/0555; its .manifest (the
 *                                     sha256 of every file: manifest.h), and
 *                                     .complete, last, naming that manifest
 *   trees/<sha256>-<interpkey>.src/   the same without byte-code (a source
 *                                     tree): what a sync that compiles after
 *                                     its switch builds first; RECORD and
 *                                     manifest list no byte-code
 *   trees/.tmp-*                      trees being built (or left by a crash)
 *   trees/.stage-*                    where each is made and locked before it
 *                                     gets its name (file.h), for microseconds
 *   quarantine/<name>-<time>          damaged trees and wheels moved aside
 *
 * <interpkey> is the first 16 hex digits of the sha256 of the interpreter's
 * .pylock/interp record (pl_interp_format): a tree holds absolute paths of
 * that interpreter (shebangs, co_filename), so it is only valid for it.
 *
 *   trees/.tmp-batch-RANDOM/<key>/    trees being built together (a batch),
 *                                     or left by a crash
 *
 * A tree is built in a temporary directory, sealed read-only, marked
 * complete and renamed into place with RENAME_NOREPLACE: a crash at any
 * point leaves no tree or a whole one, and of two concurrent builders the
 * loser discards its copy and uses the winner's.  The trees one sync needs
 * are built as one batch: unpacked one by one, byte-compiled by one pool
 * (install.h: pl_install_compile), then sealed and put in place.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CACHE_H
#define PYLOCK_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "error.h"
#include "install.h"
#include "interp.h"
#include "manifest.h"
#include "sha.h"

#define PL_INTERP_KEY_LEN 16
#define PL_CACHE_BATCH_MAX 256 /* trees a batch holds open at once (an fd each) */
#define PL_CACHE_TREE_KEY_MAX 128
#define PL_CACHE_SOURCE_SUFFIX ".src" /* a source tree's key: the tree's and this */

struct pl_cache {
  char *path;    /* absolute */
  int fd;        /* the cache directory */
  int wheels_fd; /* wheels/ */
  int trees_fd;  /* trees/ */
};

struct pl_cache_tree {
  int fd;                            /* the tree's root (the prefix), O_RDONLY|O_DIRECTORY */
  char key[PL_CACHE_TREE_KEY_MAX];   /* trees/<key> */
  char *dist_info;                   /* its .dist-info, relative to the prefix */
  uint64_t files;                    /* regular files, .complete and .manifest not counted */
  char manifest[PL_SHA256_HEX];      /* sha256 of its .manifest (manifest.h) */
  char stat[PL_STAT_DIGEST_LEN + 1]; /* its stat fingerprint when sealed; "" if unknown */
  bool built;                        /* built by this call (false: found in the cache) */
  bool source;                       /* a source tree: no byte-code */
};

/* Open (creating as needed, 0700) the cache at `path`; it must be the
 * caller's and writable by nobody else (state.h). */
int pl_cache_open(struct pl_cache *c, const char *path, pl_error_t *err);
void pl_cache_close(struct pl_cache *c);

/* <interpkey> of an interpreter: 16 lowercase hex digits and NUL. */
int pl_cache_interp_key(const struct pl_interp *in, char key[PL_INTERP_KEY_LEN + 1],
                        pl_error_t *err);

/* Absolute path of wheels/<sha256>.whl (whether or not it exists). */
int pl_cache_wheel_path(const struct pl_cache *c, const char *sha256, char **path, pl_error_t *err);

/* Copy the wheel open at src_fd into wheels/<sha256>.whl, refusing it
 * unless its bytes hash to `sha256` (lowercase hex). */
int pl_cache_wheel_store(struct pl_cache *c, int src_fd, const char *sha256, pl_error_t *err);

/* Open wheels/<sha256>.whl for reading; returns the fd. */
int pl_cache_wheel_open(struct pl_cache *c, const char *sha256, pl_error_t *err);

/* The tree of wheel `wheel_sha256` for `interp`: found when complete, else
 * built from the wheel (`wheel_fd`, or the cached wheel when -1), whose
 * bytes must hash to wheel_sha256 and which must verify (lib/wheel.h).
 * `wheel_filename` is its name (the TUF target's).  Release with
 * pl_cache_tree_release(). */
int pl_cache_tree_get_or_build(struct pl_cache *c, const char *wheel_sha256, int wheel_fd,
                               const char *wheel_filename, const struct pl_interp *interp,
                               struct pl_cache_tree *out, pl_error_t *err);
void pl_cache_tree_release(struct pl_cache_tree *t);

/* The complete tree of wheel_sha256 for interp: 1 found (out filled), 0
 * absent (a file or link under its name removed), 2 a directory there
 * without a marker that parses, damaged: left where it is (generations may
 * fold into it), out->fd and out->key only, for the caller to have it
 * replaced (pl_cache_batch_replace); -1 on error. */
int pl_cache_tree_find(struct pl_cache *c, const char *wheel_sha256, const struct pl_interp *interp,
                       struct pl_cache_tree *out, pl_error_t *err);

/* Tree t (found), damaged: its marker removed, so that every pylock takes
 * it for damaged (pl_cache_tree_find's 2) until the tree built again under
 * its key replaces it in one step; generations folding into it keep it
 * meanwhile.  0, or -1. */
int pl_cache_tree_mark_damaged(const struct pl_cache_tree *t, pl_error_t *err);

/* The tree trees/<key> as it is, nothing moved aside: 1 open (out filled),
 * 0 absent or without a marker that parses, -1. */
int pl_cache_tree_peek(struct pl_cache *c, const char *key, struct pl_cache_tree *out,
                       pl_error_t *err);

/* Whether trees/ has an entry named for wheel_sha256 on interp: its complete tree or its
 * source tree.  Nothing is opened or checked: only whether the wheel need be fetched
 * before the trees are found (pl_cache_tree_find) and checked. */
bool pl_cache_tree_named(struct pl_cache *c, const char *wheel_sha256,
                         const struct pl_interp *interp);

/* The same for the source tree (no byte-code) of wheel_sha256. */
int pl_cache_tree_find_source(struct pl_cache *c, const char *wheel_sha256,
                              const struct pl_interp *interp, struct pl_cache_tree *out,
                              pl_error_t *err);

/* Trees built together: pl_cache_batch_add() checks each wheel's bytes
 * against its sha256 (EBADMSG when they differ, as get_or_build) and
 * unpacks it into trees/.tmp-batch-RANDOM/<key>, made (and locked) with the
 * first; pl_cache_batch_finish() byte-compiles them all with one pool in one
 * sandbox, seals each and puts it in place; pl_cache_batch_tree() opens one
 * (built: false when another builder's won); pl_cache_batch_release()
 * removes what is left.  All for one interpreter.  A batch with
 * `source_only` set builds source trees (no compiler runs; each is placed
 * as <key>.src); else pl_cache_batch_add_source() adds the complete tree of
 * a source tree `src`, its files hard links to src's (the compiler reads
 * them read-only, as it does the trees it unpacks), byte-code and RECORD
 * its own. */
struct pl_cache_batch_tree {
  char key[PL_CACHE_TREE_KEY_MAX];
  int fd;                     /* its directory in the batch */
  struct pl_install *install; /* until its RECORD is written */
  bool lost;                  /* another builder put the same tree in place first */
};
/* A damaged tree left at trees/<key> for a batch to replace: its directory's identity. */
struct pl_cache_damaged {
  char key[PL_CACHE_TREE_KEY_MAX];
  dev_t dev;
  ino_t ino;
};
struct pl_cache_batch {
  struct pl_cache *c;
  const struct pl_interp *interp;
  int fd;        /* trees/<name>, locked; -1 until the first tree */
  char name[64]; /* ".tmp-batch-" and 16 hex digits, or "" */
  char *path;    /* absolute */
  struct pl_cache_batch_tree *t;
  size_t n, cap;
  bool source_only;                 /* build source trees: <key>.src, without byte-code */
  struct pl_cache_damaged *damaged; /* pl_cache_batch_replace */
  size_t ndamaged;
};
void pl_cache_batch_init(struct pl_cache_batch *b, struct pl_cache *c,
                         const struct pl_interp *interp);
int pl_cache_batch_add(struct pl_cache_batch *b, const char *wheel_sha256, int wheel_fd,
                       const char *wheel_filename, pl_error_t *err);
int pl_cache_batch_add_source(struct pl_cache_batch *b, const struct pl_cache_tree *src,
                              pl_error_t *err);
/* The tree this batch builds under `key` replaces the damaged one there (st: its directory)
 * in one step (renameat2 RENAME_EXCHANGE) when it is put in place, and the damaged one goes
 * to quarantine/ then: the generations that fold into trees/<key> never find it missing,
 * even if the sync dies before.  If trees/<key> is no longer that directory (another
 * builder replaced it), the batch takes what is there, as for any tree built twice. */
int pl_cache_batch_replace(struct pl_cache_batch *b, const char *key, const struct stat *st,
                           pl_error_t *err);
int pl_cache_batch_finish(struct pl_cache_batch *b, pl_error_t *err);
int pl_cache_batch_tree(struct pl_cache_batch *b, const char *wheel_sha256,
                        struct pl_cache_tree *out, pl_error_t *err);
void pl_cache_batch_release(struct pl_cache_batch *b);

/* Is tree t still what was sealed?  0 yes, 1 no (why says what, in a few
 * words), -1 on error.  Cheap: its stat fingerprint (a file written, added
 * or removed since); `full`: every byte against its manifest too. */
int pl_cache_tree_check(struct pl_cache *c, const struct pl_cache_tree *t, bool full, char *why,
                        size_t cap, pl_error_t *err);

/* Move a damaged tree or wheel into quarantine/, so that the next lookup
 * builds or fetches it anew. */
#define PL_CACHE_QUARANTINE "quarantine"
int pl_cache_quarantine_tree(struct pl_cache *c, const char *key, pl_error_t *err);
int pl_cache_quarantine_wheel(struct pl_cache *c, const char *sha256, pl_error_t *err);

/* Remove what builders and fetchers that died left: trees/.tmp-* (batches too) and
 * wheels/.fetch.tmp* whose maker no longer holds its lock on them. */
void pl_cache_sweep(struct pl_cache *c);

/* Remove a directory tree under dirfd, making read-only directories
 * writable first; never follows symlinks. */
int pl_cache_remove_tree(int dirfd, const char *name, pl_error_t *err);

#endif
