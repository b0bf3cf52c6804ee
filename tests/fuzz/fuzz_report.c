/* libFuzzer target: pip's installation report (pl_resolve_parse_report) and pip's output on
 * failure (pl_resolve_pip_error), both written by a pip that ran over a hostile registry's
 * metadata.  Input: the signed targets, one "NAME LENGTH SHA256" line each, an empty line,
 * then the report's JSON.  Whatever is accepted must be a signed target with its hash.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

#define MAX_TARGETS 64
#define REGISTRY "https://registry.example/pypi"

static int cmp_target(const void *a, const void *b) {
  return strcmp(((const struct pl_tuf_target *)a)->name, ((const struct pl_tuf_target *)b)->name);
}

/* Parse the target lines of text (NUL-terminated, modified); returns the JSON's start. */
static char *parse_targets(char *text, struct pl_tuf_target *t, size_t *n) {
  char *line = text;
  *n = 0;
  while (line && *line && *line != '\n' && *n < MAX_TARGETS) {
    char *end = strchr(line, '\n');
    if (end) *end = '\0';
    char *name = line, *len = strchr(line, ' '), *sha = len ? strchr(len + 1, ' ') : NULL;
    if (sha) {
      *len++ = '\0', *sha++ = '\0';
      t[*n].name = name;
      t[*n].length = strtoull(len, NULL, 10);
      snprintf(t[*n].sha256, sizeof t[*n].sha256, "%s", sha);
      t[*n].sha512[0] = '\0';
      (*n)++;
    }
    line = end ? end + 1 : NULL;
  }
  if (line && *line == '\n') line++;
  return line ? line : text + strlen(text);
}

static void check_packages(const struct pl_lock_package *p, size_t n, const struct pl_tuf_target *t,
                           size_t nt) {
  for (size_t i = 0; i < n; i++) {
    if (p[i].nwheels != 1 || p[i].name == NULL || p[i].version == NULL) abort();
    const struct pl_lock_wheel *w = &p[i].wheels[0];
    const struct pl_tuf_target *tg =
        bsearch(&(struct pl_tuf_target){.name = w->name}, t, nt, sizeof *t, cmp_target);
    if (tg == NULL || strcmp(w->sha256, tg->sha256) != 0 || w->size != tg->length) abort();
    if (strcmp(p[i].index, REGISTRY) != 0 || strncmp(w->url, REGISTRY "/targets/", 38) != 0)
      abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  pl_error_t err = NULL;
  /* pip's output on failure: any bytes, as a NUL-terminated string. */
  if (pl_resolve_pip_error(text, size & 1 ? 1 << 8 : SIGKILL, &err) != -1 || err == NULL ||
      err->msg == NULL)
    abort();
  pl_error_free(&err);

  struct pl_tuf_target targets[MAX_TARGETS];
  size_t nt = 0;
  const char *json = parse_targets(text, targets, &nt);
  qsort(targets, nt, sizeof *targets, cmp_target);
  struct pl_lock_package *pkgs = NULL;
  size_t n = 0;
  size_t jlen = size - (size_t)(json - text);
  if (pl_resolve_parse_report(json, jlen, targets, nt, REGISTRY, &pkgs, &n, &err) == 0) {
    check_packages(pkgs, n, targets, nt);
    for (size_t i = 0; i < n; i++)
      pl_lock_package_free(&pkgs[i]);
    free(pkgs);
  } else if (err == NULL || err->msg == NULL) {
    abort();
  }
  debug(err);
  pl_error_free(&err);
  free(text);
  return 0;
}
