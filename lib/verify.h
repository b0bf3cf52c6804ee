/* pylock — `pylock verify`: every installed file of a generation against
 * pylock's manifest and the RECORD of the distribution that installed it.
 *
 * Every regular file of the generation is hashed once: its sha256, size
 * and executable bit must be the manifest's (manifest.h: byte-code,
 * scripts, RECORD and INSTALLER included), and nothing may be there that
 * the manifest does not list, nor missing that it does.  Then each
 * .dist-info directory in purelib and platlib is read: every row with a hash
 * must match what was found (size and digest), every row without one
 * (byte-code, RECORD itself) must at least exist as a regular file, and
 * every file must be listed by some RECORD (a dist-info's REQUESTED
 * excepted: it is per project).  Problems are collected, each naming its
 * path, not stopped at.
 *
 * A folded directory (envgen.h: a symbolic link at the top of purelib or
 * platlib into the cache's trees) is verified as the generation's own
 * directory at its path: its files hashed, anything added there found.  A
 * link is a fold only if pl_envgen_fold_open takes it for one; any other
 * symbolic link is reported (unlisted), never followed.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_VERIFY_H
#define PYLOCK_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "interp.h"

#define PL_VERIFY_ISSUES_MAX 10000 /* kept in detail; all are counted */

enum pl_verify_kind {
  PL_VERIFY_MODIFIED, /* bytes or size differ from RECORD */
  PL_VERIFY_MISSING,  /* listed, not there (or not a regular file) */
  PL_VERIFY_UNLISTED, /* there, listed by no RECORD (or not a file or directory) */
};

struct pl_verify_issue {
  enum pl_verify_kind kind;
  char *path;   /* relative to the prefix */
  char *detail; /* "hash mismatch: ...", the owning .dist-info, ... */
};

struct pl_verify_report {
  uint64_t dists;   /* .dist-info directories read */
  uint64_t files;   /* regular files of the generation, each hashed against the manifest */
  uint64_t checked; /* RECORD rows whose hash was compared */
  uint64_t modified, missing, unlisted;
  struct pl_verify_issue *issues; /* the first PL_VERIFY_ISSUES_MAX, in the order found */
  size_t nissues;
};

struct pl_manifest;

/* Verify the generation open at gen_fd, laid out like interp's prefix,
 * against `expected` (pylock's manifest of it; NULL: the RECORDs only).
 * trees_fd is the cache's trees/ directory (O_RDONLY|O_DIRECTORY) and
 * trees_path its absolute path, where folds lead; -1 and NULL: no fold is
 * accepted (every symbolic link is reported).  Returns 0 when the check ran
 * (problems are in *out: their sum is 0 when the generation is intact), -1
 * when it could not (unreadable RECORD, ...). */
int pl_verify_generation(int gen_fd, const struct pl_interp *interp,
                         const struct pl_manifest *expected, int trees_fd, const char *trees_path,
                         struct pl_verify_report *out, pl_error_t *err);

void pl_verify_report_free(struct pl_verify_report *r);

const char *pl_verify_kind_name(enum pl_verify_kind kind);

#endif
