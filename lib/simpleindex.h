/* pylock — a PEP 503 simple index for pip, generated from verified TUF targets.
 *
 * pip resolves against nothing but this directory:
 *   DIR/simple/index.html                 one anchor per project
 *   DIR/simple/<normalized>/index.html    one anchor per wheel:
 *     <a href="file://DIR/files/FILE#sha256=HEX" data-requires-python="..."
 *        data-dist-info-metadata="sha256=HEX" data-core-metadata="sha256=HEX">FILE</a>
 *   DIR/files/FILE.metadata               the wheel's METADATA (PEP 658/714)
 *   DIR/files/FILE                        only once pl_simpleindex_add_wheel() put it there
 * Every byte comes from pl_tuf_fetch_target*(): the sha256 in each href and
 * metadata attribute is the one the registry signed.
 *
 * What pip reads (measured with pip 23.0.1 and 23.2.1): with PEP 658
 * metadata it resolves from the .metadata files alone, but `install
 * --dry-run --report` then still opens every wheel of the result (it
 * "completes" the metadata-only distributions before reporting) and fails
 * with "HTTP error 404 while getting file://.../FILE" when one is absent.
 * So the resolver adds the wheels pip asks for, verified, and runs it again
 * (see resolve.h); wheels pip never asks for are never fetched.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SIMPLEINDEX_H
#define PYLOCK_SIMPLEINDEX_H

#include <stddef.h>

#include "error.h"
#include "tuf.h"

#define PL_SIMPLEINDEX_METADATA_MAX ((size_t)16 << 20)

/* Write the index into `dir` (an absolute path to an existing, empty
 * directory) from the verified targets of t: every "*.whl" target, with its
 * "*.whl.metadata" target when the registry signs one. */
int pl_simpleindex_build(struct pl_tuf *t, const char *dir, pl_error_t *err);

/* Put the verified wheel `name` (a target of t) at DIR/files/name.  With
 * cache_dir (the shared cache's root, lib/cache.h), the copy is the cache's
 * wheels/<sha256>.whl (checked again against the target on every use) and
 * DIR/files/name links to it; without one, it is fetched into DIR/files. */
int pl_simpleindex_add_wheel(struct pl_tuf *t, const char *dir, const char *cache_dir,
                             const char *name, pl_error_t *err);

/* The file:// URL of DIR/files/name, percent-encoded; newly allocated. */
char *pl_simpleindex_file_url(const char *dir, const char *name);

#endif
