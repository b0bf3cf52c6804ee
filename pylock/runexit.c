/* pylock — what `pylock run` says when CMD cannot be executed; see runexit.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "runexit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int pl_run_exec_failed(const char *cmd, int e) {
  fprintf(stderr, "pylock: run: %s: %s\n", cmd, strerror(e));
  if (e == ENOENT)
    fprintf(stderr, "pylock: hint: is it installed in the environment? see 'pylock list'\n");
  return e == ENOENT ? 127 : 126;
}
