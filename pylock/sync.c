/* pylock sync — make the environment exactly match pylock.toml. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "env.h"
#include "project.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock sync [--frozen] [--offline] [--trusted NAME] [--repair]\n\n"
          "Make the project's environment exactly match pylock.toml: every locked wheel comes\n"
          "from the shared cache or is fetched through the registry and verified (signed\n"
          "length and sha256, safe archive, RECORD), a new generation is built beside the\n"
          "current one and switched to with one rename. Runs in progress keep the generation\n"
          "they started with. A project without state (a fresh checkout) gets it.\n\n"
          "Options:\n"
          "  --frozen        fail if pylock.toml is stale for [tool.pylock] requested; never\n"
          "                  re-lock; trust only the interpreter and the registry root this\n"
          "                  machine trusts, as 'pylock ci' does\n"
          "  --offline       use the registry's metadata as last verified; fetch nothing\n"
          "  --trusted NAME  anchor to this root of 'pylock trust'\n"
          "  --repair        rebuild the environment, checking every byte of the cache\n"
          "                  trees it uses; damaged trees and wheels are built or fetched\n"
          "                  again\n"
          "  -h, --help      print this help and exit\n");
}

int pl_sync_project(const struct pl_sync_opts *so, struct pl_sync_result *res, char **anchor,
                    pl_error_t *err) {
  struct pl_env e;
  int rc = -1;
  char why[512];
  struct pl_env_opts o = {.dir = pl_cli.project,
                          .progress = pl_cli_progress,
                          .offline = so->offline,
                          .runner = so->frozen,
                          .trusted = so->trusted,
                          .python = so->python};
  if (pl_env_open_with(&e, &o, err) < 0) goto out;
  if (so->frozen && pl_env_lock_is_stale(&e, why, sizeof why)) {
    pl_fail_hint(err, 0, "update it with: pylock lock (and commit it)", "%s is stale: %s",
                 PL_LOCK_FILE, why);
    goto out;
  }
  if (pl_env_sync(&e, so->repair, res, err) < 0) goto out;
  if (anchor && e.anchor) *anchor = strdup(e.anchor);
  if (res->unchanged)
    pl_cli_info("pylock: environment already matches %s (generation %u, %zu packages)",
                PL_LOCK_FILE, res->generation, res->packages);
  else
    pl_cli_info("pylock: generation %u: %zu packages, %llu files (%zu fetched, %zu unpacked; "
                "fetch %.0f ms, unpack %.0f ms, link %.0f ms)",
                res->generation, res->packages, (unsigned long long)res->files, res->fetched,
                res->built, res->ms_fetch, res->ms_build, res->ms_link);
  rc = 0;
out:
  pl_env_close(&e);
  return rc;
}

int pl_cmd_sync(int argc, char **argv) {
  static const struct option opts[] = {
      {"frozen", no_argument, NULL, 'f'},        {"offline", no_argument, NULL, 'o'},
      {"trusted", required_argument, NULL, 't'}, {"repair", no_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
  struct pl_sync_opts so = {0};
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'f': so.frozen = true; break;
    case 'o': so.offline = true; break;
    case 't': so.trusted = optarg; break;
    case 'r': so.repair = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_usage_error("sync", "unknown option");
    }
  }
  if (optind < argc) return pl_cli_usage_error("sync", "unexpected argument '%s'", argv[optind]);
  pl_error_t err = NULL;
  struct pl_sync_result res;
  if (pl_sync_project(&so, &res, NULL, &err) < 0) return pl_cli_report("sync", &err);
  return PL_EXIT_OK;
}
