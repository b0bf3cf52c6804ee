/* pylock — the lock file: PEP 751 pylock.toml.
 *
 * pylock writes:
 *   lock-version = "1.0", created-by = "pylock", requires-python,
 *   [[packages]] sorted by normalized name, each with name, version, index
 *   (the registry), requires-python and marker when known, and
 *   [[packages.wheels]] with name (the filename), url, size and
 *   hashes = {sha256 = "..."}; a package the user asked for directly carries
 *   [packages.tool.pylock] requested = true (the installer's REQUESTED file);
 *   [tool.pylock]: requested (requirement strings, sorted, deduplicated;
 *   absent when the project's pyproject.toml declares them),
 *   python, python-version, python-prefix, registry, registry-trusted (a
 *   `pylock trust` name), root-keyids, strict, and [tool.pylock.sandbox]
 *   (strict, network = false: settings that only tighten the sandbox).
 * Other tools' top-level [tool.*] tables are kept (content, not layout).
 * Same model, same bytes: nothing in it depends on the clock.
 *
 * pylock reads its own files and those written by pip (`pip lock`), uv
 * (`uv export --format pylock.toml`) and PDM (`pdm export -f pylock`).
 * pylock installs wheels only: a package locked as an sdist, a VCS checkout,
 * a local directory or an archive is refused by name.  Package markers are
 * kept as written (checked when selected); which packages and wheels an
 * interpreter installs is select.h's (pylock's own locks are resolved for
 * one interpreter and carry no markers).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_LOCKFILE_H
#define PYLOCK_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "sha.h"

#define PL_LOCK_MAX_BYTES ((size_t)16 << 20) /* a pylock.toml we read */
#define PL_LOCK_MAX_PACKAGES 100000
#define PL_LOCK_MAX_WHEELS 10000 /* per package */
#define PL_LOCK_MAX_REQUESTED 10000

struct pl_lock_wheel {
  char *name;    /* the wheel's filename */
  char *url;     /* url or path (at least one) */
  char *path;    /* relative to the lock file's directory, or NULL */
  uint64_t size; /* 0 with has_size false when the lock gives none */
  bool has_size;
  char sha256[PL_SHA256_HEX]; /* lowercase hex */
};

struct pl_lock_package {
  char *name;            /* as written */
  char *version;         /* as written */
  char *index;           /* the registry or index URL, or NULL */
  char *marker;          /* environment marker, or NULL: not evaluated here */
  char *requires_python; /* or NULL */
  bool requested;        /* asked for directly ([packages.tool.pylock] requested) */
  struct pl_lock_wheel *wheels;
  size_t nwheels;
};

struct pl_toml;

struct pl_lockfile {
  char *lock_version;    /* "1.0" */
  char *created_by;      /* "pylock", "pip", "uv", "pdm"... */
  char *requires_python; /* or NULL */
  /* PEP 751's selection lists, NULL when absent: environments (markers),
   * extras and dependency-groups the lock offers, default-groups */
  char **environments, **extras, **dependency_groups, **default_groups;
  size_t nenvironments, nextras, ndependency_groups, ndefault_groups;
  struct pl_lock_package *packages;
  size_t npackages;
  /* [tool.pylock] */
  bool tool_pylock; /* the table was there (pylock wrote the lock, or a project took it) */
  char **requested;
  size_t nrequested;
  bool requested_external; /* the requested set is pyproject.toml's: not written here */
  char *python, *python_version, *python_prefix; /* base interpreter, or NULL */
  char *registry;                                /* URL, or NULL */
  char *registry_trusted;                        /* `pylock trust` name, or NULL */
  char **root_keyids;
  size_t nroot_keyids;
  bool strict;                 /* [tool.pylock] strict, or [tool.pylock.sandbox] strict */
  bool no_network;             /* [tool.pylock.sandbox] network = false */
  bool auto_sync;              /* [tool.pylock] auto-sync: the shim syncs a stale environment */
  bool sandbox_table;          /* [tool.pylock.sandbox] was there (written back) */
  struct pl_toml *other_tools; /* other tools' [tool.*] tables, kept as read; may be NULL */
};

/* Parse a pylock.toml (at most PL_LOCK_MAX_BYTES).  `what` names the file in
 * errors; TOML syntax errors carry their line and column.  Refuses packages
 * that are not wheels (sdist only, vcs, directory, archive), naming them. */
int pl_lockfile_parse(const char *buf, size_t len, const char *what, struct pl_lockfile *out,
                      pl_error_t *err);

/* Serialize deterministically (see above) into a new NUL-terminated buffer:
 * sorts packages by normalized name, wheels by filename, requested and
 * root-keyids with duplicates removed (in place). */
int pl_lockfile_write(struct pl_lockfile *lf, char **out, size_t *len, pl_error_t *err);

/* Set a string field (replacing what it held); value NULL clears it. */
int pl_lockfile_set(char **field, const char *value, pl_error_t *err);

/* Replace the package list with `pkgs` (ownership moves into lf). */
void pl_lockfile_set_packages(struct pl_lockfile *lf, struct pl_lock_package *pkgs, size_t n);

/* The package of that name (PEP 503 comparison), or NULL. */
const struct pl_lock_package *pl_lockfile_find(const struct pl_lockfile *lf, const char *name);

void pl_lock_package_free(struct pl_lock_package *p);
void pl_lockfile_free(struct pl_lockfile *lf);

#endif
