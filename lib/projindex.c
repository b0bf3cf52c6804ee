/* pylock — per-project PEP 691 index targets; see projindex.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "projindex.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "canonjson.h"
#include "cleanup.h"
#include "metadata.h"
#include "tags.h"
#include "tuf.h"

static const char marker[] = "{\"layout\":\"pylock-project-index\",\"path\":\"simple/{project}/"
                             "index.json\",\"version\":1}\n";

const char *pl_projindex_marker_content(void) {
  return marker;
}

int pl_projindex_target(const char *project, char *out, size_t cap, pl_error_t *err) {
  char norm[PL_DISTNAME_MAX + 1];
  size_t len = strlen(project);
  if (!pl_distname_valid(project, len) ||
      pl_distname_normalize(project, len, norm, sizeof norm) < 0)
    return pl_fail(err, EINVAL, "\"%.64s\" is not a project name", project);
  int n = snprintf(out, cap, "simple/%s/index.json", norm);
  if (n < 0 || (size_t)n >= cap) return pl_fail(err, ENAMETOOLONG, "index of %s", norm);
  return 0;
}

int pl_projindex_init(struct pl_projindex *ix, const char *project, pl_error_t *err) {
  memset(ix, 0, sizeof *ix);
  char norm[PL_DISTNAME_MAX + 1];
  size_t len = strlen(project);
  if (!pl_distname_valid(project, len) ||
      pl_distname_normalize(project, len, norm, sizeof norm) < 0 || strcmp(norm, project) != 0)
    return pl_fail(err, EINVAL, "\"%.64s\" is not a normalized project name", project);
  memcpy(ix->name, norm, strlen(norm) + 1);
  return 0;
}

static void file_free(struct pl_projindex_file *f) {
  free(f->filename);
  free(f->requires_python);
}

bool pl_projindex_remove(struct pl_projindex *ix, const char *filename) {
  for (size_t i = 0; i < ix->n; i++)
    if (strcmp(ix->files[i].filename, filename) == 0) {
      file_free(&ix->files[i]);
      memmove(&ix->files[i], &ix->files[i + 1], (ix->n - i - 1) * sizeof ix->files[0]);
      ix->n--;
      return true;
    }
  return false;
}

void pl_projindex_free(struct pl_projindex *ix) {
  for (size_t i = 0; i < ix->n; i++)
    file_free(&ix->files[i]);
  free(ix->files);
  ix->files = NULL;
  ix->n = ix->cap = 0;
}

static bool is_sha256(const char *s) {
  if (s == NULL || strlen(s) != 64) return false;
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return false;
  return true;
}

/* A file an index of ix->name may list: a wheel file name (one path
 * segment) whose project is ix's, under any spelling. */
static int check_filename(const struct pl_projindex *ix, const char *name, pl_error_t *err) {
  size_t len = name ? strlen(name) : 0;
  if (len < 5 || len > PL_WHEEL_FILENAME_MAX || strchr(name, '/') || name[0] == '.' ||
      strcmp(name + len - 4, ".whl") != 0)
    return pl_fail(err, EINVAL, "index of %s: \"%.64s\" is not a wheel file name", ix->name,
                   name ? name : "");
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(name, &fn, err) < 0)
    return pl_error_wrap(err, "index of %s", ix->name);
  char norm[PL_DISTNAME_MAX + 1];
  int r = pl_distname_normalize(fn.name, strlen(fn.name), norm, sizeof norm);
  pl_wheel_filename_free(&fn);
  if (r < 0 || strcmp(norm, ix->name) != 0)
    return pl_fail(err, EINVAL, "index of %s lists %s, a file of another project", ix->name, name);
  return 0;
}

/* The slot of filename in the sorted files: its index if present (*found). */
static size_t slot_of(const struct pl_projindex *ix, const char *filename, bool *found) {
  size_t lo = 0, hi = ix->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(ix->files[mid].filename, filename);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

const struct pl_projindex_file *pl_projindex_find(const struct pl_projindex *ix,
                                                  const char *filename) {
  bool found;
  size_t i = slot_of(ix, filename, &found);
  return found ? &ix->files[i] : NULL;
}

/* Take over *f (its strings) at its place; replace an entry of its name
 * when `replace`, else refuse a second one. */
static int insert(struct pl_projindex *ix, struct pl_projindex_file *f, bool replace,
                  pl_error_t *err) {
  bool found;
  size_t i = slot_of(ix, f->filename, &found);
  if (found && !replace) {
    int r = pl_fail(err, EINVAL, "index of %s lists %s twice", ix->name, f->filename);
    file_free(f);
    return r;
  }
  if (found) {
    file_free(&ix->files[i]);
    ix->files[i] = *f;
    return 0;
  }
  if (ix->n >= PL_PROJINDEX_FILES_MAX) {
    file_free(f);
    return pl_fail(err, E2BIG, "index of %s: more than %d files", ix->name, PL_PROJINDEX_FILES_MAX);
  }
  if (ix->n == ix->cap) {
    size_t cap = ix->cap ? 2 * ix->cap : 16;
    struct pl_projindex_file *nf = reallocarray(ix->files, cap, sizeof *nf);
    if (nf == NULL) {
      file_free(f);
      return pl_fail(err, ENOMEM, "index of %s", ix->name);
    }
    ix->files = nf, ix->cap = cap;
  }
  memmove(&ix->files[i + 1], &ix->files[i], (ix->n - i) * sizeof *ix->files);
  ix->files[i] = *f;
  ix->n++;
  return 0;
}

/* requires-python is handed to pip in an HTML attribute: printable ASCII. */
static bool requires_python_ok(const char *s) {
  if (strlen(s) > PL_PROJINDEX_REQUIRES_PYTHON_MAX) return false;
  for (; *s; s++)
    if (*s < 0x20 || *s > 0x7e) return false;
  return true;
}

int pl_projindex_add(struct pl_projindex *ix, const struct pl_projindex_file *f, pl_error_t *err) {
  if (check_filename(ix, f->filename, err) < 0) return -1;
  if (!is_sha256(f->sha256) || (f->metadata_sha256[0] && !is_sha256(f->metadata_sha256)) ||
      (f->requires_python && !requires_python_ok(f->requires_python)))
    return pl_fail(err, EINVAL, "index of %s: a malformed entry for %s", ix->name, f->filename);
  struct pl_projindex_file c = *f;
  c.filename = strdup(f->filename);
  c.requires_python = f->requires_python ? strdup(f->requires_python) : NULL;
  if (c.filename == NULL || (f->requires_python && c.requires_python == NULL)) {
    file_free(&c);
    return pl_fail(err, ENOMEM, "index of %s", ix->name);
  }
  return insert(ix, &c, true, err);
}

/* One entry of "files", checked. */
static int parse_file(struct pl_projindex *ix, const json_t *o, pl_error_t *err) {
  const char *name = json_string_value(json_object_get(o, "filename"));
  if (!json_is_object(o) || check_filename(ix, name, err) < 0)
    return json_is_object(o)
               ? -1
               : pl_fail(err, EINVAL, "index of %s: a file is not an object", ix->name);
  struct pl_projindex_file f = {0};
  const char *sha = json_string_value(json_object_get(json_object_get(o, "hashes"), "sha256"));
  const json_t *size = json_object_get(o, "size"), *rp = json_object_get(o, "requires-python");
  const json_t *md = json_object_get(o, "core-metadata");
  if (md == NULL) md = json_object_get(o, "dist-info-metadata");
  const char *mdsha = json_string_value(json_object_get(md, "sha256"));
  if (!is_sha256(sha) || (size && (!json_is_integer(size) || json_integer_value(size) < 0)) ||
      (rp && !json_is_null(rp) &&
       (!json_is_string(rp) || !requires_python_ok(json_string_value(rp)))) ||
      (md && !json_is_boolean(md) && !json_is_object(md)) ||
      (json_is_object(md) && mdsha && !is_sha256(mdsha)))
    return pl_fail(err, EINVAL, "index of %s: a malformed entry for %s", ix->name, name);
  memcpy(f.sha256, sha, PL_SHA256_HEX);
  f.size = size ? (uint64_t)json_integer_value(size) : 0;
  f.metadata = json_is_true(md) || json_is_object(md);
  if (mdsha) memcpy(f.metadata_sha256, mdsha, PL_SHA256_HEX);
  f.filename = strdup(name);
  if (json_is_string(rp)) f.requires_python = strdup(json_string_value(rp));
  if (f.filename == NULL || (json_is_string(rp) && f.requires_python == NULL)) {
    file_free(&f);
    return pl_fail(err, ENOMEM, "index of %s", ix->name);
  }
  return insert(ix, &f, false, err);
}

int pl_projindex_parse(const char *buf, size_t len, const char *project, struct pl_projindex *out,
                       pl_error_t *err) {
  if (pl_projindex_init(out, project, err) < 0) return -1;
  if (len > PL_PROJINDEX_MAX)
    return pl_fail(err, EFBIG, "index of %s: %zu bytes, more than the %zu allowed", project, len,
                   PL_PROJINDEX_MAX);
  cleanup_json json_t *doc = NULL;
  if (pl_json_parse(buf, len, "project index", &doc, err) < 0)
    return pl_error_wrap(err, "index of %s", project);
  const char *api = json_string_value(json_object_get(json_object_get(doc, "meta"), "api-version"));
  const char *name = json_string_value(json_object_get(doc, "name"));
  const json_t *files = json_object_get(doc, "files");
  if (api == NULL || strncmp(api, "1.", 2) != 0 || !json_is_array(files))
    return pl_fail(err, EINVAL, "index of %s: not a PEP 691 1.x project page", project);
  /* The page names its project: a page of another one, published at this
   * project's path, is refused whole. */
  if (name == NULL || strcmp(name, project) != 0)
    return pl_fail(err, EINVAL, "index of %s names the project \"%.64s\"", project,
                   name ? name : "");
  if (json_array_size(files) > PL_PROJINDEX_FILES_MAX)
    return pl_fail(err, E2BIG, "index of %s: more than %d files", project, PL_PROJINDEX_FILES_MAX);
  for (size_t i = 0; i < json_array_size(files); i++)
    if (parse_file(out, json_array_get(files, i), err) < 0) {
      pl_projindex_free(out);
      return -1;
    }
  return 0;
}

/* {"sha256": hex} */
static json_t *hash_object(const char *hex) {
  json_t *h = json_object();
  if (h) json_object_set_new(h, "sha256", json_string(hex));
  return h;
}

/* The file's entry; NULL when out of memory. */
static json_t *render_file(const struct pl_projindex_file *f, bool hashed_names) {
  json_t *o = json_object();
  char url[PL_WHEEL_FILENAME_MAX + PL_SHA256_HEX + 8];
  snprintf(url, sizeof url, "../../%s%s%s", hashed_names ? f->sha256 : "", hashed_names ? "." : "",
           f->filename);
  if (o == NULL || json_object_set_new(o, "filename", json_string(f->filename)) < 0 ||
      json_object_set_new(o, "url", json_string(url)) < 0 ||
      json_object_set_new(o, "hashes", hash_object(f->sha256)) < 0 ||
      json_object_set_new(o, "size", json_integer((json_int_t)f->size)) < 0 ||
      (f->requires_python &&
       json_object_set_new(o, "requires-python", json_string(f->requires_python)) < 0) ||
      (f->metadata && f->metadata_sha256[0] &&
       (json_object_set_new(o, "core-metadata", hash_object(f->metadata_sha256)) < 0 ||
        json_object_set_new(o, "dist-info-metadata", hash_object(f->metadata_sha256)) < 0)) ||
      (f->metadata && !f->metadata_sha256[0] &&
       (json_object_set_new(o, "core-metadata", json_true()) < 0 ||
        json_object_set_new(o, "dist-info-metadata", json_true()) < 0))) {
    pl_json_decref(o);
    return NULL;
  }
  return o;
}

/* "versions" (PEP 700): each version a file names, once, sorted. */
static int add_versions(const struct pl_projindex *ix, json_t *doc) {
  json_t *versions = json_array();
  if (versions == NULL || json_object_set_new(doc, "versions", versions) < 0) return -1;
  cleanup_free char **seen = calloc(ix->n ? ix->n : 1, sizeof *seen);
  struct pl_wheel_filename *fns = calloc(ix->n ? ix->n : 1, sizeof *fns);
  size_t nseen = 0, nfns = 0;
  int r = seen && fns ? 0 : -1;
  for (size_t i = 0; r == 0 && i < ix->n; i++) {
    pl_error_t e = NULL;
    if (pl_wheel_filename_parse(ix->files[i].filename, &fns[nfns], &e) < 0) {
      pl_error_free(&e);
      continue;
    }
    const char *v = fns[nfns++].version;
    bool dup = false;
    for (size_t j = 0; j < nseen && !dup; j++)
      dup = strcmp(seen[j], v) == 0;
    if (!dup) seen[nseen++] = (char *)v;
  }
  for (size_t i = 1; r == 0 && i < nseen; i++) /* insertion sort: few versions */
    for (size_t j = i; j > 0 && strcmp(seen[j - 1], seen[j]) > 0; j--) {
      char *tmp = seen[j];
      seen[j] = seen[j - 1], seen[j - 1] = tmp;
    }
  for (size_t i = 0; r == 0 && i < nseen; i++)
    r = json_array_append_new(versions, json_string(seen[i]));
  for (size_t i = 0; i < nfns; i++)
    pl_wheel_filename_free(&fns[i]);
  free(fns);
  return r;
}

int pl_projindex_render(const struct pl_projindex *ix, bool hashed_names, char **out, size_t *len,
                        pl_error_t *err) {
  cleanup_json json_t *doc = json_object();
  json_t *meta = json_object(), *files = json_array();
  if (doc == NULL || meta == NULL || files == NULL || json_object_set_new(doc, "meta", meta) < 0 ||
      json_object_set_new(meta, "api-version", json_string("1.1")) < 0 ||
      json_object_set_new(doc, "name", json_string(ix->name)) < 0 ||
      json_object_set_new(doc, "files", files) < 0 || add_versions(ix, doc) < 0)
    return pl_fail(err, ENOMEM, "index of %s", ix->name);
  for (size_t i = 0; i < ix->n; i++)
    if (json_array_append_new(files, render_file(&ix->files[i], hashed_names)) < 0)
      return pl_fail(err, ENOMEM, "index of %s", ix->name);
  if (pl_json_canonical(doc, out, len, err) < 0) return pl_error_wrap(err, "index of %s", ix->name);
  return 0;
}

/* ---- shared by the writer and `registry verify` ---- */

struct rp_ctx {
  char *value;
  bool seen, nomem;
};

/* A header callback: the first Requires-Python, kept when a page can carry
 * it (printable ASCII, bounded); pip reads any other from .metadata. */
static int requires_python_field(void *ctx, const char *key, size_t klen, const char *val,
                                 size_t vlen, pl_error_t *err) {
  (void)err;
  struct rp_ctx *rp = ctx;
  if (klen != 15 || strncasecmp(key, "Requires-Python", 15) != 0 || rp->seen) return 0;
  rp->seen = true;
  if (vlen > PL_PROJINDEX_REQUIRES_PYTHON_MAX) return 0;
  for (size_t i = 0; i < vlen; i++)
    if (val[i] < 0x20 || val[i] > 0x7e) return 0;
  rp->value = strndup(val, vlen);
  rp->nomem = rp->value == NULL;
  return 0;
}

int pl_projindex_requires_python(const char *metadata, size_t len, char **out, pl_error_t *err) {
  struct rp_ctx rp = {0};
  pl_error_t ignored = NULL; /* METADATA that passed the wheel's checks already */
  pl_headers_parse(metadata, len, requires_python_field, &rp, &ignored);
  pl_error_free(&ignored);
  if (rp.nomem) return pl_fail(err, ENOMEM, "Requires-Python");
  *out = rp.value;
  return 0;
}

int pl_projindex_target_project(const char *target, char *project, size_t cap) {
  static const char pre[] = "simple/", suf[] = "/index.json";
  size_t len = strlen(target), pl = sizeof pre - 1, sl = sizeof suf - 1;
  if (strncmp(target, pre, pl) != 0 || strcmp(target, PL_PROJINDEX_MARKER) == 0) return 0;
  if (len <= pl + sl || strcmp(target + len - sl, suf) != 0) return -1;
  const char *name = target + pl;
  size_t nlen = len - pl - sl;
  char norm[PL_DISTNAME_MAX + 1];
  if (memchr(name, '/', nlen) || !pl_distname_valid(name, nlen) ||
      pl_distname_normalize(name, nlen, norm, sizeof norm) < 0 || strlen(norm) != nlen ||
      memcmp(norm, name, nlen) != 0 || nlen >= cap)
    return -1;
  memcpy(project, norm, nlen + 1);
  return 1;
}

/* ---- registry verify --targets: pages against the signed file targets ---- */

void pl_projindex_check_init(struct pl_projindex_check *c, struct pl_tuf *t) {
  memset(c, 0, sizeof *c);
  c->t = t;
  const struct pl_tuf_target *m;
  pl_error_t e = NULL;
  c->marker = pl_tuf_find_target(t, PL_PROJINDEX_MARKER, &m, &e) == 0;
  pl_error_free(&e);
}

void pl_projindex_check_free(struct pl_projindex_check *c) {
  if (c->have) pl_projindex_free(&c->page);
  c->have = false;
}

/* The signed page of project (normalized), kept as the one page in hand;
 * *none when the registry signs none. */
static int check_load(struct pl_projindex_check *c, const char *project, bool *none,
                      pl_error_t *err) {
  *none = false;
  if (c->have && strcmp(c->page.name, project) == 0) return 0;
  pl_projindex_check_free(c);
  char target[PL_PROJINDEX_TARGET_MAX];
  const struct pl_tuf_target *tg;
  if (pl_projindex_target(project, target, sizeof target, err) < 0) return -1;
  if (pl_tuf_find_target(c->t, target, &tg, err) < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err);
    *none = true;
    return 0;
  }
  if (tg->length > PL_PROJINDEX_MAX)
    return pl_fail(err, EFBIG, "%s: %" PRIu64 " bytes, more than the %zu a client reads", target,
                   tg->length, PL_PROJINDEX_MAX);
  cleanup_free char *raw = NULL;
  size_t len = 0;
  if (pl_tuf_fetch_target_mem(c->t, target, &raw, &len, err) < 0 ||
      pl_projindex_parse(raw, len, project, &c->page, err) < 0)
    return -1;
  c->have = true;
  return 0;
}

/* The page's entry f against the signed targets of its file and .metadata. */
static int check_entry(struct pl_projindex_check *c, const char *project,
                       const struct pl_projindex_file *f, pl_error_t *err) {
  const struct pl_tuf_target *w, *m = NULL;
  if (pl_tuf_find_target(c->t, f->filename, &w, err) < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err);
    return pl_fail(err, 0, "the page of %s lists %s, which is not a signed target", project,
                   f->filename);
  }
  if (strcmp(w->sha256, f->sha256) != 0 || w->length != f->size)
    return pl_fail(err, 0,
                   "the page of %s gives %s sha256 %s and %" PRIu64
                   " bytes; the signed target has %s and %" PRIu64,
                   project, f->filename, f->sha256, f->size, w->sha256, w->length);
  char mname[PL_WHEEL_FILENAME_MAX + 16];
  snprintf(mname, sizeof mname, "%s.metadata", f->filename);
  pl_error_t e = NULL;
  if (pl_tuf_find_target(c->t, mname, &m, &e) < 0) {
    bool absent = e->errnum == ENOENT;
    if (!absent) {
      pl_error_free(err);
      *err = e;
      return -1;
    }
    pl_error_free(&e);
    m = NULL;
  }
  if (f->metadata != (m != NULL))
    return pl_fail(err, 0, "the page of %s says %s has %s .metadata, and the registry signs %s",
                   project, f->filename, f->metadata ? "a" : "no", m ? "one" : "none");
  if (m && f->metadata_sha256[0] && strcmp(m->sha256, f->metadata_sha256) != 0)
    return pl_fail(err, 0, "the page of %s gives %s.metadata sha256 %s; the signed target has %s",
                   project, f->filename, f->metadata_sha256, m->sha256);
  return 0;
}

int pl_projindex_check_page(struct pl_projindex_check *c, const char *target, pl_error_t *err) {
  char project[PL_DISTNAME_MAX + 1];
  int kind = pl_projindex_target_project(target, project, sizeof project);
  if (kind == 0) return 0;
  if (kind < 0)
    return pl_fail(err, 0,
                   "%s: not a project page at its normalized name (simple/NAME/index.json, "
                   "PEP 503): no client reads it",
                   target);
  bool none;
  if (check_load(c, project, &none, err) < 0) return pl_error_wrap(err, "%s", target);
  if (c->page.n == 0)
    return pl_fail(err, 0, "%s: a page of %s, a project without files", target, project);
  for (size_t i = 0; i < c->page.n; i++)
    if (check_entry(c, project, &c->page.files[i], err) < 0) return -1;
  return 0;
}

int pl_projindex_check_wheel(struct pl_projindex_check *c, const char *wheel, const char *metadata,
                             size_t metadata_len, pl_error_t *err) {
  struct pl_wheel_filename fn;
  char project[PL_DISTNAME_MAX + 1];
  if (strchr(wheel, '/') || pl_wheel_filename_parse(wheel, &fn, err) < 0) {
    pl_error_free(err);
    return 0; /* not offered to pip as a wheel: no page lists it */
  }
  int r = pl_distname_normalize(fn.name, strlen(fn.name), project, sizeof project);
  pl_wheel_filename_free(&fn);
  if (r < 0) return 0;
  bool none;
  if (check_load(c, project, &none, err) < 0) return pl_error_wrap(err, "%s", wheel);
  if (none)
    return c->marker ? pl_fail(err, 0,
                               "%s: its project %s has no page, and the registry says every "
                               "project has one (%s): clients never see this file",
                               wheel, project, PL_PROJINDEX_MARKER)
                     : 0;
  const struct pl_projindex_file *f = pl_projindex_find(&c->page, wheel);
  if (f == NULL)
    return pl_fail(err, 0, "%s: the page of %s does not list it: clients never see this file",
                   wheel, project);
  if (check_entry(c, project, f, err) < 0) return -1;
  if (metadata == NULL) return 0;
  cleanup_free char *rp = NULL;
  if (pl_projindex_requires_python(metadata, metadata_len, &rp, err) < 0) return -1;
  if ((rp == NULL) != (f->requires_python == NULL) || (rp && strcmp(rp, f->requires_python) != 0))
    return pl_fail(
        err, 0, "the page of %s gives %s requires-python \"%s\"; its METADATA says \"%s\"", project,
        wheel, f->requires_python ? f->requires_python : "(none)", rp ? rp : "(none)");
  return 0;
}
