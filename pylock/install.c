/* pylock install / pylock remove — change the requested set, re-lock, sync. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "env.h"
#include "pep508.h"
#include "project.h"

static void usage(FILE *out, const char *cmd) {
  if (strcmp(cmd, "install") == 0)
    fprintf(out,
            "usage: pylock install REQ...\n\n"
            "Add each requirement (PEP 508: name, extras, version specifiers, markers) to the\n"
            "requested set in pylock.toml, replacing an earlier one for the same name, then\n"
            "lock and sync. If resolution fails, nothing changes.\n\n");
  else
    fprintf(
        out,
        "usage: pylock remove NAME...\n\n"
        "Remove each package from the requested set in pylock.toml, then lock and sync;\n"
        "dependencies nothing else needs go with it. If resolution fails, nothing changes.\n\n");
  fprintf(out, "Options:\n  -h, --help  print this help and exit\n");
}

/* requested ∪ adds (an add replaces a requirement of the same name), minus removes. */
static int edit_requested(struct pl_env *e, bool adding, char **args, int nargs, pl_error_t *err) {
  for (int i = 0; i < nargs; i++) {
    char name[256];
    if (pl_requirement_name(args[i], name, sizeof name) < 0)
      return pl_fail_hint(err, 0, "a requirement starts with a package name, e.g. 'requests>=2'",
                          "'%s' is not a valid requirement", args[i]);
    bool found = false;
    for (size_t j = 0; j < e->lf.nrequested; j++) {
      char other[256];
      if (pl_requirement_name(e->lf.requested[j], other, sizeof other) < 0 ||
          strcmp(other, name) != 0)
        continue;
      found = true;
      free(e->lf.requested[j]);
      if (adding) {
        e->lf.requested[j] = strdup(args[i]);
        if (e->lf.requested[j] == NULL) return pl_fail(err, ENOMEM, "install");
      } else {
        e->lf.requested[j] = e->lf.requested[--e->lf.nrequested];
        j--;
      }
    }
    if (!adding && !found)
      return pl_fail_hint(err, 0, "see what is requested in pylock.toml ([tool.pylock] requested)",
                          "'%s' is not a requested package (a dependency goes when nothing "
                          "requested needs it)",
                          args[i]);
    if (adding && !found) {
      char **l = realloc(e->lf.requested, (e->lf.nrequested + 1) * sizeof *l);
      if (l == NULL || (l[e->lf.nrequested] = strdup(args[i])) == NULL)
        return pl_fail(err, ENOMEM, "install");
      e->lf.requested = l;
      e->lf.nrequested++;
    }
  }
  return 0;
}

static int change(const char *cmd, bool adding, char **args, int nargs, pl_error_t *err) {
  struct pl_env e;
  int rc = -1;
  bool changed = false;
  cleanup_free char *why = NULL;
  struct pl_sync_result res;
  struct pl_hooks_before hooks = {0};
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, err) < 0 ||
      pl_env_begin_change(&e, err) < 0 || edit_requested(&e, adding, args, nargs, err) < 0 ||
      pl_env_resolve(&e, &changed, &why, err) < 0)
    goto out;
  pl_cli_hooks_before(&e, &hooks);
  if (pl_env_commit(&e, &res, err) < 0) goto out;
  if (!res.unchanged) pl_cli_hooks_announce(&e, &hooks, cmd);
  pl_cli_info("pylock: %s: generation %u, %zu packages (%zu fetched, %zu unpacked, %llu files)",
              cmd, res.generation, res.packages, res.fetched, res.built,
              (unsigned long long)res.files);
  rc = 0;
out:
  pl_cli_hooks_free(&hooks);
  pl_env_close(&e);
  return rc;
}

static int command(const char *cmd, bool adding, int argc, char **argv) {
  pl_cli_catch_interrupts();
  static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout, cmd);
      return PL_EXIT_OK;
    }
    return pl_cli_bad_option(cmd, argv);
  }
  if (optind >= argc) return pl_cli_usage_error(cmd, adding ? "missing REQ" : "missing NAME");
  pl_error_t err = NULL;
  /* Every requirement is checked before the project is even opened. */
  for (int i = optind; adding && i < argc; i++)
    if (pl_requirement_check(argv[i], &err) < 0) return pl_cli_report(cmd, &err);
  if (change(cmd, adding, argv + optind, argc - optind, &err) < 0) return pl_cli_report(cmd, &err);
  return PL_EXIT_OK;
}

int pl_cmd_install(int argc, char **argv) {
  return command("install", true, argc, argv);
}
int pl_cmd_remove(int argc, char **argv) {
  return command("remove", false, argc, argv);
}
