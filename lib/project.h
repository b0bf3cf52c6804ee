/* pylock — a project: the directory holding pylock.toml, and its state.
 *
 * The project directory holds only what the user edits and versions:
 *
 *   pylock.toml                 the lock (PEP 751) and [tool.pylock]
 *
 * Its environments live in the per-user state root (state.h), where no code
 * that runs in them can reach them:
 *
 *   STATE/projects/<id>/path                the project directory this is for
 *   STATE/projects/<id>/interp              the base interpreter, as probed (key=value)
 *   STATE/projects/<id>/registry-root.json  the registry root pinned at init
 *   STATE/projects/<id>/generations/N/      environment generation N: a tree that
 *                                           mirrors the interpreter prefix, used as the
 *                                           overlay's top layer (generations.h)
 *   STATE/projects/<id>/current, previous   symlinks -> generations/N
 *   STATE/projects/<id>/change.lock         the change lock (generations.h)
 *   STATE/projects/<id>/run/keepalive       the keep-alive record (keepalive.h)
 *
 * <id> is the project directory's name (made safe, at most 32 bytes), '-' and
 * 16 hex digits of a hash of its canonical path.  A moved or copied project
 * is a new one to pylock (its first sync links from the warm cache), and a
 * path never reaches another project's state: `path` must name it exactly.
 *
 * Projects made before this layout kept all this in DIR/.pylock/, which code
 * in the sandbox could write; pylock moves them on the next change (sync,
 * install...), rebuilding the environment from pylock.toml, and removes the
 * old directory.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PROJECT_H
#define PYLOCK_PROJECT_H

#include <stdbool.h>

#include "error.h"
#include "state.h"

#define PL_LOCK_FILE "pylock.toml"
#define PL_OLD_STATE_DIR ".pylock" /* the layout before the state root */
#define PL_PROJECT_PATH_FILE "path"
#define PL_INTERP_FILE "interp"
#define PL_CURRENT_LINK "current"
#define PL_GENERATIONS_DIR "generations"
#define PL_RUN_DIR "run"
#define PL_PROJECT_ID_MAX 64 /* bytes of an id, NUL included */

/* Find the project root: `dir` itself if given (it must hold pylock.toml),
 * else the nearest directory upward from the working directory that does.
 * *root is an absolute, canonical path. */
int pl_project_find(const char *dir, char **root, pl_error_t *err);

/* May a project live in `dir` (canonical)?  It must be the caller's (or
 * root's) and writable by nobody else, unless listed in safe-directories. */
int pl_project_check_dir(const char *dir, pl_error_t *err);

/* The id of the project at canonical path `root`. */
void pl_project_id(const char *root, char id[PL_PROJECT_ID_MAX]);

/* Open the project's state directory (STATE/projects/<id>), creating it
 * when `create` (its `path` written first); *path (if not NULL) receives its
 * absolute path.  ENOENT when it is missing and !create; the error's hint
 * says how to build it (and names the old layout when DIR/.pylock exists). */
int pl_project_state_open(const struct pl_state *s, const char *root, bool create, char **path,
                          pl_error_t *err);

/* Does `root` still hold a project state made before the state root? */
bool pl_project_has_old_state(const char *root);

/* The generation runs use (change.h: `current`, or while an install is
 * recorded, the one that goes with pylock.toml in root_fd): *gen relative to
 * the state directory ("generations/3"); *layer (if not NULL) its absolute
 * path, under state_path.  It must exist, as a directory. */
int pl_project_current(const char *state_path, int state_fd, int root_fd, char **gen, char **layer,
                       pl_error_t *err);

#endif
