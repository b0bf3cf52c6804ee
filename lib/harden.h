/* pylock — the last steps before exec: drop every capability, set
 * no_new_privs, load the seccomp filter.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_HARDEN_H
#define PYLOCK_HARDEN_H

#include "error.h"

#include <stdbool.h>

int pl_harden_drop_caps(pl_error_t *err);
/* The filter for a sandbox: --strict's, or the default one (which denies
 * ptrace too when the kernel has no Landlock to fence the process in). */
int pl_harden_seccomp(bool strict, pl_error_t *err);
/* All three, in the order that works: caps, no_new_privs, seccomp. */
int pl_harden(bool strict, pl_error_t *err);

/* The open-file limit: pylock's own raised to the hard limit (a sync holds
 * a few descriptors a package, so the usual soft limit of 1,024 stopped
 * it at ~300 packages); the one it was given restored before any exec, so
 * that programs run see what they would without pylock (select() users
 * among them).  pl_harden restores it. */
void pl_files_limit_raise(void);
void pl_files_limit_restore(void);

#endif
