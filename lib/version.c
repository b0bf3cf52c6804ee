/* pylock — PEP 440 versions and specifiers; see version.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "version.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c) {
  return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'z');
}

static bool is_sep(char c) {
  return c == '-' || c == '_' || c == '.';
}

/* A scan of s[0..len) at *pos that writes parts into v->buf. */
struct scan {
  const char *s;
  size_t len, pos;
  struct pl_version *v;
  size_t used; /* bytes of v->buf */
};

static char peek(const struct scan *sc, size_t ahead) {
  return sc->pos + ahead < sc->len ? lower(sc->s[sc->pos + ahead]) : '\0';
}

/* Digits at pos into a part, leading zeros dropped; false if none. */
static bool scan_number(struct scan *sc, struct pl_vpart *out) {
  size_t start = sc->pos;
  while (sc->pos < sc->len && is_digit(sc->s[sc->pos]))
    sc->pos++;
  if (sc->pos == start) return false;
  while (start < sc->pos && sc->s[start] == '0')
    start++;
  out->off = (uint8_t)sc->used;
  out->len = (uint8_t)(sc->pos - start);
  memcpy(sc->v->buf + sc->used, sc->s + start, out->len);
  sc->used += out->len;
  return true;
}

/* The word at pos (case-insensitive) among `words`, longest first; its index or -1. */
static int scan_word(struct scan *sc, const char *const *words, size_t n) {
  int best = -1;
  size_t best_len = 0;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(words[i]);
    if (l <= best_len || sc->pos + l > sc->len) continue;
    size_t k = 0;
    while (k < l && lower(sc->s[sc->pos + k]) == words[i][k])
      k++;
    if (k == l) best = (int)i, best_len = l;
  }
  if (best >= 0) sc->pos += best_len;
  return best;
}

static void skip_sep(struct scan *sc) {
  if (sc->pos < sc->len && is_sep(sc->s[sc->pos])) sc->pos++;
}

/* [-_.]? (alpha|a|beta|b|preview|pre|c|rc) [-_.]? N? */
static void scan_pre(struct scan *sc) {
  static const char *const words[] = {"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"};
  static const char kind[] = {'a', 'a', 'b', 'b', 'r', 'r', 'r', 'r'};
  size_t save = sc->pos;
  skip_sep(sc);
  int w = scan_word(sc, words, sizeof words / sizeof words[0]);
  if (w < 0) {
    sc->pos = save;
    return;
  }
  sc->v->pre = kind[w];
  skip_sep(sc);
  scan_number(sc, &sc->v->pre_n);
}

/* -N | [-_.]? (post|rev|r) [-_.]? N? */
static void scan_post(struct scan *sc) {
  static const char *const words[] = {"post", "rev", "r"};
  size_t save = sc->pos;
  if (peek(sc, 0) == '-' && is_digit(peek(sc, 1))) {
    sc->pos++;
    scan_number(sc, &sc->v->post_n);
    sc->v->has_post = true;
    return;
  }
  skip_sep(sc);
  if (scan_word(sc, words, 3) < 0) {
    sc->pos = save;
    return;
  }
  sc->v->has_post = true;
  skip_sep(sc);
  scan_number(sc, &sc->v->post_n);
}

/* [-_.]? dev [-_.]? N? */
static void scan_dev(struct scan *sc) {
  static const char *const words[] = {"dev"};
  size_t save = sc->pos;
  skip_sep(sc);
  if (scan_word(sc, words, 1) < 0) {
    sc->pos = save;
    return;
  }
  sc->v->has_dev = true;
  skip_sep(sc);
  scan_number(sc, &sc->v->dev_n);
}

/* + [a-z0-9]+ ([-_.][a-z0-9]+)* : segments lowercased, numbers without leading zeros. */
static bool scan_local(struct scan *sc) {
  sc->pos++; /* '+' */
  for (;;) {
    size_t start = sc->pos;
    while (sc->pos < sc->len && is_alnum(sc->s[sc->pos]))
      sc->pos++;
    if (sc->pos == start) return false;
    bool numeric = true;
    for (size_t i = start; i < sc->pos; i++)
      numeric = numeric && is_digit(sc->s[i]);
    if (numeric)
      while (start < sc->pos && sc->s[start] == '0')
        start++;
    struct pl_vpart *p = &sc->v->local[sc->v->nlocal++];
    p->off = (uint8_t)sc->used;
    p->len = (uint8_t)(sc->pos - start);
    for (size_t i = start; i < sc->pos; i++)
      sc->v->buf[sc->used++] = lower(sc->s[i]);
    if (sc->pos == sc->len) return true;
    if (!is_sep(sc->s[sc->pos])) return false;
    sc->pos++;
  }
}

int pl_version_parse(const char *s, size_t len, struct pl_version *v) {
  memset(v, 0, sizeof *v);
  if (len == 0 || len > PL_VERSION_MAX) return -1;
  struct scan sc = {.s = s, .len = len, .v = v};
  if (peek(&sc, 0) == 'v') sc.pos++;
  /* An epoch is digits followed by '!'; otherwise they start the release. */
  size_t d = sc.pos;
  while (d < len && is_digit(s[d]))
    d++;
  if (d > sc.pos && d < len && s[d] == '!') {
    scan_number(&sc, &v->epoch);
    sc.pos++;
  }
  if (!scan_number(&sc, &v->release[v->nrelease++])) return -1;
  while (peek(&sc, 0) == '.' && is_digit(peek(&sc, 1))) {
    sc.pos++;
    scan_number(&sc, &v->release[v->nrelease++]);
  }
  scan_pre(&sc);
  scan_post(&sc);
  scan_dev(&sc);
  if (sc.pos < len && s[sc.pos] == '+' && !scan_local(&sc)) return -1;
  return sc.pos == len ? 0 : -1;
}

/* ------------------------------------------------------------ ordering */

/* Two numbers (digit strings without leading zeros). */
static int num_cmp(const struct pl_version *a, struct pl_vpart x, const struct pl_version *b,
                   struct pl_vpart y) {
  if (x.len != y.len) return x.len < y.len ? -1 : 1;
  int c = memcmp(a->buf + x.off, b->buf + y.off, x.len);
  return c < 0 ? -1 : c > 0;
}

static const struct pl_vpart ZERO = {0, 0};

static int release_cmp(const struct pl_version *a, const struct pl_version *b) {
  size_t n = a->nrelease > b->nrelease ? a->nrelease : b->nrelease;
  for (size_t i = 0; i < n; i++) {
    int c = num_cmp(a, i < a->nrelease ? a->release[i] : ZERO, b,
                    i < b->nrelease ? b->release[i] : ZERO);
    if (c) return c;
  }
  return 0;
}

/* Pre-release rank: a dev release of the final version sorts before its
 * pre-releases (1.0.dev0 < 1.0a0), a final version after them. */
static int pre_rank(const struct pl_version *v) {
  if (v->pre) return 1;
  if (!v->has_post && v->has_dev) return 0;
  return 2;
}

static int pre_cmp(const struct pl_version *a, const struct pl_version *b) {
  int ra = pre_rank(a), rb = pre_rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra != 1) return 0;
  if (a->pre != b->pre) return a->pre < b->pre ? -1 : 1; /* 'a' < 'b' < 'r' */
  return num_cmp(a, a->pre_n, b, b->pre_n);
}

static bool local_numeric(const struct pl_version *v, struct pl_vpart p) {
  for (size_t i = 0; i < p.len; i++)
    if (!is_digit(v->buf[p.off + i])) return false;
  return true;
}

/* Local segments: numbers compare as numbers and sort after words; a
 * shorter list that is a prefix of the longer sorts first. */
static int local_cmp(const struct pl_version *a, const struct pl_version *b) {
  for (size_t i = 0; i < a->nlocal && i < b->nlocal; i++) {
    struct pl_vpart x = a->local[i], y = b->local[i];
    bool nx = local_numeric(a, x), ny = local_numeric(b, y);
    int c;
    if (nx != ny) return nx ? 1 : -1;
    if (nx) {
      c = num_cmp(a, x, b, y);
    } else {
      size_t m = x.len < y.len ? x.len : y.len;
      c = memcmp(a->buf + x.off, b->buf + y.off, m);
      if (c == 0 && x.len != y.len) c = x.len < y.len ? -1 : 1;
    }
    if (c) return c < 0 ? -1 : 1;
  }
  if (a->nlocal != b->nlocal) return a->nlocal < b->nlocal ? -1 : 1;
  return 0;
}

/* Everything but the local version. */
static int public_cmp(const struct pl_version *a, const struct pl_version *b) {
  int c = num_cmp(a, a->epoch, b, b->epoch);
  if (c == 0) c = release_cmp(a, b);
  if (c == 0) c = pre_cmp(a, b);
  if (c == 0 && a->has_post != b->has_post) c = a->has_post ? 1 : -1;
  if (c == 0 && a->has_post) c = num_cmp(a, a->post_n, b, b->post_n);
  if (c == 0 && a->has_dev != b->has_dev) c = a->has_dev ? -1 : 1;
  if (c == 0 && a->has_dev) c = num_cmp(a, a->dev_n, b, b->dev_n);
  return c;
}

int pl_version_cmp(const struct pl_version *a, const struct pl_version *b) {
  int c = public_cmp(a, b);
  return c ? c : local_cmp(a, b);
}

bool pl_version_is_prerelease(const struct pl_version *v) {
  return v->pre || v->has_dev;
}

bool pl_version_is_postrelease(const struct pl_version *v) {
  return v->has_post;
}

/* ------------------------------------------------------------ formatting */

struct out {
  char *p;
  size_t cap, len;
  bool overflow;
};

static void put(struct out *o, const char *s, size_t n) {
  if (o->len + n + 1 > o->cap) {
    o->overflow = true;
    return;
  }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = '\0';
}

static void put_num(struct out *o, const struct pl_version *v, struct pl_vpart p) {
  if (p.len == 0)
    put(o, "0", 1);
  else
    put(o, v->buf + p.off, p.len);
}

int pl_version_format(const struct pl_version *v, char *out, size_t cap) {
  struct out o = {out, cap, 0, cap == 0};
  if (cap) out[0] = '\0';
  if (v->epoch.len) {
    put_num(&o, v, v->epoch);
    put(&o, "!", 1);
  }
  for (size_t i = 0; i < v->nrelease; i++) {
    if (i) put(&o, ".", 1);
    put_num(&o, v, v->release[i]);
  }
  if (v->pre) {
    put(&o, v->pre == 'r' ? "rc" : v->pre == 'a' ? "a" : "b", v->pre == 'r' ? 2 : 1);
    put_num(&o, v, v->pre_n);
  }
  if (v->has_post) {
    put(&o, ".post", 5);
    put_num(&o, v, v->post_n);
  }
  if (v->has_dev) {
    put(&o, ".dev", 4);
    put_num(&o, v, v->dev_n);
  }
  for (size_t i = 0; i < v->nlocal; i++) {
    put(&o, i ? "." : "+", 1);
    if (local_numeric(v, v->local[i]))
      put_num(&o, v, v->local[i]);
    else
      put(&o, v->buf + v->local[i].off, v->local[i].len);
  }
  return o.overflow ? -1 : (int)o.len;
}

/* ------------------------------------------------------------ specifiers */

static const char *const OPS[] = {
    [PL_SPEC_COMPATIBLE] = "~=", [PL_SPEC_EQ] = "==",         [PL_SPEC_NE] = "!=",
    [PL_SPEC_LE] = "<=",         [PL_SPEC_GE] = ">=",         [PL_SPEC_LT] = "<",
    [PL_SPEC_GT] = ">",          [PL_SPEC_ARBITRARY] = "===",
};

const char *pl_spec_op_str(enum pl_spec_op op) {
  return OPS[op];
}

size_t pl_spec_op_scan(const char *s, size_t len, enum pl_spec_op *op) {
  size_t best = 0;
  for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
    size_t l = strlen(OPS[i]);
    if (l > best && l <= len && memcmp(s, OPS[i], l) == 0) best = l, *op = (enum pl_spec_op)i;
  }
  return best;
}

/* PEP 508's version characters: what === may compare. */
static bool pep508_version_chars(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!is_alnum(s[i]) && !strchr("-_.*+!", s[i])) return false;
  return len > 0 && memchr(s, '\0', len) == NULL;
}

int pl_spec_init(enum pl_spec_op op, const char *s, size_t len, struct pl_spec *out,
                 const char **why) {
  memset(out, 0, sizeof *out);
  out->op = op;
  if (len == 0 || len > PL_VERSION_MAX) return *why = "a version of 1 to 128 characters", -1;
  memcpy(out->text, s, len);
  out->text[len] = '\0';
  if (op == PL_SPEC_ARBITRARY)
    return pep508_version_chars(s, len) ? 0 : (*why = "letters, digits and -_.*+! only", -1);
  bool star = len >= 2 && s[len - 1] == '*' && s[len - 2] == '.';
  if (star) {
    if (op != PL_SPEC_EQ && op != PL_SPEC_NE)
      return *why = "a \".*\" prefix match only with == or !=", -1;
    if (pl_version_parse(s, len - 2, &out->v) < 0 || out->v.pre || out->v.has_post ||
        out->v.has_dev || out->v.nlocal)
      return *why = "a release (N.N...) before \".*\"", -1;
    out->wildcard = true;
    return 0;
  }
  if (pl_version_parse(s, len, &out->v) < 0) return *why = "a PEP 440 version", -1;
  if (out->v.nlocal && op != PL_SPEC_EQ && op != PL_SPEC_NE)
    return *why = "a local version (+...) only with == or !=", -1;
  if (op == PL_SPEC_COMPATIBLE && out->v.nrelease < 2)
    return *why = "at least two release numbers after ~=", -1;
  return 0;
}

/* Epoch and release (trailing zeros aside) equal: the same base version. */
static bool same_base(const struct pl_version *a, const struct pl_version *b) {
  return num_cmp(a, a->epoch, b, b->epoch) == 0 && release_cmp(a, b) == 0;
}

/* PEP 440 prefix matching: same epoch, and v's release (zero-padded) starts
 * with the first n release numbers of the spec. */
static bool prefix_match(const struct pl_version *v, const struct pl_version *spec, size_t n) {
  if (num_cmp(v, v->epoch, spec, spec->epoch) != 0) return false;
  for (size_t i = 0; i < n; i++)
    if (num_cmp(v, i < v->nrelease ? v->release[i] : ZERO, spec, spec->release[i]) != 0)
      return false;
  return true;
}

static bool spec_equal(const struct pl_spec *s, const struct pl_version *v) {
  if (s->wildcard) return prefix_match(v, &s->v, s->v.nrelease);
  /* Without a local version in the spec, v's local version does not count. */
  return s->v.nlocal ? pl_version_cmp(v, &s->v) == 0 : public_cmp(v, &s->v) == 0;
}

bool pl_spec_contains(const struct pl_spec *s, const struct pl_version *v, bool prereleases) {
  if (!prereleases && pl_version_is_prerelease(v)) return false;
  const struct pl_version *sv = &s->v;
  switch (s->op) {
  case PL_SPEC_COMPATIBLE: /* ~=X.Y.Z is >=X.Y.Z, ==X.Y.* */
    return public_cmp(v, sv) >= 0 && prefix_match(v, sv, sv->nrelease - 1);
  case PL_SPEC_EQ: return spec_equal(s, v);
  case PL_SPEC_NE: return !spec_equal(s, v);
  case PL_SPEC_LE: return public_cmp(v, sv) <= 0;
  case PL_SPEC_GE: return public_cmp(v, sv) >= 0;
  case PL_SPEC_LT:
    /* <V excludes V's own pre-releases unless V is one. */
    return pl_version_cmp(v, sv) < 0 &&
           !(!pl_version_is_prerelease(sv) && pl_version_is_prerelease(v) && same_base(v, sv));
  case PL_SPEC_GT:
    /* >V excludes V's post-releases unless V is one, and V's local versions. */
    return pl_version_cmp(v, sv) > 0 && !(!sv->has_post && v->has_post && same_base(v, sv)) &&
           !(v->nlocal && same_base(v, sv));
  case PL_SPEC_ARBITRARY: {
    char norm[PL_VERSION_FORMAT_MAX];
    int n = pl_version_format(v, norm, sizeof norm);
    if (n < 0 || (size_t)n != strlen(s->text)) return false;
    for (int i = 0; i < n; i++)
      if (lower(norm[i]) != lower(s->text[i])) return false;
    return true;
  }
  }
  return false;
}

int pl_spec_format(const struct pl_spec *s, char *out, size_t cap) {
  int n = snprintf(out, cap, "%s%s", OPS[s->op], s->text);
  return n < 0 || (size_t)n >= cap ? -1 : n;
}
