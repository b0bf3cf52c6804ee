/* pylock — running a command in a project's environment (run, shell, ci,
 * the python3 shim).
 *
 * pl_launch_open() finds the project, its state and its current generation
 * and works out the sandbox: the user's options (--strict, --no-network,
 * --allow-write), the configuration's (strict, allow-write) and the
 * project's own, which may only tighten it ([tool.pylock] strict,
 * [tool.pylock.sandbox]; read from the generation's record while
 * pylock.toml is unchanged since the sync, so that a run parses no TOML).
 * pl_launch_exec() enters it (joining a keep-alive holder when one checks
 * out), restricts where the command may write, scrubs the environment,
 * drops every capability, sets no_new_privs and the seccomp filter, and
 * execs: the command's exit status, signals and terminal are its own.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_LAUNCH_H
#define PYLOCK_LAUNCH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "interp.h"
#include "sandbox.h"
#include "state.h"

struct pl_launch_opts {
  const char *project; /* -C DIR, or NULL: nearest pylock.toml upward */
  bool no_network;
  bool strict;
  const char *const *allow_write; /* --allow-write, absolute */
  size_t nallow_write;
  bool lenient; /* a pylock.toml that does not parse is no error (pylock info) */
  /* Only the environment as built (the front end): a pylock.toml changed
   * since is an error, before it is read. */
  bool fresh_only;
};

struct pl_launch {
  char *root;       /* the project, canonical */
  char *state_path; /* its state directory */
  char *gen;        /* "generations/N" */
  char *layer, *user_site, *config_dir, *cache_home, *cwd;
  char **allow_write; /* options' and configuration's, absolute */
  size_t nallow_write;
  struct pl_state state;
  int state_fd, run_fd;
  struct pl_interp in;
  struct pl_sandbox sb;
  bool fresh; /* the generation was built from pylock.toml as it is now */
  /* Called in the sandbox's namespaces, before the last steps (restrict,
   * harden, exec): pylock ci starts its PID namespace there.  It returns 0
   * in the process that goes on to exec, -1 with err on failure. */
  int (*before_exec)(void *ctx, pl_error_t *err);
  void *before_exec_ctx;
};

int pl_launch_open(struct pl_launch *l, const struct pl_launch_opts *o, pl_error_t *err);
void pl_launch_close(struct pl_launch *l);

/* Enter the sandbox and exec cmd (searched on the sandbox's PATH).  Returns
 * only on failure: -1 with err when the sandbox could not be made, or
 * exec's errno (ENOENT: no such command), the process being in the sandbox
 * by then. */
int pl_launch_exec(struct pl_launch *l, const char *cmd, char **argv, pl_error_t *err);

/* pl_launch_exec, only by joining a keep-alive holder (pl_keepalive_join):
 * 0 when there is none to join, the process unchanged (nothing entered,
 * nothing exec'ed); else as pl_launch_exec. */
int pl_launch_exec_joined(struct pl_launch *l, const char *cmd, char **argv, pl_error_t *err);

#endif
