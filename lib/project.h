/* pylock — a project: the directory holding pylock.toml and .pylock/.
 *
 *   pylock.toml                 the lock (PEP 751) and [tool.pylock]
 *   .pylock/interp              the base interpreter, as probed (key=value)
 *   .pylock/generations/N/      environment generation N: a tree that mirrors
 *                               the interpreter prefix, used as the overlay's top layer
 *   .pylock/current             symlink -> generations/N, switched by rename
 *   .pylock/run/                keep-alive records (see keepalive.h)
 */
#ifndef PYLOCK_PROJECT_H
#define PYLOCK_PROJECT_H

#include "error.h"

#define PL_LOCK_FILE "pylock.toml"
#define PL_STATE_DIR ".pylock"
#define PL_INTERP_FILE "interp"
#define PL_CURRENT_LINK "current"
#define PL_GENERATIONS_DIR "generations"
#define PL_RUN_DIR "run"

/* Find the project root: `dir` itself if given (it must hold pylock.toml),
 * else the nearest directory upward from the working directory that does.
 * *root is an absolute, canonical path. */
int pl_project_find(const char *dir, char **root, pl_error_t *err);

/* Open root/.pylock as a directory fd (O_PATH-free, usable with *at calls). */
int pl_project_open_state(const char *root, pl_error_t *err);

/* Resolve .pylock/current: *gen is its target relative to .pylock
 * ("generations/3"); *layer is the absolute path of that generation. */
int pl_project_current(const char *root, int state_fd, char **gen, char **layer, pl_error_t *err);

#endif
