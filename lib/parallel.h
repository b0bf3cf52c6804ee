/* pylock — the same work run in a few threads at once. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PARALLEL_H
#define PYLOCK_PARALLEL_H

#include <stddef.h>

#include "error.h"

/* Online CPUs, at least 1. */
unsigned pl_cpus(void);

/* Run fn(arg) in `threads` threads at once, the caller's among them, and
 * return once every one has returned; fn takes its share of the work from
 * arg (an atomic counter, say).  The other threads run with every signal
 * blocked, so that signals still reach the caller's thread; when threads
 * cannot be made, fewer run (the caller's alone at worst).  The process is
 * single-threaded again on return (unshare(CLONE_NEWUSER) needs that). */
void pl_parallel(unsigned threads, void (*fn)(void *arg), void *arg);

/* fsync every descriptor of fds, several at once: each fsync waits for its
 * own cache flush of the disk, and flushes issued together are merged by
 * the block layer.  The first failure is reported, after all are done. */
int pl_fsync_all(const int *fds, size_t n, pl_error_t *err);

#endif
