/* pylock — selecting a lock's packages and wheels for one interpreter; see select.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "select.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "distname.h"
#include "version.h"

#define TAGS_TEXT_MAX 512
#define MESSAGE_MAX_ITEMS 50 /* packages named in one refusal; then "and N more" */

/* "glibc 2.36" into major and minor; anything else leaves no libc to match. */
static void parse_libc(const char *text, struct pl_wheel_interp *w) {
  unsigned major = 0, minor = 0;
  char extra;
  w->libc = PL_LIBC_GLIBC;
  if (sscanf(text, "glibc %u.%u%c", &major, &minor, &extra) != 2) {
    /* Neither manylinux nor musllinux: only linux_ARCH and any fit. */
    w->libc = PL_LIBC_MUSL;
    major = minor = 0;
  }
  w->libc_major = major;
  w->libc_minor = minor;
}

int pl_select_target_from_interp(const struct pl_interp *in, struct pl_select_target *t,
                                 pl_error_t *err) {
  memset(t, 0, sizeof *t);
  if (!pl_interp_has_env(in))
    return pl_fail(err, EINVAL, "%s: no marker environment recorded (probe it again)", in->python);
  unsigned major = 0, minor = 0;
  if (sscanf(in->short_version, "%u.%u", &major, &minor) != 2)
    return pl_fail(err, EINVAL, "%s: version %s", in->python, in->version);
  /* packaging repairs a non-PEP 440 "3.13.0+" (a build from git) this way. */
  size_t fl = strlen(in->python_full_version);
  int w = snprintf(t->python_full_version, sizeof t->python_full_version, "%s%s",
                   in->python_full_version,
                   fl && in->python_full_version[fl - 1] == '+' ? "local" : "");
  if (w < 0 || (size_t)w >= sizeof t->python_full_version)
    return pl_fail(err, EINVAL, "%s: python_full_version too long", in->python);
  const char **v = t->env.value;
  v[PL_MV_IMPLEMENTATION_NAME] = in->implementation_name;
  v[PL_MV_IMPLEMENTATION_VERSION] = in->implementation_version;
  v[PL_MV_OS_NAME] = in->os_name;
  v[PL_MV_PLATFORM_MACHINE] = in->platform_machine;
  v[PL_MV_PLATFORM_PYTHON_IMPLEMENTATION] = in->platform_python_implementation;
  v[PL_MV_PLATFORM_RELEASE] = in->platform_release;
  v[PL_MV_PLATFORM_SYSTEM] = in->platform_system;
  v[PL_MV_PLATFORM_VERSION] = in->platform_version;
  v[PL_MV_PYTHON_FULL_VERSION] = t->python_full_version;
  v[PL_MV_PYTHON_VERSION] = in->short_version;
  v[PL_MV_SYS_PLATFORM] = in->sys_platform;
  t->tags.impl = in->tag_impl;
  t->tags.py_major = major;
  t->tags.py_minor = minor;
  t->tags.abi = in->tag_abi[0] ? in->tag_abi : NULL;
  t->tags.abi3 = strcmp(in->tag_abi3, "1") == 0;
  t->tags.arch = strncmp(in->tag_platform, "linux_", 6) == 0 ? in->tag_platform + 6 : "";
  parse_libc(in->libc, &t->tags);
  snprintf(t->libc_text, sizeof t->libc_text, "%s", in->libc[0] ? in->libc : "no glibc");
  return 0;
}

void pl_selection_free(struct pl_selection *s) {
  free(s->wheel);
  memset(s, 0, sizeof *s);
}

/* Does python_full_version satisfy the specifier set `spec` ("" or ">=3.11,<4")? */
static int python_fits(const char *spec, const char *full, bool *out, pl_error_t *err) {
  char req[PL_REQ_MAX_BYTES];
  size_t i = strspn(spec, " \t");
  if (spec[i] == '\0') return *out = true, 0;
  int w = snprintf(req, sizeof req, "python %s", spec);
  struct pl_requirement r;
  if (w < 0 || (size_t)w >= sizeof req || !strchr("<>=!~", spec[i]) ||
      pl_requirement_parse(req, 0, &r, err) < 0)
    return pl_fail(err, EINVAL, "requires-python \"%.100s\" is not a version specifier", spec);
  struct pl_version v;
  bool ok = r.marker == NULL && r.nextras == 0 && pl_version_parse(full, strlen(full), &v) == 0;
  *out = true;
  for (size_t k = 0; ok && k < r.nspecs; k++)
    *out = *out && pl_spec_contains(&r.specs[k], &v, true);
  pl_requirement_free(&r);
  if (!ok) return pl_fail(err, EINVAL, "requires-python \"%.100s\" cannot be checked", spec);
  return 0;
}

/* Is `name` in list (PEP 503 comparison)? */
static bool listed(const char *name, char *const *list, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (pl_distname_equal(name, strlen(name), list[i], strlen(list[i]))) return true;
  return false;
}

/* A selection name: what PEP 508 allows in an extra (and PEP 735 in a group). */
static bool name_ok(const char *s) {
  return pl_distname_valid(s, strnlen(s, PL_SELECT_NAME_MAX + 1)) &&
         strlen(s) <= PL_SELECT_NAME_MAX;
}

/* The names asked for, each offered by the lock (`what` "extra" or
 * "dependency group"), normalized into out. */
static int check_asked(const char *what, const char *key, const char *const *asked, size_t n,
                       bool check, char *const *offered, size_t noffered, char **out,
                       pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    if (!name_ok(asked[i]))
      return pl_fail(err, EINVAL, "%s \"%.64s\" is not a valid name", what, asked[i]);
    if (check && !listed(asked[i], offered, noffered)) {
      cleanup_free char *list = NULL;
      size_t len = 0;
      FILE *m = open_memstream(&list, &len);
      if (m == NULL) return pl_fail(err, ENOMEM, "select");
      for (size_t k = 0; k < noffered && k < MESSAGE_MAX_ITEMS; k++)
        fprintf(m, "%s%s", k ? ", " : "", offered[k]);
      if (fclose(m) != 0) return pl_fail(err, ENOMEM, "select");
      return pl_fail_hint(err, EINVAL,
                          noffered ? "choose one the lock offers" : "ask for none of them",
                          "the lock offers no %s \"%s\" (its %s: %s)", what, asked[i], key,
                          noffered ? list : "none");
    }
    char norm[PL_SELECT_NAME_MAX + 1];
    pl_distname_normalize(asked[i], strlen(asked[i]), norm, sizeof norm);
    if ((out[i] = strdup(norm)) == NULL) return pl_fail(err, ENOMEM, "select");
  }
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "extras=a,b groups=c" from the sorted, deduplicated sets; -1 if longer than cap. */
static int make_key(char *key, size_t cap, char **extras, size_t ne, char **groups, size_t ng) {
  size_t o = 0;
  key[0] = '\0';
  char **sets[2] = {extras, groups};
  size_t ns[2] = {ne, ng};
  static const char *const label[2] = {"extras=", "groups="};
  for (int s = 0; s < 2; s++) {
    if (ns[s] == 0) continue;
    qsort(sets[s], ns[s], sizeof *sets[s], cmp_str);
    o += (size_t)snprintf(key + o, o < cap ? cap - o : 0, "%s%s", o ? " " : "", label[s]);
    for (size_t i = 0; i < ns[s]; i++) {
      if (i && strcmp(sets[s][i], sets[s][i - 1]) == 0) continue;
      o += (size_t)snprintf(key + o, o < cap ? cap - o : 0, "%s%s", i ? "," : "", sets[s][i]);
    }
  }
  return o < cap ? 0 : -1;
}

int pl_select_key_parse(char *buf, const char **extras, size_t *nextras, const char **groups,
                        size_t *ngroups, struct pl_select_opts *o, pl_error_t *err) {
  memset(o, 0, sizeof *o);
  *nextras = *ngroups = 0;
  o->groups_given = o->recorded = true;
  for (char *word = buf; *word;) {
    char *end = strchrnul(word, ' ');
    bool last = *end == '\0';
    *end = '\0';
    bool ex = strncmp(word, "extras=", 7) == 0;
    if (!ex && strncmp(word, "groups=", 7) != 0)
      return pl_fail(err, EINVAL, "selection \"%.64s\" is not extras=... or groups=...", word);
    const char **set = ex ? extras : groups;
    size_t *n = ex ? nextras : ngroups;
    for (char *name = word + 7; *name;) {
      char *comma = strchrnul(name, ',');
      bool more = *comma == ',';
      *comma = '\0';
      if (*n >= PL_SELECT_MAX_NAMES || !name_ok(name))
        return pl_fail(err, EINVAL, "selection: bad or too many names");
      set[(*n)++] = name;
      name = more ? comma + 1 : comma;
    }
    word = last ? end : end + 1;
  }
  o->extras = extras, o->nextras = *nextras, o->groups = groups, o->ngroups = *ngroups;
  return 0;
}

/* Parse and evaluate package p's marker (a lock file's: `extras` and
 * `dependency_groups` are sets, `extra` is not defined). */
static int marker_holds(const struct pl_lock_package *p, const struct pl_select_target *t,
                        const struct pl_marker_query *q, bool *out, pl_error_t *err) {
  struct pl_marker *m = NULL;
  *out = true;
  if (p->marker == NULL) return 0;
  if (pl_marker_parse(p->marker, PL_PEP508_LOCK_MARKERS, &m, err) < 0) return -1;
  int r = 0;
  for (size_t i = 0; i < m->nnodes && r == 0; i++)
    if (m->nodes[i].kind == PL_MARKER_CMP &&
        (m->nodes[i].lhs.var == PL_MV_EXTRA || m->nodes[i].rhs.var == PL_MV_EXTRA))
      r = pl_fail_hint(err, EINVAL, "lock files use \"NAME\" in extras",
                       "marker \"%.200s\" uses 'extra', which a lock file does not define",
                       p->marker);
  if (r == 0) r = pl_marker_eval(m, &t->env, q, out, err);
  pl_marker_free(m);
  return r;
}

/* The lock's top-level requires-python and environments admit t. */
static int check_lock_environment(const struct pl_lockfile *lf, const struct pl_select_target *t,
                                  pl_error_t *err) {
  bool ok = true;
  if (lf->requires_python && python_fits(lf->requires_python, t->python_full_version, &ok, err) < 0)
    return pl_error_wrap(err, "the lock");
  if (!ok)
    return pl_fail(err, PL_REFUSED, "the lock requires Python %s; the interpreter is %s",
                   lf->requires_python, t->python_full_version);
  if (lf->environments == NULL) return 0;
  for (size_t i = 0; i < lf->nenvironments; i++) {
    struct pl_marker *m = NULL;
    bool holds = false;
    if (pl_marker_parse(lf->environments[i], 0, &m, err) < 0)
      return pl_error_wrap(err, "environments[%zu]", i);
    int r = pl_marker_eval(m, &t->env, NULL, &holds, err);
    pl_marker_free(m);
    if (r < 0) return pl_error_wrap(err, "environments[%zu]", i);
    if (holds) return 0;
  }
  return pl_fail(err, PL_REFUSED,
                 "the lock is for other environments: none of its %zu environments markers "
                 "holds for this interpreter (%s on %s %s)",
                 lf->nenvironments, t->python_full_version, t->env.value[PL_MV_SYS_PLATFORM],
                 t->env.value[PL_MV_PLATFORM_MACHINE]);
}

/* Append "NAME VERSION (TAGS, TAGS)" for a package none of whose wheels fit. */
static void describe_unfit(FILE *m, const struct pl_lock_package *p) {
  fprintf(m, "%s %s (", p->name, p->version ? p->version : "");
  for (size_t w = 0; w < p->nwheels && w < MESSAGE_MAX_ITEMS; w++) {
    struct pl_wheel_filename fn;
    char tags[TAGS_TEXT_MAX] = "?";
    if (pl_wheel_filename_parse(p->wheels[w].name, &fn, NULL) == 0) {
      pl_wheel_tags_string(&fn, tags, sizeof tags);
      pl_wheel_filename_free(&fn);
    }
    fprintf(m, "%s%s", w ? ", " : "", tags);
  }
  fprintf(m, "%s)", p->nwheels > MESSAGE_MAX_ITEMS ? ", ..." : "");
}

/* The best wheel of p for t, or -1 when none fits. */
static long best_wheel(const struct pl_lock_package *p, const struct pl_select_target *t) {
  long best = -1;
  long long best_rank = -1;
  for (size_t w = 0; w < p->nwheels; w++) {
    struct pl_wheel_filename fn;
    if (pl_wheel_filename_parse(p->wheels[w].name, &fn, NULL) < 0) continue;
    long long r = pl_wheel_tags_rank(&fn, &t->tags);
    pl_wheel_filename_free(&fn);
    if (r >= 0 && (best < 0 || r < best_rank)) best = (long)w, best_rank = r;
  }
  return best;
}

/* Refusals collected over every package: one message naming them all. */
struct faults {
  FILE *m;
  char *text;
  size_t len, count;
};

static void fault(struct faults *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fault(struct faults *f, const char *fmt, ...) {
  if (f->count++ >= MESSAGE_MAX_ITEMS) return;
  va_list ap;
  va_start(ap, fmt);
  fputs(f->count > 1 ? "; " : "", f->m);
  vfprintf(f->m, fmt, ap);
  va_end(ap);
}

struct named {
  char *name; /* PEP 503-normalized */
  size_t index;
};

static int cmp_named(const void *a, const void *b) {
  const struct named *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* A name selected twice (entries told apart by markers that both hold
 * here) is ambiguous: sorted by name, not compared pairwise. */
static int refuse_twice(const struct pl_lockfile *lf, const struct pl_selection *s,
                        struct faults *f, pl_error_t *err) {
  struct named *v = calloc(s->nselected ? s->nselected : 1, sizeof *v);
  size_t n = 0;
  int rc = 0;
  if (v == NULL) return pl_fail(err, ENOMEM, "select");
  for (size_t i = 0; i < lf->npackages && rc == 0; i++) {
    if (s->wheel[i] == PL_SELECT_NOT_SELECTED) continue;
    const char *name = lf->packages[i].name;
    size_t len = strlen(name);
    if ((v[n].name = malloc(len + 1)) == NULL) {
      rc = pl_fail(err, ENOMEM, "select");
      break;
    }
    pl_distname_normalize(name, len, v[n].name, len + 1);
    v[n++].index = i;
  }
  if (rc == 0 && n > 1) qsort(v, n, sizeof *v, cmp_named);
  for (size_t k = 1; rc == 0 && k < n; k++)
    if (strcmp(v[k - 1].name, v[k].name) == 0)
      fault(f, "%s is selected twice (packages[%zu] and [%zu])", lf->packages[v[k].index].name,
            v[k - 1].index, v[k].index);
  for (size_t k = 0; k < n; k++)
    free(v[k].name);
  free(v);
  return rc;
}

/* Mark each package whose marker holds; refuse a requires-python that
 * does not, and a name selected twice. */
static int select_packages(const struct pl_lockfile *lf, const struct pl_select_target *t,
                           const struct pl_marker_query *q, struct pl_selection *s,
                           pl_error_t *err) {
  struct faults f = {0};
  if ((f.m = open_memstream(&f.text, &f.len)) == NULL) return pl_fail(err, ENOMEM, "select");
  int rc = 0;
  for (size_t i = 0; i < lf->npackages && rc == 0; i++) {
    const struct pl_lock_package *p = &lf->packages[i];
    bool holds = true, fits = true;
    s->wheel[i] = PL_SELECT_NOT_SELECTED;
    if (marker_holds(p, t, q, &holds, err) < 0 ||
        (holds && p->requires_python &&
         python_fits(p->requires_python, t->python_full_version, &fits, err) < 0)) {
      rc = pl_error_wrap(err, "package %s (packages[%zu])", p->name, i);
      break;
    }
    if (!holds) continue;
    if (!fits) fault(&f, "%s %s requires Python %s", p->name, p->version, p->requires_python);
    s->wheel[i] = 0;
    s->nselected++;
  }
  if (rc == 0) rc = refuse_twice(lf, s, &f, err);
  if (fclose(f.m) != 0 && rc == 0) rc = pl_fail(err, ENOMEM, "select");
  if (rc == 0 && f.count)
    rc = pl_fail(err, PL_REFUSED, "the lock cannot be installed on Python %s: %s%s",
                 t->python_full_version, f.text, f.count > MESSAGE_MAX_ITEMS ? "; and more" : "");
  free(f.text);
  return rc;
}

/* The best wheel of each selected package; refuse naming every package
 * none of whose wheels fits, with the tags it offers. */
static int select_wheels(const struct pl_lockfile *lf, const struct pl_select_target *t,
                         struct pl_selection *s, pl_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len = 0, count = 0;
  FILE *m = open_memstream(&text, &len);
  if (m == NULL) return pl_fail(err, ENOMEM, "select");
  for (size_t i = 0; i < lf->npackages; i++) {
    if (s->wheel[i] == PL_SELECT_NOT_SELECTED) continue;
    s->wheel[i] = best_wheel(&lf->packages[i], t);
    if (s->wheel[i] >= 0) continue;
    s->wheel[i] = PL_SELECT_NOT_SELECTED;
    if (count++ < MESSAGE_MAX_ITEMS) {
      fputs(count > 1 ? "; " : "", m);
      describe_unfit(m, &lf->packages[i]);
    }
  }
  if (fclose(m) != 0) return pl_fail(err, ENOMEM, "select");
  if (count == 0) return 0;
  const struct pl_wheel_interp *w = &t->tags;
  return pl_fail_hint(
      err, PL_REFUSED, "lock for this platform too, or use an interpreter one of those wheels fits",
      "no wheel fits this interpreter (%s%u%u, abi %s%s, %s %s) for %zu "
      "package(s): %s%s",
      w->impl, w->py_major, w->py_minor, w->abi ? w->abi : "none", w->abi3 ? "/abi3" : "",
      t->libc_text, w->arch, count, text, count > MESSAGE_MAX_ITEMS ? "; and more" : "");
}

int pl_select(const struct pl_lockfile *lf, const struct pl_select_target *t,
              const struct pl_select_opts *o, struct pl_selection *out, pl_error_t *err) {
  memset(out, 0, sizeof *out);
  size_t ngroups = o->groups_given ? o->ngroups : lf->ndefault_groups;
  const char *const *groups = o->groups_given ? o->groups : (const char *const *)lf->default_groups;
  if (o->nextras > PL_SELECT_MAX_NAMES || ngroups > PL_SELECT_MAX_NAMES)
    return pl_fail(err, E2BIG, "more than %d extras or groups", PL_SELECT_MAX_NAMES);
  char *extras_n[PL_SELECT_MAX_NAMES] = {0}, *groups_n[PL_SELECT_MAX_NAMES] = {0};
  int rc = -1;
  /* The lock's own default-groups, and names a generation's record keeps
   * (the lock may have changed since), are not checked against its lists. */
  if (check_asked("extra", "extras", o->extras, o->nextras, !o->recorded, lf->extras, lf->nextras,
                  extras_n, err) < 0 ||
      check_asked("dependency group", "dependency-groups", groups, ngroups,
                  o->groups_given && !o->recorded, lf->dependency_groups, lf->ndependency_groups,
                  groups_n, err) < 0)
    goto out;
  struct pl_marker_query q = {.extras = (const char *const *)extras_n,
                              .nextras = o->nextras,
                              .groups = (const char *const *)groups_n,
                              .ngroups = ngroups};
  if (check_lock_environment(lf, t, err) < 0) goto out;
  if ((out->wheel = calloc(lf->npackages ? lf->npackages : 1, sizeof *out->wheel)) == NULL) {
    pl_fail(err, ENOMEM, "select");
    goto out;
  }
  if (select_packages(lf, t, &q, out, err) < 0 || select_wheels(lf, t, out, err) < 0) goto out;
  if (make_key(out->key, sizeof out->key, extras_n, o->nextras, groups_n, ngroups) < 0) {
    pl_fail(err, E2BIG, "the extras and groups asked for are too long a list");
    goto out;
  }
  rc = 0;
out:
  for (size_t i = 0; i < PL_SELECT_MAX_NAMES; i++)
    free(extras_n[i]), free(groups_n[i]);
  if (rc < 0) pl_selection_free(out);
  return rc;
}
