/* pylock rollback — back to the previous generation. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "env.h"

int pl_cmd_rollback(int argc, char **argv) {
  int r = pl_cli_only_help(
      "rollback", argc, argv,
      "usage: pylock rollback\n\n"
      "Switch the environment back to the generation before the current one (one rename;\n"
      "runs in progress keep theirs). pylock.toml is not changed: 'pylock sync' returns to\n"
      "what it describes. Rolling back twice returns to where you started.\n\n"
      "Options:\n  -h, --help  print this help and exit\n");
  if (r >= 0) return r;
  pl_error_t err = NULL;
  struct pl_env e;
  unsigned from = 0, to = 0;
  if (pl_env_open(&e, pl_cli.project, pl_cli_progress, NULL, &err) < 0 ||
      pl_env_rollback(&e, &from, &to, &err) < 0) {
    pl_env_close(&e);
    return pl_cli_report("rollback", &err);
  }
  pl_cli_info("pylock: rolled back from generation %u to %u; pylock.toml still describes %u "
              "(pylock sync returns to it)",
              from, to, from);
  pl_env_close(&e);
  return PL_EXIT_OK;
}
