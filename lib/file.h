/* pylock — bounded reads and atomic writes of whole files. */
#ifndef PYLOCK_FILE_H
#define PYLOCK_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read the regular file `name` (relative to dirfd; AT_FDCWD or an absolute
 * path work too) into a new NUL-terminated buffer.  Fails with EFBIG when it
 * holds more than max bytes, ENOENT when it does not exist. */
int pl_file_read_at(int dirfd, const char *name, size_t max, char **buf, size_t *len,
                    pl_error_t *err);

/* Replace dirfd/name with data atomically: write a fresh temporary file
 * beside it (O_EXCL, O_NOFOLLOW), fsync, rename over.  `name` may hold one
 * directory part ("targets/x.whl"); that directory must exist. */
int pl_file_write_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode,
                            pl_error_t *err);

/* Open a fresh temporary file in the directory of dirfd/name for an atomic
 * replace; *tmpname receives its name (relative to dirfd). */
int pl_file_tmp_open_at(int dirfd, const char *name, mode_t mode, char **tmpname, pl_error_t *err);
/* fsync fd, close it and rename tmpname over name; unlinks tmpname on failure. */
int pl_file_tmp_commit_at(int dirfd, int fd, const char *tmpname, const char *name,
                          pl_error_t *err);

/* mkdir -p: create path and missing parents with mode; existing dirs are fine. */
int pl_mkdir_p(const char *path, mode_t mode, pl_error_t *err);

#endif
