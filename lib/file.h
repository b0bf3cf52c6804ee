/* pylock — bounded reads and atomic writes relative to directory fds. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_FILE_H
#define PYLOCK_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read the regular file dirfd/name (AT_FDCWD and absolute paths work; a
 * symlink is followed, a FIFO fails instead of hanging) into a new
 * NUL-terminated buffer; EFBIG if it holds more than max bytes.  /proc files,
 * which report size 0, are read to their end.  len may be NULL. */
int pl_read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len,
                    pl_error_t *err);

/* pl_read_file_at, but a symlink at name is not followed (ELOOP): for a
 * name in a directory others can write, where a check made before opening
 * could be raced. */
int pl_read_file_nofollow_at(int dirfd, const char *name, size_t max, char **out, size_t *len,
                             pl_error_t *err);

/* Replace dirfd/name atomically: write a fresh temporary file beside it
 * (random name, O_EXCL, O_NOFOLLOW, exactly `mode`), fsync, rename over.  A
 * crash leaves the old content or the new, never a mix.  `name` may hold one
 * directory part ("targets/x.whl"); that directory must exist. */
int pl_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            pl_error_t *err);

/* pl_write_file_atomic_at without the fsync: for a file the caller makes
 * durable itself (pl_fsync_all, say) before anything depends on it. */
int pl_write_file_unsynced_at(int dirfd, const char *name, const void *data, size_t len,
                              mode_t mode, pl_error_t *err);

/* The two halves of an atomic replace, for content written by the caller:
 * open a temporary file beside dirfd/name (read-write, so that the content
 * can be checked before it is committed; *tmpname receives its name), then
 * fsync, close and rename it over name (unlinking it on failure). */
int pl_tmpfile_open_at(int dirfd, const char *name, mode_t mode, char **tmpname, pl_error_t *err);
int pl_tmpfile_commit_at(int dirfd, int fd, const char *tmpname, const char *name, pl_error_t *err);
/* pl_tmpfile_open_at with data written (unlinked on failure): its
 * descriptor, for pl_tmpfile_commit_at or pl_tmpfile_rename_at. */
int pl_tmpfile_write_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                        char **tmpname, pl_error_t *err);
/* pl_tmpfile_commit_at for a file the caller has fsynced already (with
 * others, pl_fsync_all): close and rename, no fsync of its own. */
int pl_tmpfile_rename_at(int dirfd, int fd, const char *tmpname, const char *name, pl_error_t *err);
/* pl_tmpfile_open_at, the file already locked (flock, exclusive) when its
 * name appears: the form for directories a sweep cleans of temporary files
 * no live writer holds (pl_cache_sweep).  Without O_TMPFILE (or /proc) it
 * locks right after creating, as before. */
int pl_tmpfile_open_locked_at(int dirfd, const char *name, mode_t mode, char **tmpname,
                              pl_error_t *err);

/* mkdir -p of a user-given path, following symlinks (config and state dirs). */
int pl_mkdir_p(const char *path, mode_t mode, pl_error_t *err);

/* mkdir -p of a path under dirfd (absolute paths start at /), each component
 * opened O_NOFOLLOW, '..' refused. */
int pl_mkdir_p_at(int dirfd, const char *relpath, mode_t mode, pl_error_t *err);

/* Open directory `rel` beneath dirfd: never above it, never through a
 * symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, else one component
 * at a time with O_NOFOLLOW); "" opens dirfd itself.  Returns the fd. */
int pl_open_dir_beneath(int dirfd, const char *rel, pl_error_t *err);

/* Make the directory dirfd/name (mode `mode`), locked (flock LOCK_EX) from
 * before it gets that name, marking it in use: a sweeper removes only what
 * it can lock, and holds the lock while it removes.  Returns the locked fd;
 * EEXIST when name exists.
 *
 * Code in a sandbox sees these directories read-only, but flock() needs no
 * write access: had the directory its name before its lock, such code could
 * lock it first (it watches the parent with inotify), and every maker would
 * fail.  So it is made under a random name in a stage of its own,
 * dirfd/.stage-RANDOM (mode 0300: nobody can list or watch it), locked
 * there, renamed into place, and the stage removed. */
#define PL_DIR_STAGE_PREFIX ".stage-"
int pl_dir_make_locked_at(int dirfd, const char *name, mode_t mode, pl_error_t *err);
/* Is dirfd/name a stage of pl_dir_make_locked_at's?  Then it is removed
 * when at least min_age seconds old (its maker was killed in the
 * microseconds it is used); min_age 0: whatever its time (a file system's
 * fine-grained mtime may be a second ahead of time()). */
bool pl_dir_sweep_stage(int dirfd, const char *name, int min_age);

/* rm -rf dirfd/name without following symlinks, making read-only
 * directories writable first (sealed cache trees, generations). */
int pl_remove_tree_at(int dirfd, const char *name, pl_error_t *err);
/* The same, never leaving dirfd's mount: a directory on another (a bind
 * mount, even of the same file system) is refused with EXDEV, nothing in it
 * touched.  For trees someone else may have put a mount in. */
int pl_remove_tree_within_at(int dirfd, const char *name, pl_error_t *err);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int pl_write_all(int fd, const void *buf, size_t len);

/* The strings, end to end, in one new allocation (NULL when out of memory):
 * what asprintf("%s%s...") makes, without printf's engine, which is most of
 * the cost of building a path on `pylock run`'s path.  pl_join(a, b, c);
 * the macro adds the terminating null pointer. */
char *pl_join_(const char *first, ...) __attribute__((sentinel));
#define pl_join(...) pl_join_(__VA_ARGS__, (const char *)0)
/* "name (uid N)", or "uid N" for a uid without a name: who owns a file, for messages. */
void pl_owner_name(uid_t uid, char *buf, size_t n);

/* A directory's entries read with getdents64 itself: fdopendir and readdir
 * cost an fstat and two fcntls per directory beside the reads (glibc),
 * which in a warm sync's walk of a thousand-file tree is a sixth of its
 * system calls.  The caller's fd is read from its current offset and stays
 * the caller's; "." and ".." are skipped. */
struct pl_dirents {
  int fd;
  long len, pos;
  _Alignas(8) char buf[8192];
};
void pl_dirents_init(struct pl_dirents *r, int fd);
/* The next entry: 1 (*name valid until the next call, *type a DT_ value,
 * DT_UNKNOWN where the filesystem does not say), 0 at the end, -1 (errno). */
int pl_dirents_next(struct pl_dirents *r, const char **name, unsigned *type);

#endif
