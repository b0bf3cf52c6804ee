/* pylock shell — an interactive shell inside the project's environment. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock shell [--no-network]\n\n"
          "Start $SHELL (or /bin/sh) inside the project's environment, as 'pylock run' would.\n\n"
          "Options:\n"
          "  -n, --no-network  own network namespace with only loopback up\n"
          "  -h, --help        print this help and exit\n");
}

int pl_cmd_shell(int argc, char **argv) {
  static const struct option opts[] = {
      {"no-network", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool no_network = false;
  int c;
  while ((c = getopt_long(argc, argv, "nh", opts, NULL)) != -1) {
    switch (c) {
    case 'n': no_network = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_usage_error("shell", "unknown option");
    }
  }
  if (optind < argc) return pl_cli_usage_error("shell", "unexpected argument '%s'", argv[optind]);
  const char *sh = getenv("SHELL");
  if (sh == NULL || sh[0] != '/') sh = "/bin/sh";
  char *sh_argv[] = {(char *)sh, NULL};
  return pl_run_command(sh, sh_argv, no_network);
}
