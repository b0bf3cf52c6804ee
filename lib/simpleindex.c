/* pylock — PEP 503 simple index from verified targets; see simpleindex.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "simpleindex.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
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
#include "metadata.h"
#include "pep508.h"
#include "sha.h"
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

char *pl_simpleindex_file_url(const char *dir, const char *name) {
  struct buf b = {0};
  buf_str(&b, "file://");
  const char *parts[] = {dir, "/files/", name};
  for (size_t k = 0; k < 3; k++)
    for (const unsigned char *s = (const unsigned char *)parts[k]; *s; s++) {
      if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          strchr("/-._~!+", *s)) {
        buf_add(&b, (const char *)s, 1);
      } else {
        char esc[4];
        snprintf(esc, sizeof esc, "%%%02X", *s);
        buf_add(&b, esc, 3);
      }
    }
  if (b.failed) {
    free(b.p);
    return NULL;
  }
  return b.p;
}

struct wheel_ref {
  char project[PL_DISTNAME_MAX + 1]; /* normalized */
  const struct pl_tuf_target *wheel, *metadata;
};

static int cmp_ref(const void *a, const void *b) {
  const struct wheel_ref *x = a, *y = b;
  int c = strcmp(x->project, y->project);
  return c ? c : strcmp(x->wheel->name, y->wheel->name);
}

struct rp_ctx {
  char *requires_python;
};

static int find_requires_python(void *ctx, const char *key, size_t klen, const char *val,
                                size_t vlen, pl_error_t *err) {
  struct rp_ctx *c = ctx;
  if (klen == 15 && strncasecmp(key, "Requires-Python", 15) == 0 && c->requires_python == NULL &&
      vlen < PL_HEADER_VALUE_MAX) {
    c->requires_python = strndup(val, vlen);
    if (c->requires_python == NULL) return pl_fail(err, ENOMEM, "metadata");
  }
  return 0;
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

static int write_text(int dfd, const char *name, struct buf *b, pl_error_t *err) {
  if (b->failed) return pl_fail(err, ENOMEM, "simple index: %s", name);
  return pl_write_file_atomic_at(dfd, name, b->p ? b->p : "", b->len, 0644, err);
}

/* One project page (refs[0..n) share a project) and its metadata files. */
static int write_project(struct pl_tuf *t, const char *dir, int simple_fd, int files_fd,
                         const struct wheel_ref *refs, size_t n, pl_error_t *err) {
  const char *project = refs[0].project;
  if (mkdirat(simple_fd, project, 0755) < 0 && errno != EEXIST)
    return pl_fail(err, errno, "simple index: create %s", project);
  struct buf b = {0};
  buf_str(&b, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" "
              "content=\"1.0\"><title>Links for ");
  buf_html(&b, project);
  buf_str(&b, "</title></head><body>\n");
  int rc = -1;
  for (size_t i = 0; i < n; i++) {
    const struct pl_tuf_target *w = refs[i].wheel, *m = refs[i].metadata;
    const char *base = strrchr(w->name, '/');
    base = base ? base + 1 : w->name;
    cleanup_free char *url = pl_simpleindex_file_url(dir, base);
    cleanup_free char *rp = NULL, *served = NULL;
    size_t served_len = 0;
    char served_sha[PL_SHA256_HEX] = "";
    if (url == NULL) {
      pl_fail(err, ENOMEM, "simple index");
      goto out;
    }
    if (m && m->sha256[0]) {
      cleanup_free char *md = NULL;
      size_t mlen = 0;
      if (pl_tuf_fetch_target_mem(t, m->name, &md, &mlen, err) < 0 ||
          check_requires_dist(md, mlen, m->name, err) < 0)
        goto out;
      struct rp_ctx c = {0};
      if (pl_headers_parse(md, mlen, find_requires_python, &c, err) < 0) {
        pl_error_wrap(err, "%s", m->name);
        goto out;
      }
      rp = c.requires_python;
      if (pip_spelled_metadata(md, mlen, &served, &served_len, err) < 0) goto out;
      if (served == NULL) {
        served = steal_pointer(&md);
        served_len = mlen;
      }
      if (pl_sha256_hex(served, served_len, served_sha, err) < 0) goto out;
      char mname[PL_WHEEL_FILENAME_MAX + 16];
      snprintf(mname, sizeof mname, "%s.metadata", base);
      if (pl_write_file_atomic_at(files_fd, mname, served, served_len, 0644, err) < 0) goto out;
    }
    buf_str(&b, "<a href=\"");
    buf_html(&b, url);
    if (w->sha256[0]) {
      buf_str(&b, "#sha256=");
      buf_str(&b, w->sha256);
    }
    buf_str(&b, "\"");
    if (rp) {
      buf_str(&b, " data-requires-python=\"");
      buf_html(&b, rp);
      buf_str(&b, "\"");
    }
    if (m && m->sha256[0]) {
      buf_str(&b, " data-dist-info-metadata=\"sha256=");
      buf_str(&b, served_sha);
      buf_str(&b, "\" data-core-metadata=\"sha256=");
      buf_str(&b, served_sha);
      buf_str(&b, "\"");
    }
    buf_str(&b, ">");
    buf_html(&b, base);
    buf_str(&b, "</a><br>\n");
  }
  buf_str(&b, "</body></html>\n");
  char page[PL_DISTNAME_MAX + 16];
  snprintf(page, sizeof page, "%s/index.html", project);
  rc = write_text(simple_fd, page, &b, err);
out:
  free(b.p);
  return rc;
}

int pl_simpleindex_build(struct pl_tuf *t, const char *dir, pl_error_t *err) {
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "simple index: open %s", dir);
  if ((mkdirat(dfd, "simple", 0755) < 0 && errno != EEXIST) ||
      (mkdirat(dfd, "files", 0755) < 0 && errno != EEXIST))
    return pl_fail(err, errno, "simple index: create directories in %s", dir);
  cleanup_close int simple_fd = openat(dfd, "simple", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  cleanup_close int files_fd = openat(dfd, "files", O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (simple_fd < 0 || files_fd < 0) return pl_fail(err, errno, "simple index: open %s", dir);

  size_t nt = pl_tuf_target_count(t), n = 0;
  cleanup_free struct wheel_ref *refs = calloc(nt ? nt : 1, sizeof *refs);
  if (refs == NULL) return pl_fail(err, ENOMEM, "simple index");
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
    int nl =
        pl_distname_normalize(fn.name, strlen(fn.name), refs[n].project, sizeof refs[n].project);
    pl_wheel_filename_free(&fn);
    if (nl < 0) continue;
    refs[n].wheel = tg;
    char mname[PL_WHEEL_FILENAME_MAX * 2 + 16];
    snprintf(mname, sizeof mname, "%s.metadata", tg->name);
    const struct pl_tuf_target *m = NULL;
    pl_error_t none = NULL;
    if (pl_tuf_find_target(t, mname, &m, &none) < 0) pl_error_free(&none);
    refs[n++].metadata = m;
  }
  if (n) qsort(refs, n, sizeof *refs, cmp_ref);

  struct buf b = {0};
  buf_str(&b, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" "
              "content=\"1.0\"><title>Simple index</title></head><body>\n");
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && strcmp(refs[j].project, refs[i].project) == 0)
      j++;
    buf_str(&b, "<a href=\"");
    buf_html(&b, refs[i].project);
    buf_str(&b, "/\">");
    buf_html(&b, refs[i].project);
    buf_str(&b, "</a><br>\n");
    if (write_project(t, dir, simple_fd, files_fd, refs + i, j - i, err) < 0) {
      free(b.p);
      return -1;
    }
    i = j;
  }
  buf_str(&b, "</body></html>\n");
  int r = write_text(simple_fd, "index.html", &b, err);
  free(b.p);
  return r;
}

/* The shared cache's copy of target tg (lib/cache.h): checked against the
 * signed target on every use, fetched through TUF and stored when absent or
 * damaged.  *path receives where it is. */
static int cached_copy(struct pl_tuf *t, const char *cache_root, const struct pl_tuf_target *tg,
                       char **path, pl_error_t *err) {
  struct pl_cache c;
  if (pl_cache_open(&c, cache_root, err) < 0) return -1;
  int r = -1;
  cleanup_free char *tmp = NULL;
  cleanup_close int tfd = -1;
  cleanup_close int fd = pl_cache_wheel_open(&c, tg->sha256, NULL);
  pl_error_t stale = NULL;
  if (fd >= 0 && pl_tuf_verify_target_fd(t, tg->name, fd, &stale) == 0) {
    r = pl_cache_wheel_path(&c, tg->sha256, path, err);
    goto out;
  }
  pl_error_free(&stale); /* damaged or absent: fetch it (again) */
  tfd = pl_tmpfile_open_at(c.wheels_fd, "fetch", 0200, &tmp,
                           err); /* as env.c's: no sandbox opens it */
  if (tfd < 0) goto out;
  if (pl_tuf_fetch_target(t, tg->name, tfd, err) == 0 &&
      pl_cache_wheel_store(&c, tfd, tg->sha256, err) == 0)
    r = pl_cache_wheel_path(&c, tg->sha256, path, err);
  unlinkat(c.wheels_fd, tmp, 0);
out:
  pl_cache_close(&c);
  return r;
}

/* Without a signed "<wheel>.metadata", pip reads the wheel's own METADATA to
 * resolve: check its Requires-Dist before pip can (with one, pip resolves
 * from that file, checked by pl_simpleindex_build, and reads the wheel
 * only once resolution is over). */
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

int pl_simpleindex_add_wheel(struct pl_tuf *t, const char *dir, const char *cache_dir,
                             const char *name, pl_error_t *err) {
  const struct pl_tuf_target *tg;
  if (pl_tuf_find_target(t, name, &tg, err) < 0) return -1;
  if (tg->sha256[0] == '\0')
    return pl_fail(err, EINVAL, "%s: the registry signs no sha256 for it", name);
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  cleanup_free char *files = NULL;
  if (asprintf(&files, "%s/files", dir) < 0) return pl_fail(err, ENOMEM, "simple index");
  cleanup_close int files_fd = open(files, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (files_fd < 0) return pl_fail(err, errno, "open %s", files);
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
  cleanup_free char *target = NULL;
  if (cached_copy(t, cache_dir, tg, &target, err) < 0) return -1;
  cleanup_close int cfd = open(target, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (cfd < 0) return pl_fail(err, errno, "open %s", target);
  if (check_wheel_requires(t, name, cfd, err) < 0) return -1;
  unlinkat(files_fd, base, 0);
  if (symlinkat(target, files_fd, base) < 0) return pl_fail(err, errno, "link %s", base);
  return 0;
}
