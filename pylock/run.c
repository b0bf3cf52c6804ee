/* pylock run — run a command inside the project's environment.
 *
 * No fork: pylock enters the namespaces itself and execs the command, so the
 * command's exit status, death by signal, signals sent to it, the terminal
 * and its process group are exactly what the caller would see running it
 * directly — and the start-up cost is a handful of syscalls.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "launch.h"
#include "project.h"
#include "runexit.h"

static void usage(FILE *out) {
  fprintf(out, "usage: pylock run [--strict] [--no-network] [--allow-write PATH]... [--] CMD "
               "[ARGS...]\n\n"
               "Run CMD inside the project's environment: the base interpreter's prefix is a\n"
               "read-only overlay with the project's packages on top, in unprivileged user and\n"
               "mount namespaces, with every capability dropped and a seccomp filter. CMD may\n"
               "write the project, the temporary directories and your cache directory; the\n"
               "rest stays read-only (see pylock-run(1)). The exit status is CMD's; 127 if CMD\n"
               "is not found, 126 if it cannot be executed.\n\n"
               "Options:\n"
               "  -s, --strict            for code you have not reviewed: home read-only but the\n"
               "                          project, a private /tmp, no network, no unix sockets,\n"
               "                          no ptrace\n"
               "  -n, --no-network        own network namespace with only loopback up\n"
               "  -w, --allow-write PATH  let CMD write PATH too (repeatable)\n"
               "  -h, --help              print this help and exit\n");
}

int pl_run_opts_parse(int c, const char *arg, const char *cmd, struct pl_run_opts *o) {
  switch (c) {
  case 'n': o->no_network = true; return 1;
  case 's': o->strict = true; return 1;
  case 'w': {
    /* Absolute, its links kept: launch.c checks where they lie, then
     * resolves them. */
    char *real = realpath(arg, NULL), *abs = NULL;
    if (real == NULL) {
      fprintf(stderr, "pylock %s: --allow-write %s: %s\n", cmd, arg, strerror(errno));
      return -1;
    }
    free(real);
    char *cwd = arg[0] == '/' ? NULL : getcwd(NULL, 0);
    if ((arg[0] != '/' && cwd == NULL) ||
        asprintf(&abs, "%s%s%s", cwd ? cwd : "", cwd ? "/" : "", arg) < 0) {
      free(cwd);
      fprintf(stderr, "pylock %s: --allow-write %s: %s\n", cmd, arg, strerror(errno));
      return -1;
    }
    free(cwd);
    if (o->nallow_write == sizeof o->allow_write / sizeof o->allow_write[0]) {
      free(abs);
      pl_cli_usage_error(cmd, "too many --allow-write");
      return -1;
    }
    o->allow_write[o->nallow_write++] = abs;
    return 1;
  }
  default: return 0;
  }
}

int pl_run_command(const char *cmd, char **cmd_argv, const struct pl_run_opts *o) {
  pl_error_t err = NULL;
  struct pl_launch l;
  struct pl_launch_opts lo = {.project = pl_cli.project,
                              .no_network = o->no_network,
                              .strict = o->strict,
                              .allow_write = (const char *const *)o->allow_write,
                              .nallow_write = o->nallow_write};
  int e = pl_launch_open(&l, &lo, &err) < 0 ? -1 : 0;
  /* A lock changed by hand, a checkout or `pylock lock`: say so, once. */
  if (e == 0 && !l.fresh)
    pl_cli_info("pylock: note: %s changed since the environment (%s) was built from it; "
                "update it with: pylock sync",
                PL_LOCK_FILE, l.gen);
  l.before_exec = o->before_exec;
  l.before_exec_ctx = o->before_exec_ctx;
  if (e == 0) e = pl_launch_exec(&l, cmd, cmd_argv, &err);
  pl_launch_close(&l);
  if (e < 0) {
    pl_sandbox_nested(&err); /* the cause, when it is that */
    return pl_cli_report("run", &err);
  }
  return pl_run_exec_failed(cmd, e);
}

int pl_cmd_run(int argc, char **argv) {
  static const struct option opts[] = {{"no-network", no_argument, NULL, 'n'},
                                       {"strict", no_argument, NULL, 's'},
                                       {"allow-write", required_argument, NULL, 'w'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct pl_run_opts o = {0};
  int c;
  /* '+': options end at CMD, whose own options pass through untouched. */
  while ((c = getopt_long(argc, argv, "+nsw:h", opts, NULL)) != -1) {
    if (c == 'h') {
      usage(stdout);
      return PL_EXIT_OK;
    }
    int r = pl_run_opts_parse(c, optarg, "run", &o);
    if (r < 0) return PL_EXIT_USAGE;
    if (r == 0) return pl_cli_bad_option("run", argv);
  }
  if (optind >= argc) return pl_cli_usage_error("run", "missing CMD");
  return pl_run_command(argv[optind], &argv[optind], &o);
}
