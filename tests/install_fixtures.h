/* Shared by the installer's tests: temporary directories, fixture wheels,
 * interpreters re-rooted at a prefix of the test's choosing.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TEST_INSTALL_FIXTURES_H
#define PYLOCK_TEST_INSTALL_FIXTURES_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "interp.h"

#define PY312 "/opt/python3.12/bin/python3.12"
#define PYDEB "/usr/bin/python3"

static char *fx_mkdtemp(void) {
  char *t = strdup("/tmp/pylock-test-XXXXXX");
  assert_non_null(mkdtemp(t));
  return t;
}

static int fx_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fx_sh(const char *fmt, ...) {
  char cmd[16384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The fixture wheels (integration/fixtures/make-wheels.py) and the .data
 * wheel (tests/make-data-wheel.py) in dir. */
static void fx_make_wheels(const char *dir) {
  assert_int_equal(fx_sh("python3 integration/fixtures/make-wheels.py %s >/dev/null && "
                         "python3 tests/make-data-wheel.py %s >/dev/null",
                         dir, dir),
                   0);
}

static char *fx_rebase(const char *path, const char *old, const char *new_prefix) {
  char *s = NULL;
  assert_true(asprintf(&s, "%s%s", new_prefix, path + strlen(old)) > 0);
  return s;
}

/* The interpreter as probed, its scheme moved under `prefix` (what pip's
 * --prefix does); NULL prefix: as it is. */
static void fx_interp(const char *python, const char *prefix, struct pl_interp *in) {
  pl_error_t err = NULL;
  memset(in, 0, sizeof *in);
  if (pl_interp_probe(python, -1, in, &err) < 0) fail_msg("%s", pl_error_string(err));
  if (prefix == NULL) return;
  char *old = in->prefix;
#define REBASE(f)                                                                                  \
  {                                                                                                \
    char *n = fx_rebase(in->f, old, prefix);                                                       \
    free(in->f);                                                                                   \
    in->f = n;                                                                                     \
  }
  PL_SCHEME_DIRS(REBASE)
#undef REBASE
  in->prefix = strdup(prefix);
  free(old);
}

__attribute__((unused)) static double fx_ms(const struct timespec *a, const struct timespec *b) {
  return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

#endif
