/* pylock info — where a project's environment lives, and how it is sandboxed. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "change.h"
#include "cleanup.h"
#include "cli.h"
#include "landlock.h"
#include "launch.h"
#include "project.h"
#include "state.h"

static void usage(FILE *out) {
  fprintf(out, "usage: pylock info [--json] [KEY]\n\n"
               "Show where the project's environment lives and how its commands are sandboxed;\n"
               "with KEY, print that value alone. KEY is one of: project, state, generation,\n"
               "layer, python, version, prefix, state-root, cache, sandbox, byte-code.\n\n"
               "Options:\n"
               "  --json      one JSON object with every key\n"
               "  -h, --help  print this help and exit\n");
}

static const char *const keys[] = {"project", "state",   "generation", "layer",
                                   "python",  "version", "prefix",     "state-root",
                                   "cache",   "sandbox", "byte-code"};
#define NKEYS (sizeof keys / sizeof keys[0])

int pl_cmd_info(int argc, char **argv) {
  static const struct option opts[] = {
      {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool json = false;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'j': json = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_bad_option("info", argv);
    }
  }
  if (argc - optind > 1) return pl_cli_usage_error("info", "expected at most one KEY");
  const char *want = optind < argc ? argv[optind] : NULL;
  size_t wanted = NKEYS;
  for (size_t i = 0; want && i < NKEYS; i++)
    if (strcmp(keys[i], want) == 0) wanted = i;
  if (want && wanted == NKEYS) return pl_cli_usage_error("info", "unknown KEY '%s'", want);

  pl_error_t err = NULL;
  struct pl_launch l;
  struct pl_launch_opts lo = {.project = pl_cli.project, .lenient = true};
  if (pl_launch_open(&l, &lo, &err) < 0) {
    pl_launch_close(&l);
    return pl_cli_report("info", &err);
  }
  const char *why = NULL;
  int abi = pl_landlock_abi(&why);
  cleanup_free char *cache = NULL, *sandbox = NULL;
  if (asprintf(&cache, "%s/%s", l.state.path, PL_STATE_CACHE) < 0) cache = NULL;
  if ((abi > 0 ? asprintf(&sandbox, "%s, Landlock ABI %d", l.sb.strict ? "strict" : "default", abi)
               : asprintf(&sandbox, "%s, read-only mounts (%s)", l.sb.strict ? "strict" : "default",
                          why)) < 0)
    sandbox = NULL;
  const char *gen = strrchr(l.gen, '/');
  cleanup_free char *bytecode = NULL, *bytecode_line = NULL;
  pl_cli_bytecode(l.state_fd, l.state_path, (unsigned)strtoul(gen ? gen + 1 : l.gen, NULL, 10),
                  &bytecode, &bytecode_line);
  const char *values[NKEYS] = {l.root,      l.state_path, gen ? gen + 1 : l.gen,
                               l.layer,     l.in.python,  l.in.version,
                               l.in.prefix, l.state.path, cache,
                               sandbox,     bytecode};
  if (want) {
    pl_cli_line(stdout, "%s", values[wanted] ? values[wanted] : "");
  } else if (json) {
    fputc('{', stdout);
    for (size_t i = 0; i < NKEYS; i++) {
      fprintf(stdout, "%s\"%s\": ", i ? ", " : "", keys[i]);
      pl_cli_json_string(stdout, values[i] ? values[i] : "");
    }
    fputs("}\n", stdout);
  } else {
    for (size_t i = 0; i < NKEYS; i++)
      pl_cli_line(stdout, "%-11s %s", keys[i],
                  i == NKEYS - 1 && bytecode_line ? bytecode_line
                  : values[i]                     ? values[i]
                                                  : "");
  }
  pl_launch_close(&l);
  return PL_EXIT_OK;
}
