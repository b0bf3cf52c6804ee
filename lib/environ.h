/* pylock — the environment a sandboxed command sees. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ENVIRON_H
#define PYLOCK_ENVIRON_H

#include <stdbool.h>

#include "error.h"

/* True for variables that would let the outside steer the interpreter or
 * pip past the environment: PYTHONPATH, PYTHONHOME, PYTHONUSERBASE,
 * VIRTUAL_ENV, CONDA_PREFIX and every PIP_*. */
bool pl_environ_is_leak(const char *entry);

/* Remove the leaks from the process environment, set PYLOCK_PROJECT and
 * PYTHONNOUSERSITE, and put `bindirs` (NULL-terminated, may be empty) first
 * on PATH without duplicates. */
int pl_environ_prepare(const char *project, const char *const *bindirs, pl_error_t *err);

/* A new environment for a child: this process's without the leaks and
 * without the variables `extra` ("NAME=value", NULL-terminated) sets, then
 * those.  The array is one allocation (free it); its strings are environ's
 * and extra's. */
char **pl_environ_build(const char *const *extra);

/* PATH with `dirs` first and each directory once; newly allocated. */
char *pl_environ_path_prepend(const char *path, const char *const *dirs);

/* execvp(3) with the same search, errors and "/bin/sh for a file the kernel
 * cannot run", whatever the C library (musl's has no shell fallback).
 * Returns -1 with errno. */
int pl_execvp(const char *file, char **argv);

#endif
