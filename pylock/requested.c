/* pylock lock / install / remove: the requested set prepared alike (pyproject.toml, or a foreign
 * lock's top level).
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "env.h"
#include "project.h"
#include "requested.h"

/* Load the requested set; derive a foreign lock's, saying what was done. */
int pl_cli_requested_prepare(struct pl_env *e, struct pl_requested *rq, pl_error_t *err) {
  if (pl_requested_load(e, rq, err) < 0) return -1;
  if (rq->source == PL_REQUESTED_PYPROJECT)
    pl_cli_info("pylock: the requested set is %s's (%zu requirements)", PL_PYPROJECT_FILE,
                e->lf.nrequested);
  if (!pl_requested_foreign(e, rq)) return 0;
  cleanup_free char *by = strdup(e->lf.created_by ? e->lf.created_by : "another tool");
  size_t before = e->lf.npackages;
  if (by == NULL) return pl_fail(err, ENOMEM, "requested");
  if (pl_requested_derive(e, rq, err) < 0)
    return pl_error_wrap(err, "%s (created by %s) requests nothing", PL_LOCK_FILE, by);
  cleanup_free char *names = pl_cli_join(e->lf.requested, e->lf.nrequested, ", ");
  pl_cli_info("pylock: %s was written by %s and requests nothing; requesting the %zu of its %zu "
              "packages nothing else in it depends on: %s",
              PL_LOCK_FILE, by, e->lf.nrequested, before, names ? names : "");
  return 0;
}
