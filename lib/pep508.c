/* pylock — PEP 508 requirements and markers; see pep508.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "pep508.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "archive_path.h"
#include "metadata.h"

#define DIRECT_REF                                                                                 \
  "a direct reference (URL, path or VCS) is not allowed: pylock installs only signed wheels "      \
  "from the registry"

/* ------------------------------------------------------------ characters */

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

static bool is_alnum(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

/* A character of a marker variable's name (and of Python's \w, ASCII). */
static bool is_word(char c) {
  return is_alnum(c) || c == '_' || c == '.';
}

/* PEP 508's python_str_c, less wsp: what a quoted marker string may hold
 * besides blanks and the other quote. */
static bool is_str_char(char c) {
  return is_alnum(c) || (c != '\0' && strchr("().{}-_*#:;,/?[]!~`@$%^&=+|<>", c) != NULL);
}

/* A version as PEP 508 spells it in a specifier. */
static bool is_version_char(char c) {
  return is_alnum(c) || (c != '\0' && strchr("-_.*+!", c) != NULL);
}

/* ------------------------------------------------------------ the parser */

struct parser {
  const char *s;
  size_t len, pos;
  unsigned flags;
  const char *kind; /* "requirement" or "marker" */
  pl_error_t *err;
  bool syntax;         /* the error set is a syntax error (fail_at) */
  struct pl_marker *m; /* being built */
  size_t cap_nodes, clauses, pool_used;
};

/* Fail at byte `at`: the text quoted, what was expected, the column. */
static int fail_at(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parser *p, size_t at, const char *fmt, ...) {
  char q[PL_QUOTE_CAP], what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  p->syntax = true;
  return pl_fail(p->err, 0, "%s \"%s\": %s (column %zu)", p->kind,
                 pl_path_quote(q, sizeof q, p->s, p->len), what, at + 1);
}

static int fail_direct(struct parser *p) {
  char q[PL_QUOTE_CAP];
  return pl_fail(p->err, 0, "%s \"%s\": " DIRECT_REF, p->kind,
                 pl_path_quote(q, sizeof q, p->s, p->len));
}

static char cur(const struct parser *p) {
  return p->pos < p->len ? p->s[p->pos] : '\0';
}

static size_t skip_wsp(struct parser *p) {
  size_t start = p->pos;
  while (p->pos < p->len && is_wsp(p->s[p->pos]))
    p->pos++;
  return p->pos - start;
}

/* identifier = letterOrDigit ( [-_.]* letterOrDigit )*; its length, 0 if none. */
static size_t scan_identifier(const struct parser *p) {
  size_t i = p->pos, end = 0;
  if (i >= p->len || !is_alnum(p->s[i])) return 0;
  while (i < p->len) {
    while (i < p->len && (p->s[i] == '-' || p->s[i] == '_' || p->s[i] == '.'))
      i++;
    if (i >= p->len || !is_alnum(p->s[i])) break;
    while (i < p->len && is_alnum(p->s[i]))
      i++;
    end = i;
  }
  return end - p->pos;
}

/* ------------------------------------------------------------ markers */

static const struct {
  const char *name;
  enum pl_marker_var var;
} VARS[] = {
    {"implementation_name", PL_MV_IMPLEMENTATION_NAME},
    {"implementation_version", PL_MV_IMPLEMENTATION_VERSION},
    {"os_name", PL_MV_OS_NAME},
    {"platform_machine", PL_MV_PLATFORM_MACHINE},
    {"platform_python_implementation", PL_MV_PLATFORM_PYTHON_IMPLEMENTATION},
    {"platform_release", PL_MV_PLATFORM_RELEASE},
    {"platform_system", PL_MV_PLATFORM_SYSTEM},
    {"platform_version", PL_MV_PLATFORM_VERSION},
    {"python_full_version", PL_MV_PYTHON_FULL_VERSION},
    {"python_version", PL_MV_PYTHON_VERSION},
    {"sys_platform", PL_MV_SYS_PLATFORM},
    {"extra", PL_MV_EXTRA},
    {"extras", PL_MV_EXTRAS},
    {"dependency_groups", PL_MV_DEPENDENCY_GROUPS},
    /* PEP 345's names, as packaging still reads them. */
    {"os.name", PL_MV_OS_NAME},
    {"sys.platform", PL_MV_SYS_PLATFORM},
    {"platform.version", PL_MV_PLATFORM_VERSION},
    {"platform.machine", PL_MV_PLATFORM_MACHINE},
    {"platform.python_implementation", PL_MV_PLATFORM_PYTHON_IMPLEMENTATION},
    {"python_implementation", PL_MV_PLATFORM_PYTHON_IMPLEMENTATION},
};

const char *pl_marker_var_name(enum pl_marker_var var) {
  for (size_t i = 0; i < sizeof VARS / sizeof VARS[0]; i++)
    if (VARS[i].var == var) return VARS[i].name;
  return "";
}

static bool is_set_var(enum pl_marker_var v) {
  return v == PL_MV_EXTRAS || v == PL_MV_DEPENDENCY_GROUPS;
}

static int new_node(struct parser *p, enum pl_marker_kind kind) {
  struct pl_marker *m = p->m;
  if (m->nnodes == p->cap_nodes) {
    size_t cap = p->cap_nodes ? p->cap_nodes * 2 : 8;
    struct pl_marker_node *n = realloc(m->nodes, cap * sizeof *n);
    if (n == NULL) return pl_fail(p->err, ENOMEM, "parsing a marker");
    m->nodes = n;
    p->cap_nodes = cap;
  }
  struct pl_marker_node *n = &m->nodes[m->nnodes];
  memset(n, 0, sizeof *n);
  n->kind = kind;
  n->first = n->next = -1;
  return (int)m->nnodes++;
}

/* marker_var: a quoted string (PEP 508's characters only) or a variable. */
static int parse_operand(struct parser *p, struct pl_marker_operand *o) {
  skip_wsp(p);
  char q = cur(p);
  size_t start = p->pos;
  if (q == '"' || q == '\'') {
    p->pos++;
    char *dst = p->m->pool + p->pool_used;
    while (p->pos < p->len && p->s[p->pos] != q) {
      char c = p->s[p->pos];
      if (!is_str_char(c) && !is_wsp(c) && c != (q == '"' ? '\'' : '"'))
        return fail_at(p, p->pos, "a marker string cannot hold this character");
      p->m->pool[p->pool_used++] = c;
      p->pos++;
    }
    if (p->pos >= p->len) return fail_at(p, start, "unterminated string");
    p->pos++;
    p->m->pool[p->pool_used++] = '\0';
    o->var = PL_MV_LITERAL;
    o->str = dst;
    return 0;
  }
  while (p->pos < p->len && is_word(p->s[p->pos]))
    p->pos++;
  size_t n = p->pos - start;
  for (size_t i = 0; n && i < sizeof VARS / sizeof VARS[0]; i++) {
    if (strlen(VARS[i].name) != n || memcmp(VARS[i].name, p->s + start, n) != 0) continue;
    if (is_set_var(VARS[i].var) && !(p->flags & PL_PEP508_LOCK_MARKERS))
      return fail_at(p, start, "'%s' is a marker variable of lock files only", VARS[i].name);
    o->var = VARS[i].var;
    return 0;
  }
  if (n)
    return fail_at(p, start, "unknown marker variable '%.*s'", (int)(n > 40 ? 40 : n),
                   p->s + start);
  return fail_at(p, start, "expected a marker variable or a quoted string");
}

/* A keyword at pos followed by a non-word character (or the end). */
static bool at_keyword(const struct parser *p, const char *kw) {
  size_t n = strlen(kw);
  return p->pos + n <= p->len && memcmp(p->s + p->pos, kw, n) == 0 &&
         (p->pos + n == p->len || !is_word(p->s[p->pos + n]));
}

/* marker_op: a version operator, or `in` / `not in` between blanks. */
static int parse_op(struct parser *p, struct pl_marker_node *n) {
  bool blank = skip_wsp(p) > 0;
  size_t at = p->pos;
  size_t l = pl_spec_op_scan(p->s + p->pos, p->len - p->pos, &n->spec_op);
  if (l) {
    p->pos += l;
    n->op = PL_MOP_VERSION;
    return 0;
  }
  if (blank && at_keyword(p, "in")) {
    p->pos += 2;
    n->op = PL_MOP_IN;
  } else if (blank && at_keyword(p, "not")) {
    p->pos += 3;
    if (skip_wsp(p) == 0 || !at_keyword(p, "in"))
      return fail_at(p, p->pos, "expected 'in' after 'not'");
    p->pos += 2;
    n->op = PL_MOP_NOT_IN;
  } else {
    return fail_at(p, at, "expected a marker operator (<, <=, ==, !=, >=, >, ~=, ===, in, not in)");
  }
  if (!is_wsp(cur(p)))
    return fail_at(p, p->pos, "expected a blank after '%s'", n->op == PL_MOP_IN ? "in" : "not in");
  return 0;
}

/* marker_var marker_op marker_var, one side a variable and the other a string. */
static int parse_comparison(struct parser *p) {
  skip_wsp(p);
  size_t at = p->pos;
  if (++p->clauses > PL_MARKER_MAX_CLAUSES)
    return fail_at(p, at, "more than %d comparisons", PL_MARKER_MAX_CLAUSES);
  int idx = new_node(p, PL_MARKER_CMP);
  if (idx < 0) return -1;
  struct pl_marker_node n = p->m->nodes[idx];
  if (parse_operand(p, &n.lhs) < 0 || parse_op(p, &n) < 0 || parse_operand(p, &n.rhs) < 0)
    return -1;
  if ((n.lhs.var == PL_MV_LITERAL) == (n.rhs.var == PL_MV_LITERAL))
    return fail_at(p, at, "a comparison needs one marker variable and one quoted string");
  if (is_set_var(n.lhs.var) || (is_set_var(n.rhs.var) && n.op == PL_MOP_VERSION))
    return fail_at(p, at, "'%s' is a set: only \"NAME\" in %s or not in %s",
                   pl_marker_var_name(is_set_var(n.lhs.var) ? n.lhs.var : n.rhs.var),
                   pl_marker_var_name(is_set_var(n.lhs.var) ? n.lhs.var : n.rhs.var),
                   pl_marker_var_name(is_set_var(n.lhs.var) ? n.lhs.var : n.rhs.var));
  p->m->nodes[idx] = n;
  return idx;
}

static int parse_or(struct parser *p, int depth);

/* marker_expr: a comparison or a parenthesized marker. */
static int parse_atom(struct parser *p, int depth) {
  skip_wsp(p);
  if (cur(p) != '(') return parse_comparison(p);
  if (depth >= PL_MARKER_MAX_DEPTH)
    return fail_at(p, p->pos, "parentheses nested more than %d deep", PL_MARKER_MAX_DEPTH);
  size_t open = p->pos++;
  int idx = parse_or(p, depth + 1);
  if (idx < 0) return -1;
  skip_wsp(p);
  if (cur(p) != ')')
    return fail_at(p, p->pos, "expected ')' closing the '(' of column %zu", open + 1);
  p->pos++;
  return idx;
}

/* A chain of `sub` joined by keyword kw ("and" binds tighter than "or"):
 * one node when alone, else an AND/OR node over them. */
static int parse_chain(struct parser *p, int depth, const char *kw, enum pl_marker_kind kind,
                       int (*sub)(struct parser *, int)) {
  int first = sub(p, depth);
  if (first < 0) return -1;
  int group = -1, last = first;
  for (;;) {
    size_t save = p->pos;
    skip_wsp(p);
    if (!at_keyword(p, kw)) {
      p->pos = save;
      return group >= 0 ? group : first;
    }
    p->pos += strlen(kw);
    if (group < 0) {
      if ((group = new_node(p, kind)) < 0) return -1;
      p->m->nodes[group].first = first;
    }
    int next = sub(p, depth);
    if (next < 0) return -1;
    p->m->nodes[last].next = next;
    last = next;
  }
}

static int parse_and(struct parser *p, int depth) {
  return parse_chain(p, depth, "and", PL_MARKER_AND, parse_atom);
}

static int parse_or(struct parser *p, int depth) {
  return parse_chain(p, depth, "or", PL_MARKER_OR, parse_and);
}

/* A marker from pos to the end of the text (trailing blanks allowed). */
static int parse_marker_rest(struct parser *p, struct pl_marker **out) {
  struct pl_marker *m = calloc(1, sizeof *m);
  if (m == NULL || (m->pool = malloc(p->len - p->pos + 1)) == NULL) {
    free(m);
    return pl_fail(p->err, ENOMEM, "parsing a marker");
  }
  p->m = m;
  p->cap_nodes = p->clauses = p->pool_used = 0;
  skip_wsp(p);
  if (p->pos == p->len) {
    pl_marker_free(m);
    return fail_at(p, p->pos, "expected a marker");
  }
  m->root = parse_or(p, 0);
  skip_wsp(p);
  if (m->root >= 0 && p->pos < p->len)
    m->root = fail_at(p, p->pos, "expected 'and', 'or' or the end of the marker");
  if (m->root < 0) {
    pl_marker_free(m);
    return -1;
  }
  *out = m;
  return 0;
}

void pl_marker_free(struct pl_marker *m) {
  if (m == NULL) return;
  free(m->nodes);
  free(m->pool);
  free(m);
}

int pl_marker_parse(const char *s, unsigned flags, struct pl_marker **out, pl_error_t *err) {
  struct parser p = {.s = s, .len = strlen(s), .flags = flags, .kind = "marker", .err = err};
  *out = NULL;
  if (p.len > PL_REQ_MAX_BYTES)
    return fail_at(&p, PL_REQ_MAX_BYTES, "longer than %d bytes", PL_REQ_MAX_BYTES);
  return parse_marker_rest(&p, out);
}

/* ------------------------------------------------------------ formatting */

struct sbuf {
  char *p;
  size_t len, cap;
  bool failed;
};

static void sb_add(struct sbuf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 128;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *np = realloc(b->p, cap);
    if (np == NULL) {
      b->failed = true;
      return;
    }
    b->p = np, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s) {
  sb_add(b, s, strlen(s));
}

static char *sb_take(struct sbuf *b) {
  if (b->failed) {
    free(b->p);
    return NULL;
  }
  return b->p ? b->p : strdup("");
}

static void format_operand(struct sbuf *b, const struct pl_marker_operand *o) {
  if (o->var != PL_MV_LITERAL) {
    sb_str(b, pl_marker_var_name(o->var));
    return;
  }
  const char *q = strchr(o->str, '"') ? "'" : "\"";
  sb_str(b, q);
  sb_str(b, o->str);
  sb_str(b, q);
}

static void format_node(struct sbuf *b, const struct pl_marker *m, int idx, bool nested) {
  const struct pl_marker_node *n = &m->nodes[idx];
  if (n->kind == PL_MARKER_CMP) {
    format_operand(b, &n->lhs);
    sb_str(b, " ");
    sb_str(b, n->op == PL_MOP_IN       ? "in"
              : n->op == PL_MOP_NOT_IN ? "not in"
                                       : pl_spec_op_str(n->spec_op));
    sb_str(b, " ");
    format_operand(b, &n->rhs);
    return;
  }
  if (nested) sb_str(b, "(");
  for (int c = n->first; c >= 0; c = m->nodes[c].next) {
    if (c != n->first) sb_str(b, n->kind == PL_MARKER_AND ? " and " : " or ");
    /* "and" binds tighter than "or": only an "or" inside an "and" needs them. */
    format_node(b, m, c, n->kind == PL_MARKER_AND && m->nodes[c].kind == PL_MARKER_OR);
  }
  if (nested) sb_str(b, ")");
}

char *pl_marker_format(const struct pl_marker *m) {
  struct sbuf b = {0};
  format_node(&b, m, m->root, false);
  return sb_take(&b);
}

/* ------------------------------------------------------------ evaluation */

static const char *trim(const char *s, size_t *len) {
  size_t n = strlen(s);
  while (n && strchr(" \t\n\r\f\v", s[n - 1]))
    n--;
  while (n && strchr(" \t\n\r\f\v", *s))
    s++, n--;
  *len = n;
  return s;
}

/* PEP 503 normalization of any string (extra names, PEP 685); newly allocated. */
static char *normalized(const char *s) {
  size_t n = strlen(s);
  char *out = malloc(n + 1);
  if (out && pl_distname_normalize(s, n, out, n + 1) < 0) out[0] = '\0';
  return out;
}

/* lhs OP rhs as a version comparison: 1 true, 0 false, -1 when either side
 * is not a version for that operator (the caller falls back to strings). */
static int version_compare(const char *lhs, enum pl_spec_op op, const char *rhs) {
  size_t ll, rl;
  const char *l = trim(lhs, &ll), *r = trim(rhs, &rl);
  struct pl_version v;
  if (pl_version_parse(l, ll, &v) < 0) return -1;
  if (op == PL_SPEC_ARBITRARY) {
    /* packaging's spelling of === : anything but blanks, ';' and ')'. */
    for (size_t i = 0; i < rl; i++)
      if (strchr(" \t\n\r\f\v;)", r[i])) return -1;
    char norm[PL_VERSION_FORMAT_MAX];
    int n = pl_version_format(&v, norm, sizeof norm);
    return n >= 0 && (size_t)n == rl && strncasecmp(norm, r, rl) == 0;
  }
  struct pl_spec *spec = malloc(sizeof *spec);
  const char *why;
  if (spec == NULL) return -2;
  int res = pl_spec_init(op, r, rl, spec, &why) < 0 ? -1 : pl_spec_contains(spec, &v, true);
  free(spec);
  return res;
}

static int compare(const char *lhs, const struct pl_marker_node *n, const char *rhs, bool *out,
                   pl_error_t *err) {
  if (n->op == PL_MOP_IN || n->op == PL_MOP_NOT_IN) {
    *out = (strstr(rhs, lhs) != NULL) == (n->op == PL_MOP_IN);
    return 0;
  }
  int v = version_compare(lhs, n->spec_op, rhs);
  if (v == -2) return pl_fail(err, ENOMEM, "evaluating a marker");
  if (v >= 0) {
    *out = v;
    return 0;
  }
  /* No PEP 440 meaning: Python's string comparison, where it has one. */
  int c = strcmp(lhs, rhs);
  switch (n->spec_op) {
  case PL_SPEC_EQ: *out = c == 0; return 0;
  case PL_SPEC_NE: *out = c != 0; return 0;
  case PL_SPEC_LT: *out = c < 0; return 0;
  case PL_SPEC_LE: *out = c <= 0; return 0;
  case PL_SPEC_GT: *out = c > 0; return 0;
  case PL_SPEC_GE: *out = c >= 0; return 0;
  case PL_SPEC_COMPATIBLE:
  case PL_SPEC_ARBITRARY: break;
  }
  char ql[PL_QUOTE_CAP], qr[PL_QUOTE_CAP];
  return pl_fail(err, 0, "marker: \"%s\" %s \"%s\" compares strings that are not versions",
                 pl_path_quote(ql, sizeof ql, lhs, strlen(lhs)), pl_spec_op_str(n->spec_op),
                 pl_path_quote(qr, sizeof qr, rhs, strlen(rhs)));
}

/* "NAME" (not) in a set, PEP 503-normalized on both sides. */
static int set_member(const char *name, const char *const *set, size_t n, bool *out) {
  char *want = normalized(name);
  if (want == NULL) return -1;
  *out = false;
  for (size_t i = 0; i < n && !*out; i++) {
    char *have = normalized(set[i]);
    if (have == NULL) {
      free(want);
      return -1;
    }
    *out = strcmp(want, have) == 0;
    free(have);
  }
  free(want);
  return 0;
}

static int eval_comparison(const struct pl_marker_node *n, const struct pl_marker_env *env,
                           const struct pl_marker_query *q, bool *out, pl_error_t *err) {
  enum pl_marker_var var = n->lhs.var != PL_MV_LITERAL ? n->lhs.var : n->rhs.var;
  if (is_set_var(var)) {
    bool in;
    const char *const *set = var == PL_MV_EXTRAS ? q->extras : q->groups;
    size_t count = var == PL_MV_EXTRAS ? q->nextras : q->ngroups;
    if (set_member(n->lhs.str, set, count, &in) < 0)
      return pl_fail(err, ENOMEM, "evaluating a marker");
    *out = in == (n->op == PL_MOP_IN);
    return 0;
  }
  const char *value = var == PL_MV_EXTRA ? (q->extra ? q->extra : "") : env->value[var];
  if (value == NULL)
    return pl_fail(err, 0, "marker: %s is not known for this interpreter", pl_marker_var_name(var));
  const char *lhs = n->lhs.var == PL_MV_LITERAL ? n->lhs.str : value;
  const char *rhs = n->rhs.var == PL_MV_LITERAL ? n->rhs.str : value;
  if (var != PL_MV_EXTRA) return compare(lhs, n, rhs, out, err);
  char *nl = normalized(lhs), *nr = normalized(rhs);
  int r = nl && nr ? compare(nl, n, nr, out, err) : pl_fail(err, ENOMEM, "evaluating a marker");
  free(nl);
  free(nr);
  return r;
}

static int eval_node(const struct pl_marker *m, int idx, const struct pl_marker_env *env,
                     const struct pl_marker_query *q, bool *out, pl_error_t *err) {
  const struct pl_marker_node *n = &m->nodes[idx];
  if (n->kind == PL_MARKER_CMP) return eval_comparison(n, env, q, out, err);
  /* Every operand is evaluated (an error anywhere is an error), as packaging does. */
  bool acc = n->kind == PL_MARKER_AND;
  for (int c = n->first; c >= 0; c = m->nodes[c].next) {
    bool v;
    if (eval_node(m, c, env, q, &v, err) < 0) return -1;
    acc = n->kind == PL_MARKER_AND ? acc && v : acc || v;
  }
  *out = acc;
  return 0;
}

int pl_marker_eval(const struct pl_marker *m, const struct pl_marker_env *env,
                   const struct pl_marker_query *q, bool *out, pl_error_t *err) {
  static const struct pl_marker_query none = {0};
  return eval_node(m, m->root, env, q ? q : &none, out, err);
}

/* ------------------------------------------------------------ requirements */

/* pip opens a requirement ending so as a local archive file (its
 * is_archive_file()), whatever PEP 508 says the text means. */
static bool archive_suffix(const char *s, size_t len) {
  static const char *const ext[] = {".whl",    ".zip",    ".tbz",      ".txz",
                                    ".tlz",    ".tgz",    ".tar",      ".tar.bz2",
                                    ".tar.xz", ".tar.lz", ".tar.lzma", ".tar.gz"};
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    size_t n = strlen(ext[i]);
    if (len >= n && strncasecmp(s + len - n, ext[i], n) == 0) return true;
  }
  return false;
}

/* Forms pip takes that are not PEP 508 requirements: options, URLs and VCS
 * URLs (a scheme), paths.  -1 (the error set) if the text is one. */
static int refuse_pip_forms(struct parser *p) {
  char c = cur(p), q[PL_QUOTE_CAP];
  if (c == '-')
    return pl_fail(p->err, 0,
                   "%s \"%s\" is a pip option, not a requirement: pylock takes PEP 508 "
                   "requirements (NAME[EXTRAS] [SPECIFIERS] [; MARKER]) and installs only signed "
                   "wheels from the registry",
                   p->kind, pl_path_quote(q, sizeof q, p->s, p->len));
  if (c == '.' || c == '/' || c == '~' || c == '\\') return fail_direct(p);
  size_t i = p->pos;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
    while (i < p->len && (is_alnum(p->s[i]) || p->s[i] == '+' || p->s[i] == '-' || p->s[i] == '.'))
      i++;
    if (i < p->len && p->s[i] == ':') return fail_direct(p); /* a scheme: URL, VCS, C:\ */
  }
  return 0;
}

static int parse_extras(struct parser *p, struct pl_requirement *r) {
  size_t open = p->pos++;
  skip_wsp(p);
  if (cur(p) == ']') return p->pos++, 0;
  for (;;) {
    size_t n = scan_identifier(p);
    if (n == 0) return fail_at(p, p->pos, "expected an extra's name");
    if (n > PL_DISTNAME_MAX)
      return fail_at(p, p->pos, "an extra's name is longer than %d bytes", PL_DISTNAME_MAX);
    char norm[PL_DISTNAME_MAX + 1];
    pl_distname_normalize(p->s + p->pos, n, norm, sizeof norm);
    bool dup = false;
    for (size_t i = 0; i < r->nextras && !dup; i++)
      dup = strcmp(r->extras[i], norm) == 0;
    if (!dup) {
      if (r->nextras >= PL_REQ_MAX_EXTRAS)
        return fail_at(p, p->pos, "more than %d extras", PL_REQ_MAX_EXTRAS);
      if ((r->extras[r->nextras] = strdup(norm)) == NULL ||
          (r->extras_written[r->nextras++] = strndup(p->s + p->pos, n)) == NULL)
        return pl_fail(p->err, ENOMEM, "parsing a requirement");
    }
    p->pos += n;
    skip_wsp(p);
    if (cur(p) == ']') return p->pos++, 0;
    if (cur(p) != ',')
      return fail_at(p, p->pos, "expected ',' or ']' in the extras of column %zu", open + 1);
    p->pos++;
    skip_wsp(p);
  }
}

/* version_one: an operator, blanks, a version valid for it (PEP 440). */
static int parse_spec(struct parser *p, struct pl_requirement *r) {
  enum pl_spec_op op;
  size_t at = p->pos;
  size_t l = pl_spec_op_scan(p->s + p->pos, p->len - p->pos, &op);
  if (l == 0) return fail_at(p, at, "expected a version operator (~=, ==, !=, <=, >=, <, >, ===)");
  if (r->nspecs >= PL_REQ_MAX_SPECS)
    return fail_at(p, at, "more than %d version specifiers", PL_REQ_MAX_SPECS);
  p->pos += l;
  skip_wsp(p);
  size_t vstart = p->pos;
  while (p->pos < p->len && is_version_char(p->s[p->pos]))
    p->pos++;
  if (p->pos == vstart)
    return fail_at(p, vstart, "expected a version after \"%s\"", pl_spec_op_str(op));
  const char *why;
  if (pl_spec_init(op, p->s + vstart, p->pos - vstart, &r->specs[r->nspecs], &why) < 0)
    return fail_at(p, vstart, "\"%.*s\" is not a valid version for \"%s\": expected %s",
                   (int)(p->pos - vstart > 64 ? 64 : p->pos - vstart), p->s + vstart,
                   pl_spec_op_str(op), why);
  /* pip would open "name==1.0+b.tar.gz" as an archive file. */
  if (archive_suffix(p->s + vstart, p->pos - vstart)) return fail_direct(p);
  r->nspecs++;
  return 0;
}

/* versionspec: '(' version_many ')' | version_many, possibly empty without
 * parentheses; a trailing comma is allowed. */
static int parse_specs(struct parser *p, struct pl_requirement *r) {
  bool paren = cur(p) == '(';
  size_t open = p->pos;
  if (paren) {
    p->pos++;
    skip_wsp(p);
    if (cur(p) == ')') return fail_at(p, open, "empty parentheses");
  } else if (cur(p) == '\0' || cur(p) == ';' || !strchr("<>=!~", cur(p)))
    return 0;
  if ((r->specs = calloc(PL_REQ_MAX_SPECS, sizeof *r->specs)) == NULL)
    return pl_fail(p->err, ENOMEM, "parsing a requirement");
  for (;;) {
    if (parse_spec(p, r) < 0) return -1;
    size_t save = p->pos;
    skip_wsp(p);
    if (cur(p) != ',') {
      p->pos = save;
      break;
    }
    p->pos++;
    skip_wsp(p);
    if (!strchr("<>=!~", cur(p)) || cur(p) == '\0') break; /* a trailing comma */
  }
  if (!paren) return 0;
  skip_wsp(p);
  if (cur(p) != ')')
    return fail_at(p, p->pos, "expected ',' or ')' closing the '(' of column %zu", open + 1);
  p->pos++;
  return 0;
}

void pl_requirement_free(struct pl_requirement *r) {
  if (r == NULL) return;
  for (size_t i = 0; i < r->nextras; i++) {
    free(r->extras[i]);
    free(r->extras_written[i]);
  }
  free(r->extras);
  free(r->extras_written);
  free(r->specs);
  free(r->url);
  pl_marker_free(r->marker);
  memset(r, 0, sizeof *r);
}

static int parse_requirement(struct parser *p, struct pl_requirement *r) {
  if (p->len > PL_REQ_MAX_BYTES)
    return fail_at(p, PL_REQ_MAX_BYTES, "longer than %d bytes", PL_REQ_MAX_BYTES);
  skip_wsp(p);
  if (refuse_pip_forms(p) < 0) return -1;
  size_t n = scan_identifier(p);
  if (n == 0) return fail_at(p, p->pos, "expected a project name");
  if (n > PL_DISTNAME_MAX)
    return fail_at(p, p->pos, "a project name is longer than %d bytes", PL_DISTNAME_MAX);
  pl_distname_normalize(p->s + p->pos, n, r->name, sizeof r->name);
  /* A name that is a file name to pip ("x.whl", "pkg.tar.gz") or runs
   * into a path or a scheme ("dir/x", "git+ssh:...") is a direct reference. */
  if (archive_suffix(p->s + p->pos, n)) return fail_direct(p);
  p->pos += n;
  if (cur(p) == '/' || cur(p) == '\\' || cur(p) == ':') return fail_direct(p);
  skip_wsp(p);
  if (cur(p) == '[') {
    r->extras = calloc(PL_REQ_MAX_EXTRAS, sizeof *r->extras);
    r->extras_written = calloc(PL_REQ_MAX_EXTRAS, sizeof *r->extras_written);
    if (r->extras == NULL || r->extras_written == NULL)
      return pl_fail(p->err, ENOMEM, "parsing a requirement");
    if (parse_extras(p, r) < 0) return -1;
    skip_wsp(p);
  }
  if (cur(p) == '@') {
    if (!(p->flags & PL_PEP508_ALLOW_URL)) return fail_direct(p);
    p->pos++;
    skip_wsp(p);
    size_t start = p->pos;
    while (p->pos < p->len && !is_wsp(p->s[p->pos]))
      p->pos++;
    if (p->pos == start) return fail_at(p, start, "expected a URL after '@'");
    if ((r->url = strndup(p->s + start, p->pos - start)) == NULL)
      return pl_fail(p->err, ENOMEM, "parsing a requirement");
    if (p->pos < p->len && skip_wsp(p) == 0)
      return fail_at(p, p->pos, "expected a blank after the URL");
  } else {
    if (parse_specs(p, r) < 0) return -1;
    skip_wsp(p);
  }
  if (cur(p) == ';') {
    p->pos++;
    return parse_marker_rest(p, &r->marker);
  }
  if (p->pos < p->len)
    return fail_at(p, p->pos,
                   r->nspecs || r->url ? "expected ',', ';' or the end"
                                       : "expected '[', a version specifier, '@', ';' or the end");
  return 0;
}

/* Would pip's command line take s for a path?  It does when the part before
 * the marker holds a path separator or ends as an archive file name. */
static bool pip_reads_a_path(const char *s, size_t len) {
  size_t n = strcspn(s, ";");
  if (n > len) n = len;
  if (memchr(s, '/', n) || memchr(s, '\\', n)) return true;
  while (n && is_wsp(s[n - 1]))
    n--;
  return archive_suffix(s, n);
}

int pl_requirement_parse(const char *s, unsigned flags, struct pl_requirement *out,
                         pl_error_t *err) {
  struct parser p = {.s = s, .len = strlen(s), .flags = flags, .kind = "requirement", .err = err};
  struct pl_requirement r;
  memset(&r, 0, sizeof r);
  if (parse_requirement(&p, &r) < 0) {
    pl_requirement_free(&r);
    /* Not PEP 508, and pip would try it as a path: say what it is. */
    if (p.syntax && p.len <= PL_REQ_MAX_BYTES && pip_reads_a_path(s, p.len)) fail_direct(&p);
    return -1;
  }
  *out = r;
  return 0;
}

int pl_requirement_check(const char *s, pl_error_t *err) {
  struct pl_requirement r;
  if (pl_requirement_parse(s, 0, &r, err) < 0) return -1;
  pl_requirement_free(&r);
  return 0;
}

char *pl_requirement_format(const struct pl_requirement *r) {
  struct sbuf b = {0};
  sb_str(&b, r->name);
  if (r->nextras) {
    sb_str(&b, "[");
    for (size_t i = 0; i < r->nextras; i++) {
      if (i) sb_str(&b, ",");
      sb_str(&b, r->extras_written[i]);
    }
    sb_str(&b, "]");
  }
  for (size_t i = 0; i < r->nspecs; i++) {
    char spec[PL_VERSION_MAX + 8];
    if (pl_spec_format(&r->specs[i], spec, sizeof spec) < 0) b.failed = true;
    if (i) sb_str(&b, ",");
    sb_str(&b, spec);
  }
  if (r->marker) {
    char *m = pl_marker_format(r->marker);
    if (m == NULL) b.failed = true;
    sb_str(&b, " ; ");
    if (m) sb_str(&b, m);
    free(m);
  }
  return sb_take(&b);
}

int pl_requirements_for_pip(const char *const *reqs, size_t n, char ***out, pl_error_t *err) {
  char **text = calloc(n ? n : 1, sizeof *text);
  size_t total = 0;
  int rc = -1;
  if (text == NULL) return pl_fail(err, ENOMEM, "requirements");
  for (size_t i = 0; i < n; i++) {
    struct pl_requirement r;
    if (pl_requirement_parse(reqs[i], 0, &r, err) < 0) goto out;
    text[i] = pl_requirement_format(&r);
    pl_requirement_free(&r);
    if (text[i] == NULL) {
      pl_fail(err, ENOMEM, "requirements");
      goto out;
    }
    total += strlen(text[i]) + 1;
  }
  char **v = malloc(n * sizeof *v + total + 1);
  if (v == NULL) {
    pl_fail(err, ENOMEM, "requirements");
    goto out;
  }
  char *w = (char *)(v + n);
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(text[i]) + 1;
    v[i] = memcpy(w, text[i], l);
    w += l;
  }
  *out = v;
  rc = 0;
out:
  for (size_t i = 0; i < n; i++)
    free(text[i]);
  free(text);
  return rc;
}

/* ------------------------------------------------------------ METADATA */

static int requires_dist(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                         pl_error_t *err) {
  /* pip reads METADATA with Python's email parser, which ends a line at a
   * lone CR too: "Summary: x\rRequires-Dist: evil @ URL" is one header here
   * and two there.  Every header must split the same way for both. */
  for (size_t i = 0; i < vlen; i++)
    if (val[i] == '\r' && (i + 1 == vlen || val[i + 1] != '\n'))
      return pl_fail(err, 0, "header %.*s: a carriage return that does not end a line",
                     (int)(klen > 64 ? 64 : klen), key);
  if (klen != 13 || strncasecmp(key, "Requires-Dist", 13) != 0) return 0;
  if (vlen > PL_REQ_MAX_BYTES)
    return pl_fail(err, 0, "Requires-Dist: a requirement longer than %d bytes", PL_REQ_MAX_BYTES);
  char req[PL_REQ_MAX_BYTES + 1];
  memcpy(req, val, vlen);
  req[vlen] = '\0';
  if (memchr(val, '\0', vlen)) return pl_fail(err, 0, "Requires-Dist: a NUL byte");
  return pl_requirement_check(req, err) < 0 ? pl_error_wrap(err, "Requires-Dist") : 0;
}

int pl_requires_dist_check(const char *metadata, size_t len, const char *what, pl_error_t *err) {
  if (pl_headers_parse(metadata, len, requires_dist, NULL, err) < 0)
    return pl_error_wrap(err, "%s", what);
  return 0;
}
