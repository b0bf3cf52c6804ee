/* pylock — a project's environment generations over time.
 *
 * Every change builds a new generation beside the current one, in the
 * project's state (project.h), generations/.N.tmp, renames it to
 * generations/N when complete, and switches `current` to it with one rename;
 * `previous` names the
 * generation it replaced, for rollback.  A crash at any moment leaves the old
 * generation current (and perhaps a .N.tmp that the next change removes) or
 * the new one, never a mix.  Changes are serialized by an exclusive lock on
 * `change.lock`; runs never take it, so a run during a change keeps the
 * generation it started with.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_GENERATIONS_H
#define PYLOCK_GENERATIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct pl_interp;

#define PL_PREVIOUS_LINK "previous"
#define PL_CHANGE_LOCK "change.lock"   /* mode 0200: see pl_gen_lock */
#define PL_CHANGE_LOCK_OLD "lock"      /* an older pylock's, removed */
#define PL_COMPILE_LOCK "compile.lock" /* mode 0200, as the change lock */

/* Take the project's change lock.  If another pylock holds it, call
 * waiting(holder_pid, ctx) once, then wait.  Returns the lock fd (close it to
 * release) or -1.  Code in a sandbox can neither take nor hold it. */
int pl_gen_lock(int state_fd, void (*waiting)(pid_t holder, void *ctx), void *ctx, pl_error_t *err);
/* The same without waiting: the fd, or -1 when another pylock holds it (or
 * it cannot be taken). */
int pl_gen_lock_try(int state_fd);

/* Take the project's compile lock, held (with the change lock) while a
 * generation imports from source and its byte-code is compiled (env.h).
 * Returns the lock fd or -1.  Code in a sandbox can neither take nor hold it. */
int pl_gen_compile_lock(int state_fd, pl_error_t *err);
/* Does a pylock hold the compile lock now?  *holder: its pid, 0 when the
 * kernel does not say. */
bool pl_gen_compiling(int state_fd, pid_t *holder);
/* A lock fd (either lock) inherited through fork, held by this process
 * from now on as the kernel reports it (/proc/locks names the process that
 * took a lock, not the ones that inherit it), without ever being free. */
int pl_gen_lock_adopt(int fd, pl_error_t *err);

/* Generation numbers present (complete ones only), ascending. */
int pl_gen_list(int state_fd, unsigned **nums, size_t *n, pl_error_t *err);

/* The generation `current` (or `previous`) points to; 0 if none. */
int pl_gen_current(int state_fd, unsigned *n, pl_error_t *err);
int pl_gen_previous(int state_fd, unsigned *n, pl_error_t *err);

/* The number a new generation gets: one more than any present or partial. */
int pl_gen_next(int state_fd, unsigned *n, pl_error_t *err);

/* Make generation n current; the one it replaces becomes previous. */
int pl_gen_switch(int state_fd, unsigned n, pl_error_t *err);

/* Make generation n current in place of the current one, which does not
 * become previous: n is the same environment, completed (env.h). */
int pl_gen_replace(int state_fd, unsigned n, pl_error_t *err);

/* Is the generation at absolute path `layer` the overlay layer of any mount
 * namespace this user can see (a running `pylock run`, a keep-alive holder)? */
bool pl_gen_in_use(const char *layer);

/* Read `name`, an entry of the lib directory `lib` of a generation (open
 * at lib_fd; lib relative to the prefix), as a fold (envgen.h) into the
 * cache's trees directory trees_path: 0 when it is a symbolic link that
 * reads <trees_path>/<key>/<lib>/<name>, <key> one name not starting with a
 * dot; its target into target (PATH_MAX bytes), *key and *klen naming
 * <key> in it.  -1 with errno: EINVAL not a symbolic link, or one leading
 * elsewhere. */
int pl_gen_fold_read(int lib_fd, const char *lib, const char *name, const char *trees_path,
                     char *target, const char **key, size_t *klen);

/* Does every symbolic link at the top of the lib directories of the
 * generation open at gen_fd (libs relative to the prefix, NULL: none) read
 * as a fold into trees_path?  A fold names its tree by the absolute path
 * the state had when the generation was built: once the state is moved or
 * copied, it leads to the old place, which no sandbox binds read-only.  -1
 * with the first that does not in err. */
int pl_gen_check_folds(int gen_fd, const char *const libs[2], const char *trees_path,
                       int (*each)(void *ctx, const char *key, size_t klen), void *ctx,
                       pl_error_t *err);

/* The same for generation `gen` (generations/N) of the project state open
 * at state_fd (its path state_path), folded into the cache of the state
 * root state_root, for interpreter `in`; `each` (or NULL) is called with
 * the key of every fold (0 to go on).  The error names the generation. */
int pl_gen_check_folds_of(int state_fd, const char *state_path, const char *gen,
                          const char *state_root, const struct pl_interp *in,
                          int (*each)(void *ctx, const char *key, size_t klen), void *ctx,
                          pl_error_t *err);

/* A stamp of the lib directories of generation `gen` of the project state
 * open at state_fd, for interpreter `in`: the device, inode, change and
 * modification times of each (or that it is absent).  A generation never
 * changes once built, but a state restored or copied over in place changes
 * it under its name: an entry made, removed or replaced at the top of a
 * lib directory (a fold), or the directory or the generation replaced,
 * changes the stamp; so does the state root's cache or its trees/ replaced
 * (by a link, say).  0 when it cannot be read. */
uint64_t pl_gen_folds_stamp(int state_fd, const char *gen, const char *state_root,
                            const struct pl_interp *in);

/* Remove generations/N (or a partial .N.tmp), including read-only dirs.
 * Refuses the current and previous generations. */
int pl_gen_remove(int state_fd, const char *name, pl_error_t *err);

/* Remove every partial .N.tmp a crashed change left behind, and the
 * temporary files of its atomic writes (.N.manifest.tmp<16 hex>). */
int pl_gen_remove_partials(int state_fd, pl_error_t *err);

#endif
