/* pylock — bounded reads and atomic writes of whole files, for the trust
 * layer: paths may name one subdirectory ("targets/x.whl"), temporary names
 * are random (O_EXCL), and reads follow symlinks (a trusted root may be a
 * link managed by configuration tools).  lib/file.h is the O_NOFOLLOW,
 * single-directory variant used by environments. */
#ifndef PYLOCK_ATOMICIO_H
#define PYLOCK_ATOMICIO_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read the regular file `name` (relative to dirfd; AT_FDCWD or an absolute
 * path work too) into a new NUL-terminated buffer.  Fails with EFBIG when it
 * holds more than max bytes, ENOENT when it does not exist. */
int pl_read_bounded_at(int dirfd, const char *name, size_t max, char **buf, size_t *len,
                       pl_error_t *err);

/* Replace dirfd/name with data atomically: write a fresh temporary file
 * beside it (O_EXCL, O_NOFOLLOW), fsync, rename over.  `name` may hold one
 * directory part ("targets/x.whl"); that directory must exist. */
int pl_replace_file_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                       pl_error_t *err);

/* Open a fresh temporary file in the directory of dirfd/name for an atomic
 * replace; *tmpname receives its name (relative to dirfd). */
int pl_tmpfile_open_at(int dirfd, const char *name, mode_t mode, char **tmpname, pl_error_t *err);
/* fsync fd, close it and rename tmpname over name; unlinks tmpname on failure. */
int pl_tmpfile_commit_at(int dirfd, int fd, const char *tmpname, const char *name, pl_error_t *err);

/* mkdir -p: create path and missing parents with mode; existing dirs are fine. */
int pl_mkdir_p(const char *path, mode_t mode, pl_error_t *err);

#endif
