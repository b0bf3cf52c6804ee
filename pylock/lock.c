/* pylock lock — resolve the requested set against the registry into pylock.toml. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "distname.h"
#include "env.h"
#include "lockfile.h"
#include "project.h"
#include "requested.h"

#define MAX_UPGRADE 256

/* The synopsis and options. */
static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock lock [--check] [-U | -P NAME...]\n\n"
          "Resolve the requested set against the project's registry and write the result to\n"
          "pylock.toml (PEP 751). The requested set is pyproject.toml's ([project]\n"
          "dependencies and optional-dependencies, [dependency-groups]) when the project\n"
          "has one, else [tool.pylock] requested in pylock.toml; a lock another tool wrote\n"
          "requests the packages nothing else in it depends on. Locked versions are kept\n"
          "where they still satisfy the requested set.\n"
          "Resolution is pip's, run by the base interpreter inside the project's namespaces\n"
          "with no network: pip sees only an index generated from the registry's verified\n"
          "metadata. pylock.toml is rewritten only when its content changes, and a lock\n"
          "another tool wrote is never emptied.\n\n"
          "Options:\n"
          "  --check     change nothing; exit 1 with the reason if pylock.toml does not match\n"
          "              the resolution of the requested set, 0 if it does\n"
          "  -U, --upgrade\n"
          "              resolve every package afresh, to its newest version\n"
          "  -P, --upgrade-package NAME\n"
          "              resolve NAME afresh; keep the other locked versions\n"
          "  -h, --help  print this help and exit\n\n"
          "The registry and its trusted root come from 'pylock init --registry URL --root\n"
          "FILE' (or --trusted NAME). PYLOCK_RESOLVE_PIP=registry runs the registry's pip\n"
          "wheel even when the base interpreter has pip.\n");
}

struct lock_opts {
  bool check, upgrade_all;
  const char *upgrade[MAX_UPGRADE];
  size_t nupgrade;
};

/* Resolve the requested set; write the lock if it changed (or, with --check, compare). */
static int lock_project(const struct lock_opts *lo, pl_error_t *err) {
  struct pl_env e;
  struct pl_requested rq = {0};
  bool check = lo->check;
  int rc = -1;
  cleanup_free char *why = NULL, *was_by = NULL;
  bool changed = false;
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, err) < 0) goto out;
  /* --check changes nothing, so it need not wait for a change in progress. */
  if (!check && pl_env_begin_change(&e, err) < 0) goto out;
  size_t was = e.lf.npackages;
  if ((was_by = strdup(e.lf.created_by ? e.lf.created_by : "another tool")) == NULL) {
    pl_fail(err, ENOMEM, "lock");
    goto out;
  }
  if (pl_cli_requested_prepare(&e, &rq, err) < 0 ||
      pl_requested_preferences(&e, lo->upgrade, lo->nupgrade, lo->upgrade_all, err) < 0 ||
      pl_lockfile_set(&e.lf.created_by, "pylock", err) < 0 ||
      pl_env_resolve(&e, &changed, &why, err) < 0)
    goto out;
  if (e.dropped_preferences)
    pl_cli_info("pylock: no resolution keeps every locked version; resolved afresh");
  /* Never an empty lock over another tool's packages: nobody asked. */
  if (e.lf.npackages == 0 && was > 0 && strcmp(was_by, "pylock") != 0) {
    pl_fail_hint(err, 0,
                 "declare what the project needs in pyproject.toml ([project] dependencies), "
                 "or list it in pylock.toml: [tool.pylock] requested = [\"NAME\", ...]",
                 "the requested set is empty: locking it would empty %s, which %s wrote "
                 "with %zu packages; nothing changed",
                 PL_LOCK_FILE, was_by, was);
    goto out;
  }
  if (check) {
    if (changed)
      pl_fail_hint(err, 0, "update it with: pylock lock",
                   "%s is out of date with the requested set and the registry: %s", PL_LOCK_FILE,
                   why);
    else
      pl_cli_info("pylock: %s is up to date (%zu packages)", PL_LOCK_FILE, e.lf.npackages);
    rc = changed ? -1 : 0;
    goto out;
  }
  if (!changed) {
    pl_cli_info("pylock: %s is up to date (%zu packages)", PL_LOCK_FILE, e.lf.npackages);
  } else {
    if (pl_env_write_lock(&e, err) < 0) goto out;
    pl_cli_info("pylock: locked %zu packages in %s", e.lf.npackages, PL_LOCK_FILE);
  }
  rc = 0;
out:
  pl_requested_free(&rq);
  pl_env_close(&e);
  return rc;
}

int pl_cmd_lock(int argc, char **argv) {
  pl_cli_catch_interrupts();
  static const struct option opts[] = {{"check", no_argument, NULL, 'c'},
                                       {"help", no_argument, NULL, 'h'},
                                       {"upgrade", no_argument, NULL, 'U'},
                                       {"upgrade-package", required_argument, NULL, 'P'},
                                       {NULL, 0, NULL, 0}};
  struct lock_opts lo = {0};
  int c;
  while ((c = getopt_long(argc, argv, "hUP:", opts, NULL)) != -1) {
    switch (c) {
    case 'c': lo.check = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    case 'U': lo.upgrade_all = true; break;
    case 'P':
      if (lo.nupgrade >= MAX_UPGRADE)
        return pl_cli_usage_error("lock", "at most %d --upgrade-package", MAX_UPGRADE);
      if (!pl_distname_valid(optarg, strlen(optarg)))
        return pl_cli_usage_error("lock", "'%s' is not a package name", optarg);
      lo.upgrade[lo.nupgrade++] = optarg;
      break;
    default: return pl_cli_bad_option("lock", argv);
    }
  }
  if (optind < argc) return pl_cli_usage_error("lock", "unexpected argument '%s'", argv[optind]);
  pl_error_t err = NULL;
  if (lock_project(&lo, &err) < 0) return pl_cli_report("lock", &err);
  return PL_EXIT_OK;
}
