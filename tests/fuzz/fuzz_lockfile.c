/* libFuzzer target: PEP 751 lock files (lib/lockfile.c over lib/toml.c), as a pull request
 * or another tool may write them.  What parses must write, re-parse and write again to the
 * same bytes, and select (lib/select.c) for one interpreter: only listed wheels, or a refusal
 * that says why.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "distname.h"
#include "lockfile.h"
#include "select.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

/* Every package is found by its own name; every wheel names a file and a place. */
static void check_model(const struct pl_lockfile *lf) {
  for (size_t i = 0; i < lf->npackages; i++) {
    const struct pl_lock_package *p = &lf->packages[i], *f = pl_lockfile_find(lf, p->name);
    if (p->name == NULL || f == NULL) abort();
    if (!pl_distname_equal(f->name, strlen(f->name), p->name, strlen(p->name))) abort();
    for (size_t k = 0; k < p->nwheels; k++) {
      const struct pl_lock_wheel *w = &p->wheels[k];
      if (w->name == NULL || (w->url == NULL && w->path == NULL)) abort();
      if (w->sha256[0] && strlen(w->sha256) != PL_SHA256_HEX - 1) abort();
    }
  }
}

/* Selection for CPython 3.12 on Linux x86_64, with an extra and a group asked for: a
 * chosen wheel is one the package lists, and fits; a refusal says why. */
static void check_select(const struct pl_lockfile *lf) {
  static const char *const extras[] = {"tests"}, *const groups[] = {"dev"};
  struct pl_select_target t = {.tags = {.impl = "cp",
                                        .py_major = 3,
                                        .py_minor = 12,
                                        .abi = "cp312",
                                        .abi3 = true,
                                        .arch = "x86_64",
                                        .libc = PL_LIBC_GLIBC,
                                        .libc_major = 2,
                                        .libc_minor = 36},
                               .python_full_version = "3.12.1",
                               .libc_text = "glibc 2.36"};
  static const char *const v[PL_MV_COUNT] = {[PL_MV_IMPLEMENTATION_NAME] = "cpython",
                                             [PL_MV_IMPLEMENTATION_VERSION] = "3.12.1",
                                             [PL_MV_OS_NAME] = "posix",
                                             [PL_MV_PLATFORM_MACHINE] = "x86_64",
                                             [PL_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython",
                                             [PL_MV_PLATFORM_RELEASE] = "6.1.0",
                                             [PL_MV_PLATFORM_SYSTEM] = "Linux",
                                             [PL_MV_PLATFORM_VERSION] = "#1 SMP",
                                             [PL_MV_PYTHON_FULL_VERSION] = "3.12.1",
                                             [PL_MV_PYTHON_VERSION] = "3.12",
                                             [PL_MV_SYS_PLATFORM] = "linux"};
  memcpy(t.env.value, v, sizeof v);
  struct pl_select_opts o = {extras, 1, groups, 1, true, true};
  struct pl_selection s;
  pl_error_t err = NULL;
  if (pl_select(lf, &t, &o, &s, &err) < 0) {
    if (err == NULL || err->msg == NULL) abort();
    debug(err);
    pl_error_free(&err);
    return;
  }
  size_t n = 0;
  for (size_t i = 0; i < lf->npackages; i++) {
    if (s.wheel[i] == PL_SELECT_NOT_SELECTED) continue;
    if (s.wheel[i] < 0 || (size_t)s.wheel[i] >= lf->packages[i].nwheels) abort();
    struct pl_wheel_filename fn;
    if (pl_wheel_filename_parse(lf->packages[i].wheels[s.wheel[i]].name, &fn, NULL) < 0) abort();
    if (pl_wheel_tags_rank(&fn, &t.tags) < 0) abort(); /* chose a wheel that does not fit */
    pl_wheel_filename_free(&fn);
    n++;
  }
  if (n != s.nselected || strchr(s.key, '\n')) abort();
  pl_selection_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_error_t err = NULL;
  struct pl_lockfile lf, again;
  if (pl_lockfile_parse((const char *)data, size, "pylock.toml", &lf, &err) < 0) {
    if (err == NULL || err->msg == NULL) abort();
    debug(err);
    pl_error_free(&err);
    return 0;
  }
  check_model(&lf);
  check_select(&lf);
  char *text = NULL, *text2 = NULL;
  size_t len = 0, len2 = 0;
  if (pl_lockfile_write(&lf, &text, &len, &err) < 0) {
    /* Writing may refuse what reading let through only by saying why. */
    if (err == NULL || err->msg == NULL) abort();
    debug(err);
    pl_error_free(&err);
    pl_lockfile_free(&lf);
    return 0;
  }
  check_model(&lf);
  if (pl_lockfile_parse(text, len, "written", &again, &err) < 0) abort(); /* wrote junk */
  if (again.npackages != lf.npackages || again.nrequested != lf.nrequested) abort();
  if (pl_lockfile_write(&again, &text2, &len2, &err) < 0) abort();
  if (len != len2 || memcmp(text, text2, len) != 0) abort(); /* not a fixed point */
  free(text);
  free(text2);
  pl_lockfile_free(&lf);
  pl_lockfile_free(&again);
  return 0;
}
