/* pylock gc — remove what no environment needs from pylock's state. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cleanup.h"
#include "cli.h"
#include "gc.h"
#include "project.h"
#include "state.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock gc [--orphans-after DAYS] [--wait SECONDS]\n\n"
          "Remove what no environment needs from pylock's state: each project's generations\n"
          "other than the current and previous ones, unless a running environment uses them;\n"
          "the shared cache's trees and wheels that no remaining generation was built from;\n"
          "what crashed commands left behind; and the state of projects whose directory is\n"
          "gone (orphans), once gc has seen them gone for DAYS days. It waits for syncs using\n"
          "the cache to finish. Outside a project it does the same for every project.\n\n"
          "Options:\n"
          "  --orphans-after DAYS  remove an orphan's state DAYS days after gc first saw it\n"
          "                        (default %d; 0: now)\n"
          "  --wait SECONDS        give up, removing nothing, if syncs still use the shared\n"
          "                        cache after SECONDS (default %d)\n"
          "  -h, --help            print this help and exit\n",
          PL_GC_ORPHAN_DAYS_DEFAULT, PL_GC_WAIT_DEFAULT);
}

static void summary(const struct pl_gc_result *r) {
  char freed[32], busy[96] = "";
  pl_cli_bytes(r->bytes, freed, sizeof freed);
  if (r->busy)
    snprintf(busy, sizeof busy, "; %zu project(s) being changed, left as they are", r->busy);
  pl_cli_info("pylock: gc removed %zu generation(s) (%zu kept: in use), %zu cache tree(s), %zu "
              "wheel(s), %zu orphan project(s) (%zu waiting), %zu leftover(s); %s freed%s",
              r->generations, r->generations_in_use, r->trees, r->wheels, r->orphans,
              r->orphans_waiting, r->leftovers, freed, busy);
}

int pl_cmd_gc(int argc, char **argv) {
  static const struct option opts[] = {{"orphans-after", required_argument, NULL, 'o'},
                                       {"wait", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  unsigned long days = PL_GC_ORPHAN_DAYS_DEFAULT, wait = PL_GC_WAIT_DEFAULT;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'o':
      if (!pl_cli_parse_uint(optarg, 0, PL_GC_ORPHAN_DAYS_MAX, &days))
        return pl_cli_usage_error("gc", "--orphans-after takes days, 0 to %d, not '%s'",
                                  PL_GC_ORPHAN_DAYS_MAX, optarg);
      break;
    case 'w':
      if (!pl_cli_parse_uint(optarg, 0, PL_GC_WAIT_MAX, &wait))
        return pl_cli_usage_error("gc", "--wait takes seconds, 0 to %d, not '%s'", PL_GC_WAIT_MAX,
                                  optarg);
      break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("gc", argv);
    }
  }
  if (optind < argc) return pl_cli_usage_error("gc", "unexpected argument '%s'", argv[optind]);
  pl_error_t err = NULL;
  cleanup_free char *root = NULL;
  /* Outside any project (and without -C), gc works on the state root alone. */
  if (pl_project_find(pl_cli.project, &root, &err) < 0) {
    if (pl_cli.project || err->errnum != 0) return pl_cli_report("gc", &err);
    pl_error_free(&err);
  }
  struct pl_state s;
  if (pl_state_open(&s, &err) < 0) return pl_cli_report("gc", &err);
  struct pl_gc_opts o = {.project = root,
                         .orphan_days = (unsigned)days,
                         .wait_seconds = (unsigned)wait,
                         .progress = pl_cli_progress};
  struct pl_gc_result res;
  int r = pl_gc_run(&s, &o, &res, &err);
  pl_state_close(&s);
  if (r < 0) return pl_cli_report("gc", &err);
  summary(&res);
  return PL_EXIT_OK;
}
