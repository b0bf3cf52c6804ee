/* pylock cache — where the shared cache is, and emptying it safely. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "cli.h"
#include "gc.h"
#include "state.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock cache dir\n"
          "       pylock cache clean [--wait SECONDS]\n\n"
          "The shared cache of verified wheels and their unpacked, sealed trees, which every\n"
          "project of yours links its environments from (STATE/cache in pylock's state root).\n"
          "Its files are read-only, so `rm -rf` cannot remove it: use `pylock cache clean`.\n\n"
          "  dir    print the cache's directory\n"
          "  clean  remove every wheel, every tree no environment uses and what\n"
          "         interrupted commands left. The trees that generations of your\n"
          "         projects are built from stay, so environments keep working (pylock gc\n"
          "         removes old generations, and then their trees). The next change\n"
          "         fetches the wheels it needs again. It waits for syncs using the cache\n"
          "         to finish, as pylock gc does.\n\n"
          "Options:\n"
          "  --wait SECONDS  give up, removing nothing, if syncs still use the cache after\n"
          "                  SECONDS (default %d)\n"
          "  -h, --help      print this help and exit\n",
          PL_GC_WAIT_DEFAULT);
}

/* The cache's directory: the state root as it resolves now, not created. */
static int cache_dir(void) {
  pl_error_t err = NULL;
  cleanup_free char *root = NULL;
  if (pl_state_location(&root, &err) < 0) return pl_cli_report("cache dir", &err);
  char real[PATH_MAX];
  pl_cli_line(stdout, "%s/%s", realpath(root, real) ? real : root, PL_STATE_CACHE);
  return PL_EXIT_OK;
}

static int cache_clean(unsigned long wait) {
  pl_error_t err = NULL;
  struct pl_state s;
  if (pl_state_open(&s, &err) < 0) return pl_cli_report("cache clean", &err);
  struct pl_gc_opts o = {
      .wait_seconds = (unsigned)wait, .progress = pl_cli_progress, .command = "pylock cache clean"};
  struct pl_gc_result res;
  int r = pl_gc_clean_cache(&s, &o, &res, &err);
  if (r < 0) {
    pl_state_close(&s);
    return pl_cli_report("cache clean", &err);
  }
  char freed[32];
  pl_cli_bytes(res.bytes, freed, sizeof freed);
  char kept[160] = "";
  if (res.trees_kept)
    snprintf(kept, sizeof kept,
             "; kept %zu tree(s) that environments use (they go with their generations: pylock gc)",
             res.trees_kept);
  pl_cli_info("pylock: cache clean removed %zu tree(s), %zu wheel(s) and %zu other entr%s from "
              "%s/%s; %s freed%s",
              res.trees, res.wheels, res.leftovers, res.leftovers == 1 ? "y" : "ies", s.path,
              PL_STATE_CACHE, freed, kept);
  pl_state_close(&s);
  return PL_EXIT_OK;
}

int pl_cmd_cache(int argc, char **argv) {
  if (argc < 2) return pl_cli_usage_error("cache", "missing subcommand (dir, clean)");
  if (pl_cli_is_help(argv[1])) {
    usage(stdout);
    return PL_EXIT_OK;
  }
  const char *sub = argv[1];
  static const struct option opts[] = {
      {"wait", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'}, {0}};
  unsigned long wait = PL_GC_WAIT_DEFAULT;
  bool waited = false;
  int c;
  optind = 0;
  while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'w':
      if (!pl_cli_parse_uint(optarg, 0, PL_GC_WAIT_MAX, &wait))
        return pl_cli_usage_error("cache", "--wait takes seconds, 0 to %d, not '%s'",
                                  PL_GC_WAIT_MAX, optarg);
      waited = true;
      break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("cache", argv + 1);
    }
  }
  if (optind + 1 < argc)
    return pl_cli_usage_error("cache", "unexpected argument '%s'", argv[1 + optind]);
  if (strcmp(sub, "dir") == 0) {
    if (waited) return pl_cli_usage_error("cache", "--wait is an option of clean, not of dir");
    return cache_dir();
  }
  if (strcmp(sub, "clean") == 0) return cache_clean(wait);
  return pl_cli_usage_error("cache", "unknown subcommand '%s' (dir, clean)", sub);
}
