/* pylock run — run a command inside the project's environment.
 *
 * No fork: pylock enters the namespaces itself and execs the command, so the
 * command's exit status, death by signal, signals sent to it, the terminal
 * and its process group are exactly what the caller would see running it
 * directly — and the start-up cost is a handful of syscalls. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "environ.h"
#include "file.h"
#include "harden.h"
#include "interp.h"
#include "keepalive.h"
#include "project.h"
#include "sandbox.h"

#define INTERP_FILE_MAX 16384

static void usage(FILE *out) {
  fprintf(out, "usage: pylock run [--no-network] [--] CMD [ARGS...]\n\n"
               "Run CMD inside the project's environment: the base interpreter's prefix is a\n"
               "read-only overlay with the project's packages on top, in unprivileged user and\n"
               "mount namespaces, with every capability dropped and a seccomp filter. The exit\n"
               "status is CMD's; 127 if CMD is not found, 126 if it cannot be executed.\n\n"
               "Options:\n"
               "  -n, --no-network  own network namespace with only loopback up\n"
               "  -h, --help        print this help and exit\n");
}

int pl_run_command(const char *cmd, char **cmd_argv, bool no_network) {
  pl_error_t err = NULL;
  cleanup_free char *root = NULL, *interp_text = NULL, *gen = NULL, *layer = NULL,
                    *state_dir = NULL, *user_site = NULL, *pybin = NULL;
  cleanup_close int state_fd = -1;
  struct pl_interp in = {0};
  int rc = PL_EXIT_FAIL;

  if (pl_project_find(pl_cli.project, &root, &err) < 0) goto fail;
  if ((state_fd = pl_project_open_state(root, &err)) < 0) goto fail;
  if (pl_read_file_at(state_fd, PL_INTERP_FILE, INTERP_FILE_MAX, &interp_text, NULL, &err) < 0 ||
      pl_interp_parse(interp_text, &in, &err) < 0) {
    pl_error_set_hint(&err, "rebuild the environment with: pylock sync");
    goto fail;
  }
  if (pl_project_current(root, state_fd, &gen, &layer, &err) < 0) goto fail;
  if (asprintf(&state_dir, "%s/%s", root, PL_STATE_DIR) < 0) goto nomem;
  const char *home = getenv("HOME");
  if (home && home[0] == '/' &&
      asprintf(&user_site, "%s/.local/lib/python%s", home, in.short_version) < 0)
    goto nomem;

  struct pl_sandbox sb = {.project = root,
                          .state_dir = state_dir,
                          .prefix = in.prefix,
                          .layer = layer,
                          .user_site = user_site,
                          .no_network = no_network};
  if (pl_keepalive_enter(&sb, state_fd, gen, &err) < 0) goto fail;

  pybin = strdup(in.python);
  if (pybin == NULL) goto nomem;
  const char *bindirs[] = {in.scripts, dirname(pybin), NULL};
  if (pl_environ_prepare(root, bindirs, &err) < 0 || pl_harden(&err) < 0) goto fail;
  pl_interp_free(&in);
  execvp(cmd, cmd_argv);
  int e = errno;
  fprintf(stderr, "pylock: run: %s: %s\n", cmd, strerror(e));
  if (e == ENOENT)
    fprintf(stderr, "pylock: hint: is it installed in the environment? see 'pylock list'\n");
  return e == ENOENT ? 127 : 126;
nomem:
  pl_fail(&err, ENOMEM, "run");
fail:
  pl_interp_free(&in);
  rc = pl_cli_report("run", &err);
  return rc;
}

int pl_cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"no-network", no_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool no_network = false;
  int c;
  /* '+': options end at CMD, whose own options pass through untouched. */
  while ((c = getopt_long(argc, argv, "+nh", opts, NULL)) != -1) {
    switch (c) {
    case 'n': no_network = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_usage_error("run", "unknown option");
    }
  }
  if (optind >= argc) return pl_cli_usage_error("run", "missing CMD");
  return pl_run_command(argv[optind], &argv[optind], no_network);
}
