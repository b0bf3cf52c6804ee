/* pylock — PEP 503 simple index from verified targets; see simpleindex.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "simpleindex.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "cleanup.h"
#include "distname.h"
#include "file.h"
#include "pep508.h"
#include "projindex.h"
#include "wheel.h"
#include "tags.h"

#define HTML_MAX ((size_t)64 << 20) /* one page; bounded by the signed targets anyway */

struct buf {
  char *p;
  size_t len, cap;
  bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n) {
  if (b->failed) return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = cap <= HTML_MAX ? realloc(b->p, cap) : NULL;
    if (p == NULL) {
      b->failed = true;
      return;
    }
    b->p = p, b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s) {
  buf_add(b, s, strlen(s));
}

/* Text or attribute value, HTML-escaped. */
static void buf_html(struct buf *b, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': buf_str(b, "&amp;"); break;
    case '<': buf_str(b, "&lt;"); break;
    case '>': buf_str(b, "&gt;"); break;
    case '"': buf_str(b, "&quot;"); break;
    case '\'': buf_str(b, "&#39;"); break;
    default: buf_add(b, s, 1);
    }
  }
}

/* pip resolves from this METADATA: a Requires-Dist that is a direct
 * reference would make it fetch and build code no registry signed, so a
 * registry signing one fails the resolution, naming the file.  (Not left
 * out of the index instead: the registry is then broken or hostile, and
 * the user must hear of it.) */
static int check_requires_dist(const char *md, size_t len, const char *name, pl_error_t *err) {
  if (pl_requires_dist_check(md, len, name, err) == 0) return 0;
  return pl_error_set_hint(err, "the registry signs a wheel pylock refuses: tell its maintainer "
                                "(pylock registry verify --targets finds them all)");
}

/* The METADATA pip reads, with every project name in it (Name and each
 * Requires-Dist) spelled as PEP 503 normalizes it, as pylock spells the
 * requirements it hands pip.  pip 23.0 (Debian 12's) compares the name a
 * requirement spells with the metadata's Name without normalizing either,
 * and discarded the wheel when they differed ("inconsistent Name"):
 * `pylock install Jinja2`, or jinja2's own "Requires-Dist: MarkupSafe",
 * found nothing.  Only spellings change: the names are the same projects
 * for every resolver, and pylock checks pip's answer against the signed
 * targets.  *out is NULL when nothing needed changing. */
static int pip_spelled_metadata(const char *md, size_t len, char **out, size_t *out_len,
                                pl_error_t *err) {
  *out = NULL;
  struct buf b = {0};
  bool changed = false, in_headers = true;
  const char *line = md, *end = md + len;
  while (line < end) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *next = nl ? nl + 1 : end;
    if (line == nl || (line + 1 == nl && *line == '\r')) in_headers = false;
    size_t key = 0;
    if (in_headers && (size_t)(end - line) > 5 && strncasecmp(line, "Name:", 5) == 0)
      key = 5;
    else if (in_headers && (size_t)(end - line) > 14 &&
             strncasecmp(line, "Requires-Dist:", 14) == 0)
      key = 14;
    const char *v = line + key, *ve;
    while (key && v < next && (*v == ' ' || *v == '\t'))
      v++;
    for (ve = v; key && ve < next && (isalnum((unsigned char)*ve) || strchr("._-", *ve)); ve++)
      ;
    char norm[PL_DISTNAME_MAX + 1];
    int nl_len = key && ve > v ? pl_distname_normalize(v, (size_t)(ve - v), norm, sizeof norm) : -1;
    if (nl_len >= 0 && ((size_t)nl_len != (size_t)(ve - v) || memcmp(norm, v, (size_t)nl_len))) {
      buf_add(&b, line, (size_t)(v - line));
      buf_add(&b, norm, (size_t)nl_len);
      buf_add(&b, ve, (size_t)(next - ve));
      changed = true;
    } else {
      buf_add(&b, line, (size_t)(next - line));
    }
    line = next;
  }
  if (b.failed) {
    free(b.p);
    return pl_fail(err, ENOMEM, "metadata");
  }
  if (!changed) {
    free(b.p);
    return 0;
  }
  *out = b.p;
  *out_len = b.len;
  return 0;
}

/* A verified copy of target tg, open for reading at offset 0: the shared
 * cache's (lib/cache.h), checked against the signed target on every use,
 * fetched through TUF and stored when absent or damaged; without a cache,
 * fetched into an unlinked file of scratch_fd. */
static int verified_copy(struct pl_tuf *t, const char *cache_root, int scratch_fd,
                         const struct pl_tuf_target *tg, int *out, pl_error_t *err) {
  cleanup_free char *tmp = NULL;
  if (cache_root == NULL) {
    cleanup_close int tfd = pl_tmpfile_open_at(scratch_fd, "fetch", 0600, &tmp, err);
    if (tfd < 0) return -1;
    unlinkat(scratch_fd, tmp, 0);
    if (pl_tuf_fetch_target(t, tg->name, tfd, err) < 0) return -1;
    if (lseek(tfd, 0, SEEK_SET) < 0) return pl_fail(err, errno, "%s", tg->name);
    *out = steal_fd(&tfd);
    return 0;
  }
  struct pl_cache c;
  if (pl_cache_open(&c, cache_root, err) < 0) return -1;
  int r = -1;
  cleanup_close int tfd = -1;
  cleanup_close int fd = pl_cache_wheel_open(&c, tg->sha256, NULL);
  pl_error_t stale = NULL;
  if (fd >= 0 && pl_tuf_verify_target_fd(t, tg->name, fd, &stale) == 0 &&
      lseek(fd, 0, SEEK_SET) == 0) {
    *out = steal_fd(&fd);
    r = 0;
    goto out;
  }
  pl_error_free(&stale); /* damaged or absent: fetch it (again) */
  tfd = pl_tmpfile_open_locked_at(c.wheels_fd, "fetch", 0200, &tmp,
                                  err); /* as env.c's: no sandbox opens it */
  if (tfd < 0) goto out;
  if (pl_tuf_fetch_target(t, tg->name, tfd, err) == 0 &&
      pl_cache_wheel_store(&c, tfd, tg->sha256, err) == 0) {
    if (lseek(tfd, 0, SEEK_SET) == 0) {
      *out = steal_fd(&tfd);
      r = 0;
    } else {
      pl_fail(err, errno, "%s", tg->name);
    }
  }
  unlinkat(c.wheels_fd, tmp, 0);
out:
  pl_cache_close(&c);
  return r;
}

/* Without a signed "<wheel>.metadata", pip reads the wheel's own METADATA to
 * resolve: check its Requires-Dist before pip can (with one, pip resolves
 * from that file, checked by pl_simpleindex_metadata, and reads the
 * wheel only once resolution is over). */
static int check_wheel_requires(struct pl_tuf *t, const char *name, int fd, pl_error_t *err) {
  char mname[PL_WHEEL_FILENAME_MAX * 2 + 16];
  const struct pl_tuf_target *m;
  pl_error_t none = NULL;
  snprintf(mname, sizeof mname, "%s.metadata", name);
  if (pl_tuf_find_target(t, mname, &m, &none) == 0 && m->sha256[0]) return 0;
  pl_error_free(&none);
  const char *base = strrchr(name, '/');
  struct pl_wheel_info info = {0};
  if (lseek(fd, 0, SEEK_SET) < 0) return pl_fail(err, errno, "%s", name);
  int r = pl_wheel_verify(fd, base ? base + 1 : name, NULL, &info, err) < 0
              ? -1
              : check_requires_dist(info.metadata, info.metadata_len, name, err);
  pl_wheel_info_free(&info);
  return r;
}

struct wheel_ref {
  char project[PL_DISTNAME_MAX + 1]; /* normalized */
  const char *file;                  /* the target's last path segment */
  const struct pl_tuf_target *wheel, *metadata;
  char signed_name[PL_DISTNAME_MAX + 1]; /* its METADATA's Name, once respelled for pip */
};

struct pl_simpleindex {
  struct pl_tuf *t;
  const char *cache_dir;
  int scratch_fd;
  struct wheel_ref *refs; /* by project, then file */
  struct wheel_ref **by_file;
  size_t n;
  /* The registry publishes per-project index targets (projindex.h): the
   * pages pip asked for, each read from its project's index target. */
  bool by_index;
  struct pl_projindex **pages;
  size_t npages;
  /* With pages, the files whose METADATA was respelled for pip, and the
   * name it spells (what wheel_ref.signed_name holds otherwise). */
  struct respelled {
    char *file;
    char name[PL_DISTNAME_MAX + 1];
  } * respelled;
  size_t nrespelled;
};

static int cmp_ref(const void *a, const void *b) {
  const struct wheel_ref *x = a, *y = b;
  int c = strcmp(x->project, y->project);
  return c ? c : strcmp(x->file, y->file);
}

static int cmp_ref_file(const void *a, const void *b) {
  return strcmp((*(struct wheel_ref *const *)a)->file, (*(struct wheel_ref *const *)b)->file);
}

/* Does the registry publish an index target for every project?  Its
 * layout marker, a signed target, says so; a registry without one (made
 * before them, or by another tool) is read whole, as it always was. */
static int registry_has_index(struct pl_tuf *t, bool *yes, pl_error_t *err) {
  const struct pl_tuf_target *m;
  pl_error_t e = NULL;
  *yes = pl_tuf_find_target(t, PL_PROJINDEX_MARKER, &m, &e) == 0;
  if (*yes || e->errnum == ENOENT) {
    pl_error_free(&e);
    return 0;
  }
  pl_error_free(err);
  *err = e;
  return -1;
}

int pl_simpleindex_open(struct pl_tuf *t, const char *cache_dir, int scratch_fd,
                        struct pl_simpleindex **out, pl_error_t *err) {
  bool by_index;
  if (registry_has_index(t, &by_index, err) < 0) return -1;
  if (!by_index && pl_tuf_load_all(t, err) < 0) return -1;
  size_t nt = by_index ? 0 : pl_tuf_target_count(t), n = 0;
  struct pl_simpleindex *ix = calloc(1, sizeof *ix);
  if (ix == NULL) return pl_fail(err, ENOMEM, "simple index");
  ix->t = t, ix->cache_dir = cache_dir, ix->scratch_fd = scratch_fd, ix->by_index = by_index;
  ix->refs = calloc(nt ? nt : 1, sizeof *ix->refs);
  ix->by_file = calloc(nt ? nt : 1, sizeof *ix->by_file);
  if (ix->refs == NULL || ix->by_file == NULL) {
    pl_simpleindex_free(ix);
    return pl_fail(err, ENOMEM, "simple index");
  }
  for (size_t i = 0; i < nt; i++) {
    const struct pl_tuf_target *tg = pl_tuf_target_at(t, i);
    size_t len = strlen(tg->name);
    if (len < 5 || strcmp(tg->name + len - 4, ".whl") != 0) continue;
    const char *base = strrchr(tg->name, '/');
    base = base ? base + 1 : tg->name;
    /* A target whose name is not a wheel filename is not offered to pip. */
    struct pl_wheel_filename fn;
    pl_error_t ignored = NULL;
    if (pl_wheel_filename_parse(base, &fn, &ignored) < 0) {
      pl_error_free(&ignored);
      continue;
    }
    struct wheel_ref *r = &ix->refs[n];
    int nl = pl_distname_normalize(fn.name, strlen(fn.name), r->project, sizeof r->project);
    pl_wheel_filename_free(&fn);
    if (nl < 0) continue;
    r->wheel = tg, r->file = base;
    char mname[PL_WHEEL_FILENAME_MAX * 2 + 16];
    snprintf(mname, sizeof mname, "%s.metadata", tg->name);
    pl_error_t none = NULL;
    if (pl_tuf_find_target(t, mname, &r->metadata, &none) < 0 || r->metadata->sha256[0] == '\0')
      r->metadata = NULL;
    pl_error_free(&none);
    n++;
  }
  if (n) qsort(ix->refs, n, sizeof *ix->refs, cmp_ref);
  for (size_t i = 0; i < n; i++)
    ix->by_file[i] = &ix->refs[i];
  if (n) qsort(ix->by_file, n, sizeof *ix->by_file, cmp_ref_file);
  ix->n = n;
  *out = ix;
  return 0;
}

void pl_simpleindex_free(struct pl_simpleindex *ix) {
  if (ix == NULL) return;
  for (size_t i = 0; i < ix->npages; i++) {
    pl_projindex_free(ix->pages[i]);
    free(ix->pages[i]);
  }
  free(ix->pages);
  for (size_t i = 0; i < ix->nrespelled; i++)
    free(ix->respelled[i].file);
  free(ix->respelled);
  free(ix->refs);
  free(ix->by_file);
  free(ix);
}

/* The link to a file from a project page (/simple/P/): percent-encoded. */
static void buf_file_href(struct buf *b, const char *file) {
  buf_str(b, "../../files/");
  for (const unsigned char *s = (const unsigned char *)file; *s; s++) {
    if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
        strchr("-._~!+", *s)) {
      buf_add(b, (const char *)s, 1);
    } else {
      char esc[4];
      snprintf(esc, sizeof esc, "%%%02X", *s);
      buf_add(b, esc, 3);
    }
  }
}

static const char page_head[] = "<!DOCTYPE html>\n<html><head><meta "
                                "name=\"pypi:repository-version\" content=\"1.0\"><title>";

/* One anchor of a project page. */
static void buf_anchor(struct buf *b, const char *file, const char *sha256,
                       const char *requires_python, bool metadata) {
  buf_str(b, "<a href=\"");
  buf_file_href(b, file);
  if (sha256[0]) {
    buf_str(b, "#sha256=");
    buf_str(b, sha256);
  }
  buf_str(b, "\"");
  if (requires_python) {
    buf_str(b, " data-requires-python=\"");
    buf_html(b, requires_python);
    buf_str(b, "\"");
  }
  /* "true", not a hash: the metadata pip gets is fetched, checked and
   * rewritten (pip_spelled_metadata) only when pip asks for it, so that
   * a resolution reads the metadata of the candidates pip considers, not
   * of every version the registry holds. */
  if (metadata) buf_str(b, " data-dist-info-metadata=\"true\" data-core-metadata=\"true\"");
  buf_str(b, ">");
  buf_html(b, file);
  buf_str(b, "</a><br>\n");
}

/* ---- per-project index targets (projindex.h) ---- */

/* The page of project from its index target: the signed length bounded
 * before a byte is fetched, the bytes checked against the signed sha256,
 * then parsed (projindex.h refuses a page of another project, or listing
 * one's files); kept for the rest of the resolution. */
static int index_page_load(struct pl_simpleindex *ix, const char *project,
                           const struct pl_projindex **out, pl_error_t *err) {
  for (size_t i = 0; i < ix->npages; i++)
    if (strcmp(ix->pages[i]->name, project) == 0) {
      *out = ix->pages[i];
      return 0;
    }
  char target[PL_PROJINDEX_TARGET_MAX];
  const struct pl_tuf_target *tg;
  if (pl_projindex_target(project, target, sizeof target, err) < 0) return -1;
  if (pl_tuf_find_target(ix->t, target, &tg, err) < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err);
    return pl_fail(err, ENOENT, "the registry has no wheel of %s", project);
  }
  if (tg->length > PL_PROJINDEX_MAX)
    return pl_fail(err, EFBIG,
                   "%s: the registry signs an index of %" PRIu64
                   " bytes, more than the %zu allowed",
                   target, tg->length, PL_PROJINDEX_MAX);
  cleanup_free char *raw = NULL;
  size_t len = 0;
  if (pl_tuf_fetch_target_mem(ix->t, target, &raw, &len, err) < 0) return -1;
  struct pl_projindex *p = calloc(1, sizeof *p);
  struct pl_projindex **np = p ? reallocarray(ix->pages, ix->npages + 1, sizeof *np) : NULL;
  if (np == NULL) {
    free(p);
    return pl_fail(err, ENOMEM, "%s", target);
  }
  ix->pages = np;
  if (pl_projindex_parse(raw, len, project, p, err) < 0) {
    free(p);
    return pl_error_set_hint(err, "the registry publishes a bad index: tell its maintainer");
  }
  ix->pages[ix->npages++] = p;
  *out = p;
  return 0;
}

static int index_page(struct pl_simpleindex *ix, const char *project, char **html, size_t *len,
                      pl_error_t *err) {
  const struct pl_projindex *p = NULL;
  if (index_page_load(ix, project, &p, err) < 0) return -1;
  struct buf b = {0};
  buf_str(&b, page_head);
  buf_str(&b, "Links for ");
  buf_html(&b, project);
  buf_str(&b, "</title></head><body>\n");
  for (size_t i = 0; i < p->n; i++)
    buf_anchor(&b, p->files[i].filename, p->files[i].sha256, p->files[i].requires_python,
               p->files[i].metadata);
  buf_str(&b, "</body></html>\n");
  if (b.failed) {
    free(b.p);
    return pl_fail(err, ENOMEM, "simple index: %s", project);
  }
  *html = b.p, *len = b.len;
  return 0;
}

/* The signed target `name` of a file an index page lists, which must
 * agree with the page (want_sha, when the page gives one).  The page is
 * never trusted for bytes: only the file's own signed target is, and a
 * page naming a file the registry does not sign, or with another hash, is
 * refused (not 404: the registry is broken or hostile, and the user must
 * hear of it). */
static int index_target(struct pl_simpleindex *ix, const struct pl_projindex *page,
                        const char *name, const char *want_sha, const struct pl_tuf_target **out,
                        pl_error_t *err) {
  static const char hint[] = "the registry's index disagrees with its signed files: tell its "
                             "maintainer (pylock registry verify --targets)";
  if (pl_tuf_find_target(ix->t, name, out, err) < 0) {
    if ((*err)->errnum != ENOENT) return -1;
    pl_error_free(err);
    return pl_fail_hint(err, EINVAL, hint,
                        "the index of %s lists %s, which the registry does not sign", page->name,
                        name);
  }
  if (want_sha[0] && strcmp(want_sha, (*out)->sha256) != 0)
    return pl_fail_hint(err, EINVAL, hint,
                        "the index of %s gives %s the sha256 %s, and the registry signs %s",
                        page->name, name, want_sha, (*out)->sha256);
  return 0;
}

/* The signed target of wheel `file` (or, with want_metadata, of its
 * .metadata: NULL when none is signed) that a page offered pip. */
static int offered(struct pl_simpleindex *ix, const char *file, bool want_metadata,
                   const struct pl_tuf_target **out, pl_error_t *err);

int pl_simpleindex_page(struct pl_simpleindex *ix, const char *project, char **html, size_t *len,
                        pl_error_t *err) {
  if (ix->by_index) return index_page(ix, project, html, len, err);
  size_t lo = 0, hi = ix->n;
  while (lo < hi) { /* the first ref of project */
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(ix->refs[mid].project, project) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == ix->n || strcmp(ix->refs[lo].project, project) != 0)
    return pl_fail(err, ENOENT, "the registry has no wheel of %s", project);
  struct buf b = {0};
  buf_str(&b, page_head);
  buf_str(&b, "Links for ");
  buf_html(&b, project);
  buf_str(&b, "</title></head><body>\n");
  for (size_t i = lo; i < ix->n && strcmp(ix->refs[i].project, project) == 0; i++)
    buf_anchor(&b, ix->refs[i].file, ix->refs[i].wheel->sha256, NULL, ix->refs[i].metadata != NULL);
  buf_str(&b, "</body></html>\n");
  if (b.failed) {
    free(b.p);
    return pl_fail(err, ENOMEM, "simple index: %s", project);
  }
  *html = b.p, *len = b.len;
  return 0;
}

int pl_simpleindex_root(struct pl_simpleindex *ix, char **html, size_t *len, pl_error_t *err) {
  /* A list of every project is what index targets exist to avoid. */
  if (ix->by_index) return pl_fail(err, ENOENT, "the registry publishes an index per project only");
  struct buf b = {0};
  buf_str(&b, page_head);
  buf_str(&b, "Simple index</title></head><body>\n");
  for (size_t i = 0; i < ix->n; i++) {
    if (i > 0 && strcmp(ix->refs[i - 1].project, ix->refs[i].project) == 0) continue;
    buf_str(&b, "<a href=\"");
    buf_html(&b, ix->refs[i].project);
    buf_str(&b, "/\">");
    buf_html(&b, ix->refs[i].project);
    buf_str(&b, "</a><br>\n");
  }
  buf_str(&b, "</body></html>\n");
  if (b.failed) {
    free(b.p);
    return pl_fail(err, ENOMEM, "simple index");
  }
  *html = b.p, *len = b.len;
  return 0;
}

static const struct wheel_ref *find_file(const struct pl_simpleindex *ix, const char *file) {
  struct wheel_ref key = {.file = file}, *kp = &key;
  struct wheel_ref **r =
      ix->n ? bsearch(&kp, ix->by_file, ix->n, sizeof *ix->by_file, cmp_ref_file) : NULL;
  return r ? *r : NULL;
}

/* Load the page of wheel file's project (a new page at ix->npages - 1);
 * -1 when file names no project or its project has no page. */
static int load_page_of(struct pl_simpleindex *ix, const char *file) {
  struct pl_wheel_filename fn;
  char project[PL_DISTNAME_MAX + 1];
  pl_error_t e = NULL;
  size_t before = ix->npages;
  const struct pl_projindex *p;
  if (strchr(file, '/') || pl_wheel_filename_parse(file, &fn, &e) < 0) {
    pl_error_free(&e);
    return -1;
  }
  int r = pl_distname_normalize(fn.name, strlen(fn.name), project, sizeof project);
  pl_wheel_filename_free(&fn);
  if (r < 0 || index_page_load(ix, project, &p, &e) < 0 || ix->npages == before) {
    pl_error_free(&e); /* a page loaded already lists no such file */
    return -1;
  }
  return 0;
}

static int offered(struct pl_simpleindex *ix, const char *file, bool want_metadata,
                   const struct pl_tuf_target **out, pl_error_t *err) {
  *out = NULL;
  if (!ix->by_index) {
    const struct wheel_ref *r = find_file(ix, file);
    if (r == NULL) return pl_fail(err, ENOENT, "%s is not a wheel the registry signs", file);
    *out = want_metadata ? r->metadata : r->wheel;
    return 0;
  }
  /* Pages hold only their own project's files: the one listing file is
   * its project's.  A file asked for before its page was (pip asks for
   * pages first; anything else in its place may not) is looked up on its
   * project's page, loaded now: served only if that signed page lists it. */
  for (size_t i = 0; i <= ix->npages; i++) {
    if (i == ix->npages && load_page_of(ix, file) < 0) break;
    const struct pl_projindex_file *f = pl_projindex_find(ix->pages[i], file);
    if (f == NULL) continue;
    if (!want_metadata) return index_target(ix, ix->pages[i], file, f->sha256, out, err);
    if (!f->metadata) return 0;
    char mname[PL_WHEEL_FILENAME_MAX + 16];
    snprintf(mname, sizeof mname, "%s.metadata", file);
    return index_target(ix, ix->pages[i], mname, f->metadata_sha256, out, err);
  }
  return pl_fail(err, ENOENT, "%s is not a wheel the registry signs", file);
}

/* The value of the Name header of METADATA md into out ("" if none or
 * not a valid name). */
static void metadata_name(const char *md, size_t len, char *out, size_t cap) {
  out[0] = '\0';
  for (const char *line = md, *end = md + len; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *next = nl ? nl + 1 : end;
    if (line == nl || (line + 1 == nl && *line == '\r')) return; /* end of the headers */
    if ((size_t)(end - line) > 5 && strncasecmp(line, "Name:", 5) == 0) {
      const char *v = line + 5, *ve = v;
      while (v < next && (*v == ' ' || *v == '\t'))
        v++;
      for (ve = v; ve < next && (isalnum((unsigned char)*ve) || strchr("._-", *ve)); ve++)
        ;
      if (pl_distname_valid(v, (size_t)(ve - v)) && (size_t)(ve - v) < cap)
        snprintf(out, cap, "%.*s", (int)(ve - v), v);
      return;
    }
    line = next;
  }
}

const char *pl_simpleindex_served_name(const struct pl_simpleindex *ix, const char *file) {
  for (size_t i = 0; i < ix->nrespelled; i++)
    if (strcmp(ix->respelled[i].file, file) == 0) return ix->respelled[i].name;
  const struct wheel_ref *r = find_file(ix, file);
  return r && r->signed_name[0] ? r->signed_name : NULL;
}

int pl_simpleindex_metadata(struct pl_simpleindex *ix, const char *file, char **out, size_t *len,
                            pl_error_t *err) {
  const struct pl_tuf_target *m;
  if (offered(ix, file, true, &m, err) < 0) return -1;
  if (m == NULL) return pl_fail(err, ENOENT, "the registry signs no metadata for %s", file);
  cleanup_free char *md = NULL;
  size_t mlen = 0;
  if (pl_tuf_fetch_target_mem(ix->t, m->name, &md, &mlen, err) < 0 ||
      check_requires_dist(md, mlen, m->name, err) < 0 ||
      pip_spelled_metadata(md, mlen, out, len, err) < 0)
    return -1;
  if (*out == NULL) {
    *out = steal_pointer(&md), *len = mlen;
  } else {
    /* Respelled for pip: remember the signed spelling (the lock keeps it). */
    struct wheel_ref *r = ix->by_index ? NULL : (struct wheel_ref *)find_file(ix, file);
    if (r) metadata_name(md, mlen, r->signed_name, sizeof r->signed_name);
    if (ix->by_index && pl_simpleindex_served_name(ix, file) == NULL) {
      struct respelled *n = reallocarray(ix->respelled, ix->nrespelled + 1, sizeof *n);
      if (n) ix->respelled = n;
      char *copy = n ? strdup(file) : NULL;
      if (copy == NULL) {
        free(steal_pointer(out));
        return pl_fail(err, ENOMEM, "%s", file);
      }
      n[ix->nrespelled].file = copy;
      metadata_name(md, mlen, n[ix->nrespelled].name, sizeof n->name);
      ix->nrespelled++;
    }
  }
  return 0;
}

int pl_simpleindex_wheel(struct pl_simpleindex *ix, const char *file, int *fd, uint64_t *size,
                         pl_error_t *err) {
  const struct pl_tuf_target *w;
  if (offered(ix, file, false, &w, err) < 0) return -1;
  if (w->sha256[0] == '\0')
    return pl_fail(err, EINVAL, "%s: the registry signs no sha256 for it", w->name);
  cleanup_close int wfd = -1;
  if (verified_copy(ix->t, ix->cache_dir, ix->scratch_fd, w, &wfd, err) < 0 ||
      check_wheel_requires(ix->t, w->name, wfd, err) < 0 || lseek(wfd, 0, SEEK_SET) < 0)
    return -1;
  *size = w->length;
  *fd = steal_fd(&wfd);
  return 0;
}

int pl_simpleindex_project_files(struct pl_tuf *t, const char *project, char ***names, size_t *n,
                                 pl_error_t *err) {
  *names = NULL, *n = 0;
  struct pl_simpleindex ix = {.t = t, .scratch_fd = -1};
  if (registry_has_index(t, &ix.by_index, err) < 0) return -1;
  if (!ix.by_index && pl_tuf_load_all(t, err) < 0) return -1;
  const struct pl_projindex *p = NULL;
  pl_error_t absent = NULL;
  size_t cap = 0;
  if (ix.by_index && index_page_load(&ix, project, &p, &absent) < 0) {
    int r = absent->errnum == ENOENT ? 0 : -1;
    if (r == 0)
      pl_error_free(&absent);
    else
      pl_error_free(err), *err = absent;
    return r;
  }
  cap = p ? p->n : pl_tuf_target_count(t);
  char **out = calloc(cap ? cap : 1, sizeof *out);
  int r = out ? 0 : pl_fail(err, ENOMEM, "%s", project);
  for (size_t i = 0; r == 0 && i < cap; i++) {
    const char *name = p ? p->files[i].filename : pl_tuf_target_at(t, i)->name;
    char norm[PL_DISTNAME_MAX + 1];
    struct pl_wheel_filename fn;
    pl_error_t e = NULL;
    if (strchr(name, '/') || pl_wheel_filename_parse(name, &fn, &e) < 0) {
      pl_error_free(&e);
      continue;
    }
    int nl = pl_distname_normalize(fn.name, strlen(fn.name), norm, sizeof norm);
    pl_wheel_filename_free(&fn);
    if (nl < 0 || strcmp(norm, project) != 0) continue;
    if ((out[*n] = strdup(name)) == NULL)
      r = pl_fail(err, ENOMEM, "%s", project);
    else
      (*n)++;
  }
  if (p) {
    pl_projindex_free(ix.pages[0]);
    free(ix.pages[0]);
    free(ix.pages);
  }
  if (r < 0) {
    for (size_t i = 0; i < *n; i++)
      free(out[i]);
    free(out);
    *n = 0;
    return -1;
  }
  *names = out;
  return 0;
}

int pl_simpleindex_add_wheel(struct pl_tuf *t, const char *dir, const char *cache_dir,
                             const char *name, pl_error_t *err) {
  const struct pl_tuf_target *tg;
  if (pl_tuf_find_target(t, name, &tg, err) < 0) return -1;
  if (tg->sha256[0] == '\0')
    return pl_fail(err, EINVAL, "%s: the registry signs no sha256 for it", name);
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "open %s", dir);
  if (mkdirat(dfd, "files", 0755) < 0 && errno != EEXIST)
    return pl_fail(err, errno, "create %s/files", dir);
  cleanup_close int files_fd =
      openat(dfd, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (files_fd < 0) return pl_fail(err, errno, "open %s/files", dir);
  if (cache_dir == NULL) {
    cleanup_free char *tmp = NULL;
    int wfd = pl_tmpfile_open_at(files_fd, base, 0644, &tmp, err);
    if (wfd < 0) return -1;
    if (pl_tuf_fetch_target(t, name, wfd, err) < 0 || check_wheel_requires(t, name, wfd, err) < 0) {
      close(wfd);
      unlinkat(files_fd, tmp, 0);
      return -1;
    }
    return pl_tmpfile_commit_at(files_fd, wfd, tmp, base, err);
  }
  cleanup_close int cfd = -1;
  if (verified_copy(t, cache_dir, files_fd, tg, &cfd, err) < 0 ||
      check_wheel_requires(t, name, cfd, err) < 0)
    return -1;
  struct pl_cache c;
  cleanup_free char *target = NULL;
  if (pl_cache_open(&c, cache_dir, err) < 0) return -1;
  int r = pl_cache_wheel_path(&c, tg->sha256, &target, err);
  pl_cache_close(&c);
  if (r < 0) return -1;
  unlinkat(files_fd, base, 0);
  if (symlinkat(target, files_fd, base) < 0) return pl_fail(err, errno, "link %s", base);
  return 0;
}
