/* Unit-test helper: the tab-separated tables of tests/data/ (one case a
 * line; "\t", "\n", "\r", "\0" and "\\" escaped within a field).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TEST_TSV_H
#define PYLOCK_TEST_TSV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TSV_FIELDS_MAX 8
#define TSV_LINE_MAX 16384

struct tsv {
  FILE *f;
  char line[TSV_LINE_MAX];
  char *field[TSV_FIELDS_MAX];
  size_t len[TSV_FIELDS_MAX]; /* a field may hold a NUL */
  int nfields;
  unsigned long lineno;
};

/* Undo the escapes of one field in place; its length. */
static inline size_t tsv_unescape(char *s) {
  size_t o = 0;
  for (size_t i = 0; s[i]; i++) {
    if (s[i] == '\\' && s[i + 1]) {
      char c = s[++i];
      s[o++] = c == 't' ? '\t' : c == 'n' ? '\n' : c == 'r' ? '\r' : c == '0' ? '\0' : c;
    } else {
      s[o++] = s[i];
    }
  }
  s[o] = '\0';
  return o;
}

static inline int tsv_open(struct tsv *t, const char *path) {
  memset(t, 0, sizeof *t);
  t->f = fopen(path, "r");
  return t->f ? 0 : -1;
}

/* The next line's fields (unescaped); 0 at the end. */
static inline int tsv_next(struct tsv *t) {
  if (fgets(t->line, sizeof t->line, t->f) == NULL) return 0;
  t->lineno++;
  t->line[strcspn(t->line, "\n")] = '\0';
  t->nfields = 0;
  char *s = t->line;
  for (;;) {
    char *tab = strchr(s, '\t');
    if (tab) *tab = '\0';
    if (t->nfields < TSV_FIELDS_MAX) {
      t->field[t->nfields] = s;
      t->len[t->nfields] = tsv_unescape(s);
      t->nfields++;
    }
    if (tab == NULL) break;
    s = tab + 1;
  }
  return 1;
}

static inline void tsv_close(struct tsv *t) {
  if (t->f) fclose(t->f);
  t->f = NULL;
}

#endif
