/* pylock — environment generations on disk (see project.h for the layout). */
#ifndef PYLOCK_ENVGEN_H
#define PYLOCK_ENVGEN_H

#include "error.h"
#include "interp.h"

/* Create .pylock/generations/<n>/ with the interpreter's scheme directories
 * (purelib, platlib, scripts, include, data) mirrored relative to its prefix,
 * empty and owned by the caller: the only places an install may write. */
int pl_envgen_create(int state_fd, unsigned n, const struct pl_interp *in, pl_error_t *err);

/* Point .pylock/current at generation n with one rename (atomic switch). */
int pl_envgen_switch(int state_fd, unsigned n, pl_error_t *err);

#endif
