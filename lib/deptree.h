/* pylock — the dependency graph of a project's environment, as the current
 * generation's installed metadata says (each .dist-info's METADATA:
 * Name, Version, Requires-Dist; REQUESTED).
 *
 * An edge A -> B is drawn when A requires B and B is installed.  A
 * requirement under a marker is evaluated for the base interpreter where
 * it can be (platform and Python version; `extra` against the extras of A
 * that something installed or requested asks for); one that cannot be
 * evaluated is drawn when B is installed.  Nothing is run: the metadata is
 * read from the generation, bounded.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DEPTREE_H
#define PYLOCK_DEPTREE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PL_DEPTREE_MAX_PACKAGES 100000

struct pl_env;

struct pl_dep_edge {
  size_t to;         /* index in the node array */
  char *requirement; /* the Requires-Dist as written */
};

struct pl_dep_node {
  char *name, *version;
  bool requested;
  char **requires; /* Requires-Dist values */
  size_t nrequires;
  struct pl_dep_edge *edges;
  size_t nedges;
};

/* The graph of the current generation; nodes sorted by normalized name,
 * edges by their target's position.  `requested` (may be NULL) is the
 * project's requested set, whose extras count as asked for. */
int pl_deptree_read(const struct pl_env *e, const char *const *requested, size_t nrequested,
                    struct pl_dep_node **out, size_t *n, pl_error_t *err);
void pl_deptree_free(struct pl_dep_node *nodes, size_t n);

#endif
