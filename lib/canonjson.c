/* pylock — strict JSON parsing and canonical emission; see canonjson.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "canonjson.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

int pl_json_parse(const char *buf, size_t len, const char *what, json_t **out, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0) return -1;
  if (len > PL_JSON_MAX)
    return pl_fail(err, EFBIG, "%s: %zu bytes is more than the %zu allowed", what, len,
                   PL_JSON_MAX);
  json_error_t jerr;
  json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
  if (v == NULL)
    return pl_fail(err, 0, "%s: invalid JSON at line %d column %d: %s", what, jerr.line,
                   jerr.column, jerr.text);
  *out = v;
  return 0;
}

void pl_json_decref(json_t *v) {
  if (v && v->refcount != (size_t)-1 && JSON_INTERNAL_DECREF(v) == 0) json_delete(v);
}

int pl_json_set(json_t *obj, const char *key, json_t *value) {
  return json_object_set_new(obj, key, json_incref(value));
}

struct sbuf {
  char *p;
  size_t len, cap;
  int failed; /* errno of the first failure */
};

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (n > PL_JSON_MAX - b->len) {
    b->failed = EFBIG;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap < b->len + n + 1)
      ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (np == NULL) {
      b->failed = ENOMEM;
      return;
    }
    b->p = np;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_string(struct sbuf *b, const char *s, size_t n) {
  sb_add(b, "\"", 1);
  size_t start = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '"' && s[i] != '\\') continue;
    sb_add(b, s + start, i - start);
    sb_add(b, "\\", 1);
    start = i;
  }
  sb_add(b, s + start, n - start);
  sb_add(b, "\"", 1);
}

static int cmp_keys(const void *a, const void *b) {
  /* strcmp orders by unsigned bytes: UTF-8 byte order is code point order. */
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int emit(struct sbuf *b, const json_t *v, int depth, pl_error_t *err) {
  if (depth > 64) return pl_fail(err, 0, "canonical JSON: nested deeper than 64 levels");
  switch (json_typeof(v)) {
  case JSON_OBJECT: {
    size_t n = json_object_size(v), i = 0;
    cleanup_free const char **keys = calloc(n ? n : 1, sizeof *keys);
    if (keys == NULL) return pl_fail(err, ENOMEM, "canonical JSON");
    for (void *it = json_object_iter((json_t *)v); it && i < n;
         it = json_object_iter_next((json_t *)v, it))
      keys[i++] = json_object_iter_key(it);
    if (i) qsort(keys, i, sizeof *keys, cmp_keys);
    sb_add(b, "{", 1);
    for (size_t k = 0; k < i; k++) {
      if (k) sb_add(b, ",", 1);
      sb_string(b, keys[k], strlen(keys[k]));
      sb_add(b, ":", 1);
      if (emit(b, json_object_get(v, keys[k]), depth + 1, err) < 0) return -1;
    }
    sb_add(b, "}", 1);
    return 0;
  }
  case JSON_ARRAY: {
    sb_add(b, "[", 1);
    for (size_t k = 0; k < json_array_size(v); k++) {
      if (k) sb_add(b, ",", 1);
      if (emit(b, json_array_get(v, k), depth + 1, err) < 0) return -1;
    }
    sb_add(b, "]", 1);
    return 0;
  }
  case JSON_STRING: sb_string(b, json_string_value(v), json_string_length(v)); return 0;
  case JSON_INTEGER: {
    char num[32];
    int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    sb_add(b, num, (size_t)n);
    return 0;
  }
  case JSON_TRUE: sb_add(b, "true", 4); return 0;
  case JSON_FALSE: sb_add(b, "false", 5); return 0;
  case JSON_NULL: sb_add(b, "null", 4); return 0;
  case JSON_REAL: return pl_fail(err, 0, "canonical JSON: floating-point numbers are not allowed");
  }
  return pl_fail(err, 0, "canonical JSON: unknown value type");
}

int pl_json_canonical(const json_t *v, char **out, size_t *len, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0) return -1;
  struct sbuf b = {0};
  if (emit(&b, v, 0, err) < 0) {
    free(b.p);
    return -1;
  }
  sb_add(&b, "", 0);
  if (b.failed || b.p == NULL) {
    free(b.p);
    return pl_fail(err, b.failed ? b.failed : ENOMEM, "canonical JSON");
  }
  *out = b.p;
  *len = b.len;
  return 0;
}
