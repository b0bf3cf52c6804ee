/* pylock — bounded reads and atomic writes relative to directory fds. */
#ifndef PYLOCK_FILE_H
#define PYLOCK_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* Read all of dirfd/name (O_NOFOLLOW) into a NUL-terminated buffer; fail if
 * it is larger than max bytes. */
int pl_read_file_at(int dirfd, const char *name, size_t max, char **out, size_t *len,
                    pl_error_t *err);

/* Replace dirfd/name atomically: write a temporary file beside it, fsync,
 * rename over.  A crash leaves the old content or the new, never a mix. */
int pl_write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len,
                            mode_t mode, pl_error_t *err);

/* mkdir -p of a path under dirfd (absolute paths start at /), each component
 * opened O_NOFOLLOW, '..' refused. */
int pl_mkdir_p_at(int dirfd, const char *relpath, mode_t mode, pl_error_t *err);

/* Write all of buf to fd, retrying on EINTR and short writes. */
int pl_write_all(int fd, const void *buf, size_t len);

#endif
