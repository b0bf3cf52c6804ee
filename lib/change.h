/* pylock — what a generation was built from, and changing pylock.toml and
 * the environment as one transaction.
 *
 * generations/N.meta records the lock generation N was built from: its
 * sha256, and its size, mtime and inode when N was built (so that a reader
 * can tell with one stat whether pylock.toml is still that file), the
 * project's sandbox settings, and N's stat fingerprint (manifest.h), which
 * `sync` compares to tell cheaply whether N was damaged since.
 *
 * `install` and `remove` change pylock.toml and the environment together:
 *   1. the new lock is written beside pylock.toml under a temporary name;
 *   2. generation N is built from it, its meta naming that file;
 *   3. the project's `change` record names N, the generation P current
 *      before, and the temporary name;
 *   4. the temporary file is renamed over pylock.toml: the commit point;
 *   5. `current` is switched to N and the record removed.
 * While a record exists, readers (run, shell, ci, the shim) take N if the
 * change is committed -- pylock.toml holds the bytes N was built from, or
 * current already names N -- else P: the old lock with the old environment
 * or the new with the new, never a mix.  The next command that takes the
 * change lock finishes a committed change or undoes the others, and says
 * which.
 *
 * The project directory is writable from inside every sandbox, the staged
 * lock included: a record names the bytes a generation was built from (not
 * whatever its file holds when the record is written), and `install` checks
 * that the staged file is still its own before it commits.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CHANGE_H
#define PYLOCK_CHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"
#include "manifest.h"
#include "sha.h"

#define PL_CHANGE_FILE "change"
#define PL_META_MAX 4096

#define PL_META_SELECTION_MAX 2048 /* bytes of pl_gen_meta.selection */

struct pl_gen_meta {
  char lock_sha256[PL_SHA256_HEX];
  size_t packages;
  bool strict, no_network; /* the project's sandbox settings */
  long long lock_size, lock_mtime_sec;
  long lock_mtime_nsec;
  unsigned long long lock_ino;
  char stat[PL_STAT_DIGEST_LEN + 1];     /* generations/N's fingerprint; "" if not recorded */
  char selection[PL_META_SELECTION_MAX]; /* the extras and groups it was built with (select.h) */
  bool no_bytecode; /* built from source trees: its byte-code follows in the next generation */
};

/* generations/N.meta, read and parsed; ENOENT if absent. */
int pl_meta_read(int state_fd, unsigned n, struct pl_gen_meta *m, pl_error_t *err);
/* Write generations/N.meta atomically. */
int pl_meta_write(int state_fd, unsigned n, const struct pl_gen_meta *m, pl_error_t *err);
/* The lock fields of m for a generation built from the lock `text` (len
 * bytes): its sha256, and the stat of the file root_fd/name if that file
 * holds exactly these bytes.  If it does not (something wrote it while the
 * generation was built), a stat no file has: readers then see the lock as
 * changed since, and sync rebuilds.  *same (may be NULL) says which. */
int pl_meta_set_lock(struct pl_gen_meta *m, int root_fd, const char *name, const char *text,
                     size_t len, bool *same, pl_error_t *err);
/* Whether generation n has its byte-code: its record says so (compiled),
 * or it imports from source (env.h) while a pylock compiles it (compiling,
 * *holder its pid or 0) or with nobody compiling it (pending: a sync was
 * killed or failed after its first switch; the next sync finishes it). */
enum pl_bytecode { PL_BYTECODE_COMPILED, PL_BYTECODE_PENDING, PL_BYTECODE_COMPILING };
int pl_meta_bytecode(int state_fd, unsigned n, enum pl_bytecode *b, pid_t *holder, pl_error_t *err);
/* "compiled", "pending", "compiling" */
const char *pl_bytecode_name(enum pl_bytecode b);

/* Is `st` (a stat of pylock.toml) the file m was built from? */
bool pl_meta_matches(const struct pl_gen_meta *m, const struct stat *st);

/* The generation readers use: while a change is recorded, its new
 * generation if committed, else the one before; otherwise current.  *n is
 * 0 when there is none. */
int pl_change_effective(int root_fd, int state_fd, unsigned *n, pl_error_t *err);

struct pl_change {
  unsigned gen, prev;
  char tmp[96]; /* the new lock's temporary name, in the project directory */
};
/* Is a change recorded (a command was killed between steps 3 and 5, and
 * no command has finished or undone it yet)?  1 and its generations in
 * *c, 0 when none, -1 when the record cannot be read. */
int pl_change_pending(int state_fd, struct pl_change *c);
/* Write the record (atomically, synced): step 3. */
int pl_change_record(int state_fd, const struct pl_change *c, pl_error_t *err);
/* Remove it (synced): step 5. */
int pl_change_clear(int state_fd, pl_error_t *err);

enum pl_change_outcome { PL_CHANGE_NONE, PL_CHANGE_FINISHED, PL_CHANGE_UNDONE };
/* With the change lock held: finish a recorded change that was committed
 * (switch to its generation) or undo one that was not (remove its
 * temporary lock and generation); then remove what killed commands left:
 * temporary files of pylock's in the project directory and the state.
 * *gen is the generation current afterwards. */
int pl_change_recover(int root_fd, int state_fd, enum pl_change_outcome *out, unsigned *gen,
                      pl_error_t *err);
/* The line a command says after pl_change_recover: false (buf "") when
 * there was nothing to finish or undo. */
bool pl_change_describe(enum pl_change_outcome o, unsigned gen, char *buf, size_t cap);

/* The project's own sandbox settings ([tool.pylock] strict,
 * [tool.pylock.sandbox]), as a generation's record keeps them. */
struct pl_env_policy {
  bool strict, no_network;
};

/* Without parsing anything: is there a current generation, and was it built
 * from pylock.toml as it is now (same size and mtime as at sync)?  *policy
 * (if not NULL) is the sandbox settings it was synced with, when it has a
 * record, fresh or stale (all false otherwise). */
enum pl_env_state { PL_ENV_MISSING, PL_ENV_STALE, PL_ENV_FRESH };
enum pl_env_state pl_env_quick_state(int root_fd, int state_fd, struct pl_env_policy *policy);

#endif
