/* libFuzzer target: requirement strings, markers and versions (lib/pep508.c,
 * lib/version.c): parse, evaluate against a fixed interpreter, and check that
 * what pylock would hand pip reads back as the same requirement.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pep508.h"
#include "version.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pl_marker_env ENV = {.value = {
                                             [PL_MV_IMPLEMENTATION_NAME] = "cpython",
                                             [PL_MV_IMPLEMENTATION_VERSION] = "3.12.1",
                                             [PL_MV_OS_NAME] = "posix",
                                             [PL_MV_PLATFORM_MACHINE] = "x86_64",
                                             [PL_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython",
                                             [PL_MV_PLATFORM_RELEASE] = "6.1.0-18-amd64",
                                             [PL_MV_PLATFORM_SYSTEM] = "Linux",
                                             [PL_MV_PLATFORM_VERSION] = "#1 SMP Debian",
                                             [PL_MV_PYTHON_FULL_VERSION] = "3.12.1",
                                             [PL_MV_PYTHON_VERSION] = "3.12",
                                             [PL_MV_SYS_PLATFORM] = "linux",
                                         }};
static const char *const EXTRAS[] = {"test", "Foo_Bar"};
static const struct pl_marker_query QUERY = {
    .extra = "test", .extras = EXTRAS, .nextras = 2, .groups = EXTRAS, .ngroups = 1};

static void eval(const struct pl_marker *m) {
  pl_error_t err = NULL;
  bool out;
  if (pl_marker_eval(m, &ENV, &QUERY, &out, &err) < 0 && err == NULL) abort();
  pl_error_free(&err);
}

/* Parse, evaluate; what pylock hands pip must parse to the same text again. */
static void requirement(const char *s, unsigned flags) {
  struct pl_requirement r;
  pl_error_t err = NULL;
  if (pl_requirement_parse(s, flags, &r, &err) < 0) {
    if (err == NULL || err->msg == NULL || strchr(err->msg, '\n')) abort();
    pl_error_free(&err);
    return;
  }
  if (r.url && !(flags & PL_PEP508_ALLOW_URL)) abort();
  if (r.marker) eval(r.marker);
  char *f = pl_requirement_format(&r);
  struct pl_requirement again;
  if (f == NULL) abort();
  if (pl_requirement_parse(f, flags & ~PL_PEP508_ALLOW_URL, &again, &err) < 0) {
    /* The normal form's single spaces can take one near the length limit
     * over it: only then may it not parse. */
    if (strlen(f) <= PL_REQ_MAX_BYTES) abort();
    pl_error_free(&err);
    free(f);
    pl_requirement_free(&r);
    return;
  }
  char *g = pl_requirement_format(&again);
  if (g == NULL || strcmp(f, g) != 0 || strcmp(r.name, again.name) != 0 ||
      r.nspecs != again.nspecs || r.nextras != again.nextras)
    abort();
  free(f);
  free(g);
  pl_requirement_free(&again);
  pl_requirement_free(&r);
}

static void version(const char *s, size_t len) {
  struct pl_version v, w;
  char a[PL_VERSION_FORMAT_MAX], b[PL_VERSION_FORMAT_MAX];
  if (pl_version_parse(s, len, &v) < 0) return;
  if (pl_version_format(&v, a, sizeof a) < 0) abort();
  if (strlen(a) > PL_VERSION_MAX) return; /* "1a" is "1a0": the normal form may be longer */
  if (pl_version_parse(a, strlen(a), &w) < 0 || pl_version_cmp(&v, &w) != 0 ||
      pl_version_format(&w, b, sizeof b) < 0 || strcmp(a, b) != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 2 * PL_REQ_MAX_BYTES) return 0;
  char *s = malloc(size + 1);
  if (s == NULL) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  requirement(s, 0);
  requirement(s, PL_PEP508_ALLOW_URL | PL_PEP508_LOCK_MARKERS);
  struct pl_marker *m;
  pl_error_t err = NULL;
  if (pl_marker_parse(s, PL_PEP508_LOCK_MARKERS, &m, &err) == 0) {
    eval(m);
    char *f = pl_marker_format(m);
    struct pl_marker *again;
    if (f == NULL) abort();
    /* Single spaces around operators can make a marker near the length
     * limit longer than it: only then may the normal form not parse. */
    if (pl_marker_parse(f, PL_PEP508_LOCK_MARKERS, &again, &err) < 0) {
      if (strlen(f) <= PL_REQ_MAX_BYTES) abort();
      pl_error_free(&err);
    } else {
      pl_marker_free(again);
    }
    free(f);
    pl_marker_free(m);
  }
  pl_error_free(&err);
  version(s, strlen(s));
  pl_requires_dist_check(s, size, "fuzz", &err);
  pl_error_free(&err);
  free(s);
  return 0;
}
