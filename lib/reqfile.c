/* pylock — requirements files with sha256 hashes, and no pip options; see reqfile.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "reqfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "pep508.h"

void pl_reqfile_free(struct pl_reqfile *rf) {
  for (size_t i = 0; rf->entries && i < rf->n; i++) {
    free(rf->entries[i].requirement);
    free(rf->entries[i].sha256);
  }
  free(rf->entries);
  memset(rf, 0, sizeof *rf);
}

/* A blank within a line. */
static bool blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

/* Where the options of a line start: the first blank followed by '-'
 * outside quotes (markers quote their strings), or len. */
static size_t options_start(const char *s, size_t len) {
  char q = 0;
  for (size_t i = 0; i < len; i++) {
    if (q) {
      if (s[i] == q) q = 0;
    } else if (s[i] == '"' || s[i] == '\'') {
      q = s[i];
    } else if (blank(s[i]) && i + 1 < len && s[i + 1] == '-') {
      return i;
    }
  }
  return len;
}

/* One --hash value ("sha256:HEX") onto entry e. */
static int add_hash(struct pl_reqfile_entry *e, const char *v, size_t len, const char *what,
                    pl_error_t *err) {
  if (len < 7 || memcmp(v, "sha256:", 7) != 0)
    return pl_fail_hint(err, 0, "give sha256 hashes: --hash=sha256:HEX",
                        "%s: hash '%.*s' is not sha256 (the hash the registry signs)", what,
                        (int)(len > 80 ? 80 : len), v);
  v += 7, len -= 7;
  if (len != 64) return pl_fail(err, 0, "%s: a sha256 hash has 64 hex digits", what);
  if (e->nsha256 >= PL_REQFILE_MAX_HASHES)
    return pl_fail(err, E2BIG, "%s: more than %d hashes", what, PL_REQFILE_MAX_HASHES);
  char(*h)[PL_SHA256_HEX] = realloc(e->sha256, (e->nsha256 + 1) * sizeof *h);
  if (h == NULL) return pl_fail(err, ENOMEM, "%s", what);
  e->sha256 = h;
  for (size_t i = 0; i < 64; i++) {
    char c = v[i];
    if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return pl_fail(err, 0, "%s: a sha256 hash has 64 hex digits", what);
    h[e->nsha256][i] = c;
  }
  h[e->nsha256++][64] = '\0';
  return 0;
}

/* The options after a requirement: --hash=sha256:HEX (or --hash sha256:HEX) only. */
static int parse_options(const char *s, size_t len, struct pl_reqfile_entry *e, const char *what,
                         pl_error_t *err) {
  size_t i = 0;
  while (i < len) {
    while (i < len && blank(s[i]))
      i++;
    if (i >= len) break;
    size_t j = i;
    while (j < len && !blank(s[j]))
      j++;
    if (j - i > 7 && memcmp(s + i, "--hash=", 7) == 0) {
      if (add_hash(e, s + i + 7, j - i - 7, what, err) < 0) return -1;
    } else if (j - i == 6 && memcmp(s + i, "--hash", 6) == 0) {
      size_t k = j;
      while (k < len && blank(s[k]))
        k++;
      size_t l = k;
      while (l < len && !blank(s[l]))
        l++;
      if (add_hash(e, s + k, l - k, what, err) < 0) return -1;
      j = l;
    } else {
      return pl_fail_hint(err, PL_REFUSED,
                          "keep requirements and their --hash options only; the registry is the "
                          "project's (pylock init --registry)",
                          "%s: pip option '%.*s' is not accepted in a requirements file", what,
                          (int)(j - i > 60 ? 60 : j - i), s + i);
    }
    i = j;
  }
  return 0;
}

/* One logical line: a comment, a requirement and its --hash options, or a refused option. */
static int parse_line(struct pl_reqfile *rf, char *line, size_t len, const char *what,
                      pl_error_t *err) {
  /* A comment: '#' at the start or after a blank. */
  for (size_t i = 0; i < len; i++)
    if (line[i] == '#' && (i == 0 || blank(line[i - 1]))) len = i;
  while (len > 0 && blank(line[len - 1]))
    len--;
  size_t start = 0;
  while (start < len && blank(line[start]))
    start++;
  if (start == len) return 0;
  line += start, len -= start;
  if (line[0] == '-') return parse_options(line, len, &(struct pl_reqfile_entry){0}, what, err);
  if (rf->n >= PL_REQFILE_MAX_LINES)
    return pl_fail(err, E2BIG, "%s: more than %d requirements", what, PL_REQFILE_MAX_LINES);
  struct pl_reqfile_entry *v = realloc(rf->entries, (rf->n + 1) * sizeof *v);
  if (v == NULL) return pl_fail(err, ENOMEM, "%s", what);
  rf->entries = v;
  struct pl_reqfile_entry *e = &v[rf->n];
  memset(e, 0, sizeof *e);
  rf->n++;
  size_t opt = options_start(line, len), rl = opt;
  while (rl > 0 && blank(line[rl - 1]))
    rl--;
  if ((e->requirement = strndup(line, rl)) == NULL) return pl_fail(err, ENOMEM, "%s", what);
  struct pl_requirement r;
  if (pl_requirement_parse(e->requirement, 0, &r, err) < 0) return pl_error_wrap(err, "%s", what);
  snprintf(e->name, sizeof e->name, "%s", r.name);
  pl_requirement_free(&r);
  if (parse_options(line + opt, len - opt, e, what, err) < 0) return -1;
  rf->hashes |= e->nsha256 > 0;
  return 0;
}

int pl_reqfile_parse(const char *buf, size_t len, const char *what, struct pl_reqfile *out,
                     pl_error_t *err) {
  memset(out, 0, sizeof *out);
  if (len > PL_REQFILE_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s: larger than %zu bytes", what, PL_REQFILE_MAX_BYTES);
  if (memchr(buf, '\0', len)) return pl_fail(err, 0, "%s: holds a NUL byte", what);
  cleanup_free char *logical = malloc(len + 1);
  if (logical == NULL) return pl_fail(err, ENOMEM, "%s", what);
  size_t i = 0, lineno = 1;
  while (i < len) {
    /* One logical line: physical lines joined where one ends in '\'. */
    size_t n = 0, first = lineno;
    while (i < len) {
      if (buf[i] == '\\' && (i + 1 == len || buf[i + 1] == '\n')) {
        i += 2, lineno++;
        continue;
      }
      if (buf[i] == '\n') {
        i++, lineno++;
        break;
      }
      logical[n++] = buf[i++];
    }
    char where[300];
    snprintf(where, sizeof where, "%s line %zu", what, first);
    if (parse_line(out, logical, n, where, err) < 0) {
      pl_reqfile_free(out);
      return -1;
    }
  }
  return 0;
}
