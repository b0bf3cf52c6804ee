/* pylock — a PEP 503 simple index for pip, answered from verified TUF targets.
 *
 * The resolver's index server (indexserver.h) answers pip's requests with:
 *   /simple/                 one anchor per project
 *   /simple/<normalized>/    one anchor per wheel of the project:
 *     <a href="../../files/FILE#sha256=HEX" data-dist-info-metadata="true"
 *        data-core-metadata="true">FILE</a>
 *   /files/FILE.metadata     the wheel's PEP 658 METADATA, when signed
 *   /files/FILE              the wheel
 * Every byte comes from pl_tuf_fetch_target*() or a cached copy checked
 * against the signed target: the sha256 in each href is the one the
 * registry signed, and a file is fetched only when pip asks for it.
 *
 * When the registry publishes per-project index targets (projindex.h), a
 * project page is made from its project's index target, fetched when pip
 * asks for the page, and nothing lists every target: a resolution reads the
 * bins of the index targets, of the .metadata and of the wheels pip asks
 * for, and no other.  The index is never trusted for bytes: each file is
 * served only once its own signed target vouches for it, and one whose
 * signed target is missing or has another sha256 than the index says is
 * refused.  Without index targets, every target is read (all bins), as
 * before; the root page lists projects only then.
 *
 * What pip reads (measured with pip 23.0.1 and 23.2.1): with PEP 658
 * metadata it resolves from the .metadata files alone, but `install
 * --dry-run --report` then still downloads every wheel of the result (it
 * "completes" the metadata-only distributions before reporting), so it
 * gets those too, verified, in the same run.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SIMPLEINDEX_H
#define PYLOCK_SIMPLEINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "tuf.h"

#define PL_SIMPLEINDEX_METADATA_MAX ((size_t)16 << 20)

struct pl_simpleindex;

/* The wheel targets of t ("*.whl" with a wheel filename, and their signed
 * "*.whl.metadata"), by project.  Wheels are kept in the shared cache at
 * cache_dir (lib/cache.h), or without one in unlinked files of scratch_fd.
 * t must outlive the index. */
int pl_simpleindex_open(struct pl_tuf *t, const char *cache_dir, int scratch_fd,
                        struct pl_simpleindex **out, pl_error_t *err);
void pl_simpleindex_free(struct pl_simpleindex *ix);

/* The page of a project (PEP 503-normalized name); ENOENT when the
 * registry has no wheel of it. *html is newly allocated. */
int pl_simpleindex_page(struct pl_simpleindex *ix, const char *project, char **html, size_t *len,
                        pl_error_t *err);

/* The root page: every project. */
int pl_simpleindex_root(struct pl_simpleindex *ix, char **html, size_t *len, pl_error_t *err);

/* The verified METADATA of wheel file `file`, as pip is to read it: a
 * Requires-Dist that is a direct reference is refused, and project names
 * are spelled normalized (pip 23.0 compares them as written). */
int pl_simpleindex_metadata(struct pl_simpleindex *ix, const char *file, char **out, size_t *len,
                            pl_error_t *err);

/* The project name as the signed METADATA of wheel file `file` spells it,
 * once pl_simpleindex_metadata served it respelled; else NULL.  (pip's
 * report then says the normalized name; the lock keeps the wheel's.) */
const char *pl_simpleindex_served_name(const struct pl_simpleindex *ix, const char *file);

/* The verified wheel `file`, open at offset 0 (caller closes *fd), and its
 * signed size.  Without a signed .metadata, its own METADATA's
 * Requires-Dist is checked first, as pip resolves from it. */
int pl_simpleindex_wheel(struct pl_simpleindex *ix, const char *file, int *fd, uint64_t *size,
                         pl_error_t *err);

/* The wheel files of project (normalized) a resolution may use: those its
 * index target lists when the registry publishes them (projindex.h), else
 * every wheel target of it.  None: *n is 0.  Newly allocated, each name
 * and the array; still to be looked up as targets before any use. */
int pl_simpleindex_project_files(struct pl_tuf *t, const char *project, char ***names, size_t *n,
                                 pl_error_t *err);

/* Put the verified wheel `name` (a target of t) at DIR/files/name, for
 * pip to run from (a registry's pip).  With cache_dir (the shared cache's
 * root, lib/cache.h), DIR/files/name links to the cache's copy (checked
 * again against the target on every use); without one, it is fetched
 * into DIR/files. */
int pl_simpleindex_add_wheel(struct pl_tuf *t, const char *dir, const char *cache_dir,
                             const char *name, pl_error_t *err);

#endif
