/* pylock shell — an interactive shell inside the project's environment. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock shell [--strict] [--no-network] [--allow-write PATH]...\n\n"
          "Start $SHELL (or /bin/sh) inside the project's environment, as 'pylock run' would.\n\n"
          "Options:\n"
          "  -s, --strict            home read-only but the project, a private /tmp, no\n"
          "                          network, no unix sockets, no ptrace (pylock-run(1))\n"
          "  -n, --no-network        own network namespace with only loopback up\n"
          "  -w, --allow-write PATH  let the shell write PATH too (repeatable)\n"
          "  -h, --help              print this help and exit\n");
}

int pl_cmd_shell(int argc, char **argv) {
  static const struct option opts[] = {{"no-network", no_argument, NULL, 'n'},
                                       {"strict", no_argument, NULL, 's'},
                                       {"allow-write", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct pl_run_opts o = {0};
  int c;
  while ((c = getopt_long(argc, argv, "nsw:h", opts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return PL_EXIT_OK;
    }
    int r = pl_run_opts_parse(c, optarg, "shell", &o);
    if (r < 0) return PL_EXIT_USAGE;
    if (r == 0) return pl_cli_bad_option("shell", argv);
  }
  if (optind < argc) return pl_cli_usage_error("shell", "unexpected argument '%s'", argv[optind]);
  const char *sh = getenv("SHELL");
  if (sh == NULL || sh[0] != '/') sh = "/bin/sh";
  char *sh_argv[] = {(char *)sh, NULL};
  return pl_run_command(sh, sh_argv, &o);
}
