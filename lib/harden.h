/* pylock — the last steps before exec: drop every capability, set
 * no_new_privs, load the seccomp filter. */
#ifndef PYLOCK_HARDEN_H
#define PYLOCK_HARDEN_H

#include "error.h"

int pl_harden_drop_caps(pl_error_t *err);
int pl_harden_seccomp(pl_error_t *err);
/* All three, in the order that works: caps, no_new_privs, seccomp. */
int pl_harden(pl_error_t *err);

#endif
