/* pylock — where a project's requested set comes from, and what a new
 * resolution keeps of the lock.
 *
 * The requested set is pyproject.toml's when the project has one that
 * declares requirements ([project] or [dependency-groups], pyproject.h);
 * else [tool.pylock] requested in pylock.toml.  A lock another tool wrote
 * has neither: its requested set is derived from the lock itself, as the
 * packages nothing else in it depends on (their Requires-Dist read from the
 * metadata the registry signs), so that re-locking it never drops a package
 * someone asked for.
 *
 * pyproject.toml comes from a pull request as much as pylock.toml does: it
 * is read as a regular file in the project (never through a symbolic link),
 * bounded, parsed by pylock (nothing of it runs: no build backend), and
 * every requirement in it passes pep508.h's check; it is written back only
 * by an atomic rename in the project directory.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_REQUESTED_H
#define PYLOCK_REQUESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "pyproject.h"

struct pl_env;

enum pl_requested_source {
  PL_REQUESTED_LOCK,      /* [tool.pylock] requested */
  PL_REQUESTED_PYPROJECT, /* pyproject.toml */
  PL_REQUESTED_DERIVED,   /* a foreign lock's top-level packages */
};

struct pl_requested {
  enum pl_requested_source source;
  struct pl_pyproject py; /* PYPROJECT */
  char *py_text;          /* pyproject.toml as read */
  size_t py_len;
  mode_t py_mode;
};

/* Read pyproject.toml if the project has one; when it declares the
 * requested set, it replaces e->lf.requested (and requires-python is
 * checked against the base interpreter). */
int pl_requested_load(struct pl_env *e, struct pl_requested *rq, pl_error_t *err);
void pl_requested_free(struct pl_requested *rq);
/* The same for an edited pyproject.toml's text (rq->py_text stays the
 * original, to write back if what follows fails). */
int pl_requested_apply_pyproject(struct pl_env *e, struct pl_requested *rq, const char *text,
                                 size_t len, pl_error_t *err);

/* Does the lock hold packages while nothing is requested (a lock another
 * tool wrote)? */
bool pl_requested_foreign(const struct pl_env *e, const struct pl_requested *rq);

/* For a foreign lock: e->lf.requested becomes its top-level packages'
 * names.  Needs the registry (pl_env_update_trust); fails, changing
 * nothing, when the registry signs no metadata for one of its wheels. */
int pl_requested_derive(struct pl_env *e, struct pl_requested *rq, pl_error_t *err);

/* e->preferences: every locked package's version, except those in
 * upgrade[] (normalized names), all of them with upgrade_all, and those a
 * requirement of the requested set no longer allows. */
int pl_requested_preferences(struct pl_env *e, const char *const *upgrade, size_t nupgrade,
                             bool upgrade_all, pl_error_t *err);

/* Write pyproject.toml's new text, atomically, keeping its mode. */
int pl_requested_write_pyproject(struct pl_env *e, const struct pl_requested *rq, const char *text,
                                 size_t len, pl_error_t *err);

#endif
