/* pylock doctor — can this machine run pylock? */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "doctor.h"
#include "file.h"
#include "interp.h"
#include "config.h"
#include "landlock.h"
#include "paths.h"
#include "project.h"
#include "state.h"

static const char help[] =
    "usage: pylock doctor\n\n"
    "Check that this machine can run pylock: kernel, unprivileged user namespaces,\n"
    "overlayfs on the filesystem holding pylock's state, seccomp, Landlock, network\n"
    "namespaces, pylock's state directory and the base interpreter, then say what the\n"
    "sandbox makes read-only, hides and denies. Each failed check names its cause and\n"
    "the fix.\n"
    "Exit status 0 when every check passes, 1 otherwise.\n\n"
    "Options:\n"
    "  -h, --help  print this help and exit\n";

/* What a sandbox makes of the user's files, as pylock-run(1) tells it. */
static void print_policy(const char *state) {
  pl_error_t err = NULL;
  const struct pl_config *cfg = pl_config_get(&err);
  pl_error_free(&err);
  cleanup_free char *config = NULL, *cache = NULL;
  if (pl_path_user_config("", &config, &err) < 0) pl_error_free(&err);
  if (pl_path_cache_home(&cache, &err) < 0) pl_error_free(&err);
  const char *why = NULL;
  int abi = pl_landlock_abi(&why);
  bool strict = cfg && cfg->strict > 0;
  printf("\nsandbox policy (pylock-run(1)); default mode: %s\n", strict ? "--strict" : "default");
  pl_cli_line(stdout, "  enforced by   %s",
              abi > 0 ? "Landlock, namespaces, seccomp" : "read-only mounts, namespaces, seccomp");
  pl_cli_line(stdout, "  writable      the project, /tmp, /var/tmp, /dev/shm, %s",
              cache ? cache : "~/.cache");
  for (size_t i = 0; cfg && i < cfg->nallow_write; i++)
    pl_cli_line(stdout, "                %s (allow-write)", cfg->allow_write[i]);
  pl_cli_line(stdout, "  read-only     everything else: pylock's state (%s), %s,",
              state ? state : "?", config ? config : "~/.config/pylock");
  pl_cli_line(stdout, "                the interpreter, the project's .git/hooks and .git/config");
  pl_cli_line(stdout, "  hidden        the user site (~/.local/lib/pythonX.Y); the session bus and "
                      "the user service manager");
  pl_cli_line(stdout,
              "  denied        mount, new user namespaces, keyctl, bpf, module loading, "
              "TIOCSTI%s",
              abi > 0 ? "; ptrace and signals outside the sandbox" : "; ptrace");
  pl_cli_line(stdout, "  --strict      also: home read-only but the project, a private /tmp, no "
                      "network, no unix sockets, no ptrace or io_uring");
}

int pl_cmd_doctor(int argc, char **argv) {
  int r = pl_cli_only_help("doctor", argc, argv, help);
  if (r >= 0) return r;

  /* Inside a project, test what `run` will use: its interpreter.  The
   * overlay's layers live in pylock's state directory: test its filesystem. */
  struct pl_doctor_opts o = {0};
  cleanup_free char *root = NULL, *location = NULL, *text = NULL;
  struct pl_interp in = {0};
  struct pl_state st = {.fd = -1};
  pl_error_t err = NULL;
  if (pl_state_location(&location, &err) == 0) o.state_dir = location;
  pl_error_free(&err);
  if (pl_project_find(pl_cli.project, &root, &err) == 0 && pl_state_open(&st, &err) == 0) {
    int fd = pl_project_state_open(&st, root, false, NULL, &err);
    if (fd >= 0) {
      if (pl_read_file_at(fd, PL_INTERP_FILE, 16384, &text, NULL, &err) == 0 &&
          pl_interp_parse(text, &in, &err) == 0) {
        o.python = in.python;
        o.prefix = in.prefix;
      }
      close(fd);
    }
    pl_cli_line(stdout, "project %s", root);
  }
  pl_state_close(&st);
  pl_error_free(&err);

  struct pl_check *checks = NULL;
  int n = 0, failed = 0;
  if (pl_doctor_run(&o, &checks, &n) < 0) {
    pl_interp_free(&in);
    fprintf(stderr, "pylock: doctor: out of memory\n");
    return PL_EXIT_FAIL;
  }
  bool color = pl_cli.color && isatty(STDOUT_FILENO);
  for (int i = 0; i < n; i++) {
    if (checks[i].ok && checks[i].warn) {
      printf("%swarn%s  %-18s ", color ? "\033[33m" : "", color ? "\033[0m" : "", checks[i].name);
      pl_cli_line(stdout, "%s", checks[i].detail ? checks[i].detail : "");
      continue;
    }
    if (checks[i].ok) {
      printf("%sok%s    %-18s ", color ? "\033[32m" : "", color ? "\033[0m" : "", checks[i].name);
      pl_cli_line(stdout, "%s", checks[i].detail ? checks[i].detail : "");
      continue;
    }
    failed++;
    cleanup_free char *msg = pl_error_string(checks[i].err);
    printf("%sFAIL%s  %-18s ", color ? "\033[1;31m" : "", color ? "\033[0m" : "", checks[i].name);
    pl_cli_line(stdout, "%s", msg);
    if (checks[i].err && checks[i].err->hint)
      pl_cli_line(stdout, "      %-18s fix: %s", "", checks[i].err->hint);
  }
  pl_doctor_free(checks, n);
  pl_interp_free(&in);
  if (failed)
    printf("%d of %d checks failed\n", failed, n);
  else
    printf("all %d checks passed\n", n);
  print_policy(location);
  return failed ? PL_EXIT_FAIL : PL_EXIT_OK;
}
