/* pylock — error values; see error.h for the convention. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *vformat(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

static int fail_v(pl_error_t *err, int errnum, const char *hint, const char *fmt, va_list ap) {
  if (err == NULL) return -1;
  pl_error_free(err);
  struct pl_error *e = calloc(1, sizeof *e);
  if (e == NULL) return -1;
  e->errnum = errnum;
  e->msg = vformat(fmt, ap);
  e->hint = hint ? strdup(hint) : NULL;
  *err = e;
  return -1;
}

int pl_fail(pl_error_t *err, int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_v(err, errnum, NULL, fmt, ap);
  va_end(ap);
  return -1;
}

int pl_fail_hint(pl_error_t *err, int errnum, const char *hint, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail_v(err, errnum, hint, fmt, ap);
  va_end(ap);
  return -1;
}

int pl_error_wrap(pl_error_t *err, const char *fmt, ...) {
  if (err == NULL || *err == NULL) return -1;
  va_list ap;
  va_start(ap, fmt);
  char *prefix = vformat(fmt, ap);
  va_end(ap);
  char *joined = NULL;
  if (prefix && asprintf(&joined, "%s: %s", prefix, (*err)->msg ? (*err)->msg : "") >= 0) {
    free((*err)->msg);
    (*err)->msg = joined;
  }
  free(prefix);
  return -1;
}

int pl_error_set_hint(pl_error_t *err, const char *fmt, ...) {
  if (err == NULL || *err == NULL) return -1;
  va_list ap;
  va_start(ap, fmt);
  char *hint = vformat(fmt, ap);
  va_end(ap);
  if (hint) {
    free((*err)->hint);
    (*err)->hint = hint;
  }
  return -1;
}

char *pl_error_string(const struct pl_error *err) {
  char *s = NULL;
  const char *msg = err && err->msg ? err->msg : "unknown error";
  int r;
  if (err && err->errnum > 0)
    r = asprintf(&s, "%s: %s", msg, strerror(err->errnum));
  else
    r = asprintf(&s, "%s", msg);
  return r < 0 ? strdup("out of memory") : s;
}

void pl_error_free(pl_error_t *err) {
  if (err == NULL || *err == NULL) return;
  free((*err)->msg);
  free((*err)->hint);
  free(*err);
  *err = NULL;
}
