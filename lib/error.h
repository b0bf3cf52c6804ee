/* pylock — error convention shared by every lib/ function.
 *
 * A failing function returns a negative int and fills *err with a message
 * that carries its context (path, syscall, errno) and, where one exists, a
 * hint telling the user how to fix it.  lib/ never prints or exits: only the
 * CLI decides how to show an error.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ERROR_H
#define PYLOCK_ERROR_H

#include <errno.h>
#include <stdbool.h>

#include <stdarg.h>

struct pl_error {
  int errnum; /* errno of the underlying failure, or 0 */
  char *msg;  /* what failed, with context */
  char *hint; /* how to fix it, or NULL */
};
typedef struct pl_error *pl_error_t;

/* errnum of a refusal pylock decides itself (a policy: an untrusted owner,
 * an unsigned pin): shown without any system error text, since no system
 * call failed.  Test for it with errnum == PL_REFUSED. */
#define PL_REFUSED (-EPERM)

/* Is err of errno class e, shown with its system text (e) or without (-e:
 * an HTTP 404 is "absent" but no system call said so)? */
static inline bool pl_error_is(const struct pl_error *err, int e) {
  return err && (err->errnum == e || err->errnum == -e);
}

/* Fill *err (freeing what it held) and return -1. errnum 0 means no errno. */
int pl_fail(pl_error_t *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like pl_fail, with a remedy for the user. */
int pl_fail_hint(pl_error_t *err, int errnum, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefix the message of an existing error with more context; returns -1. */
int pl_error_wrap(pl_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Set or replace the hint of an existing error; returns -1. */
int pl_error_set_hint(pl_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Render "msg: strerror(errnum)" into a newly allocated string (never NULL). */
char *pl_error_string(const struct pl_error *err);

void pl_error_free(pl_error_t *err);

#endif
