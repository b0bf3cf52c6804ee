/* pylock — pyproject.toml read (PEP 621, PEP 735) and edited in place; see pyproject.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "pyproject.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "distname.h"
#include "pep508.h"
#include "toml.h"
#include "version.h"

/* ------------------------------------------------------------ reading */

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; v && i < n; i++)
    free(v[i]);
  free(v);
}

void pl_pyproject_free(struct pl_pyproject *p) {
  if (p == NULL) return;
  free(p->name), free(p->requires_python);
  free_strv(p->dependencies, p->ndependencies);
  free_strv(p->requested, p->nrequested);
  free_strv(p->origins, p->nrequested);
  memset(p, 0, sizeof *p);
}

/* Append s to v (grown one slot at a time; the sets are small). */
static int push(char ***v, size_t n, const char *s, size_t len, pl_error_t *err) {
  char **nv = realloc(*v, (n + 1) * sizeof *nv);
  if (nv == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
  *v = nv;
  if ((nv[n] = strndup(s, len)) == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
  return 0;
}

/* Add one declared requirement to the requested set: checked as pylock
 * checks every requirement (a direct reference is refused), the project's
 * own name left out, an exact duplicate dropped. */
static int add_requirement(struct pl_pyproject *p, const struct pl_toml *v, const char *origin,
                           size_t idx, pl_error_t *err) {
  size_t len;
  const char *s = pl_toml_as_string(v, &len);
  if (s == NULL || memchr(s, '\0', len))
    return pl_fail(err, 0, "%s[%zu] must be a requirement string", origin, idx);
  cleanup_free char *z = strndup(s, len);
  if (z == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
  struct pl_requirement r;
  if (pl_requirement_parse(z, 0, &r, err) < 0) return pl_error_wrap(err, "%s[%zu]", origin, idx);
  bool self = p->name && pl_distname_equal(r.name, strlen(r.name), p->name, strlen(p->name));
  pl_requirement_free(&r);
  if (self) return 0;
  for (size_t i = 0; i < p->nrequested; i++)
    if (strcmp(p->requested[i], z) == 0) return 0;
  if (p->nrequested >= PL_PYPROJECT_MAX_REQS)
    return pl_fail(err, E2BIG, "more than %d requirements", PL_PYPROJECT_MAX_REQS);
  if (push(&p->requested, p->nrequested, z, len, err) < 0) return -1;
  if (push(&p->origins, p->nrequested, origin, strlen(origin), err) < 0) {
    free(p->requested[p->nrequested]);
    return -1;
  }
  p->nrequested++;
  return 0;
}

/* Every requirement of a TOML array into the requested set. */
static int add_array(struct pl_pyproject *p, const struct pl_toml *a, const char *origin,
                     pl_error_t *err) {
  if (pl_toml_type(a) != PL_TOML_ARRAY)
    return pl_fail(err, 0, "%s must be an array of requirement strings", origin);
  for (size_t i = 0; i < pl_toml_count(a); i++)
    if (add_requirement(p, pl_toml_at(a, i), origin, i, err) < 0) return -1;
  return 0;
}

/* The group of that name in [dependency-groups] (names compare PEP 503-normalized). */
static const struct pl_toml *find_group(const struct pl_toml *groups, const char *name, size_t len,
                                        char *key, size_t cap, size_t *idx) {
  for (size_t i = 0; i < pl_toml_count(groups); i++) {
    size_t kl;
    const char *k = pl_toml_key_at(groups, i, &kl);
    if (pl_distname_equal(k, kl, name, len)) {
      snprintf(key, cap, "%.*s", (int)kl, k);
      *idx = i;
      return pl_toml_at(groups, i);
    }
  }
  return NULL;
}

/* PEP 735: a group's requirements, include-group expanded; `stack` holds the
 * groups being expanded, so that a cycle is refused rather than followed,
 * and `done` those expanded already: each is expanded once, however often
 * it is included (a chain of groups each including the next twice must
 * not cost 2^N). */
static int add_group(struct pl_pyproject *p, const struct pl_toml *groups, const char *name,
                     const char **stack, size_t depth, bool *done, pl_error_t *err) {
  char key[PL_DISTNAME_MAX + 1], origin[PL_DISTNAME_MAX + 32];
  size_t idx = 0;
  const struct pl_toml *g = find_group(groups, name, strlen(name), key, sizeof key, &idx);
  if (g == NULL) return pl_fail(err, 0, "[dependency-groups]: no group '%s' to include", name);
  for (size_t i = 0; i < depth; i++)
    if (pl_distname_equal(stack[i], strlen(stack[i]), key, strlen(key)))
      return pl_fail(err, 0, "[dependency-groups]: '%s' includes itself", key);
  if (done[idx]) return 0;
  if (depth >= PL_PYPROJECT_MAX_GROUPS)
    return pl_fail(err, E2BIG, "[dependency-groups]: include-group nested too deep");
  stack[depth] = key;
  snprintf(origin, sizeof origin, "[dependency-groups] %s", key);
  if (pl_toml_type(g) != PL_TOML_ARRAY) return pl_fail(err, 0, "%s must be an array", origin);
  for (size_t i = 0; i < pl_toml_count(g); i++) {
    const struct pl_toml *v = pl_toml_at(g, i);
    if (pl_toml_type(v) != PL_TOML_TABLE) {
      if (add_requirement(p, v, origin, i, err) < 0) return -1;
      continue;
    }
    size_t len;
    const char *inc = pl_toml_as_string(pl_toml_get_key(v, "include-group", 13), &len);
    if (inc == NULL || pl_toml_count(v) != 1 || memchr(inc, '\0', len))
      return pl_fail(err, 0, "%s[%zu]: a table must be {include-group = \"NAME\"}", origin, i);
    cleanup_free char *z = strndup(inc, len);
    if (z == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
    if (add_group(p, groups, z, stack, depth + 1, done, err) < 0) return -1;
  }
  done[idx] = true;
  return 0;
}

/* An optional string of [project]; *out stays NULL when absent. */
static int opt_string(const struct pl_toml *t, const char *key, char **out, pl_error_t *err) {
  const struct pl_toml *v = pl_toml_get_key(t, key, strlen(key));
  if (v == NULL) return 0;
  size_t len;
  const char *s = pl_toml_as_string(v, &len);
  if (s == NULL || memchr(s, '\0', len))
    return pl_fail(err, 0, "[project] %s must be a string", key);
  if ((*out = strndup(s, len)) == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
  return 0;
}

/* [project] dynamic: dependencies only a build backend can compute. */
static int refuse_dynamic(const struct pl_toml *project, pl_error_t *err) {
  const struct pl_toml *dyn = pl_toml_get_key(project, "dynamic", 7);
  for (size_t i = 0; dyn && i < pl_toml_count(dyn); i++) {
    size_t len;
    const char *s = pl_toml_as_string(pl_toml_at(dyn, i), &len);
    if (s && ((len == 12 && memcmp(s, "dependencies", 12) == 0) ||
              (len == 21 && memcmp(s, "optional-dependencies", 21) == 0)))
      return pl_fail_hint(err, PL_REFUSED,
                          "list them in pyproject.toml itself ([project] dependencies)",
                          "[project] dynamic names %.*s: only a build backend could compute "
                          "them, and pylock runs no project code",
                          (int)len, s);
  }
  return 0;
}

/* [project]: name, requires-python, dependencies and optional-dependencies. */
static int parse_project(const struct pl_toml *project, struct pl_pyproject *out, pl_error_t *err) {
  if (pl_toml_type(project) != PL_TOML_TABLE) return pl_fail(err, 0, "project must be a table");
  out->has_project = true;
  if (opt_string(project, "name", &out->name, err) < 0 ||
      opt_string(project, "requires-python", &out->requires_python, err) < 0 ||
      refuse_dynamic(project, err) < 0)
    return -1;
  const struct pl_toml *deps = pl_toml_get_key(project, "dependencies", 12);
  if (deps) {
    if (add_array(out, deps, "[project] dependencies", err) < 0) return -1;
    for (size_t i = 0; i < pl_toml_count(deps); i++) {
      size_t len;
      const char *s = pl_toml_as_string(pl_toml_at(deps, i), &len);
      if (push(&out->dependencies, out->ndependencies, s, len, err) < 0) return -1;
      out->ndependencies++;
    }
  }
  const struct pl_toml *opt = pl_toml_get_key(project, "optional-dependencies", 21);
  if (opt && pl_toml_type(opt) != PL_TOML_TABLE)
    return pl_fail(err, 0, "[project] optional-dependencies must be a table");
  for (size_t i = 0; opt && i < pl_toml_count(opt); i++) {
    size_t kl;
    const char *k = pl_toml_key_at(opt, i, &kl);
    char origin[PL_DISTNAME_MAX + 48];
    snprintf(origin, sizeof origin, "[project.optional-dependencies] %.*s",
             (int)(kl > PL_DISTNAME_MAX ? PL_DISTNAME_MAX : kl), k);
    if (add_array(out, pl_toml_at(opt, i), origin, err) < 0) return -1;
  }
  return 0;
}

/* The requested set of a parsed document: [project], then [dependency-groups]. */
static int parse_doc(const struct pl_toml *doc, struct pl_pyproject *out, pl_error_t *err) {
  const struct pl_toml *project = pl_toml_get_key(doc, "project", 7);
  if (project && parse_project(project, out, err) < 0) return -1;
  const struct pl_toml *groups = pl_toml_get_key(doc, "dependency-groups", 17);
  if (groups) {
    if (pl_toml_type(groups) != PL_TOML_TABLE)
      return pl_fail(err, 0, "[dependency-groups] must be a table");
    if (pl_toml_count(groups) > PL_PYPROJECT_MAX_GROUPS)
      return pl_fail(err, E2BIG, "more than %d dependency groups", PL_PYPROJECT_MAX_GROUPS);
    const char *stack[PL_PYPROJECT_MAX_GROUPS + 1];
    bool done[PL_PYPROJECT_MAX_GROUPS] = {false};
    for (size_t i = 0; i < pl_toml_count(groups); i++) {
      size_t kl;
      const char *k = pl_toml_key_at(groups, i, &kl);
      cleanup_free char *z = strndup(k, kl);
      if (z == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
      if (!pl_distname_valid(z, kl))
        return pl_fail(err, 0, "[dependency-groups]: '%.64s' is not a valid group name", z);
      if (add_group(out, groups, z, stack, 0, done, err) < 0) return -1;
    }
  }
  out->declares = project != NULL || groups != NULL;
  return 0;
}

int pl_pyproject_parse(const char *buf, size_t len, struct pl_pyproject *out, pl_error_t *err) {
  memset(out, 0, sizeof *out);
  if (len > PL_PYPROJECT_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s: larger than %zu bytes", PL_PYPROJECT_FILE,
                   PL_PYPROJECT_MAX_BYTES);
  struct pl_toml *doc = NULL;
  if (pl_toml_parse(buf, len, &doc, err) < 0) return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  int r = parse_doc(doc, out, err);
  pl_toml_free(doc);
  if (r < 0) {
    pl_pyproject_free(out);
    return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  }
  return 0;
}

int pl_requires_python_ok(const char *spec, const char *version, bool *ok, pl_error_t *err) {
  /* A specifier set parses as the specifiers of a requirement. */
  cleanup_free char *req = NULL;
  if (asprintf(&req, "python %s", spec) < 0) return pl_fail(err, ENOMEM, "requires-python");
  struct pl_requirement r;
  struct pl_version v;
  if (pl_requirement_parse(req, 0, &r, err) < 0) return pl_error_wrap(err, "requires-python");
  bool parsed = pl_version_parse(version, strlen(version), &v) == 0;
  *ok = parsed && r.marker == NULL && r.nextras == 0;
  for (size_t i = 0; *ok && i < r.nspecs; i++)
    *ok = pl_spec_contains(&r.specs[i], &v, true);
  pl_requirement_free(&r);
  if (!parsed) return pl_fail(err, 0, "'%s' is not a version", version);
  return 0;
}

/* ------------------------------------------------------------ editing */

/* Where the [project] dependencies array lies in the text. */
struct array_span {
  size_t open, close; /* offsets of '[' and ']' */
  size_t n;
  size_t start[PL_PYPROJECT_MAX_REQS], end[PL_PYPROJECT_MAX_REQS]; /* each string token */
  size_t comma[PL_PYPROJECT_MAX_REQS];                             /* after it, or 0 */
};

struct layout {
  bool project;        /* a [project] header was found */
  size_t project_body; /* just after the [project] header's line */
  size_t project_end;  /* end of the line of its last value (or project_body) */
  bool deps;           /* a dependencies key in it */
  size_t deps_value;   /* just after that key's '=' */
};

/* Past a string token at i (one of ' " ''' """), or 0 if unterminated. */
static size_t skip_string(const char *s, size_t len, size_t i) {
  char q = s[i];
  bool multi = i + 2 < len && s[i + 1] == q && s[i + 2] == q;
  size_t j = i + (multi ? 3 : 1);
  while (j < len) {
    if (q == '"' && s[j] == '\\') {
      j += 2;
      continue;
    }
    if (!multi && s[j] == '\n') return 0;
    if (s[j] == q && (!multi || (j + 2 < len && s[j + 1] == q && s[j + 2] == q))) {
      j += multi ? 3 : 1;
      while (multi && j < len && s[j] == q) /* up to two quotes may end the content */
        j++;
      return j;
    }
    j++;
  }
  return 0;
}

/* Past the end of the line holding s[i] (its newline included). */
static size_t line_end(const char *s, size_t len, size_t i) {
  while (i < len && s[i] != '\n')
    i++;
  return i < len ? i + 1 : len;
}

/* Is the key at s[i] `word` (bare or quoted), followed by blanks and '='?
 * *after: just past the '='. */
static bool key_is(const char *s, size_t len, size_t i, const char *word, size_t *after) {
  size_t w = strlen(word), j = i;
  if (s[j] == '"' || s[j] == '\'') {
    if (j + w + 1 >= len || memcmp(s + j + 1, word, w) != 0 || s[j + 1 + w] != s[j]) return false;
    j += w + 2;
  } else {
    if (j + w > len || memcmp(s + j, word, w) != 0) return false;
    j += w;
  }
  while (j < len && (s[j] == ' ' || s[j] == '\t'))
    j++;
  if (j >= len || s[j] != '=') return false;
  *after = j + 1;
  return true;
}

/* Is the header at s[i] ('[') exactly [project]? *end: past its line. */
static bool header_is_project(const char *s, size_t len, size_t i, size_t *end) {
  *end = line_end(s, len, i);
  if (i + 1 < len && s[i + 1] == '[') return false;
  size_t j = i + 1;
  while (j < len && (s[j] == ' ' || s[j] == '\t'))
    j++;
  size_t after;
  static const char *const forms[] = {"project", "\"project\"", "'project'"};
  for (size_t f = 0; f < 3; f++) {
    size_t fl = strlen(forms[f]);
    if (j + fl > len || memcmp(s + j, forms[f], fl) != 0) continue;
    after = j + fl;
    while (after < len && (s[after] == ' ' || s[after] == '\t'))
      after++;
    if (after < len && s[after] == ']') return true;
  }
  return false;
}

/* One pass over the text, strings and comments skipped, finding [project],
 * its extent and its dependencies key. */
static int scan_layout(const char *s, size_t len, struct layout *l, pl_error_t *err) {
  memset(l, 0, sizeof *l);
  int depth = 0;
  bool bol = true, in_project = false;
  size_t i = 0;
  while (i < len) {
    char c = s[i];
    if (c == '#') {
      i = line_end(s, len, i);
      bol = true;
      continue;
    }
    if (c == '\n') {
      bol = true, i++;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') {
      i++;
      continue;
    }
    if (depth == 0 && bol && c == '[') {
      size_t end;
      bool is = header_is_project(s, len, i, &end);
      if (in_project && !is) in_project = false;
      if (is) {
        if (l->project) return pl_fail(err, 0, "[project] is defined twice");
        l->project = in_project = true;
        l->project_body = l->project_end = end;
      }
      /* The rest of the header line: a closing bracket, maybe a comment. */
      i = end, bol = true;
      continue;
    }
    if (depth == 0 && bol && in_project && key_is(s, len, i, "dependencies", &l->deps_value))
      l->deps = true;
    bol = false;
    if (c == '"' || c == '\'') {
      size_t j = skip_string(s, len, i);
      if (j == 0) return pl_fail(err, 0, "unterminated string");
      i = j;
    } else {
      if (c == '[' || c == '{') depth++;
      if ((c == ']' || c == '}') && depth > 0) depth--;
      i++;
    }
    if (in_project) l->project_end = line_end(s, len, i - 1);
  }
  return 0;
}

/* The array at s[i..]: '[' then string elements, commas and comments. */
static int scan_array(const char *s, size_t len, size_t i, struct array_span *a, pl_error_t *err) {
  while (i < len && (s[i] == ' ' || s[i] == '\t'))
    i++;
  if (i >= len || s[i] != '[')
    return pl_fail(err, 0, "[project] dependencies is not written as an array");
  a->open = i++;
  a->n = 0;
  bool want_value = true;
  while (i < len) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      i++;
    } else if (c == '#') {
      i = line_end(s, len, i);
    } else if (c == ']') {
      a->close = i;
      return 0;
    } else if (c == ',' && !want_value && a->n > 0 && a->comma[a->n - 1] == 0) {
      a->comma[a->n - 1] = i++;
      want_value = true;
    } else if ((c == '"' || c == '\'') && want_value) {
      size_t j = skip_string(s, len, i);
      if (j == 0) return pl_fail(err, 0, "unterminated string in [project] dependencies");
      if (a->n >= PL_PYPROJECT_MAX_REQS)
        return pl_fail(err, E2BIG, "more than %d dependencies", PL_PYPROJECT_MAX_REQS);
      a->start[a->n] = i, a->end[a->n] = j, a->comma[a->n] = 0;
      a->n++;
      i = j, want_value = false;
    } else {
      return pl_fail(err, 0, "[project] dependencies holds something other than strings");
    }
  }
  return pl_fail(err, 0, "[project] dependencies: no closing ']'");
}

/* The requirement as a TOML string: double quotes unless it holds one. */
static char *quote(const char *req) {
  char *out = NULL;
  if (strchr(req, '"') == NULL) return asprintf(&out, "\"%s\"", req) < 0 ? NULL : out;
  if (strchr(req, '\'') == NULL) return asprintf(&out, "'%s'", req) < 0 ? NULL : out;
  size_t n = strlen(req), w = 0;
  if ((out = malloc(2 * n + 3)) == NULL) return NULL;
  out[w++] = '"';
  for (size_t i = 0; i < n; i++) {
    if (req[i] == '"' || req[i] == '\\') out[w++] = '\\';
    out[w++] = req[i];
  }
  out[w++] = '"';
  out[w] = '\0';
  return out;
}

/* text with [at, at+del) replaced by ins; frees text. */
static char *splice(char *text, size_t *len, size_t at, size_t del, const char *ins) {
  size_t il = strlen(ins), nl = *len - del + il;
  char *out = malloc(nl + 1);
  if (out == NULL) {
    free(text);
    return NULL;
  }
  memcpy(out, text, at);
  memcpy(out + at, ins, il);
  memcpy(out + at + il, text + at + del, *len - at - del);
  out[nl] = '\0';
  free(text);
  *len = nl;
  return out;
}

/* Only spaces and tabs in s[from, to)? */
static bool blank_between(const char *s, size_t from, size_t to) {
  for (size_t i = from; i < to; i++)
    if (s[i] != ' ' && s[i] != '\t') return false;
  return true;
}

/* The start of the line holding s[i]. */
static size_t line_start(const char *s, size_t i) {
  while (i > 0 && s[i - 1] != '\n')
    i--;
  return i;
}

/* The indentation of element k's line if it starts the line, else 4 spaces. */
static void element_indent(const char *s, const struct array_span *a, size_t k, char *out,
                           size_t cap) {
  size_t ls = line_start(s, a->start[k]);
  if (k < a->n && ls > a->open && blank_between(s, ls, a->start[k]) && a->start[k] - ls < cap)
    snprintf(out, cap, "%.*s", (int)(a->start[k] - ls), s + ls);
  else
    snprintf(out, cap, "    ");
}

/* Element k removed: its whole line when alone on it, else with its comma. */
static char *remove_element(char *t, size_t *len, const struct array_span *a, size_t k) {
  size_t start = a->start[k], end = a->end[k];
  size_t ls = line_start(t, start);
  size_t after = a->comma[k] ? a->comma[k] + 1 : end;
  while (after < *len && (t[after] == ' ' || t[after] == '\t'))
    after++;
  bool own_line = ls > a->open && blank_between(t, ls, start);
  if (own_line && after < *len && t[after] == '#') after = line_end(t, *len, after) - 1;
  if (own_line && after < *len && t[after] == '\n' && after < a->close)
    return splice(t, len, ls, after + 1 - ls, "");
  if (a->comma[k]) return splice(t, len, start, after - start, "");
  if (k > 0 && a->comma[k - 1]) /* the last one: the comma before it goes with it */
    return splice(t, len, a->comma[k - 1], end - a->comma[k - 1], "");
  return splice(t, len, start, end - start, "");
}

/* q appended after the last element, in the array's own layout. */
static char *append_element(char *t, size_t *len, const struct array_span *a, const char *q) {
  cleanup_free char *ins = NULL;
  char indent[64];
  size_t cl = line_start(t, a->close);
  bool multi = memchr(t + a->open, '\n', a->close - a->open) != NULL;
  bool close_alone = multi && blank_between(t, cl, a->close);
  if (a->n == 0) {
    if (close_alone)
      return asprintf(&ins, "    %s,\n", q) < 0 ? (free(t), NULL) : splice(t, len, cl, 0, ins);
    return splice(t, len, a->open + 1, 0, q);
  }
  size_t last = a->n - 1;
  element_indent(t, a, last, indent, sizeof indent);
  if (close_alone) {
    /* A new line above the ']', after a comma given to the last element. */
    if (asprintf(&ins, "%s%s,\n", indent, q) < 0) return free(t), NULL;
    t = splice(t, len, cl, 0, ins);
    if (t && a->comma[last] == 0) t = splice(t, len, a->end[last], 0, ",");
    return t;
  }
  size_t at = a->comma[last] ? a->comma[last] + 1 : a->end[last];
  if (asprintf(&ins, "%s%s%s%s", a->comma[last] ? "" : ",", multi ? "\n" : " ", multi ? indent : "",
               q) < 0)
    return free(t), NULL;
  return splice(t, len, at, 0, ins);
}

/* The dependencies key added to [project], after its last value. */
static char *add_key(char *t, size_t *len, const struct layout *l, const char *q) {
  cleanup_free char *ins = NULL;
  size_t at = l->project_end;
  bool nl = at > 0 && t[at - 1] != '\n';
  if (asprintf(&ins, "%sdependencies = [\n    %s,\n]\n", nl ? "\n" : "", q) < 0)
    return free(t), NULL;
  return splice(t, len, at, 0, ins);
}

/* The requirement names of [project] dependencies in doc, in order. */
static int dep_names(const struct pl_toml *doc, char (*names)[PL_DISTNAME_MAX + 1], size_t *n,
                     pl_error_t *err) {
  const struct pl_toml *deps = pl_toml_get(doc, "project.dependencies");
  *n = 0;
  for (size_t i = 0; deps && i < pl_toml_count(deps); i++) {
    size_t l;
    const char *s = pl_toml_as_string(pl_toml_at(deps, i), &l);
    cleanup_free char *z = s ? strndup(s, l) : NULL;
    struct pl_requirement r;
    if (z == NULL || pl_requirement_parse(z, 0, &r, err) < 0)
      return pl_fail(err, 0, "[project] dependencies[%zu] is not a requirement", i);
    snprintf(names[(*n)++], PL_DISTNAME_MAX + 1, "%s", r.name);
    pl_requirement_free(&r);
  }
  return 0;
}

/* One edit on the text: add (replace or append) req, or remove `name`. */
static int edit_one(char **text, size_t *len, const char *req, const char *name, pl_error_t *err) {
  struct layout l;
  if (scan_layout(*text, *len, &l, err) < 0) return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  if (!l.project)
    return pl_fail_hint(err, 0, "add a [project] table (name, version) to pyproject.toml",
                        "%s has no [project] table to list dependencies in", PL_PYPROJECT_FILE);
  struct pl_toml *doc = NULL;
  if (pl_toml_parse(*text, *len, &doc, err) < 0) return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  const struct pl_toml *deps = pl_toml_get(doc, "project.dependencies");
  size_t cap = deps ? pl_toml_count(deps) : 0, nnames = 0;
  cleanup_free char(*names)[PL_DISTNAME_MAX + 1] = calloc(cap ? cap : 1, sizeof *names);
  cleanup_free struct array_span *a = calloc(1, sizeof *a);
  int r = names && a ? (cap > PL_PYPROJECT_MAX_REQS ? pl_fail(err, E2BIG, "too many dependencies")
                                                    : dep_names(doc, names, &nnames, err))
                     : pl_fail(err, ENOMEM, "pyproject.toml");
  pl_toml_free(doc);
  if (r < 0) return -1;
  cleanup_free char *q = req ? quote(req) : NULL;
  if (req && q == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
  if (!l.deps) {
    if (req == NULL) return pl_fail(err, ENOENT, "'%s' is not in [project] dependencies", name);
    *text = add_key(*text, len, &l, q);
    return *text ? 0 : pl_fail(err, ENOMEM, "pyproject.toml");
  }
  if (scan_array(*text, *len, l.deps_value, a, err) < 0)
    return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  if (a->n != nnames)
    return pl_fail(err, 0, "%s: [project] dependencies is written in a way pylock cannot edit",
                   PL_PYPROJECT_FILE);
  /* From the last match backwards, so that earlier offsets stay valid;
   * an add replaces the first match and removes the others. */
  size_t first = a->n;
  for (size_t k = 0; k < a->n; k++)
    if (strcmp(names[k], name) == 0 && first == a->n) first = k;
  if (first == a->n) {
    if (req == NULL) return pl_fail(err, ENOENT, "'%s' is not in [project] dependencies", name);
    *text = append_element(*text, len, a, q);
    return *text ? 0 : pl_fail(err, ENOMEM, "pyproject.toml");
  }
  for (size_t k = a->n; k-- > first + 1;)
    if (strcmp(names[k], name) == 0 && (*text = remove_element(*text, len, a, k)) == NULL)
      return pl_fail(err, ENOMEM, "pyproject.toml");
  if (req)
    *text = splice(*text, len, a->start[first], a->end[first] - a->start[first], q);
  else
    *text = remove_element(*text, len, a, first);
  return *text ? 0 : pl_fail(err, ENOMEM, "pyproject.toml");
}

/* Are a and b the same document but for [project] dependencies? */
static bool same_but_dependencies(const struct pl_toml *a, const struct pl_toml *b) {
  size_t na = pl_toml_count(a), nb = pl_toml_count(b);
  if (na != nb) return false;
  for (size_t i = 0; i < na; i++) {
    size_t kl;
    const char *k = pl_toml_key_at(a, i, &kl);
    const struct pl_toml *va = pl_toml_at(a, i), *vb = pl_toml_get_key(b, k, kl);
    if (vb == NULL) return false;
    if (kl == 7 && memcmp(k, "project", 7) == 0) {
      if (pl_toml_type(va) != PL_TOML_TABLE || pl_toml_type(vb) != PL_TOML_TABLE) return false;
      for (size_t j = 0; j < pl_toml_count(va); j++) {
        size_t jl;
        const char *jk = pl_toml_key_at(va, j, &jl);
        const struct pl_toml *x = pl_toml_get_key(vb, jk, jl);
        if (jl == 12 && memcmp(jk, "dependencies", 12) == 0) continue;
        if (x == NULL || !pl_toml_equal(pl_toml_at(va, j), x)) return false;
      }
      size_t extra = pl_toml_get_key(va, "dependencies", 12) == NULL &&
                     pl_toml_get_key(vb, "dependencies", 12) != NULL;
      if (pl_toml_count(vb) != pl_toml_count(va) + extra) return false;
      continue;
    }
    if (!pl_toml_equal(va, vb)) return false;
  }
  return true;
}

/* The dependencies the edit should give: old ones, each add replacing its
 * name's first entry (the others dropped) or appended, each del dropped. */
static int expected_deps(const struct pl_toml *doc, const char *const *add, size_t nadd,
                         const char *const *del, size_t ndel, char ***out, size_t *n,
                         pl_error_t *err) {
  const struct pl_toml *deps = pl_toml_get(doc, "project.dependencies");
  char **v = NULL;
  size_t cnt = 0;
  for (size_t i = 0; deps && i < pl_toml_count(deps); i++) {
    size_t l;
    const char *s = pl_toml_as_string(pl_toml_at(deps, i), &l);
    if (s == NULL || push(&v, cnt, s, l, err) < 0) goto fail;
    cnt++;
  }
  for (size_t k = 0; k < nadd + ndel; k++) {
    char name[PL_DISTNAME_MAX + 1];
    const char *req = k < nadd ? add[k] : NULL;
    struct pl_requirement r;
    if (req && pl_requirement_parse(req, 0, &r, err) < 0) goto fail;
    if (req) {
      snprintf(name, sizeof name, "%s", r.name);
      pl_requirement_free(&r);
    } else if (pl_distname_normalize(del[k - nadd], strlen(del[k - nadd]), name, sizeof name) < 0) {
      name[0] = '\0';
    }
    bool placed = false;
    for (size_t i = 0; i < cnt; i++) {
      struct pl_requirement o;
      pl_error_t ignored = NULL;
      bool same = pl_requirement_parse(v[i], 0, &o, &ignored) == 0 && strcmp(o.name, name) == 0;
      if (ignored == NULL) pl_requirement_free(&o);
      pl_error_free(&ignored);
      if (!same) continue;
      free(v[i]);
      if (req && !placed && (v[i] = strdup(req)) != NULL) {
        placed = true;
        continue;
      }
      memmove(&v[i], &v[i + 1], (cnt - i - 1) * sizeof *v);
      cnt--, i--;
    }
    if (req && !placed) {
      if (push(&v, cnt, req, strlen(req), err) < 0) goto fail;
      cnt++;
    }
  }
  *out = v, *n = cnt;
  return 0;
fail:
  free_strv(v, cnt);
  return err && *err ? -1 : pl_fail(err, ENOMEM, "pyproject.toml");
}

/* Are doc's [project] dependencies exactly want[0..n)? */
static bool deps_are(const struct pl_toml *doc, char **want, size_t n) {
  const struct pl_toml *deps = pl_toml_get(doc, "project.dependencies");
  if ((deps ? pl_toml_count(deps) : 0) != n) return false;
  for (size_t i = 0; i < n; i++) {
    size_t l;
    const char *s = pl_toml_as_string(pl_toml_at(deps, i), &l);
    if (s == NULL || strlen(want[i]) != l || memcmp(want[i], s, l) != 0) return false;
  }
  return true;
}

/* The edited text must be the original document but for the array, and
 * the array exactly what was asked. */
static int check_edit(const char *old, size_t old_len, const char *new, size_t new_len,
                      const char *const *add, size_t nadd, const char *const *del, size_t ndel,
                      pl_error_t *err) {
  struct pl_toml *a = NULL, *b = NULL;
  char **want = NULL;
  size_t nwant = 0;
  int r = -1;
  if (pl_toml_parse(old, old_len, &a, err) < 0) goto out;
  if (pl_toml_parse(new, new_len, &b, err) < 0) {
    pl_error_free(err);
    pl_fail(err, 0, "editing %s would leave it invalid; edit it by hand", PL_PYPROJECT_FILE);
    goto out;
  }
  if (expected_deps(a, add, nadd, del, ndel, &want, &nwant, err) < 0) goto out;
  if (!same_but_dependencies(a, b) || !deps_are(b, want, nwant)) {
    pl_fail(err, 0, "editing %s would change more than [project] dependencies; edit it by hand",
            PL_PYPROJECT_FILE);
    goto out;
  }
  r = 0;
out:
  free_strv(want, nwant);
  pl_toml_free(a);
  pl_toml_free(b);
  return r;
}

int pl_pyproject_edit(const char *text, size_t len, const char *const *add, size_t nadd,
                      const char *const *del, size_t ndel, char **out, size_t *out_len,
                      pl_error_t *err) {
  if (len > PL_PYPROJECT_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s: larger than %zu bytes", PL_PYPROJECT_FILE,
                   PL_PYPROJECT_MAX_BYTES);
  char *t = strndup(text, len);
  if (t == NULL) return pl_fail(err, ENOMEM, "pyproject.toml");
  size_t tl = len;
  for (size_t k = 0; k < nadd + ndel; k++) {
    char name[PL_DISTNAME_MAX + 1];
    const char *req = k < nadd ? add[k] : NULL;
    if (req) {
      struct pl_requirement r;
      if (pl_requirement_parse(req, 0, &r, err) < 0) goto fail;
      snprintf(name, sizeof name, "%s", r.name);
      pl_requirement_free(&r);
    } else if (pl_distname_normalize(del[k - nadd], strlen(del[k - nadd]), name, sizeof name) < 0) {
      pl_fail(err, 0, "'%s' is not a package name", del[k - nadd]);
      goto fail;
    }
    if (edit_one(&t, &tl, req, name, err) < 0) goto fail;
  }
  if (check_edit(text, len, t, tl, add, nadd, del, ndel, err) < 0) goto fail;
  *out = t;
  if (out_len) *out_len = tl;
  return 0;
fail:
  free(t);
  return -1;
}
