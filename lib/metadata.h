/* pylock — a wheel's METADATA and WHEEL files (email-header format). */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_METADATA_H
#define PYLOCK_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PL_METADATA_MAX_BYTES (16u << 20) /* METADATA (long descriptions included) */
#define PL_WHEELFILE_MAX_BYTES (64u << 10)
#define PL_HEADERS_MAX 10000     /* header fields in one file */
#define PL_HEADER_VALUE_MAX 4096 /* bytes of a field we keep (Name, Version, Tag...) */
#define PL_WHEEL_TAGS_MAX 1024   /* Tag lines in WHEEL */

/* Called for each header field; `val` spans continuation lines verbatim,
 * without the trailing newline or surrounding blanks.  Return -1 to stop. */
typedef int (*pl_header_fn)(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                            pl_error_t *err);

/* Walk the header section (up to the first empty line) of `buf`. */
int pl_headers_parse(const char *buf, size_t len, pl_header_fn fn, void *ctx, pl_error_t *err);

struct pl_metadata {
  char *metadata_version; /* "2.1" */
  char *name;             /* as written, a valid PEP 508 name */
  char *version;          /* as written */
};

/* METADATA: Metadata-Version (major 1 or 2), Name and Version, each exactly once. */
int pl_metadata_parse(const char *buf, size_t len, struct pl_metadata *out, pl_error_t *err);
void pl_metadata_free(struct pl_metadata *md);

struct pl_wheelfile {
  unsigned version_major, version_minor; /* Wheel-Version */
  bool root_is_purelib;
  char *build; /* Build, or NULL */
  char **tags; /* Tag lines, "py3-none-any" */
  size_t ntags;
};

/* WHEEL: Wheel-Version 1.x (2+ rejected), Root-Is-Purelib, Tag, Build. */
int pl_wheelfile_parse(const char *buf, size_t len, struct pl_wheelfile *out, pl_error_t *err);
void pl_wheelfile_free(struct pl_wheelfile *wf);

#endif
