/* pylock — wheel filenames and compatibility tags (PEP 425, the binary
 * distribution format, manylinux/musllinux).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TAGS_H
#define PYLOCK_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PL_WHEEL_FILENAME_MAX 255 /* NAME_MAX: it is one file in a directory */
#define PL_TAGSET_MAX 16          /* tags in one compressed set ("py2.py3") */

/* {distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl */
struct pl_wheel_filename {
  char *buf;           /* owns the strings below */
  const char *name;    /* escaped distribution name, as in the filename */
  const char *version; /* escaped version, as in the filename */
  const char *build;   /* build tag, or NULL */
  const char *python[PL_TAGSET_MAX];
  const char *abi[PL_TAGSET_MAX];
  const char *platform[PL_TAGSET_MAX];
  size_t npython, nabi, nplatform;
};

/* Parse a wheel's filename (a basename; no directory).  On success fills
 * *out, to be released with pl_wheel_filename_free(). */
int pl_wheel_filename_parse(const char *filename, struct pl_wheel_filename *out, pl_error_t *err);
void pl_wheel_filename_free(struct pl_wheel_filename *fn);

enum pl_libc { PL_LIBC_GLIBC, PL_LIBC_MUSL };

/* The base interpreter, described rather than listed: the caller fills it
 * from the interpreter once (sys.implementation, sysconfig, the libc
 * version), and compatibility is decided by the rules of packaging.tags
 * (cpython_tags, compatible_tags, manylinux/musllinux) without expanding the
 * thousands of tags sys_tags() would produce.  Linux only. */
struct pl_wheel_interp {
  const char *impl;    /* interpreter tag prefix: "cp" (CPython), "pp" (PyPy) */
  unsigned py_major;   /* 3 */
  unsigned py_minor;   /* 12 */
  const char *abi;     /* the interpreter's own ABI tag: "cp312", "cp313t" */
  bool abi3;           /* the stable ABI is usable (CPython, not free-threaded) */
  const char *arch;    /* "x86_64", "aarch64", "i686", ... */
  enum pl_libc libc;   /* which libc the interpreter runs on */
  unsigned libc_major; /* glibc 2.36 -> 2, 36; musl 1.2 -> 1, 2 */
  unsigned libc_minor;
};

/* Is the single tag python-abi-platform supported by `in`? */
bool pl_tag_supported(const struct pl_wheel_interp *in, const char *python, const char *abi,
                      const char *platform);

/* Does any tag of the (compressed) tag sets of `fn` fit `in`?  Fails naming
 * the wheel's tags and the interpreter. */
int pl_wheel_tags_check(const struct pl_wheel_filename *fn, const struct pl_wheel_interp *in,
                        pl_error_t *err);

/* Where the tag python-abi-platform comes in packaging.tags.sys_tags() for
 * `in` (pip's order of preference): lower is better, -1 when unsupported.
 * Computed, not listed: equal ranks only for equal tags. */
long long pl_tag_rank(const struct pl_wheel_interp *in, const char *python, const char *abi,
                      const char *platform);

/* The best (lowest) pl_tag_rank of any tag of the (compressed) tag sets of
 * `fn`, or -1 when none fits. */
long long pl_wheel_tags_rank(const struct pl_wheel_filename *fn, const struct pl_wheel_interp *in);

/* Render the filename's tag sets as "py2.py3-none-any". */
void pl_wheel_tags_string(const struct pl_wheel_filename *fn, char *dst, size_t cap);

#endif
