/* pylock — a project's pyproject.toml: its declared requirements (PEP 621,
 * PEP 735) read, and [project] dependencies edited in place.
 *
 * What is read: [project] name, dependencies, optional-dependencies and
 * requires-python, and [dependency-groups] (include-group expanded, cycles
 * refused).  The requested set is all of it resolved together: the
 * dependencies, every extra's and every group's requirements (what a
 * developer's environment of the project holds), deduplicated, a
 * requirement naming the project itself left out (its extras are in the set
 * already).  Every requirement must be one pylock accepts (pep508.h): a
 * direct reference is refused.  `dynamic = ["dependencies"]` (or
 * optional-dependencies) is refused: only a build backend, which is code,
 * could say what they are, and pylock runs none.
 *
 * The editor changes the text of the [project] dependencies array only, as
 * `uv add` does: an element replaced, removed (its line, if it is alone on
 * it) or appended in the array's own layout; comments and everything else
 * stay byte for byte.  The result is parsed again and compared with the
 * original, all but that array, and the array with what was asked: an edit
 * that would change anything else is refused, never written.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PYPROJECT_H
#define PYLOCK_PYPROJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PL_PYPROJECT_FILE "pyproject.toml"
#define PL_PYPROJECT_MAX_BYTES ((size_t)1 << 20)
#define PL_PYPROJECT_MAX_REQS 10000 /* requirements in the requested set */
#define PL_PYPROJECT_MAX_GROUPS 256 /* dependency groups, and include-group depth */

struct pl_pyproject {
  bool declares;         /* it has a [project] table or [dependency-groups] */
  bool has_project;      /* a [project] table */
  char *name;            /* [project] name, or NULL */
  char *requires_python; /* [project] requires-python, or NULL */
  char **dependencies;   /* [project] dependencies, as written */
  size_t ndependencies;
  char **requested; /* the requested set (see above), as written */
  char **origins; /* where each is declared: "[project] dependencies", "[dependency-groups] dev" */
  size_t nrequested;
};

/* Parse pyproject.toml's text (at most PL_PYPROJECT_MAX_BYTES). */
int pl_pyproject_parse(const char *buf, size_t len, struct pl_pyproject *out, pl_error_t *err);
void pl_pyproject_free(struct pl_pyproject *p);

/* Edit [project] dependencies in `text`: each of add[] replaces the entries
 * of the same name (PEP 503) or is appended; each name of del[] (normalized)
 * is removed (absent: an error naming it).  A missing dependencies key is
 * added to [project]; a missing [project] table is an error.  *out
 * (NUL-terminated, caller frees) is the new text. */
int pl_pyproject_edit(const char *text, size_t len, const char *const *add, size_t nadd,
                      const char *const *del, size_t ndel, char **out, size_t *out_len,
                      pl_error_t *err);

/* Does `version` (the base interpreter's, "3.12.1") satisfy the specifier
 * set `spec` (requires-python)?  -1 if spec does not parse. */
int pl_requires_python_ok(const char *spec, const char *version, bool *ok, pl_error_t *err);

#endif
