/* pylock — per-project index targets: the PEP 691 JSON page of one project, signed.
 *
 * A registry made with `pylock registry init --project-index` publishes,
 * besides each wheel and its .metadata, one target per project,
 * simple/<normalized-name>/index.json (PEP 691 JSON, api-version 1.1):
 *   {"files":[{"core-metadata":{"sha256":M},"dist-info-metadata":{"sha256":M},
 *              "filename":F,"hashes":{"sha256":H},"requires-python":R,
 *              "size":N,"url":"../../F" or "../../H.F"}, ...],
 *    "meta":{"api-version":"1.1"},"name":"<normalized-name>","versions":[...]}
 * (core-metadata and dist-info-metadata when F.metadata is signed, with its
 * sha256; requires-python when the wheel's METADATA has one), and the target
 * PL_PROJINDEX_MARKER saying that every project has one.  `registry add`
 * rewrites the index of each project it touches and nothing else.
 *
 * The index is a convenience, never a trust root: a client reads it to learn
 * which files a project has, and serves each only once the file's own signed
 * target vouches for its bytes (simpleindex.c); an index naming another
 * project's file, a hash or .metadata the signed targets do not hold, is
 * refused.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PROJINDEX_H
#define PYLOCK_PROJINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "distname.h"
#include "error.h"
#include "sha.h"

#define PL_PROJINDEX_MARKER "simple/index-layout.json"
/* Bytes of one project's index.  The bytes are checked against their signed
 * hash before they are parsed, but JSON costs up to ~50 bytes of memory per
 * byte to parse: 4 MiB (about 10,000 files) bounds what a hostile signer can
 * make a client spend to ~200 MB. */
#define PL_PROJINDEX_MAX ((size_t)4 << 20)
#define PL_PROJINDEX_FILES_MAX 20000 /* files of one project */
#define PL_PROJINDEX_REQUIRES_PYTHON_MAX 256
#define PL_PROJINDEX_TARGET_MAX (PL_DISTNAME_MAX + 24)

struct pl_projindex_file {
  char *filename;
  char sha256[PL_SHA256_HEX];
  uint64_t size;
  char *requires_python;               /* NULL: none */
  bool metadata;                       /* FILE.metadata is published */
  char metadata_sha256[PL_SHA256_HEX]; /* its sha256, "" when the index gives none */
};

struct pl_projindex {
  char name[PL_DISTNAME_MAX + 1];  /* normalized */
  struct pl_projindex_file *files; /* sorted by filename, no two alike */
  size_t n, cap;
};

/* The index target of project (any spelling of a valid name):
 * "simple/<normalized>/index.json". */
int pl_projindex_target(const char *project, char *out, size_t cap, pl_error_t *err);

/* The content of the layout marker target. */
const char *pl_projindex_marker_content(void);

/* An empty index of project (a normalized name). */
int pl_projindex_init(struct pl_projindex *ix, const char *project, pl_error_t *err);

/* Parse an index of `project` (normalized): every file a wheel of that
 * project, named once, with a sha256; bounded in bytes and files. */
int pl_projindex_parse(const char *buf, size_t len, const char *project, struct pl_projindex *out,
                       pl_error_t *err);

/* Add f (copied) or replace the entry of the same filename; the file must
 * be a wheel of ix's project. */
int pl_projindex_add(struct pl_projindex *ix, const struct pl_projindex_file *f, pl_error_t *err);

/* The entry for filename, or NULL. */
const struct pl_projindex_file *pl_projindex_find(const struct pl_projindex *ix,
                                                  const char *filename);

/* Render as canonical JSON (the bytes a registry publishes); each url
 * names the file as published: "../../SHA256.FILE" with consistent
 * snapshots (hashed_names), else "../../FILE". */
int pl_projindex_render(const struct pl_projindex *ix, bool hashed_names, char **out, size_t *len,
                        pl_error_t *err);

/* Drop the file named filename from ix; false when ix lists none. */
bool pl_projindex_remove(struct pl_projindex *ix, const char *filename);

void pl_projindex_free(struct pl_projindex *ix);

/* The Requires-Python a page gives for a wheel of this METADATA (its
 * first such header, when printable ASCII of at most
 * PL_PROJINDEX_REQUIRES_PYTHON_MAX bytes), or NULL: what the writer puts
 * on a page and what `registry verify --targets` expects there. */
int pl_projindex_requires_python(const char *metadata, size_t len, char **out, pl_error_t *err);

/* Is target a project page?  1: simple/<project>/index.json with project
 * a normalized name (copied out); 0: not under simple/, or the layout
 * marker; -1: anything else under simple/ (a page at a name no client
 * reads, e.g. simple/Foo_Bar/index.json or simple/../x). */
int pl_projindex_target_project(const char *target, char *project, size_t cap);

/* `registry verify --targets`: the pages against the signed file targets,
 * one page in memory at a time (the last one read, which the wheels of its
 * project, adjacent in sorted order, reuse). */
struct pl_tuf;
struct pl_projindex_check {
  struct pl_tuf *t;
  bool marker; /* the registry says every project has a page */
  bool have;
  struct pl_projindex page;
};

void pl_projindex_check_init(struct pl_projindex_check *c, struct pl_tuf *t);
void pl_projindex_check_free(struct pl_projindex_check *c);

/* A target under simple/: a page at its normalized name, listing at least
 * one file, each a signed target with the page's sha256 and size, its
 * .metadata signed exactly when the page says so, with the page's sha256. */
int pl_projindex_check_page(struct pl_projindex_check *c, const char *target, pl_error_t *err);

/* A wheel target (METADATA: its verified METADATA, or NULL when unknown):
 * its project's page lists it, as signed, with the Requires-Python of its
 * METADATA; with the layout marker, the page must exist. */
int pl_projindex_check_wheel(struct pl_projindex_check *c, const char *wheel, const char *metadata,
                             size_t metadata_len, pl_error_t *err);

#endif
