/* pylock — PEP 751 pylock.toml model, reader and writer; see lockfile.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "lockfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "distname.h"
#include "pep508.h"
#include "tags.h"
#include "toml.h"

#define LOCK_HEADER                                                                                \
  "# Managed by pylock: change packages with 'pylock install' and 'pylock remove'.\n"

int pl_lockfile_set(char **field, const char *value, pl_error_t *err) {
  char *copy = NULL;
  if (value && (copy = strdup(value)) == NULL) return pl_fail(err, ENOMEM, "lock file");
  free(*field);
  *field = copy;
  return 0;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void pl_lock_package_free(struct pl_lock_package *p) {
  if (p == NULL) return;
  free(p->name), free(p->version), free(p->index), free(p->marker), free(p->requires_python);
  for (size_t i = 0; i < p->nwheels; i++)
    free(p->wheels[i].name), free(p->wheels[i].url), free(p->wheels[i].path);
  free(p->wheels);
  memset(p, 0, sizeof *p);
}

void pl_lockfile_set_packages(struct pl_lockfile *lf, struct pl_lock_package *pkgs, size_t n) {
  for (size_t i = 0; i < lf->npackages; i++)
    pl_lock_package_free(&lf->packages[i]);
  free(lf->packages);
  lf->packages = pkgs;
  lf->npackages = n;
}

void pl_lockfile_free(struct pl_lockfile *lf) {
  if (lf == NULL) return;
  pl_lockfile_set_packages(lf, NULL, 0);
  free(lf->lock_version), free(lf->created_by), free(lf->requires_python);
  free_strv(lf->environments, lf->nenvironments);
  free_strv(lf->extras, lf->nextras);
  free_strv(lf->dependency_groups, lf->ndependency_groups);
  free_strv(lf->default_groups, lf->ndefault_groups);
  free_strv(lf->requested, lf->nrequested);
  free_strv(lf->root_keyids, lf->nroot_keyids);
  free(lf->python), free(lf->python_version), free(lf->python_prefix);
  free(lf->registry), free(lf->registry_trusted);
  pl_toml_free(lf->other_tools);
  memset(lf, 0, sizeof *lf);
}

const struct pl_lock_package *pl_lockfile_find(const struct pl_lockfile *lf, const char *name) {
  for (size_t i = 0; i < lf->npackages; i++)
    if (pl_distname_equal(lf->packages[i].name, strlen(lf->packages[i].name), name, strlen(name)))
      return &lf->packages[i];
  return NULL;
}

/* ------------------------------------------------------------ reading */

/* An optional string at key: *out NULL when absent, an error when not a string. */
static int opt_string(const struct pl_toml *t, const char *key, const char *where, char **out,
                      pl_error_t *err) {
  *out = NULL;
  const struct pl_toml *v = pl_toml_get_key(t, key, strlen(key));
  if (v == NULL) return 0;
  size_t len;
  const char *s = pl_toml_as_string(v, &len);
  if (s == NULL) return pl_fail(err, 0, "%s: %s must be a string", where, key);
  if (memchr(s, '\0', len)) return pl_fail(err, 0, "%s: %s holds a NUL character", where, key);
  if ((*out = strndup(s, len)) == NULL) return pl_fail(err, ENOMEM, "%s", where);
  return 0;
}

static int opt_bool(const struct pl_toml *t, const char *key, const char *where, bool *out,
                    pl_error_t *err) {
  const struct pl_toml *v = pl_toml_get_key(t, key, strlen(key));
  if (v && pl_toml_as_bool(v, out) < 0)
    return pl_fail(err, 0, "%s: %s must be true or false", where, key);
  return 0;
}

static int string_array(const struct pl_toml *t, const char *key, const char *where, size_t max,
                        char ***out, size_t *n, pl_error_t *err) {
  const struct pl_toml *a = pl_toml_get_key(t, key, strlen(key));
  *out = NULL, *n = 0;
  if (a == NULL) return 0;
  if (pl_toml_type(a) != PL_TOML_ARRAY)
    return pl_fail(err, 0, "%s: %s must be an array of strings", where, key);
  size_t cnt = pl_toml_count(a);
  if (cnt > max) return pl_fail(err, E2BIG, "%s: %s has more than %zu entries", where, key, max);
  char **v = calloc(cnt ? cnt : 1, sizeof *v);
  if (v == NULL) return pl_fail(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < cnt; i++) {
    size_t len;
    const char *s = pl_toml_as_string(pl_toml_at(a, i), &len);
    if (s == NULL || memchr(s, '\0', len) || (v[i] = strndup(s, len)) == NULL) {
      free_strv(v, i);
      return pl_fail(err, 0, "%s: %s[%zu] must be a string", where, key, i);
    }
  }
  *out = v, *n = cnt;
  return 0;
}

static bool is_hex64(const char *s, size_t len) {
  if (len != 64) return false;
  for (size_t i = 0; i < len; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
          (s[i] >= 'A' && s[i] <= 'F')))
      return false;
  return true;
}

/* The last path segment of a URL, without query or fragment. */
static char *url_basename(const char *url) {
  size_t end = strcspn(url, "?#");
  size_t start = end;
  while (start > 0 && url[start - 1] != '/')
    start--;
  return end > start ? strndup(url + start, end - start) : NULL;
}

static int parse_wheel(const struct pl_toml *w, const char *pkg, struct pl_lock_wheel *out,
                       pl_error_t *err) {
  char where[PL_DISTNAME_MAX + 32];
  snprintf(where, sizeof where, "package %s: wheel", pkg);
  if (pl_toml_type(w) != PL_TOML_TABLE) return pl_fail(err, 0, "%s must be a table", where);
  if (opt_string(w, "name", where, &out->name, err) < 0 ||
      opt_string(w, "url", where, &out->url, err) < 0 ||
      opt_string(w, "path", where, &out->path, err) < 0)
    return -1;
  if (out->url == NULL && out->path == NULL)
    return pl_fail(err, 0, "%s has neither url nor path", where);
  if (out->name == NULL) {
    out->name = url_basename(out->url ? out->url : out->path);
    if (out->name == NULL) return pl_fail(err, 0, "%s: no file name in its url/path", where);
  }
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(out->name, &fn, err) < 0)
    return pl_error_wrap(err, "package %s", pkg);
  bool same = pl_distname_equal(fn.name, strlen(fn.name), pkg, strlen(pkg));
  pl_wheel_filename_free(&fn);
  if (!same) return pl_fail(err, 0, "package %s: wheel %s is another project's", pkg, out->name);
  const struct pl_toml *size = pl_toml_get_key(w, "size", 4);
  if (size) {
    int64_t v;
    if (pl_toml_as_integer(size, &v) < 0 || v < 0)
      return pl_fail(err, 0, "%s %s: size must be a non-negative integer", where, out->name);
    out->size = (uint64_t)v, out->has_size = true;
  }
  const struct pl_toml *hashes = pl_toml_get_key(w, "hashes", 6);
  if (hashes == NULL || pl_toml_type(hashes) != PL_TOML_TABLE)
    return pl_fail(err, 0, "%s %s has no hashes table", where, out->name);
  size_t hlen;
  const char *h = pl_toml_as_string(pl_toml_get_key(hashes, "sha256", 6), &hlen);
  if (h == NULL)
    return pl_fail_hint(err, 0, "re-lock with a tool that records sha256 hashes",
                        "%s %s has no sha256 hash (pylock checks every wheel by sha256)", where,
                        out->name);
  if (!is_hex64(h, hlen))
    return pl_fail(err, 0, "%s %s: hashes.sha256 is not 64 hex digits", where, out->name);
  for (size_t i = 0; i < 64; i++)
    out->sha256[i] = (char)(h[i] >= 'A' && h[i] <= 'F' ? h[i] - 'A' + 'a' : h[i]);
  out->sha256[64] = '\0';
  return 0;
}

static int parse_package(const struct pl_toml *p, size_t index, struct pl_lock_package *out,
                         pl_error_t *err) {
  char where[64];
  snprintf(where, sizeof where, "packages[%zu]", index);
  if (pl_toml_type(p) != PL_TOML_TABLE) return pl_fail(err, 0, "%s must be a table", where);
  if (opt_string(p, "name", where, &out->name, err) < 0) return -1;
  if (out->name == NULL) return pl_fail(err, 0, "%s has no name", where);
  if (!pl_distname_valid(out->name, strlen(out->name)))
    return pl_fail(err, 0, "%s: '%s' is not a valid project name", where, out->name);
  snprintf(where, sizeof where, "package %.40s", out->name);
  if (opt_string(p, "version", where, &out->version, err) < 0 ||
      opt_string(p, "index", where, &out->index, err) < 0 ||
      opt_string(p, "marker", where, &out->marker, err) < 0 ||
      opt_string(p, "requires-python", where, &out->requires_python, err) < 0)
    return -1;
  /* PEP 751 makes vcs, directory and archive exclusive of wheels; an sdist
   * may come with wheels (uv, PDM), which pylock then uses alone. */
  static const char *const kinds[][2] = {{"vcs", "a"}, {"directory", "a"}, {"archive", "an"}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
    if (pl_toml_get_key(p, kinds[k][0], strlen(kinds[k][0])))
      return pl_fail_hint(err, 0, "lock it from a registry that publishes its wheels",
                          "pylock installs wheels only; %s is locked as %s %s", out->name,
                          kinds[k][1], kinds[k][0]);
  const struct pl_toml *wheels = pl_toml_get_key(p, "wheels", 6);
  if (wheels == NULL || (pl_toml_type(wheels) == PL_TOML_ARRAY && pl_toml_count(wheels) == 0)) {
    if (pl_toml_get_key(p, "sdist", 5))
      return pl_fail_hint(err, 0, "lock it from a registry that publishes its wheels",
                          "pylock installs wheels only; %s is locked as an sdist", out->name);
    return pl_fail(err, 0, "pylock installs wheels only; %s is locked with no wheel", out->name);
  }
  if (out->version == NULL) return pl_fail(err, 0, "%s has no version", where);
  if (!pl_version_valid(out->version, strlen(out->version)))
    return pl_fail(err, 0, "%s: '%s' is not a valid version", where, out->version);
  if (pl_toml_type(wheels) != PL_TOML_ARRAY)
    return pl_fail(err, 0, "%s: wheels must be an array of tables", where);
  size_t n = pl_toml_count(wheels);
  if (n > PL_LOCK_MAX_WHEELS)
    return pl_fail(err, E2BIG, "%s has more than %d wheels", where, PL_LOCK_MAX_WHEELS);
  if ((out->wheels = calloc(n, sizeof *out->wheels)) == NULL) return pl_fail(err, ENOMEM, "lock");
  for (size_t i = 0; i < n; i++) {
    out->nwheels = i + 1;
    if (parse_wheel(pl_toml_at(wheels, i), out->name, &out->wheels[i], err) < 0) return -1;
  }
  const struct pl_toml *req = pl_toml_get(p, "tool.pylock.requested");
  if (req && pl_toml_as_bool(req, &out->requested) < 0)
    return pl_fail(err, 0, "%s: tool.pylock.requested must be a boolean", where);
  return 0;
}

/* Deep copy of a value into parent under key (NULL: append to an array). */
static int copy_value(struct pl_toml *parent, const char *key, const struct pl_toml *v,
                      pl_error_t *err) {
  enum pl_toml_type t = pl_toml_type(v);
  switch (t) {
  case PL_TOML_STRING: {
    size_t len;
    const char *s = pl_toml_as_string(v, &len);
    return pl_toml_add_string(parent, key, s, len, err);
  }
  case PL_TOML_INTEGER: {
    int64_t i;
    pl_toml_as_integer(v, &i);
    return pl_toml_add_integer(parent, key, i, err);
  }
  case PL_TOML_FLOAT: {
    double d;
    pl_toml_as_float(v, &d);
    return pl_toml_add_float(parent, key, d, err);
  }
  case PL_TOML_BOOL: {
    bool b;
    pl_toml_as_bool(v, &b);
    return pl_toml_add_bool(parent, key, b, err);
  }
  case PL_TOML_DATETIME:
  case PL_TOML_DATETIME_LOCAL:
  case PL_TOML_DATE_LOCAL:
  case PL_TOML_TIME_LOCAL: {
    char text[64];
    if (pl_toml_datetime_text(v, text, sizeof text) < 0) return pl_fail(err, 0, "date/time value");
    return pl_toml_add_datetime(parent, key, text, err);
  }
  case PL_TOML_TABLE: {
    struct pl_toml *c = pl_toml_add_table(parent, key, PL_TOML_SECTION, err);
    if (c == NULL) return -1;
    for (size_t i = 0; i < pl_toml_count(v); i++) {
      size_t klen;
      const char *k = pl_toml_key_at(v, i, &klen);
      cleanup_free char *kz = strndup(k, klen);
      if (kz == NULL) return pl_fail(err, ENOMEM, "lock");
      if (copy_value(c, kz, pl_toml_at(v, i), err) < 0) return -1;
    }
    return 0;
  }
  case PL_TOML_ARRAY: {
    /* The layout of the original is not kept: a non-empty array of tables
     * becomes [[sections]], anything else an inline array. */
    bool aot = pl_toml_count(v) > 0;
    for (size_t i = 0; i < pl_toml_count(v); i++)
      if (pl_toml_type(pl_toml_at(v, i)) != PL_TOML_TABLE) aot = false;
    struct pl_toml *c = pl_toml_add_array(parent, key, aot ? PL_TOML_SECTION : PL_TOML_INLINE, err);
    if (c == NULL) return -1;
    for (size_t i = 0; i < pl_toml_count(v); i++)
      if (copy_value(c, NULL, pl_toml_at(v, i), err) < 0) return -1;
    return 0;
  }
  }
  return pl_fail(err, 0, "unknown TOML type");
}

/* [tool.pylock.sandbox]: a project may only tighten the sandbox its user
 * chose (pylock-run(1)); a pull request must not be able to loosen it. */
static int parse_sandbox(const struct pl_toml *sb, struct pl_lockfile *out, pl_error_t *err) {
  const char *where = "tool.pylock.sandbox";
  if (sb == NULL) return 0;
  if (pl_toml_type(sb) != PL_TOML_TABLE) return pl_fail(err, 0, "%s must be a table", where);
  for (size_t i = 0; i < pl_toml_count(sb); i++) {
    size_t klen;
    const char *k = pl_toml_key_at(sb, i, &klen);
    bool b = false;
    if (pl_toml_as_bool(pl_toml_at(sb, i), &b) < 0 ||
        !((klen == 6 && memcmp(k, "strict", 6) == 0) ||
          (klen == 7 && memcmp(k, "network", 7) == 0)))
      return pl_fail_hint(err, 0,
                          "a project may only tighten the sandbox: strict = true or network = "
                          "false; more writable places are the user's to give (allow-write in "
                          "pylock-config(5))",
                          "%s: '%.*s' is not a setting a project can make", where,
                          (int)(klen > 40 ? 40 : klen), k);
    if (klen == 6) out->strict |= b;
    if (klen == 7) out->no_network |= !b;
  }
  out->sandbox_table = true;
  return 0;
}

/* pip is handed these (a pylock.toml may come from a pull request): each
 * must be a requirement pylock accepts, never a direct reference. */
static int check_requested(const struct pl_lockfile *lf, pl_error_t *err) {
  for (size_t i = 0; i < lf->nrequested; i++)
    if (pl_requirement_check(lf->requested[i], err) < 0)
      return pl_error_wrap(err, "tool.pylock.requested[%zu]", i);
  return 0;
}

static int parse_tool_pylock(const struct pl_toml *pl, struct pl_lockfile *out, pl_error_t *err) {
  const char *where = "tool.pylock";
  if (pl_toml_type(pl) != PL_TOML_TABLE) return pl_fail(err, 0, "%s must be a table", where);
  out->tool_pylock = true;
  if (string_array(pl, "requested", where, PL_LOCK_MAX_REQUESTED, &out->requested, &out->nrequested,
                   err) < 0 ||
      check_requested(out, err) < 0 ||
      string_array(pl, "root-keyids", where, 1024, &out->root_keyids, &out->nroot_keyids, err) <
          0 ||
      opt_string(pl, "python", where, &out->python, err) < 0 ||
      opt_string(pl, "python-version", where, &out->python_version, err) < 0 ||
      opt_string(pl, "python-prefix", where, &out->python_prefix, err) < 0 ||
      opt_string(pl, "registry", where, &out->registry, err) < 0 ||
      opt_string(pl, "registry-trusted", where, &out->registry_trusted, err) < 0 ||
      opt_bool(pl, "strict", where, &out->strict, err) < 0 ||
      opt_bool(pl, "auto-sync", where, &out->auto_sync, err) < 0)
    return -1;
  return parse_sandbox(pl_toml_get_key(pl, "sandbox", 7), out, err);
}

/* Sorting packages for refuse_duplicates: by normalized name, then marker
 * (none first). */
struct dup_key {
  char name[256];
  const char *marker;
  size_t index;
};

static int cmp_dup_key(const void *pa, const void *pb) {
  const struct dup_key *a = pa, *b = pb;
  int c = strcmp(a->name, b->name);
  if (c) return c;
  if (!a->marker || !b->marker) return (a->marker != NULL) - (b->marker != NULL);
  c = strcmp(a->marker, b->marker);
  return c ? c : (a->index > b->index) - (a->index < b->index);
}

#define DUPLICATES_SHOWN 16

/* A package listed twice for the same environments (PEP 751 allows one name
 * several times only under markers that tell the entries apart): refused
 * when the file is read, naming the first pairs, not mid-sync.  Sorted, not
 * compared pairwise: a lock is a pull request's input too. */
static int refuse_duplicates(const struct pl_lockfile *lf, pl_error_t *err) {
  if (lf->npackages < 2) return 0;
  cleanup_free struct dup_key *k = calloc(lf->npackages, sizeof *k);
  if (k == NULL) return pl_fail(err, ENOMEM, "lock");
  for (size_t i = 0; i < lf->npackages; i++) {
    const struct pl_lock_package *p = &lf->packages[i];
    if (pl_distname_normalize(p->name, strlen(p->name), k[i].name, sizeof k[i].name) < 0)
      snprintf(k[i].name, sizeof k[i].name, "%s", p->name);
    k[i].marker = p->marker;
    k[i].index = i;
  }
  qsort(k, lf->npackages, sizeof *k, cmp_dup_key);
  cleanup_free char *names = NULL;
  size_t len = 0, count = 0;
  FILE *m = open_memstream(&names, &len);
  if (m == NULL) return pl_fail(err, ENOMEM, "lock");
  /* Within a name, an entry without a marker sorts first and clashes with
   * every other; entries with markers clash when their markers are equal,
   * and equal ones are adjacent. */
  for (size_t i = 1; i < lf->npackages; i++) {
    const struct dup_key *a = &k[i - 1], *b = &k[i];
    if (strcmp(a->name, b->name) != 0) continue;
    bool apart = a->marker && b->marker && strcmp(a->marker, b->marker) != 0;
    if (apart) continue;
    size_t x = a->index < b->index ? a->index : b->index, y = a->index ^ b->index ^ x;
    if (count++ < DUPLICATES_SHOWN)
      fprintf(m, "%s%s (packages[%zu] and [%zu])", count > 1 ? ", " : "", lf->packages[x].name, x,
              y);
  }
  if (count > DUPLICATES_SHOWN) fprintf(m, " and %zu more", count - DUPLICATES_SHOWN);
  if (fclose(m) != 0) return pl_fail(err, ENOMEM, "lock");
  if (count == 0) return 0;
  return pl_fail_hint(err, 0, "keep one entry of each in the lock (or give each a marker)",
                      "listed twice for the same environments: %s", names);
}

static int parse_doc(const struct pl_toml *doc, struct pl_lockfile *out, pl_error_t *err) {
  if (opt_string(doc, "lock-version", "lock file", &out->lock_version, err) < 0 ||
      opt_string(doc, "created-by", "lock file", &out->created_by, err) < 0 ||
      opt_string(doc, "requires-python", "lock file", &out->requires_python, err) < 0)
    return -1;
  if (out->lock_version == NULL) return pl_fail(err, 0, "no lock-version: not a PEP 751 lock");
  if (strncmp(out->lock_version, "1.", 2) != 0)
    return pl_fail_hint(err, 0, "upgrade pylock", "lock-version %s is not supported (1.x is)",
                        out->lock_version);
  if (string_array(doc, "environments", "lock file", 1024, &out->environments, &out->nenvironments,
                   err) < 0 ||
      string_array(doc, "extras", "lock file", 1024, &out->extras, &out->nextras, err) < 0 ||
      string_array(doc, "dependency-groups", "lock file", 1024, &out->dependency_groups,
                   &out->ndependency_groups, err) < 0 ||
      string_array(doc, "default-groups", "lock file", 1024, &out->default_groups,
                   &out->ndefault_groups, err) < 0)
    return -1;
  const struct pl_toml *pkgs = pl_toml_get_key(doc, "packages", 8);
  if (pkgs) {
    if (pl_toml_type(pkgs) != PL_TOML_ARRAY)
      return pl_fail(err, 0, "packages must be an array of tables");
    size_t n = pl_toml_count(pkgs);
    if (n > PL_LOCK_MAX_PACKAGES)
      return pl_fail(err, E2BIG, "more than %d packages", PL_LOCK_MAX_PACKAGES);
    if ((out->packages = calloc(n ? n : 1, sizeof *out->packages)) == NULL)
      return pl_fail(err, ENOMEM, "lock");
    for (size_t i = 0; i < n; i++) {
      out->npackages = i + 1;
      if (parse_package(pl_toml_at(pkgs, i), i, &out->packages[i], err) < 0) return -1;
    }
    if (refuse_duplicates(out, err) < 0) return -1;
  }
  const struct pl_toml *tool = pl_toml_get_key(doc, "tool", 4);
  if (tool == NULL) return 0;
  if (pl_toml_type(tool) != PL_TOML_TABLE) return pl_fail(err, 0, "tool must be a table");
  for (size_t i = 0; i < pl_toml_count(tool); i++) {
    size_t klen;
    const char *k = pl_toml_key_at(tool, i, &klen);
    if (klen == 6 && memcmp(k, "pylock", 6) == 0) {
      if (parse_tool_pylock(pl_toml_at(tool, i), out, err) < 0) return -1;
      continue;
    }
    if (out->other_tools == NULL && (out->other_tools = pl_toml_new()) == NULL)
      return pl_fail(err, ENOMEM, "lock");
    cleanup_free char *kz = strndup(k, klen);
    if (kz == NULL) return pl_fail(err, ENOMEM, "lock");
    if (copy_value(out->other_tools, kz, pl_toml_at(tool, i), err) < 0) return -1;
  }
  return 0;
}

int pl_lockfile_parse(const char *buf, size_t len, const char *what, struct pl_lockfile *out,
                      pl_error_t *err) {
  memset(out, 0, sizeof *out);
  if (len > PL_LOCK_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s: larger than %zu bytes", what, PL_LOCK_MAX_BYTES);
  struct pl_toml *doc = NULL;
  if (pl_toml_parse(buf, len, &doc, err) < 0) return pl_error_wrap(err, "%s", what);
  int r = parse_doc(doc, out, err);
  pl_toml_free(doc);
  if (r < 0) {
    pl_lockfile_free(out);
    return pl_error_wrap(err, "%s", what);
  }
  return 0;
}

/* ------------------------------------------------------------ writing */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sort_dedup(char **v, size_t *n) {
  if (*n == 0) return;
  if (*n) qsort(v, *n, sizeof *v, cmp_str);
  size_t w = 1;
  for (size_t i = 1; i < *n; i++) {
    if (strcmp(v[i], v[w - 1]) == 0)
      free(v[i]);
    else
      v[w++] = v[i];
  }
  *n = w;
}

static int cmp_package(const void *a, const void *b) {
  const struct pl_lock_package *x = a, *y = b;
  char nx[PL_DISTNAME_MAX + 1] = "", ny[PL_DISTNAME_MAX + 1] = "";
  pl_distname_normalize(x->name, strlen(x->name), nx, sizeof nx);
  pl_distname_normalize(y->name, strlen(y->name), ny, sizeof ny);
  int c = strcmp(nx, ny);
  if (c == 0) c = strcmp(x->version ? x->version : "", y->version ? y->version : "");
  if (c == 0) c = strcmp(x->marker ? x->marker : "", y->marker ? y->marker : "");
  return c;
}

static int cmp_wheel(const void *a, const void *b) {
  return strcmp(((const struct pl_lock_wheel *)a)->name, ((const struct pl_lock_wheel *)b)->name);
}

static int add_str(struct pl_toml *t, const char *key, const char *v, pl_error_t *err) {
  return v ? pl_toml_add_string(t, key, v, (size_t)-1, err) : 0;
}

static int add_strv(struct pl_toml *t, const char *key, char **v, size_t n, pl_error_t *err) {
  struct pl_toml *a = pl_toml_add_array(t, key, PL_TOML_INLINE, err);
  if (a == NULL) return -1;
  for (size_t i = 0; i < n; i++)
    if (pl_toml_add_string(a, NULL, v[i], (size_t)-1, err) < 0) return -1;
  return 0;
}

static int build_package(struct pl_toml *pkgs, struct pl_lock_package *p, pl_error_t *err) {
  struct pl_toml *t = pl_toml_add_table(pkgs, NULL, PL_TOML_SECTION, err);
  if (t == NULL || add_str(t, "name", p->name, err) < 0 ||
      add_str(t, "version", p->version, err) < 0 || add_str(t, "marker", p->marker, err) < 0 ||
      add_str(t, "requires-python", p->requires_python, err) < 0 ||
      add_str(t, "index", p->index, err) < 0)
    return -1;
  if (p->nwheels) qsort(p->wheels, p->nwheels, sizeof *p->wheels, cmp_wheel);
  struct pl_toml *ws = pl_toml_add_array(t, "wheels", PL_TOML_SECTION, err);
  if (ws == NULL) return -1;
  for (size_t i = 0; i < p->nwheels; i++) {
    const struct pl_lock_wheel *w = &p->wheels[i];
    struct pl_toml *wt = pl_toml_add_table(ws, NULL, PL_TOML_SECTION, err), *h;
    if (wt == NULL || add_str(wt, "name", w->name, err) < 0 ||
        add_str(wt, "url", w->url, err) < 0 || add_str(wt, "path", w->path, err) < 0 ||
        (w->has_size && pl_toml_add_integer(wt, "size", (int64_t)w->size, err) < 0) ||
        (h = pl_toml_add_table(wt, "hashes", PL_TOML_INLINE, err)) == NULL ||
        pl_toml_add_string(h, "sha256", w->sha256, (size_t)-1, err) < 0)
      return -1;
  }
  if (p->requested) {
    struct pl_toml *tool = pl_toml_add_table(t, "tool", PL_TOML_SECTION, err), *pl;
    if (tool == NULL || (pl = pl_toml_add_table(tool, "pylock", PL_TOML_SECTION, err)) == NULL ||
        pl_toml_add_bool(pl, "requested", true, err) < 0)
      return -1;
  }
  return 0;
}

static int build_doc(struct pl_lockfile *lf, struct pl_toml *doc, pl_error_t *err) {
  if (add_str(doc, "lock-version", lf->lock_version ? lf->lock_version : "1.0", err) < 0 ||
      add_str(doc, "created-by", lf->created_by ? lf->created_by : "pylock", err) < 0 ||
      add_str(doc, "requires-python", lf->requires_python, err) < 0 ||
      (lf->environments &&
       add_strv(doc, "environments", lf->environments, lf->nenvironments, err) < 0) ||
      (lf->extras && add_strv(doc, "extras", lf->extras, lf->nextras, err) < 0) ||
      (lf->dependency_groups && add_strv(doc, "dependency-groups", lf->dependency_groups,
                                         lf->ndependency_groups, err) < 0) ||
      (lf->default_groups &&
       add_strv(doc, "default-groups", lf->default_groups, lf->ndefault_groups, err) < 0))
    return -1;
  if (lf->npackages) qsort(lf->packages, lf->npackages, sizeof *lf->packages, cmp_package);
  struct pl_toml *pkgs = pl_toml_add_array(doc, "packages", PL_TOML_SECTION, err);
  if (pkgs == NULL) return -1;
  for (size_t i = 0; i < lf->npackages; i++)
    if (build_package(pkgs, &lf->packages[i], err) < 0) return -1;
  struct pl_toml *tool = pl_toml_add_table(doc, "tool", PL_TOML_SECTION, err), *pl;
  if (tool == NULL || (pl = pl_toml_add_table(tool, "pylock", PL_TOML_SECTION, err)) == NULL)
    return -1;
  sort_dedup(lf->requested, &lf->nrequested);
  sort_dedup(lf->root_keyids, &lf->nroot_keyids);
  if ((!lf->requested_external &&
       add_strv(pl, "requested", lf->requested, lf->nrequested, err) < 0) ||
      add_str(pl, "python", lf->python, err) < 0 ||
      add_str(pl, "python-version", lf->python_version, err) < 0 ||
      add_str(pl, "python-prefix", lf->python_prefix, err) < 0 ||
      add_str(pl, "registry", lf->registry, err) < 0 ||
      add_str(pl, "registry-trusted", lf->registry_trusted, err) < 0 ||
      (lf->nroot_keyids && add_strv(pl, "root-keyids", lf->root_keyids, lf->nroot_keyids, err) < 0))
    return -1;
  if (lf->strict && !lf->sandbox_table && pl_toml_add_bool(pl, "strict", true, err) < 0) return -1;
  if (lf->auto_sync && pl_toml_add_bool(pl, "auto-sync", true, err) < 0) return -1;
  if (lf->sandbox_table) {
    struct pl_toml *sb = pl_toml_add_table(pl, "sandbox", PL_TOML_SECTION, err);
    if (sb == NULL || (lf->strict && pl_toml_add_bool(sb, "strict", true, err) < 0) ||
        (lf->no_network && pl_toml_add_bool(sb, "network", false, err) < 0))
      return -1;
  }
  /* Other tools' tables follow pylock's, in the order they were read. */
  for (size_t i = 0; lf->other_tools && i < pl_toml_count(lf->other_tools); i++) {
    size_t klen;
    const char *k = pl_toml_key_at(lf->other_tools, i, &klen);
    cleanup_free char *kz = strndup(k, klen);
    if (kz == NULL) return pl_fail(err, ENOMEM, "lock");
    if (copy_value(tool, kz, pl_toml_at(lf->other_tools, i), err) < 0) return -1;
  }
  return 0;
}

int pl_lockfile_write(struct pl_lockfile *lf, char **out, size_t *len, pl_error_t *err) {
  struct pl_toml *doc = pl_toml_new();
  if (doc == NULL) return pl_fail(err, ENOMEM, "lock");
  char *text = NULL;
  size_t tlen = 0;
  int r = build_doc(lf, doc, err);
  if (r == 0) r = pl_toml_write(doc, &text, &tlen, err);
  pl_toml_free(doc);
  if (r < 0) return pl_error_wrap(err, "write pylock.toml");
  size_t hlen = strlen(LOCK_HEADER);
  char *all = malloc(hlen + tlen + 1);
  if (all == NULL) {
    free(text);
    return pl_fail(err, ENOMEM, "lock");
  }
  memcpy(all, LOCK_HEADER, hlen);
  memcpy(all + hlen, text, tlen + 1);
  free(text);
  *out = all;
  if (len) *len = hlen + tlen;
  return 0;
}
