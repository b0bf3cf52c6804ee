/* pylock — what `pylock run` says when CMD cannot be executed. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_RUNEXIT_H
#define PYLOCK_RUNEXIT_H

/* Say that cmd could not be exec'ed (errno e), with a hint for ENOENT; the
 * exit status: 127 for ENOENT, else 126.  Shared by pylock and its front
 * end (pylock/front/pylock.c), so both say the same. */
int pl_run_exec_failed(const char *cmd, int e);

#endif
