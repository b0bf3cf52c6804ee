/* pylock — PEP 440 versions and version specifiers: parsing, normalization,
 * ordering and matching, as the packaging specifications define them.
 *
 * The accepted spellings are those of packaging.version.VERSION_PATTERN
 * (case-insensitive; `v` prefix; `-`, `_`, `.` separators; alpha/beta/c/pre/
 * preview/rev/r spellings; implicit numbers), without surrounding blanks.
 * Numbers of any length compare as integers.  Bounded: a version is at most
 * PL_VERSION_MAX bytes (lib/distname.h).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_VERSION_H
#define PYLOCK_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "distname.h"

/* Every component takes at least two bytes of the string ("1."). */
#define PL_VERSION_PARTS_MAX (PL_VERSION_MAX / 2 + 1)

/* A number or local segment: bytes [off, off+len) of pl_version.buf; a
 * number has no leading zeros (len 0 is zero). */
struct pl_vpart {
  uint8_t off, len;
};

struct pl_version {
  char buf[PL_VERSION_MAX + 1]; /* the parts' bytes, lowercase */
  struct pl_vpart epoch;
  struct pl_vpart release[PL_VERSION_PARTS_MAX];
  size_t nrelease;
  char pre; /* 0, 'a', 'b' or 'r' (rc) */
  struct pl_vpart pre_n;
  bool has_post, has_dev;
  struct pl_vpart post_n, dev_n;
  struct pl_vpart local[PL_VERSION_PARTS_MAX]; /* segments, without separators */
  size_t nlocal;
};

/* Parse a PEP 440 version (s[0..len), no surrounding blanks).  0, or -1 if it
 * is not one. */
int pl_version_parse(const char *s, size_t len, struct pl_version *v);

/* PEP 440 order: <0, 0 or >0.  Trailing zeros of the release do not count
 * ("1.0" == "1"); local versions sort after the public one. */
int pl_version_cmp(const struct pl_version *a, const struct pl_version *b);

/* The normalized form ("1!2.0rc1.post0.dev3+ubuntu.1"); -1 if cap is too small
 * (PL_VERSION_FORMAT_MAX always suffices: implicit numbers make it longer). */
#define PL_VERSION_FORMAT_MAX (PL_VERSION_MAX * 2 + 16)
int pl_version_format(const struct pl_version *v, char *out, size_t cap);

bool pl_version_is_prerelease(const struct pl_version *v); /* a pre or dev release */
bool pl_version_is_postrelease(const struct pl_version *v);

enum pl_spec_op {
  PL_SPEC_COMPATIBLE, /* ~= */
  PL_SPEC_EQ,         /* == */
  PL_SPEC_NE,         /* != */
  PL_SPEC_LE,         /* <= */
  PL_SPEC_GE,         /* >= */
  PL_SPEC_LT,         /* < */
  PL_SPEC_GT,         /* > */
  PL_SPEC_ARBITRARY,  /* === */
};

/* One version specifier ("~=1.4.2", "==1.2.*", "===foo"). */
struct pl_spec {
  enum pl_spec_op op;
  bool wildcard;                 /* ==X.* or !=X.* */
  char text[PL_VERSION_MAX + 1]; /* the version as written (=== compares it) */
  struct pl_version v;           /* parsed; for a wildcard, the part before ".*" */
};

/* The operator's spelling ("~=", "==", ...). */
const char *pl_spec_op_str(enum pl_spec_op op);

/* Length of the operator at the start of s (0 if none), *op its value; the
 * longest one wins ("===" before "==", "<=" before "<"). */
size_t pl_spec_op_scan(const char *s, size_t len, enum pl_spec_op *op);

/* The version of a specifier for operator op (s[0..len), no blanks): what
 * each operator allows (local versions and ".*" only with == and !=; ~= needs
 * two release numbers; === any non-empty text of PEP 508's version
 * characters).  0, or -1 with *why set to a static explanation. */
int pl_spec_init(enum pl_spec_op op, const char *s, size_t len, struct pl_spec *out,
                 const char **why);

/* Does version v satisfy the specifier?  `prereleases` false refuses every
 * pre-release (PEP 440's default is the caller's to apply); === compares the
 * normalized version with the text, case-insensitively. */
bool pl_spec_contains(const struct pl_spec *s, const struct pl_version *v, bool prereleases);

/* "op" + version as written ("~=1.4"); -1 if cap is too small. */
int pl_spec_format(const struct pl_spec *s, char *out, size_t cap);

#endif
