/* pylock — what of a PEP 751 lock gets installed on one interpreter: the
 * packages its markers, extras and dependency groups select, and for each
 * the best wheel by the interpreter's tags, in pip's order.
 *
 * The steps are PEP 751's "Installation" section, as pypa/packaging's
 * Pylock.select() implements them (the reference in the tests): lock-version
 * 1.x (the caller warns above 1.0); the lock's requires-python and
 * environments must admit the interpreter; a package is selected when its
 * marker holds, with `extras` the extras asked for (none by default) and
 * `dependency_groups` the groups asked for (default-groups by default); a
 * selected package's requires-python must hold; a name selected twice is
 * ambiguous; each selected package gets the wheel whose best tag comes first
 * in packaging.tags.sys_tags() (the first listed on a tie).  Refusals name
 * every package at fault, not only the first.
 *
 * Selection only chooses among what the lock lists: every chosen wheel still
 * has to be a signed target of the trusted registry before its bytes are
 * used (env.c), whatever the lock's markers say.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SELECT_H
#define PYLOCK_SELECT_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "interp.h"
#include "lockfile.h"
#include "pep508.h"
#include "tags.h"

#define PL_SELECT_MAX_NAMES 64      /* --extra / --group given */
#define PL_SELECT_NAME_MAX 200      /* bytes of one extra or group name */
#define PL_SELECT_KEY_MAX 2048      /* pl_select_key() */
#define PL_SELECT_NOT_SELECTED (-1) /* pl_selection.wheel[i] of a package left out */

/* The interpreter as selection sees it: marker values and tag rules. */
struct pl_select_target {
  struct pl_marker_env env;
  struct pl_wheel_interp tags;
  char python_full_version[64]; /* PEP 440 spelling (packaging's repair of a trailing '+') */
  char libc_text[32];           /* "glibc 2.36", for messages */
};

/* Fill t from a probed interpreter (pointers into `in`, which must outlive
 * t).  Fails when the record predates marker and tag probing. */
int pl_select_target_from_interp(const struct pl_interp *in, struct pl_select_target *t,
                                 pl_error_t *err);

/* What the user asked for: extras (none: the empty set) and groups
 * (groups_given false: the lock's default-groups). */
struct pl_select_opts {
  const char *const *extras;
  size_t nextras;
  const char *const *groups;
  size_t ngroups;
  bool groups_given;
  bool recorded; /* names from a generation's record: not checked against the lock's lists */
};

struct pl_selection {
  long *wheel;      /* per package of the lock: the chosen wheel's index, or NOT_SELECTED */
  size_t nselected; /* packages selected */
  char key[PL_SELECT_KEY_MAX]; /* pl_select_key(): the extras and groups in effect */
};

/* Select from lf for t (see above) into *out (free with pl_selection_free).
 * An extra or group the lock does not offer is refused, naming what it
 * offers. */
int pl_select(const struct pl_lockfile *lf, const struct pl_select_target *t,
              const struct pl_select_opts *o, struct pl_selection *out, pl_error_t *err);

void pl_selection_free(struct pl_selection *s);

/* The extras and groups in effect as one line: "extras=a,b groups=dev"
 * (names normalized, sorted), "" when both are empty.  A generation's
 * record keeps it, so that a sync with other extras rebuilds and verify
 * knows what was asked for.  Parsed back into opts by pl_select_key_parse
 * (names point into `buf`, which it modifies; at most PL_SELECT_MAX_NAMES
 * of each; o->recorded set). */
int pl_select_key_parse(char *buf, const char **extras, size_t *nextras, const char **groups,
                        size_t *ngroups, struct pl_select_opts *o, pl_error_t *err);

#endif
