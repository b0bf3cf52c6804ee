/* pylock — an interruption (Ctrl-C, SIGTERM, a hangup) noticed, so that a
 * change stops cleanly: the CLI's signal handler notes it, and the long
 * waits of lib/ (the resolver and every other child, each wheel of a build)
 * check it, end what they started and fail with errnum -EINTR, and the
 * usual error paths undo the change.  Nothing is changed, nothing is left.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_INTERRUPT_H
#define PYLOCK_INTERRUPT_H

#include "error.h"

/* Note signal sig; async-signal-safe (for a handler). */
void pl_interrupt_note(int sig);

/* The signal noticed, or 0. */
int pl_interrupted(void);

/* -1 with err (-EINTR: no system text; naming the signal) once one was noticed, else 0. */
int pl_interrupt_check(pl_error_t *err);

#endif
