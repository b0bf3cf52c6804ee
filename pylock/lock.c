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
#include "env.h"
#include "lockfile.h"
#include "project.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock lock [--check]\n\n"
          "Resolve the requested requirements ([tool.pylock] requested in pylock.toml)\n"
          "against the project's registry and write the result to pylock.toml (PEP 751).\n"
          "Resolution is pip's, run by the base interpreter inside the project's namespaces\n"
          "with no network: pip sees only an index generated from the registry's verified\n"
          "metadata. pylock.toml is rewritten only when its content changes.\n\n"
          "Options:\n"
          "  --check     change nothing; exit 1 with the reason if pylock.toml does not match\n"
          "              the resolution of the requested set, 0 if it does\n"
          "  -h, --help  print this help and exit\n\n"
          "The registry and its trusted root come from 'pylock init --registry URL --root\n"
          "FILE' (or --trusted NAME). PYLOCK_RESOLVE_PIP=registry runs the registry's pip\n"
          "wheel even when the base interpreter has pip.\n");
}

static int lock_project(bool check, pl_error_t *err) {
  struct pl_env e;
  int rc = -1;
  cleanup_free char *why = NULL;
  bool changed = false;
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, err) < 0) goto out;
  /* --check changes nothing, so it need not wait for a change in progress. */
  if (!check && pl_env_begin_change(&e, err) < 0) goto out;
  if (pl_env_resolve(&e, &changed, &why, err) < 0) goto out;
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
  pl_env_close(&e);
  return rc;
}

int pl_cmd_lock(int argc, char **argv) {
  pl_cli_catch_interrupts();
  static const struct option opts[] = {
      {"check", no_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool check = false;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': check = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("lock", argv);
    }
  }
  if (optind < argc) return pl_cli_usage_error("lock", "unexpected argument '%s'", argv[optind]);
  pl_error_t err = NULL;
  if (lock_project(check, &err) < 0) return pl_cli_report("lock", &err);
  return PL_EXIT_OK;
}
