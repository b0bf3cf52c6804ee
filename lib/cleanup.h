/* pylock — scope-bound cleanup so early returns never leak. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CLEANUP_H
#define PYLOCK_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void pl_freep(void *p) {
  free(*(void **)p);
}
static inline void pl_closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}
static inline void pl_fclosep(FILE **f) {
  if (*f) fclose(*f);
}
static inline void pl_closedirp(DIR **d) {
  if (*d) closedir(*d);
}

#define cleanup_free __attribute__((cleanup(pl_freep)))
#define cleanup_close __attribute__((cleanup(pl_closep)))
#define cleanup_fclose __attribute__((cleanup(pl_fclosep)))
#define cleanup_dir __attribute__((cleanup(pl_closedirp)))

/* Hand ownership out of a cleanup variable. */
#define steal_pointer(pp)                                                                          \
  ({                                                                                               \
    __typeof__(*(pp)) _p = *(pp);                                                                  \
    *(pp) = NULL;                                                                                  \
    _p;                                                                                            \
  })
#define steal_fd(pfd)                                                                              \
  ({                                                                                               \
    int _fd = *(pfd);                                                                              \
    *(pfd) = -1;                                                                                   \
    _fd;                                                                                           \
  })

#endif
