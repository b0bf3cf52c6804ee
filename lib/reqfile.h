/* pylock — a requirements file (`pylock install -r FILE`): requirement
 * lines, with pip's `--hash=sha256:HEX` options, and nothing else of pip's.
 *
 * Comments (`#` at a line's start or after a blank) and line continuations
 * (a trailing backslash) are understood; every requirement must be one
 * pylock accepts (pep508.h: no direct reference).  Every other option -- -e,
 * -i/--index-url, --extra-index-url, -f, -r, -c, --trusted-host... -- is
 * refused by name: each would let a file from a pull request point pip at
 * code no registry signed.  Hashes of other algorithms than sha256 are
 * refused: pylock can check only what the registry signs.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_REQFILE_H
#define PYLOCK_REQFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "sha.h"

#define PL_REQFILE_MAX_BYTES ((size_t)1 << 20)
#define PL_REQFILE_MAX_LINES 10000
#define PL_REQFILE_MAX_HASHES 64 /* per requirement */

struct pl_reqfile_entry {
  char *requirement;
  char name[256];                /* normalized */
  char (*sha256)[PL_SHA256_HEX]; /* lowercase hex */
  size_t nsha256;
};

struct pl_reqfile {
  struct pl_reqfile_entry *entries;
  size_t n;
  bool hashes; /* some entry has a hash: every locked package must then match one */
};

/* Parse a requirements file; `what` names it in errors ("requirements.txt line 3"). */
int pl_reqfile_parse(const char *buf, size_t len, const char *what, struct pl_reqfile *out,
                     pl_error_t *err);
void pl_reqfile_free(struct pl_reqfile *rf);

#endif
