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

#endif
