/* pylock — TOML 1.0 reader and writer; see toml.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "toml.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

/* How a table or array came to be; drives the redefinition rules and the
 * writer's choice of syntax. */
enum {
  F_HEADER = 1u << 0,   /* table defined by [header], or an element of [[header]] */
  F_IMPLICIT = 1u << 1, /* table created as a prefix of a [header] path */
  F_DOTTED = 1u << 2,   /* table created by a dotted key */
  F_INLINE = 1u << 3,   /* inline table (or inside one / a value array): frozen */
  F_AOT = 1u << 4,      /* array created by [[header]]; any other array is static */
};

struct entry {
  char *key; /* NULL for array elements */
  size_t klen;
  struct pl_toml *val;
};

struct pl_toml {
  unsigned char type;
  unsigned char flags;
  unsigned short depth;
  union {
    int64_t i;
    double f;
    bool b;
    struct {
      char *s;
      size_t len;
    } str;
    struct pl_toml_datetime dt;
    struct {
      struct entry *items;
      size_t n, cap;
      uint32_t *hidx; /* open-addressing index into items (+1), for big tables */
      size_t hcap;
    } c;
  } u;
  size_t *nodes; /* the document's node counter, shared by all its nodes */
};

/* ---------------------------------------------------------------- nodes */

static struct pl_toml *node_new(struct pl_toml *parent, enum pl_toml_type type) {
  if (parent && *parent->nodes >= PL_TOML_MAX_NODES) return NULL;
  struct pl_toml *n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  n->type = (unsigned char)type;
  if (parent) {
    n->nodes = parent->nodes;
    n->depth = (unsigned short)(parent->depth + 1);
  } else {
    n->nodes = calloc(1, sizeof *n->nodes);
    if (n->nodes == NULL) {
      free(n);
      return NULL;
    }
  }
  (*n->nodes)++;
  return n;
}

static void node_free(struct pl_toml *n) {
  if (n == NULL) return;
  if (n->type == PL_TOML_TABLE || n->type == PL_TOML_ARRAY) {
    for (size_t i = 0; i < n->u.c.n; i++) {
      free(n->u.c.items[i].key);
      node_free(n->u.c.items[i].val);
    }
    free(n->u.c.items);
    free(n->u.c.hidx);
  } else if (n->type == PL_TOML_STRING) {
    free(n->u.str.s);
  }
  (*n->nodes)--;
  free(n);
}

void pl_toml_free(struct pl_toml *doc) {
  if (doc == NULL) return;
  size_t *count = doc->nodes;
  node_free(doc);
  free(count);
}

static uint32_t hash_key(const char *k, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)k[i]) * 16777619u;
  return h;
}

static struct entry *find(const struct pl_toml *t, const char *k, size_t klen) {
  if (t == NULL || t->type != PL_TOML_TABLE) return NULL;
  if (t->u.c.hidx) {
    size_t mask = t->u.c.hcap - 1;
    for (size_t h = hash_key(k, klen) & mask;; h = (h + 1) & mask) {
      uint32_t slot = t->u.c.hidx[h];
      if (slot == 0) return NULL;
      struct entry *e = &t->u.c.items[slot - 1];
      if (e->klen == klen && memcmp(e->key, k, klen) == 0) return e;
    }
  }
  for (size_t i = 0; i < t->u.c.n; i++) {
    struct entry *e = &t->u.c.items[i];
    if (e->klen == klen && memcmp(e->key, k, klen) == 0) return e;
  }
  return NULL;
}

static void index_put(struct pl_toml *t, size_t item) {
  size_t mask = t->u.c.hcap - 1;
  struct entry *e = &t->u.c.items[item];
  size_t h = hash_key(e->key, e->klen) & mask;
  while (t->u.c.hidx[h])
    h = (h + 1) & mask;
  t->u.c.hidx[h] = (uint32_t)(item + 1);
}

/* Append (key, val) to a container; takes ownership of val (frees it on
 * failure).  key is copied. */
static int attach(struct pl_toml *c, const char *key, size_t klen, struct pl_toml *val) {
  if (c->u.c.n == c->u.c.cap) {
    size_t cap = c->u.c.cap ? c->u.c.cap * 2 : 4;
    struct entry *items = reallocarray(c->u.c.items, cap, sizeof *items);
    if (items == NULL) goto fail;
    c->u.c.items = items;
    c->u.c.cap = cap;
  }
  struct entry *e = &c->u.c.items[c->u.c.n];
  e->key = NULL;
  e->klen = 0;
  if (key) {
    e->key = malloc(klen + 1);
    if (e->key == NULL) goto fail;
    memcpy(e->key, key, klen);
    e->key[klen] = '\0';
    e->klen = klen;
  }
  e->val = val;
  c->u.c.n++;
  if (c->type == PL_TOML_TABLE && c->u.c.n >= 8) {
    if (c->u.c.n * 2 > c->u.c.hcap) {
      size_t hcap = 16;
      while (hcap < c->u.c.n * 4)
        hcap *= 2;
      uint32_t *idx = calloc(hcap, sizeof *idx);
      if (idx == NULL) {
        c->u.c.n--;
        free(e->key);
        goto fail;
      }
      free(c->u.c.hidx);
      c->u.c.hidx = idx;
      c->u.c.hcap = hcap;
      for (size_t i = 0; i < c->u.c.n; i++)
        index_put(c, i);
    } else {
      index_put(c, c->u.c.n - 1);
    }
  }
  return 0;
fail:
  node_free(val);
  return -1;
}

static int is_ctrl(unsigned char c) {
  return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf)
    len = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef)
    len = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4)
    len = 4, cp = c & 0x07;
  else
    return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* ---------------------------------------------------------------- buffer */

struct buf {
  char *d;
  size_t n, cap, max;
};

static int buf_put(struct buf *b, const void *p, size_t n) {
  if (n > b->max - b->n) return -1;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *d = realloc(b->d, cap);
    if (d == NULL) return -1;
    b->d = d;
    b->cap = cap;
  }
  memcpy(b->d + b->n, p, n);
  b->n += n;
  b->d[b->n] = '\0';
  return 0;
}

static int buf_str(struct buf *b, const char *s) {
  return buf_put(b, s, strlen(s));
}

static int buf_utf8(struct buf *b, uint32_t cp) {
  unsigned char o[4];
  size_t n;
  if (cp < 0x80)
    o[0] = (unsigned char)cp, n = 1;
  else if (cp < 0x800)
    o[0] = (unsigned char)(0xc0 | (cp >> 6)), o[1] = (unsigned char)(0x80 | (cp & 0x3f)), n = 2;
  else if (cp < 0x10000)
    o[0] = (unsigned char)(0xe0 | (cp >> 12)), o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)),
    o[2] = (unsigned char)(0x80 | (cp & 0x3f)), n = 3;
  else
    o[0] = (unsigned char)(0xf0 | (cp >> 18)), o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f)),
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (unsigned char)(0x80 | (cp & 0x3f)),
    n = 4;
  return buf_put(b, o, n);
}

/* Numbers are read and written in the C locale whatever the process uses. */
static locale_t c_locale(void) {
  static locale_t loc;
  locale_t cur = __atomic_load_n(&loc, __ATOMIC_ACQUIRE);
  if (cur) return cur;
  locale_t fresh = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  if (fresh == (locale_t)0) return (locale_t)0;
  locale_t expected = (locale_t)0;
  if (!__atomic_compare_exchange_n(&loc, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    freelocale(fresh);
    return expected;
  }
  return fresh;
}

/* ---------------------------------------------------------------- parser */

struct parser {
  const unsigned char *s;
  size_t n, i;
  size_t line, line_start;
  pl_error_t *err;
  struct pl_toml *root, *section;
};

struct keypath {
  size_t n;
  struct {
    char *s;
    size_t len;
  } part[PL_TOML_MAX_DEPTH];
};

static void keypath_clear(struct keypath *k) {
  for (size_t i = 0; i < k->n; i++)
    free(k->part[i].s);
  k->n = 0;
}

static const char *type_article(unsigned char type, unsigned flags) {
  switch (type) {
  case PL_TOML_TABLE: return flags & F_INLINE ? "an inline table" : "a table";
  case PL_TOML_ARRAY: return flags & F_AOT ? "an array of tables" : "a static array";
  case PL_TOML_STRING: return "a string";
  case PL_TOML_INTEGER: return "an integer";
  case PL_TOML_FLOAT: return "a float";
  case PL_TOML_BOOL: return "a boolean";
  default: return "a date/time";
  }
}

static int perr(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...) {
  char what[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  size_t col = 1;
  for (size_t j = p->line_start; j < p->i && j < p->n; j++)
    if ((p->s[j] & 0xc0) != 0x80) col++;
  return pl_fail(p->err, 0, "TOML line %zu, column %zu: %s", p->line, col, what);
}

/* What is at the cursor, for error messages. */
static const char *found(const struct parser *p, char tmp[16]) {
  if (p->i >= p->n) return "end of input";
  unsigned char c = p->s[p->i];
  if (c == '\n' || c == '\r') return "end of line";
  if (c < 0x20 || c == 0x7f) {
    snprintf(tmp, 16, "byte 0x%02x", c);
    return tmp;
  }
  size_t len = utf8_seq(p->s + p->i, p->n - p->i);
  if (len == 0) len = 1;
  tmp[0] = '\'';
  memcpy(tmp + 1, p->s + p->i, len);
  tmp[len + 1] = '\'';
  tmp[len + 2] = '\0';
  return tmp;
}

/* Render a key path for messages, bounded. */
static void key_text(const struct keypath *k, size_t upto, char *out, size_t size) {
  size_t o = 0;
  out[0] = '\0';
  for (size_t i = 0; i < upto && i < k->n; i++) {
    int w = snprintf(out + o, size - o, "%s%.*s", i ? "." : "",
                     (int)(k->part[i].len > 64 ? 64 : k->part[i].len), k->part[i].s);
    if (w < 0 || (size_t)w >= size - o) break;
    o += (size_t)w;
  }
}

static bool at(const struct parser *p, char c) {
  return p->i < p->n && p->s[p->i] == (unsigned char)c;
}

static void skip_ws(struct parser *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t'))
    p->i++;
}

/* Consume "\n" or "\r\n"; 1 if consumed, 0 if not at a newline, -1 on a lone CR. */
static int newline(struct parser *p) {
  if (at(p, '\n')) {
    p->i++;
  } else if (at(p, '\r')) {
    if (p->i + 1 >= p->n || p->s[p->i + 1] != '\n')
      return perr(p, "carriage return not followed by line feed");
    p->i += 2;
  } else {
    return 0;
  }
  p->line++;
  p->line_start = p->i;
  return 1;
}

static int skip_comment(struct parser *p) {
  if (!at(p, '#')) return 0;
  for (p->i++; p->i < p->n && p->s[p->i] != '\n'; p->i++) {
    unsigned char c = p->s[p->i];
    if (c == '\r' && p->i + 1 < p->n && p->s[p->i + 1] == '\n') break;
    if (is_ctrl(c)) return perr(p, "control character 0x%02x not allowed in a comment", c);
  }
  return 0;
}

/* After a key/value pair or a header: optional comment, then end of line. */
static int expect_eol(struct parser *p, const char *after) {
  char tmp[16];
  skip_ws(p);
  if (skip_comment(p) < 0) return -1;
  if (p->i >= p->n) return 0;
  int r = newline(p);
  if (r < 0) return -1;
  if (r == 0) return perr(p, "expected end of line after %s, found %s", after, found(p, tmp));
  return 0;
}

/* Whitespace, comments and newlines, as allowed inside arrays. */
static int skip_blank(struct parser *p) {
  for (;;) {
    skip_ws(p);
    if (skip_comment(p) < 0) return -1;
    int r = newline(p);
    if (r < 0) return -1;
    if (r == 0) return 0;
  }
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_escape(struct parser *p, struct buf *b) {
  char tmp[16];
  p->i++; /* the backslash */
  if (p->i >= p->n) return perr(p, "unterminated escape sequence");
  unsigned char c = p->s[p->i];
  const char *simple = NULL;
  switch (c) {
  case 'b': simple = "\b"; break;
  case 't': simple = "\t"; break;
  case 'n': simple = "\n"; break;
  case 'f': simple = "\f"; break;
  case 'r': simple = "\r"; break;
  case '"': simple = "\""; break;
  case '\\': simple = "\\"; break;
  case 'u':
  case 'U': {
    size_t digits = c == 'u' ? 4 : 8;
    uint32_t cp = 0;
    for (size_t k = 1; k <= digits; k++) {
      int h = p->i + k < p->n ? hexval(p->s[p->i + k]) : -1;
      if (h < 0) {
        p->i += k;
        return perr(p, "expected %zu hex digits in \\%c escape, found %s", digits, c,
                    found(p, tmp));
      }
      cp = (cp << 4) | (uint32_t)h;
    }
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return perr(p, "escape \\%c%0*X is not a Unicode scalar value", c, (int)digits, cp);
    p->i += digits + 1;
    return buf_utf8(b, cp) < 0 ? perr(p, "string too long") : 0;
  }
  default:
    return perr(
        p,
        "invalid escape sequence: expected one of \\b \\t \\n \\f \\r \\\" \\\\ \\u \\U, found %s",
        found(p, tmp));
  }
  p->i++;
  return buf_put(b, simple, 1) < 0 ? perr(p, "string too long") : 0;
}

/* A string of any of the four kinds at the cursor (which is on a quote).
 * Multi-line forms only when allow_multi. */
static int parse_string(struct parser *p, bool allow_multi, char **out, size_t *olen) {
  unsigned char q = p->s[p->i];
  bool basic = q == '"';
  bool multi = p->i + 2 < p->n && p->s[p->i + 1] == q && p->s[p->i + 2] == q;
  if (multi && !allow_multi) return perr(p, "multi-line strings cannot be keys");
  struct buf b = {.max = PL_TOML_MAX_DOCUMENT};
  size_t start_line = p->line;
  p->i += multi ? 3 : 1;
  if (multi && newline(p) < 0) goto fail;
  for (;;) {
    if (p->i >= p->n) {
      perr(p, "unterminated string (opened on line %zu): expected %s", start_line,
           multi ? (basic ? "\"\"\"" : "'''") : (basic ? "'\"'" : "\"'\""));
      goto fail;
    }
    unsigned char c = p->s[p->i];
    if (c == q) {
      if (!multi) {
        p->i++;
        break;
      }
      size_t run = 0;
      while (p->i + run < p->n && p->s[p->i + run] == q && run < 6)
        run++;
      if (run >= 3) {
        if (run > 5) {
          p->i += 5;
          perr(p, "too many quotes at the end of a multi-line string");
          goto fail;
        }
        if (buf_put(&b, p->s + p->i, run - 3) < 0) goto toolong;
        p->i += run;
        break;
      }
      if (buf_put(&b, p->s + p->i, run) < 0) goto toolong;
      p->i += run;
    } else if (c == '\\' && basic) {
      if (multi) {
        /* Line-ending backslash: trims whitespace and newlines after it. */
        size_t j = p->i + 1;
        while (j < p->n && (p->s[j] == ' ' || p->s[j] == '\t'))
          j++;
        if (j < p->n && (p->s[j] == '\n' || p->s[j] == '\r')) {
          p->i = j;
          for (;;) {
            skip_ws(p);
            int r = newline(p);
            if (r < 0) goto fail;
            if (r == 0) break;
          }
          continue;
        }
      }
      if (parse_escape(p, &b) < 0) goto fail;
    } else if (c == '\n' || c == '\r') {
      if (!multi) {
        perr(p, "newline in a single-line string: expected %s", basic ? "'\"'" : "\"'\"");
        goto fail;
      }
      if (newline(p) < 0) goto fail;
      if (buf_put(&b, "\n", 1) < 0) goto toolong;
    } else if (is_ctrl(c)) {
      perr(p, "control character 0x%02x must be escaped in a string", c);
      goto fail;
    } else {
      size_t len = c < 0x80 ? 1 : utf8_seq(p->s + p->i, p->n - p->i);
      if (buf_put(&b, p->s + p->i, len) < 0) goto toolong;
      p->i += len;
    }
  }
  if (b.d == NULL && (b.d = strdup("")) == NULL) goto toolong;
  *out = b.d;
  *olen = b.n;
  return 0;
toolong:
  perr(p, "string too long or out of memory");
fail:
  free(b.d);
  return -1;
}

static bool is_bare(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

/* key = simple-key *( ws "." ws simple-key ), the cursor on its first char. */
static int parse_key(struct parser *p, struct keypath *k) {
  char tmp[16];
  k->n = 0;
  for (;;) {
    if (k->n == PL_TOML_MAX_DEPTH)
      return perr(p, "dotted key has more than %d parts", PL_TOML_MAX_DEPTH);
    char *s = NULL;
    size_t len = 0;
    if (at(p, '"') || at(p, '\'')) {
      if (parse_string(p, false, &s, &len) < 0) return -1;
    } else {
      size_t st = p->i;
      while (p->i < p->n && is_bare(p->s[p->i]))
        p->i++;
      if (p->i == st)
        return perr(p, "expected a key (bare, \"quoted\" or 'literal'), found %s", found(p, tmp));
      len = p->i - st;
      s = strndup((const char *)p->s + st, len);
      if (s == NULL) return perr(p, "out of memory");
    }
    k->part[k->n].s = s;
    k->part[k->n].len = len;
    k->n++;
    skip_ws(p);
    if (!at(p, '.')) return 0;
    p->i++;
    skip_ws(p);
  }
}

static int parse_value(struct parser *p, struct pl_toml *parent, struct pl_toml **out);

static bool digit_at(const struct parser *p, size_t j) {
  return j < p->n && p->s[j] >= '0' && p->s[j] <= '9';
}

static int digits(struct parser *p, size_t count, int *out) {
  int v = 0;
  for (size_t k = 0; k < count; k++) {
    if (!digit_at(p, p->i)) {
      char tmp[16];
      return perr(p, "expected a digit in date/time, found %s", found(p, tmp));
    }
    v = v * 10 + (p->s[p->i++] - '0');
  }
  *out = v;
  return 0;
}

static bool is_leap(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int parse_time(struct parser *p, struct pl_toml *n) {
  struct pl_toml_datetime *d = &n->u.dt;
  size_t st = p->i;
  if (digits(p, 2, &d->hour) < 0) return -1;
  if (!at(p, ':')) return perr(p, "expected ':' in time (HH:MM:SS)");
  p->i++;
  if (digits(p, 2, &d->minute) < 0) return -1;
  if (!at(p, ':'))
    return perr(p, "expected ':' and seconds in time (HH:MM:SS; seconds are required in TOML 1.0)");
  p->i++;
  if (digits(p, 2, &d->second) < 0) return -1;
  if (d->hour > 23 || d->minute > 59 || d->second > 59) {
    p->i = st;
    return perr(p, "time out of range: expected 00-23:00-59:00-59");
  }
  if (at(p, '.')) {
    p->i++;
    if (!digit_at(p, p->i)) return perr(p, "expected digits after '.' in time");
    int ns = 0, nd = 0;
    for (; digit_at(p, p->i); p->i++)
      if (nd < 9) ns = ns * 10 + (p->s[p->i] - '0'), nd++;
    for (int k = nd; k < 9; k++)
      ns *= 10;
    d->nanosecond = ns;
  }
  return 0;
}

static int parse_datetime(struct parser *p, struct pl_toml *n) {
  struct pl_toml_datetime *d = &n->u.dt;
  if (p->i + 2 < p->n && p->s[p->i + 2] == ':') {
    n->type = PL_TOML_TIME_LOCAL;
    return parse_time(p, n);
  }
  size_t st = p->i;
  if (digits(p, 4, &d->year) < 0) return -1;
  if (!at(p, '-')) return perr(p, "expected '-' in date (YYYY-MM-DD)");
  p->i++;
  if (digits(p, 2, &d->month) < 0) return -1;
  if (!at(p, '-')) return perr(p, "expected '-' in date (YYYY-MM-DD)");
  p->i++;
  if (digits(p, 2, &d->day) < 0) return -1;
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (d->month < 1 || d->month > 12 || d->day < 1 ||
      d->day > mdays[d->month - 1] + (d->month == 2 && is_leap(d->year))) {
    p->i = st;
    return perr(p, "date out of range: %04d-%02d-%02d does not exist", d->year, d->month, d->day);
  }
  n->type = PL_TOML_DATE_LOCAL;
  bool has_time = at(p, 'T') || at(p, 't') ||
                  (at(p, ' ') && digit_at(p, p->i + 1) && digit_at(p, p->i + 2) &&
                   p->i + 3 < p->n && p->s[p->i + 3] == ':');
  if (!has_time) return 0;
  p->i++;
  if (parse_time(p, n) < 0) return -1;
  n->type = PL_TOML_DATETIME_LOCAL;
  if (at(p, 'Z') || at(p, 'z')) {
    p->i++;
    n->type = PL_TOML_DATETIME;
  } else if (at(p, '+') || at(p, '-')) {
    int sign = at(p, '-') ? -1 : 1, oh = 0, om = 0;
    p->i++;
    if (digits(p, 2, &oh) < 0) return -1;
    if (!at(p, ':')) return perr(p, "expected ':' in time offset (+HH:MM)");
    p->i++;
    if (digits(p, 2, &om) < 0) return -1;
    if (oh > 23 || om > 59) return perr(p, "time offset out of range");
    d->offset_minutes = sign * (oh * 60 + om);
    n->type = PL_TOML_DATETIME;
  }
  return 0;
}

/* Digits of a base with '_' only between digits; *j advances past them. */
static int number_digits(const char *t, size_t m, size_t *j, int base) {
  size_t st = *j;
  for (; *j < m; (*j)++) {
    char c = t[*j];
    if (c == '_') {
      if (*j == st || *j + 1 >= m || hexval((unsigned char)t[*j + 1]) < 0 ||
          hexval((unsigned char)t[*j + 1]) >= base)
        return -1;
      continue;
    }
    int h = hexval((unsigned char)c);
    if (h < 0 || h >= base) break;
  }
  return *j == st ? -1 : 0;
}

static int parse_number(struct parser *p, struct pl_toml *n) {
  size_t st = p->i;
  while (p->i < p->n && (is_bare(p->s[p->i]) || p->s[p->i] == '.' || p->s[p->i] == '+'))
    p->i++;
  const char *t = (const char *)p->s + st;
  size_t m = p->i - st, j = 0;
  p->i = st;
  char tmp[16];
  if (m == 0) return perr(p, "expected a value, found %s", found(p, tmp));
  bool neg = t[0] == '-';
  size_t body = t[0] == '+' || t[0] == '-';
  const char *b = t + body;
  size_t bm = m - body;
  if ((bm == 3 && (memcmp(b, "inf", 3) == 0 || memcmp(b, "nan", 3) == 0))) {
    n->type = PL_TOML_FLOAT;
    n->u.f = b[0] == 'i' ? (neg ? -INFINITY : INFINITY) : (neg ? -NAN : NAN);
    p->i += m;
    return 0;
  }
  int base = 10;
  if (m > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o' || t[1] == 'b')) {
    base = t[1] == 'x' ? 16 : t[1] == 'o' ? 8 : 2;
    j = 2;
    if (number_digits(t, m, &j, base) < 0 || j != m)
      return perr(p, "invalid %s integer '%.*s'",
                  base == 16  ? "hexadecimal"
                  : base == 8 ? "octal"
                              : "binary",
                  (int)(m > 40 ? 40 : m), t);
  } else {
    j = body;
    if (number_digits(t, m, &j, 10) < 0) goto bad;
    if (t[body] == '0' && j - body > 1)
      return perr(p, "leading zeros are not allowed in '%.*s'", (int)(m > 40 ? 40 : m), t);
    bool is_float = false;
    if (j < m && t[j] == '.') {
      j++;
      is_float = true;
      if (number_digits(t, m, &j, 10) < 0) goto bad;
    }
    if (j < m && (t[j] == 'e' || t[j] == 'E')) {
      j++;
      is_float = true;
      if (j < m && (t[j] == '+' || t[j] == '-')) j++;
      if (number_digits(t, m, &j, 10) < 0) goto bad;
    }
    if (j != m) goto bad;
    if (is_float) {
      cleanup_free char *plain = malloc(m + 1);
      if (plain == NULL) return perr(p, "out of memory");
      size_t o = 0;
      for (size_t k = 0; k < m; k++)
        if (t[k] != '_') plain[o++] = t[k];
      plain[o] = '\0';
      n->type = PL_TOML_FLOAT;
      locale_t loc = c_locale();
      n->u.f = loc ? strtod_l(plain, NULL, loc) : strtod(plain, NULL);
      p->i += m;
      return 0;
    }
    j = body;
  }
  /* Integer: accumulate with an overflow check against INT64 bounds. */
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, v = 0;
  if (base != 10) j = 2;
  for (; j < m; j++) {
    if (t[j] == '_') continue;
    uint64_t dgt = (uint64_t)hexval((unsigned char)t[j]);
    if (v > (limit - dgt) / (uint64_t)base)
      return perr(p, "integer '%.*s' does not fit in 64 bits", (int)(m > 40 ? 40 : m), t);
    v = v * (uint64_t)base + dgt;
  }
  n->type = PL_TOML_INTEGER;
  n->u.i = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
  p->i += m;
  return 0;
bad:
  return perr(p, "invalid number '%.*s': expected an integer, a float, inf or nan",
              (int)(m > 40 ? 40 : m), t);
}

static struct pl_toml *child(struct parser *p, struct pl_toml *parent, enum pl_toml_type type) {
  if (parent->depth + 1 > PL_TOML_MAX_DEPTH) {
    perr(p, "nesting deeper than %d levels", PL_TOML_MAX_DEPTH);
    return NULL;
  }
  struct pl_toml *n = node_new(parent, type);
  if (n == NULL) perr(p, "document has more than %u values, or out of memory", PL_TOML_MAX_NODES);
  return n;
}

/* Attach under key and report failure as a parse error. */
static int put(struct parser *p, struct pl_toml *t, const char *k, size_t klen, struct pl_toml *v) {
  return attach(t, k, klen, v) < 0 ? perr(p, "out of memory") : 0;
}

static void freeze(struct pl_toml *t) {
  for (size_t i = 0; i < t->u.c.n; i++) {
    struct pl_toml *v = t->u.c.items[i].val;
    if (v->type == PL_TOML_TABLE && !(v->flags & F_INLINE)) {
      v->flags |= F_INLINE;
      freeze(v);
    }
  }
}

/* key = value into table t (a section or an inline table being read). */
static int parse_keyval(struct parser *p, struct pl_toml *t) {
  struct keypath k __attribute__((cleanup(keypath_clear))) = {0};
  char tmp[16], name[200];
  if (parse_key(p, &k) < 0) return -1;
  if (!at(p, '=')) return perr(p, "expected '=' after a key, found %s", found(p, tmp));
  p->i++;
  skip_ws(p);
  for (size_t i = 0; i + 1 < k.n; i++) {
    struct entry *e = find(t, k.part[i].s, k.part[i].len);
    if (e == NULL) {
      struct pl_toml *n = child(p, t, PL_TOML_TABLE);
      if (n == NULL) return -1;
      n->flags = F_DOTTED;
      if (put(p, t, k.part[i].s, k.part[i].len, n) < 0) return -1;
      t = n;
      continue;
    }
    struct pl_toml *v = e->val;
    key_text(&k, i + 1, name, sizeof name);
    if (v->type != PL_TOML_TABLE)
      return perr(p, "cannot use dotted key: '%s' is already %s", name,
                  type_article(v->type, v->flags));
    if (v->flags & F_INLINE)
      return perr(p, "cannot add keys to inline table '%s' after its definition", name);
    if (!(v->flags & F_DOTTED))
      return perr(p, "cannot extend table '%s' with a dotted key: it was defined by a [header]",
                  name);
    t = v;
  }
  const char *last = k.part[k.n - 1].s;
  size_t llen = k.part[k.n - 1].len;
  if (find(t, last, llen)) {
    key_text(&k, k.n, name, sizeof name);
    return perr(p, "duplicate key '%s'", name);
  }
  struct pl_toml *v = NULL;
  if (parse_value(p, t, &v) < 0) return -1;
  return put(p, t, last, llen, v);
}

static int parse_array(struct parser *p, struct pl_toml *a) {
  char tmp[16];
  p->i++;
  for (;;) {
    if (skip_blank(p) < 0) return -1;
    if (at(p, ']')) break;
    struct pl_toml *v = NULL;
    if (parse_value(p, a, &v) < 0) return -1;
    if (put(p, a, NULL, 0, v) < 0) return -1;
    if (skip_blank(p) < 0) return -1;
    if (at(p, ',')) {
      p->i++;
      continue;
    }
    if (at(p, ']')) break;
    return perr(p, "expected ',' or ']' in array, found %s", found(p, tmp));
  }
  p->i++;
  return 0;
}

static int parse_inline_table(struct parser *p, struct pl_toml *t) {
  char tmp[16];
  p->i++;
  skip_ws(p);
  if (at(p, '}')) {
    p->i++;
    return 0;
  }
  for (;;) {
    if (parse_keyval(p, t) < 0) return -1;
    skip_ws(p);
    if (at(p, '}')) break;
    if (!at(p, ','))
      return perr(p, "expected ',' or '}' in inline table (which must fit on one line), found %s",
                  found(p, tmp));
    p->i++;
    skip_ws(p);
    if (at(p, '}')) return perr(p, "trailing comma not allowed in an inline table");
  }
  p->i++;
  freeze(t);
  return 0;
}

static bool word_at(const struct parser *p, const char *w) {
  size_t l = strlen(w);
  if (p->n - p->i < l || memcmp(p->s + p->i, w, l) != 0) return false;
  return p->i + l >= p->n || !is_bare(p->s[p->i + l]);
}

static int parse_value(struct parser *p, struct pl_toml *parent, struct pl_toml **out) {
  char tmp[16];
  if (p->i >= p->n) return perr(p, "expected a value, found end of input");
  unsigned char c = p->s[p->i];
  bool container = c == '[' || c == '{';
  struct pl_toml *n =
      child(p, parent, container ? (c == '[' ? PL_TOML_ARRAY : PL_TOML_TABLE) : PL_TOML_BOOL);
  if (n == NULL) return -1;
  int r;
  if (c == '"' || c == '\'') {
    n->type = PL_TOML_STRING;
    r = parse_string(p, true, &n->u.str.s, &n->u.str.len);
  } else if (c == '[') {
    r = parse_array(p, n);
  } else if (c == '{') {
    n->flags = F_INLINE;
    r = parse_inline_table(p, n);
  } else if (word_at(p, "true") || word_at(p, "false")) {
    n->u.b = c == 't';
    p->i += n->u.b ? 4 : 5;
    r = 0;
  } else if (digit_at(p, p->i) && digit_at(p, p->i + 1) &&
             ((p->i + 2 < p->n && p->s[p->i + 2] == ':') ||
              (digit_at(p, p->i + 2) && digit_at(p, p->i + 3) && p->i + 4 < p->n &&
               p->s[p->i + 4] == '-'))) {
    r = parse_datetime(p, n);
  } else if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' || c == 'n') {
    r = parse_number(p, n);
  } else {
    r = perr(
        p, "expected a value (string, number, boolean, date/time, array or inline table), found %s",
        found(p, tmp));
  }
  if (r < 0) {
    if (n->type == PL_TOML_STRING) n->u.str.s = NULL;
    node_free(n);
    return -1;
  }
  *out = n;
  return 0;
}

static int define_header(struct parser *p, const struct keypath *k, bool aot);

static int parse_header(struct parser *p) {
  struct keypath k __attribute__((cleanup(keypath_clear))) = {0};
  char tmp[16];
  bool aot = p->i + 1 < p->n && p->s[p->i + 1] == '[';
  size_t start = p->i;
  p->i += aot ? 2 : 1;
  skip_ws(p);
  if (parse_key(p, &k) < 0) return -1;
  if (!at(p, ']') || (aot && (p->i + 1 >= p->n || p->s[p->i + 1] != ']')))
    return perr(p, "expected '%s' to close the table header, found %s", aot ? "]]" : "]",
                found(p, tmp));
  p->i += aot ? 2 : 1;
  size_t end = p->i;
  p->i = start; /* definition errors point at the header */
  if (define_header(p, &k, aot) < 0) return -1;
  p->i = end;
  return expect_eol(p, "a table header");
}

/* Walk/create the tables of a [header] or [[header]] path; set the section. */
static int define_header(struct parser *p, const struct keypath *k, bool aot) {
  char name[200];
  struct pl_toml *t = p->root;
  for (size_t i = 0; i + 1 < k->n; i++) {
    struct entry *e = find(t, k->part[i].s, k->part[i].len);
    struct pl_toml *v;
    if (e == NULL) {
      if ((v = child(p, t, PL_TOML_TABLE)) == NULL) return -1;
      v->flags = F_IMPLICIT;
      if (put(p, t, k->part[i].s, k->part[i].len, v) < 0) return -1;
    } else {
      v = e->val;
      key_text(k, i + 1, name, sizeof name);
      if (v->type == PL_TOML_ARRAY && (v->flags & F_AOT))
        v = v->u.c.items[v->u.c.n - 1].val;
      else if (v->type != PL_TOML_TABLE)
        return perr(p, "cannot define a table under '%s': it is %s", name,
                    type_article(v->type, v->flags));
      else if (v->flags & F_INLINE)
        return perr(p, "cannot extend inline table '%s' with a table header", name);
    }
    t = v;
  }
  const char *last = k->part[k->n - 1].s;
  size_t llen = k->part[k->n - 1].len;
  struct entry *e = find(t, last, llen);
  key_text(k, k->n, name, sizeof name);
  if (!aot) {
    if (e == NULL) {
      struct pl_toml *v = child(p, t, PL_TOML_TABLE);
      if (v == NULL) return -1;
      v->flags = F_HEADER;
      if (put(p, t, last, llen, v) < 0) return -1;
      p->section = v;
      return 0;
    }
    struct pl_toml *v = e->val;
    if (v->type == PL_TOML_TABLE && v->flags == F_IMPLICIT) {
      v->flags = F_HEADER;
      p->section = v;
      return 0;
    }
    if (v->type == PL_TOML_TABLE && (v->flags & F_DOTTED))
      return perr(p, "table [%s] was already defined by dotted keys", name);
    if (v->type == PL_TOML_TABLE) return perr(p, "table [%s] is defined more than once", name);
    return perr(p, "cannot define table [%s]: the key is already %s", name,
                type_article(v->type, v->flags));
  }
  struct pl_toml *a;
  if (e == NULL) {
    if ((a = child(p, t, PL_TOML_ARRAY)) == NULL) return -1;
    a->flags = F_AOT;
    if (put(p, t, last, llen, a) < 0) return -1;
  } else {
    a = e->val;
    if (a->type != PL_TOML_ARRAY || !(a->flags & F_AOT))
      return perr(p, "cannot define array of tables [[%s]]: the key is already %s", name,
                  type_article(a->type, a->flags));
  }
  struct pl_toml *v = child(p, a, PL_TOML_TABLE);
  if (v == NULL) return -1;
  v->flags = F_HEADER;
  if (put(p, a, NULL, 0, v) < 0) return -1;
  p->section = v;
  return 0;
}

static int validate_utf8(struct parser *p) {
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < p->n;) {
    size_t len = utf8_seq(p->s + i, p->n - i);
    if (len == 0) {
      p->i = i;
      p->line = line;
      p->line_start = line_start;
      return perr(p, "invalid UTF-8 (byte 0x%02x)", p->s[i]);
    }
    if (p->s[i] == '\n') line++, line_start = i + 1;
    i += len;
  }
  return 0;
}

int pl_toml_parse(const char *buf, size_t len, struct pl_toml **out, pl_error_t *err) {
  *out = NULL;
  if (len > PL_TOML_MAX_DOCUMENT)
    return pl_fail(err, EFBIG, "TOML document of %zu bytes exceeds the %u-byte limit", len,
                   PL_TOML_MAX_DOCUMENT);
  struct parser p = {.s = (const unsigned char *)buf, .n = len, .line = 1, .err = err};
  if (validate_utf8(&p) < 0) return -1;
  if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) p.i = p.line_start = 3;
  p.root = p.section = node_new(NULL, PL_TOML_TABLE);
  if (p.root == NULL) return pl_fail(err, ENOMEM, "out of memory");
  char tmp[16];
  while (p.i < p.n) {
    skip_ws(&p);
    if (skip_comment(&p) < 0) goto fail;
    if (p.i >= p.n) break;
    int r = newline(&p);
    if (r < 0) goto fail;
    if (r > 0) continue;
    if (at(&p, '[')) {
      if (parse_header(&p) < 0) goto fail;
    } else if (is_bare(p.s[p.i]) || at(&p, '"') || at(&p, '\'')) {
      if (parse_keyval(&p, p.section) < 0 || expect_eol(&p, "a value") < 0) goto fail;
    } else {
      perr(&p, "expected a key, a [table] or a comment, found %s", found(&p, tmp));
      goto fail;
    }
  }
  *out = p.root;
  return 0;
fail:
  pl_toml_free(p.root);
  return -1;
}

/* ---------------------------------------------------------------- access */

enum pl_toml_type pl_toml_type(const struct pl_toml *node) {
  return (enum pl_toml_type)node->type;
}

const char *pl_toml_type_name(enum pl_toml_type type) {
  static const char *const names[] = {
      "table",      "array",     "string",           "integer",
      "float",      "boolean",   "offset date-time", "local date-time",
      "local date", "local time"};
  return (unsigned)type < sizeof names / sizeof names[0] ? names[type] : "unknown";
}

struct pl_toml *pl_toml_get_key(const struct pl_toml *table, const char *key, size_t key_len) {
  struct entry *e = find(table, key, key_len);
  return e ? e->val : NULL;
}

struct pl_toml *pl_toml_get(const struct pl_toml *table, const char *path) {
  if (table == NULL || path == NULL) return NULL;
  struct parser p = {.s = (const unsigned char *)path, .n = strlen(path), .line = 1};
  struct keypath k __attribute__((cleanup(keypath_clear))) = {0};
  skip_ws(&p);
  int r = parse_key(&p, &k);
  if (r < 0 || p.i != p.n) return NULL;
  const struct pl_toml *t = table;
  for (size_t i = 0; i < k.n && t; i++)
    t = pl_toml_get_key(t, k.part[i].s, k.part[i].len);
  return (struct pl_toml *)t;
}

const char *pl_toml_as_string(const struct pl_toml *node, size_t *len) {
  if (node == NULL || node->type != PL_TOML_STRING) return NULL;
  if (len) *len = node->u.str.len;
  return node->u.str.s;
}

int pl_toml_as_integer(const struct pl_toml *node, int64_t *out) {
  if (node == NULL || node->type != PL_TOML_INTEGER) return -1;
  *out = node->u.i;
  return 0;
}

int pl_toml_as_float(const struct pl_toml *node, double *out) {
  if (node == NULL || node->type != PL_TOML_FLOAT) return -1;
  *out = node->u.f;
  return 0;
}

int pl_toml_as_bool(const struct pl_toml *node, bool *out) {
  if (node == NULL || node->type != PL_TOML_BOOL) return -1;
  *out = node->u.b;
  return 0;
}

static bool is_datetime(const struct pl_toml *n) {
  return n && n->type >= PL_TOML_DATETIME;
}

int pl_toml_as_datetime(const struct pl_toml *node, struct pl_toml_datetime *out) {
  if (!is_datetime(node)) return -1;
  *out = node->u.dt;
  return 0;
}

static int typed(const struct pl_toml *table, const char *path, enum pl_toml_type want,
                 const struct pl_toml **out, pl_error_t *err) {
  const struct pl_toml *n = pl_toml_get(table, path);
  if (n == NULL) return pl_fail(err, ENOENT, "missing key '%s'", path);
  if (n->type != want)
    return pl_fail(err, 0, "key '%s': expected %s, found %s", path, pl_toml_type_name(want),
                   pl_toml_type_name((enum pl_toml_type)n->type));
  *out = n;
  return 0;
}

int pl_toml_get_string(const struct pl_toml *table, const char *path, const char **out,
                       pl_error_t *err) {
  const struct pl_toml *n = NULL;
  if (typed(table, path, PL_TOML_STRING, &n, err) < 0) return -1;
  *out = n->u.str.s;
  return 0;
}

int pl_toml_get_integer(const struct pl_toml *table, const char *path, int64_t *out,
                        pl_error_t *err) {
  const struct pl_toml *n = NULL;
  if (typed(table, path, PL_TOML_INTEGER, &n, err) < 0) return -1;
  *out = n->u.i;
  return 0;
}

int pl_toml_get_bool(const struct pl_toml *table, const char *path, bool *out, pl_error_t *err) {
  const struct pl_toml *n = NULL;
  if (typed(table, path, PL_TOML_BOOL, &n, err) < 0) return -1;
  *out = n->u.b;
  return 0;
}

int pl_toml_get_table(const struct pl_toml *table, const char *path, struct pl_toml **out,
                      pl_error_t *err) {
  const struct pl_toml *n = NULL;
  if (typed(table, path, PL_TOML_TABLE, &n, err) < 0) return -1;
  *out = (struct pl_toml *)n;
  return 0;
}

int pl_toml_get_array(const struct pl_toml *table, const char *path, struct pl_toml **out,
                      pl_error_t *err) {
  const struct pl_toml *n = NULL;
  if (typed(table, path, PL_TOML_ARRAY, &n, err) < 0) return -1;
  *out = (struct pl_toml *)n;
  return 0;
}

static bool is_container(const struct pl_toml *n) {
  return n && (n->type == PL_TOML_TABLE || n->type == PL_TOML_ARRAY);
}

size_t pl_toml_count(const struct pl_toml *node) {
  return is_container(node) ? node->u.c.n : 0;
}

struct pl_toml *pl_toml_at(const struct pl_toml *node, size_t index) {
  return is_container(node) && index < node->u.c.n ? node->u.c.items[index].val : NULL;
}

const char *pl_toml_key_at(const struct pl_toml *table, size_t index, size_t *len) {
  if (table == NULL || table->type != PL_TOML_TABLE || index >= table->u.c.n) return NULL;
  if (len) *len = table->u.c.items[index].klen;
  return table->u.c.items[index].key;
}

bool pl_toml_equal(const struct pl_toml *a, const struct pl_toml *b) {
  if (a == NULL || b == NULL) return a == b;
  if (a->type != b->type) return false;
  switch (a->type) {
  case PL_TOML_TABLE:
    if (a->u.c.n != b->u.c.n) return false;
    for (size_t i = 0; i < a->u.c.n; i++) {
      struct entry *e = find(b, a->u.c.items[i].key, a->u.c.items[i].klen);
      if (e == NULL || !pl_toml_equal(a->u.c.items[i].val, e->val)) return false;
    }
    return true;
  case PL_TOML_ARRAY:
    if (a->u.c.n != b->u.c.n) return false;
    for (size_t i = 0; i < a->u.c.n; i++)
      if (!pl_toml_equal(a->u.c.items[i].val, b->u.c.items[i].val)) return false;
    return true;
  case PL_TOML_STRING:
    return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
  case PL_TOML_INTEGER: return a->u.i == b->u.i;
  case PL_TOML_FLOAT:
    return (isnan(a->u.f) && isnan(b->u.f)) || memcmp(&a->u.f, &b->u.f, sizeof a->u.f) == 0;
  case PL_TOML_BOOL: return a->u.b == b->u.b;
  default: return memcmp(&a->u.dt, &b->u.dt, sizeof a->u.dt) == 0;
  }
}

int pl_toml_datetime_text(const struct pl_toml *node, char *buf, size_t size) {
  if (!is_datetime(node) || size == 0) return -1;
  const struct pl_toml_datetime *d = &node->u.dt;
  size_t o = 0;
  int w;
#define EMIT(...)                                                                                  \
  do {                                                                                             \
    w = snprintf(buf + o, size - o, __VA_ARGS__);                                                  \
    if (w < 0 || (size_t)w >= size - o) return -1;                                                 \
    o += (size_t)w;                                                                                \
  } while (0)
  if (node->type != PL_TOML_TIME_LOCAL) EMIT("%04d-%02d-%02d", d->year, d->month, d->day);
  if (node->type == PL_TOML_DATETIME || node->type == PL_TOML_DATETIME_LOCAL) EMIT("T");
  if (node->type != PL_TOML_DATE_LOCAL) {
    EMIT("%02d:%02d:%02d", d->hour, d->minute, d->second);
    if (d->nanosecond) {
      int ns = d->nanosecond, digits = 9;
      for (; ns % 10 == 0; digits--)
        ns /= 10;
      EMIT(".%0*d", digits, ns);
    }
  }
  if (node->type == PL_TOML_DATETIME) {
    int off = d->offset_minutes;
    if (off == 0)
      EMIT("Z");
    else
      EMIT("%c%02d:%02d", off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
  }
#undef EMIT
  return 0;
}

/* ---------------------------------------------------------------- building */

struct pl_toml *pl_toml_new(void) {
  return node_new(NULL, PL_TOML_TABLE);
}

/* A new node under parent (a table with a fresh key, or an array). */
static struct pl_toml *add(struct pl_toml *parent, const char *key, enum pl_toml_type type,
                           pl_error_t *err) {
  if (!is_container(parent)) {
    pl_fail(err, 0, "cannot add a value to a %s",
            parent ? pl_toml_type_name((enum pl_toml_type)parent->type) : "NULL");
    return NULL;
  }
  if ((parent->type == PL_TOML_TABLE) != (key != NULL)) {
    pl_fail(err, 0,
            parent->type == PL_TOML_TABLE ? "a table entry needs a key"
                                          : "array elements have no key");
    return NULL;
  }
  if (key && find(parent, key, strlen(key))) {
    pl_fail(err, EEXIST, "duplicate key '%s'", key);
    return NULL;
  }
  if (parent->type == PL_TOML_ARRAY && (parent->flags & F_AOT) && type != PL_TOML_TABLE) {
    pl_fail(err, 0, "an array of tables can only hold tables");
    return NULL;
  }
  if (parent->depth + 1 > PL_TOML_MAX_DEPTH) {
    pl_fail(err, E2BIG, "nesting deeper than %d levels", PL_TOML_MAX_DEPTH);
    return NULL;
  }
  struct pl_toml *n = node_new(parent, type);
  if (n == NULL) {
    pl_fail(err, ENOMEM, "document has more than %u values, or out of memory", PL_TOML_MAX_NODES);
    return NULL;
  }
  if (attach(parent, key, key ? strlen(key) : 0, n) < 0) {
    pl_fail(err, ENOMEM, "out of memory");
    return NULL;
  }
  return n;
}

int pl_toml_add_string(struct pl_toml *parent, const char *key, const char *value, size_t len,
                       pl_error_t *err) {
  if (len == (size_t)-1) len = strlen(value);
  for (size_t i = 0; i < len;) {
    size_t l = utf8_seq((const unsigned char *)value + i, len - i);
    if (l == 0)
      return pl_fail(err, EILSEQ, "string for '%s' is not valid UTF-8", key ? key : "array");
    i += l;
  }
  char *s = malloc(len + 1);
  if (s == NULL) return pl_fail(err, ENOMEM, "out of memory");
  memcpy(s, value, len);
  s[len] = '\0';
  struct pl_toml *n = add(parent, key, PL_TOML_STRING, err);
  if (n == NULL) {
    free(s);
    return -1;
  }
  n->u.str.s = s;
  n->u.str.len = len;
  return 0;
}

int pl_toml_add_integer(struct pl_toml *parent, const char *key, int64_t value, pl_error_t *err) {
  struct pl_toml *n = add(parent, key, PL_TOML_INTEGER, err);
  if (n == NULL) return -1;
  n->u.i = value;
  return 0;
}

int pl_toml_add_float(struct pl_toml *parent, const char *key, double value, pl_error_t *err) {
  struct pl_toml *n = add(parent, key, PL_TOML_FLOAT, err);
  if (n == NULL) return -1;
  n->u.f = value;
  return 0;
}

int pl_toml_add_bool(struct pl_toml *parent, const char *key, bool value, pl_error_t *err) {
  struct pl_toml *n = add(parent, key, PL_TOML_BOOL, err);
  if (n == NULL) return -1;
  n->u.b = value;
  return 0;
}

int pl_toml_add_datetime(struct pl_toml *parent, const char *key, const char *text,
                         pl_error_t *err) {
  struct parser p = {.s = (const unsigned char *)text, .n = strlen(text), .line = 1, .err = err};
  struct pl_toml tmp = {0};
  if (!digit_at(&p, 0) || parse_datetime(&p, &tmp) < 0 || p.i != p.n) {
    pl_error_free(err);
    return pl_fail(err, 0, "'%s' is not a TOML date/time", text);
  }
  struct pl_toml *n = add(parent, key, (enum pl_toml_type)tmp.type, err);
  if (n == NULL) return -1;
  n->u.dt = tmp.u.dt;
  return 0;
}

/* Inside an inline table or a static array everything is inline. */
static bool inline_context(const struct pl_toml *parent) {
  return (parent->flags & F_INLINE) || (parent->type == PL_TOML_ARRAY && !(parent->flags & F_AOT));
}

struct pl_toml *pl_toml_add_table(struct pl_toml *parent, const char *key, enum pl_toml_style style,
                                  pl_error_t *err) {
  struct pl_toml *n = add(parent, key, PL_TOML_TABLE, err);
  if (n == NULL) return NULL;
  n->flags = style == PL_TOML_INLINE || inline_context(parent) ? F_INLINE : F_HEADER;
  return n;
}

struct pl_toml *pl_toml_add_array(struct pl_toml *parent, const char *key, enum pl_toml_style style,
                                  pl_error_t *err) {
  struct pl_toml *n = add(parent, key, PL_TOML_ARRAY, err);
  if (n == NULL) return NULL;
  if (style == PL_TOML_SECTION && !inline_context(parent)) n->flags = F_AOT;
  return n;
}

/* ---------------------------------------------------------------- writing */

static int put_key(struct buf *b, const char *k, size_t klen);

static int put_quoted(struct buf *b, const char *s, size_t len) {
  if (buf_put(b, "\"", 1) < 0) return -1;
  size_t run = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    const char *esc = NULL;
    char hex[8];
    switch (c) {
    case '"': esc = "\\\""; break;
    case '\\': esc = "\\\\"; break;
    case '\b': esc = "\\b"; break;
    case '\t': esc = "\\t"; break;
    case '\n': esc = "\\n"; break;
    case '\f': esc = "\\f"; break;
    case '\r': esc = "\\r"; break;
    default:
      if (is_ctrl(c)) {
        snprintf(hex, sizeof hex, "\\u%04X", c);
        esc = hex;
      }
    }
    if (esc == NULL) {
      run++;
      continue;
    }
    if (buf_put(b, s + i - run, run) < 0 || buf_str(b, esc) < 0) return -1;
    run = 0;
  }
  if (buf_put(b, s + len - run, run) < 0) return -1;
  return buf_put(b, "\"", 1);
}

static int put_key(struct buf *b, const char *k, size_t klen) {
  bool bare = klen > 0;
  for (size_t i = 0; i < klen && bare; i++)
    bare = is_bare((unsigned char)k[i]);
  return bare ? buf_put(b, k, klen) : put_quoted(b, k, klen);
}

/* Dotted path of keys, for headers and dotted keys. */
struct path {
  size_t n;
  const struct entry *part[PL_TOML_MAX_DEPTH + 1];
};

static int put_path(struct buf *b, const struct path *pa) {
  for (size_t i = 0; i < pa->n; i++)
    if ((i && buf_put(b, ".", 1) < 0) || put_key(b, pa->part[i]->key, pa->part[i]->klen) < 0)
      return -1;
  return 0;
}

static int put_float(struct buf *b, double f) {
  if (isnan(f)) return buf_str(b, "nan");
  if (isinf(f)) return buf_str(b, f < 0 ? "-inf" : "inf");
  char s[40];
  locale_t old = uselocale(c_locale());
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(s, sizeof s, "%.*g", prec, f);
    if (strtod(s, NULL) == f) break; /* uselocale above makes this the C locale */
  }
  uselocale(old);
  if (buf_str(b, s) < 0) return -1;
  return strpbrk(s, ".e") ? 0 : buf_str(b, ".0");
}

static int put_inline(struct buf *b, const struct pl_toml *v, bool multiline);

static int put_scalar_or_inline(struct buf *b, const struct pl_toml *v, bool top) {
  char s[64];
  switch (v->type) {
  case PL_TOML_STRING: return put_quoted(b, v->u.str.s, v->u.str.len);
  case PL_TOML_INTEGER: snprintf(s, sizeof s, "%lld", (long long)v->u.i); return buf_str(b, s);
  case PL_TOML_FLOAT: return put_float(b, v->u.f);
  case PL_TOML_BOOL: return buf_str(b, v->u.b ? "true" : "false");
  case PL_TOML_TABLE:
  case PL_TOML_ARRAY: return put_inline(b, v, top);
  default:
    if (pl_toml_datetime_text(v, s, sizeof s) < 0) return -1;
    return buf_str(b, s);
  }
}

/* An inline table or array; a top-level array of several tables or
 * strings goes one element per line. */
static int put_inline(struct buf *b, const struct pl_toml *v, bool multiline) {
  if (v->type == PL_TOML_TABLE) {
    if (v->u.c.n == 0) return buf_str(b, "{}");
    if (buf_str(b, "{") < 0) return -1;
    for (size_t i = 0; i < v->u.c.n; i++) {
      const struct entry *e = &v->u.c.items[i];
      if ((i && buf_str(b, ", ") < 0) || put_key(b, e->key, e->klen) < 0 || buf_str(b, " = ") < 0 ||
          put_scalar_or_inline(b, e->val, false) < 0)
        return -1;
    }
    return buf_str(b, "}");
  }
  bool lines = multiline && v->u.c.n > 1;
  for (size_t i = 0; lines && i < v->u.c.n; i++) {
    unsigned char t = v->u.c.items[i].val->type;
    lines = t == PL_TOML_STRING || t == PL_TOML_TABLE || t == PL_TOML_ARRAY;
  }
  if (buf_str(b, lines ? "[\n" : "[") < 0) return -1;
  for (size_t i = 0; i < v->u.c.n; i++) {
    if (lines ? buf_str(b, "    ") < 0 : (i && buf_str(b, ", ") < 0)) return -1;
    if (put_scalar_or_inline(b, v->u.c.items[i].val, false) < 0) return -1;
    if (lines && buf_str(b, ",\n") < 0) return -1;
  }
  return buf_str(b, "]");
}

static bool is_section(const struct pl_toml *v) {
  return v->type == PL_TOML_TABLE && (v->flags & (F_HEADER | F_IMPLICIT)) && !(v->flags & F_INLINE);
}
static bool is_aot(const struct pl_toml *v) {
  return v->type == PL_TOML_ARRAY && (v->flags & F_AOT) && v->u.c.n > 0;
}
static bool is_dotted(const struct pl_toml *v) {
  return v->type == PL_TOML_TABLE && (v->flags & F_DOTTED) && !(v->flags & F_INLINE) &&
         v->u.c.n > 0;
}

/* "key = value" lines of table t; dotted tables flatten into dotted keys. */
static int write_pairs(struct buf *b, const struct pl_toml *t, struct path *rel) {
  for (size_t i = 0; i < t->u.c.n; i++) {
    const struct entry *e = &t->u.c.items[i];
    if (is_section(e->val) || is_aot(e->val)) continue;
    rel->part[rel->n++] = e;
    int r;
    if (is_dotted(e->val))
      r = write_pairs(b, e->val, rel);
    else
      r = (put_path(b, rel) < 0 || buf_str(b, " = ") < 0 ||
           put_scalar_or_inline(b, e->val, true) < 0 || buf_str(b, "\n") < 0)
              ? -1
              : 0;
    rel->n--;
    if (r < 0) return -1;
  }
  return 0;
}

static bool has_pairs(const struct pl_toml *t) {
  for (size_t i = 0; i < t->u.c.n; i++)
    if (!is_section(t->u.c.items[i].val) && !is_aot(t->u.c.items[i].val)) return true;
  return false;
}

static int write_table(struct buf *b, const struct pl_toml *t, struct path *abs);

/* [sections] and [[arrays of tables]] below t, reached through dotted tables too. */
static int write_sections(struct buf *b, const struct pl_toml *t, struct path *abs) {
  for (size_t i = 0; i < t->u.c.n; i++) {
    const struct entry *e = &t->u.c.items[i];
    const struct pl_toml *v = e->val;
    if (!is_section(v) && !is_aot(v) && !is_dotted(v)) continue;
    abs->part[abs->n++] = e;
    int r = 0;
    if (is_dotted(v)) {
      r = write_sections(b, v, abs);
    } else if (is_section(v)) {
      /* A table holding only sub-tables needs no header of its own. */
      if (has_pairs(v) || v->u.c.n == 0)
        r = (buf_str(b, b->n ? "\n[" : "[") < 0 || put_path(b, abs) < 0 || buf_str(b, "]\n") < 0)
                ? -1
                : 0;
      if (r == 0) r = write_table(b, v, abs);
    } else {
      for (size_t k = 0; k < v->u.c.n && r == 0; k++)
        r = (buf_str(b, b->n ? "\n[[" : "[[") < 0 || put_path(b, abs) < 0 ||
             buf_str(b, "]]\n") < 0 || write_table(b, v->u.c.items[k].val, abs) < 0)
                ? -1
                : 0;
    }
    abs->n--;
    if (r < 0) return -1;
  }
  return 0;
}

static int write_table(struct buf *b, const struct pl_toml *t, struct path *abs) {
  struct path rel = {0};
  if (write_pairs(b, t, &rel) < 0) return -1;
  return write_sections(b, t, abs);
}

int pl_toml_write(const struct pl_toml *doc, char **out, size_t *len, pl_error_t *err) {
  struct buf b = {.max = PL_TOML_MAX_OUTPUT};
  struct path abs = {0};
  if (doc == NULL || doc->type != PL_TOML_TABLE) return pl_fail(err, 0, "not a TOML document");
  if (write_table(&b, doc, &abs) < 0 || (b.d == NULL && (b.d = strdup("")) == NULL)) {
    free(b.d);
    return pl_fail(err, ENOMEM, "TOML output exceeds %u bytes or out of memory",
                   PL_TOML_MAX_OUTPUT);
  }
  *out = b.d;
  if (len) *len = b.n;
  return 0;
}

/* ---------------------------------------------------------------- JSON dump */

static int json_string(struct buf *b, const char *s, size_t len) {
  if (buf_put(b, "\"", 1) < 0) return -1;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[8];
    if (c == '"' || c == '\\') {
      esc[0] = '\\', esc[1] = (char)c, esc[2] = '\0';
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\u%04x", c);
    } else {
      if (buf_put(b, s + i, 1) < 0) return -1;
      continue;
    }
    if (buf_str(b, esc) < 0) return -1;
  }
  return buf_put(b, "\"", 1);
}

static int json_value(struct buf *b, const struct pl_toml *v) {
  static const char *const tags[] = {"",           "",          "string",   "integer",
                                     "float",      "bool",      "datetime", "datetime-local",
                                     "date-local", "time-local"};
  if (v->type == PL_TOML_TABLE || v->type == PL_TOML_ARRAY) {
    bool tab = v->type == PL_TOML_TABLE;
    if (buf_str(b, tab ? "{" : "[") < 0) return -1;
    for (size_t i = 0; i < v->u.c.n; i++) {
      const struct entry *e = &v->u.c.items[i];
      if (i && buf_str(b, ",") < 0) return -1;
      if (tab && (json_string(b, e->key, e->klen) < 0 || buf_str(b, ":") < 0)) return -1;
      if (json_value(b, e->val) < 0) return -1;
    }
    return buf_str(b, tab ? "}" : "]");
  }
  if (buf_str(b, "{\"type\":\"") < 0 || buf_str(b, tags[v->type]) < 0 ||
      buf_str(b, "\",\"value\":") < 0)
    return -1;
  char s[64];
  switch (v->type) {
  case PL_TOML_STRING:
    if (json_string(b, v->u.str.s, v->u.str.len) < 0) return -1;
    break;
  case PL_TOML_INTEGER:
    snprintf(s, sizeof s, "\"%lld\"", (long long)v->u.i);
    if (buf_str(b, s) < 0) return -1;
    break;
  case PL_TOML_FLOAT:
    if (buf_str(b, "\"") < 0 || put_float(b, v->u.f) < 0 || buf_str(b, "\"") < 0) return -1;
    break;
  case PL_TOML_BOOL:
    if (buf_str(b, v->u.b ? "\"true\"" : "\"false\"") < 0) return -1;
    break;
  default:
    if (pl_toml_datetime_text(v, s + 1, sizeof s - 2) < 0) return -1;
    s[0] = '"';
    if (buf_str(b, s) < 0 || buf_str(b, "\"") < 0) return -1;
  }
  return buf_str(b, "}");
}

int pl_toml_dump_json(const struct pl_toml *doc, char **out, size_t *len, pl_error_t *err) {
  struct buf b = {.max = PL_TOML_MAX_OUTPUT};
  if (doc == NULL) return pl_fail(err, 0, "not a TOML document");
  if (json_value(&b, doc) < 0) {
    free(b.d);
    return pl_fail(err, ENOMEM, "JSON output exceeds %u bytes or out of memory",
                   PL_TOML_MAX_OUTPUT);
  }
  *out = b.d;
  if (len) *len = b.n;
  return 0;
}
