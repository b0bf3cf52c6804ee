/* pylock — can this machine run pylock?  Each check says what it found
 * and, when it fails, the cause and the fix.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DOCTOR_H
#define PYLOCK_DOCTOR_H

#include <stdbool.h>

#include "error.h"

struct pl_check {
  const char *name; /* "user namespaces" */
  bool ok;
  bool warn;      /* ok, but pylock works in a weaker mode (said in detail) */
  char *detail;   /* what was found (ok) */
  pl_error_t err; /* cause and hint (failed) */
};

struct pl_doctor_opts {
  const char *state_dir; /* pylock's state root: its filesystem holds the overlay's layers */
  const char *python;    /* base interpreter to check, or NULL for the default */
  const char *prefix;    /* its prefix, if known */
};

/* Run every check; *checks is an array of *n results (free with pl_doctor_free). */
int pl_doctor_run(const struct pl_doctor_opts *o, struct pl_check **checks, int *n);
void pl_doctor_free(struct pl_check *checks, int n);

/* Run fn in a forked child (so namespaces it creates die with it); its error,
 * if any, comes back through a pipe.  Returns 0 or -1 with *err filled. */
int pl_in_child(int (*fn)(void *arg, pl_error_t *err), void *arg, pl_error_t *err);

/* "ext4 on /home, /dev/sda2, rw,relatime" for the filesystem holding path
 * (libmount; a statfs magic if libmount is missing).  Never NULL on success. */
char *pl_describe_filesystem(const char *path);

#endif
