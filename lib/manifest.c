/* pylock — manifests of trees and generations; see manifest.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "manifest.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_path.h"
#include "cleanup.h"
#include "digest.h"

#define HASH_BLOCK (128 * 1024)
#define WALK_DEPTH_MAX (PL_PATH_DEPTH_MAX + 8)
#define MANIFEST_HEADER "pylock-manifest 1\n"
#define GEN_HEADER "pylock-generation 1\n"

void pl_manifest_free(struct pl_manifest *m) {
  for (size_t i = 0; i < m->n; i++)
    free(m->e[i].path);
  free(m->e);
  memset(m, 0, sizeof *m);
}

int pl_manifest_add(struct pl_manifest *m, const char *path, uint64_t size, mode_t mode,
                    const char sha256[PL_SHA256_HEX], pl_error_t *err) {
  if (strchr(path, '\n') || path[0] == '\0')
    return pl_fail(err, EINVAL, "a path a manifest cannot hold");
  if (m->n == PL_MANIFEST_MAX_ENTRIES) return pl_fail(err, E2BIG, "manifest: too many files");
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 256;
    struct pl_manifest_entry *e = realloc(m->e, cap * sizeof *e);
    if (e == NULL) return pl_fail(err, ENOMEM, "manifest");
    m->e = e;
    m->cap = cap;
  }
  struct pl_manifest_entry *e = &m->e[m->n];
  if ((e->path = strdup(path)) == NULL) return pl_fail(err, ENOMEM, "manifest");
  e->size = size;
  e->mode = mode & 07777;
  memcpy(e->sha256, sha256, PL_SHA256_HEX);
  m->n++;
  return 0;
}

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const struct pl_manifest_entry *)a)->path,
                ((const struct pl_manifest_entry *)b)->path);
}

void pl_manifest_sort(struct pl_manifest *m) {
  if (m->n) qsort(m->e, m->n, sizeof *m->e, cmp_entry);
}

const struct pl_manifest_entry *pl_manifest_find(const struct pl_manifest *m, const char *path) {
  struct pl_manifest_entry key = {.path = (char *)path};
  return m->n ? bsearch(&key, m->e, m->n, sizeof *m->e, cmp_entry) : NULL;
}

int pl_manifest_hash_file(int dirfd, const char *name, char sha256[PL_SHA256_HEX], uint64_t *size,
                          mode_t *mode, pl_error_t *err) {
  cleanup_close int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return pl_fail(err, errno, "%s", name);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, EINVAL, "%s: not a regular file", name);
  struct pl_digest d;
  if (pl_digest_init(&d, PL_HASH_SHA256, err) < 0) return -1;
  /* On the stack, not in thread-local storage: the loader zeroes all of
   * static TLS at every start of the binary (32 page faults for the shim,
   * which never hashes). */
  char buf[HASH_BLOCK];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      pl_digest_release(&d);
      return pl_fail(err, e, "read %s", name);
    }
    if (n == 0) break;
    if (pl_digest_update(&d, buf, (size_t)n, err) < 0) {
      pl_digest_release(&d);
      return -1;
    }
  }
  unsigned char raw[PL_HASH_MAX];
  size_t len;
  if (pl_digest_final(&d, raw, &len, err) < 0) return -1;
  pl_hex_encode(raw, len, sha256);
  if (size) *size = d.size;
  if (mode) *mode = st.st_mode & 07777;
  return 0;
}

/* What walk() calls for each entry below the root (directories before
 * their contents); `path` is relative to the root. */
typedef int (*walk_fn)(int dfd, const char *name, const char *path, const struct stat *st,
                       void *ctx, pl_error_t *err);

static int walk(int dfd, char *path, size_t plen, int depth, const char *const *skip, walk_fn fn,
                void *ctx, pl_error_t *err) {
  if (depth > WALK_DEPTH_MAX) return pl_fail(err, ELOOP, "%s: too deep", path);
  int rfd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rfd < 0) return pl_fail(err, errno, "open %s", plen ? path : ".");
  cleanup_dir DIR *d = fdopendir(rfd);
  if (d == NULL) {
    close(rfd);
    return pl_fail(err, errno, "read %s", path);
  }
  struct dirent *e;
  while ((errno = 0, e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0) continue;
    bool skipped = false;
    for (size_t i = 0; depth == 0 && skip && skip[i] && !skipped; i++)
      skipped = strcmp(n, skip[i]) == 0;
    if (skipped) continue;
    size_t nl = strlen(n);
    if (plen + 1 + nl > PL_PATH_MAX) return pl_fail(err, ENAMETOOLONG, "%s/%s", path, n);
    size_t sub = plen ? plen + 1 + nl : nl;
    if (plen) path[plen] = '/';
    memcpy(path + (plen ? plen + 1 : 0), n, nl + 1);
    struct stat st;
    int r = fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0 ? pl_fail(err, errno, "%s", path)
                                                          : fn(dfd, n, path, &st, ctx, err);
    if (r == 0 && S_ISDIR(st.st_mode)) {
      cleanup_close int sfd = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      r = sfd < 0 ? pl_fail(err, errno, "open %s", path)
                  : walk(sfd, path, sub, depth + 1, skip, fn, ctx, err);
    }
    path[plen] = '\0';
    if (r < 0) return -1;
  }
  if (errno) return pl_fail(err, errno, "read %s", path);
  return 0;
}

/* walk_fn of pl_manifest_build: hash each regular file. */
static int add_hashed(int dfd, const char *name, const char *path, const struct stat *st, void *ctx,
                      pl_error_t *err) {
  if (S_ISDIR(st->st_mode)) return 0;
  if (!S_ISREG(st->st_mode))
    return pl_fail(err, EINVAL, "%s: not a regular file or directory", path);
  char hex[PL_SHA256_HEX];
  uint64_t size;
  mode_t mode;
  if (pl_manifest_hash_file(dfd, name, hex, &size, &mode, err) < 0) return -1;
  return pl_manifest_add(ctx, path, size, mode, hex, err);
}

int pl_manifest_build(int root_fd, const char *const *skip, struct pl_manifest *m,
                      pl_error_t *err) {
  memset(m, 0, sizeof *m);
  char path[PL_PATH_MAX + 1] = "";
  if (walk(root_fd, path, 0, 0, skip, add_hashed, m, err) < 0) {
    pl_manifest_free(m);
    return -1;
  }
  pl_manifest_sort(m);
  return 0;
}

/* ---- stat fingerprint ------------------------------------------------------ */

/* FNV-1a, 64 bits, continuing from h. */
static uint64_t fnv64(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3ULL;
  return h;
}

/* One entry's hash: its path and what stat says of it. */
static uint64_t stat_hash(const char *path, const struct stat *st) {
  uint64_t f[6] = {(uint64_t)st->st_mode,         (uint64_t)st->st_size,
                   (uint64_t)st->st_ino,          (uint64_t)st->st_mtim.tv_sec,
                   (uint64_t)st->st_mtim.tv_nsec, (uint64_t)st->st_dev};
  return fnv64(fnv64(0xcbf29ce484222325ULL, path, strlen(path) + 1), f, sizeof f);
}

/* Added up and mixed, so that the order entries come in does not matter
 * (readdir's, or linking's) and an entry can be taken out again. */
void pl_stat_sum_add(struct pl_stat_sum *s, const char *path, const struct stat *st) {
  uint64_t h = stat_hash(path, st);
  s->sum += h;
  s->mix ^= (h << 17 | h >> 47) * 0x9e3779b97f4a7c15ULL;
  s->count++;
}

void pl_stat_sum_remove(struct pl_stat_sum *s, const char *path, const struct stat *st) {
  uint64_t h = stat_hash(path, st);
  s->sum -= h;
  s->mix ^= (h << 17 | h >> 47) * 0x9e3779b97f4a7c15ULL;
  s->count--;
}

void pl_stat_sum_merge(struct pl_stat_sum *into, const struct pl_stat_sum *from) {
  into->sum += from->sum;
  into->mix ^= from->mix;
  into->count += from->count;
}

void pl_stat_sum_digest(const struct pl_stat_sum *s, char out[PL_STAT_DIGEST_LEN + 1]) {
  snprintf(out, PL_STAT_DIGEST_LEN + 1, "%016llx%016llx", (unsigned long long)(s->sum + s->count),
           (unsigned long long)s->mix);
}

/* walk_fn of pl_manifest_stat_digest. */
static int add_stat(int dfd, const char *name, const char *path, const struct stat *st, void *ctx,
                    pl_error_t *err) {
  (void)dfd, (void)name, (void)err;
  pl_stat_sum_add(ctx, path, st);
  return 0;
}

int pl_manifest_stat_digest(int root_fd, const char *const *skip, char out[PL_STAT_DIGEST_LEN + 1],
                            pl_error_t *err) {
  struct pl_stat_sum s = {0};
  char path[PL_PATH_MAX + 1] = "";
  if (walk(root_fd, path, 0, 0, skip, add_stat, &s, err) < 0) return -1;
  pl_stat_sum_digest(&s, out);
  return 0;
}

/* ---- text ------------------------------------------------------------------ */

struct out {
  char *buf;
  size_t len, cap;
};

static int put(struct out *o, pl_error_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int put(struct out *o, pl_error_t *err, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->buf ? o->cap - o->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) return pl_fail(err, EINVAL, "manifest");
    if (o->buf && o->len + (size_t)n < o->cap) {
      o->len += (size_t)n;
      return 0;
    }
    size_t cap = o->cap ? o->cap * 2 : 4096;
    while (cap < o->len + (size_t)n + 1)
      cap *= 2;
    if (cap > PL_MANIFEST_MAX_BYTES * 2) return pl_fail(err, E2BIG, "manifest too large");
    char *b = realloc(o->buf, cap);
    if (b == NULL) return pl_fail(err, ENOMEM, "manifest");
    o->buf = b;
    o->cap = cap;
  }
}

static int put_entries(struct out *o, const struct pl_manifest *m, const char *prefix,
                       pl_error_t *err) {
  for (size_t i = 0; i < m->n; i++)
    if (put(o, err, "%s%s %llu %o %s\n", prefix, m->e[i].sha256, (unsigned long long)m->e[i].size,
            (unsigned)m->e[i].mode, m->e[i].path) < 0)
      return -1;
  return 0;
}

int pl_manifest_format(const struct pl_manifest *m, char **text, size_t *len, pl_error_t *err) {
  struct out o = {0};
  if (put(&o, err, "%s", MANIFEST_HEADER) < 0 || put_entries(&o, m, "", err) < 0) {
    free(o.buf);
    return -1;
  }
  *text = o.buf;
  *len = o.len;
  return 0;
}

static bool is_hex64(const char *s) {
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

/* One "<sha256> <size> <mode> <path>" line into m. */
static int parse_entry(const char *line, size_t len, const char *what, size_t lineno,
                       struct pl_manifest *m, pl_error_t *err) {
  char path[PL_PATH_MAX + 1];
  char *end;
  if (len < 70 || !is_hex64(line) || line[64] != ' ') goto bad;
  unsigned long long size = strtoull(line + 65, &end, 10);
  if (*end != ' ' || end == line + 65) goto bad;
  unsigned long mode = strtoul(end + 1, &end, 8);
  if (*end != ' ' || mode > 07777) goto bad;
  size_t pl = len - (size_t)(end + 1 - line);
  if (pl == 0 || pl > PL_PATH_MAX) goto bad;
  memcpy(path, end + 1, pl);
  path[pl] = '\0';
  if (memchr(path, '\0', pl)) goto bad;
  char hex[PL_SHA256_HEX];
  memcpy(hex, line, 64);
  hex[64] = '\0';
  return pl_manifest_add(m, path, size, (mode_t)mode, hex, err);
bad:
  return pl_fail(err, EINVAL, "%s, line %zu: malformed", what, lineno);
}

/* Lines of text after its header; calls fn for each (without its newline). */
static int each_line(const char *text, size_t len, const char *header, const char *what,
                     int (*fn)(const char *, size_t, const char *, size_t, void *, pl_error_t *),
                     void *ctx, pl_error_t *err) {
  size_t hl = strlen(header);
  if (len > PL_MANIFEST_MAX_BYTES) return pl_fail(err, EFBIG, "%s: too large", what);
  if (len < hl || memcmp(text, header, hl) != 0)
    return pl_fail(err, EINVAL, "%s: not a pylock manifest", what);
  size_t lineno = 1;
  for (size_t i = hl; i < len;) {
    const char *nl = memchr(text + i, '\n', len - i);
    if (nl == NULL) return pl_fail(err, EINVAL, "%s: truncated", what);
    lineno++;
    if (fn(text + i, (size_t)(nl - (text + i)), what, lineno, ctx, err) < 0) return -1;
    i = (size_t)(nl - text) + 1;
  }
  return 0;
}

static int tree_line(const char *line, size_t len, const char *what, size_t lineno, void *ctx,
                     pl_error_t *err) {
  return parse_entry(line, len, what, lineno, ctx, err);
}

int pl_manifest_parse(const char *text, size_t len, const char *what, struct pl_manifest *m,
                      pl_error_t *err) {
  memset(m, 0, sizeof *m);
  if (each_line(text, len, MANIFEST_HEADER, what, tree_line, m, err) < 0) {
    pl_manifest_free(m);
    return -1;
  }
  /* Sorted, with no path twice: what pylock writes. */
  for (size_t i = 1; i < m->n; i++)
    if (strcmp(m->e[i - 1].path, m->e[i].path) >= 0) {
      pl_manifest_free(m);
      return pl_fail(err, EINVAL, "%s: not sorted, or a path twice", what);
    }
  return 0;
}

/* ---- generations ------------------------------------------------------------ */

void pl_gen_manifest_free(struct pl_gen_manifest *g) {
  for (size_t i = 0; i < g->ntrees; i++) {
    free(g->trees[i].key);
    free(g->trees[i].wheel);
  }
  free(g->trees);
  pl_manifest_free(&g->files);
  memset(g, 0, sizeof *g);
}

int pl_gen_manifest_add_tree(struct pl_gen_manifest *g, const char *key,
                             const char digest[PL_SHA256_HEX], const char *wheel, pl_error_t *err) {
  if (strpbrk(key, " \n") || strchr(wheel, '\n') || key[0] == '\0')
    return pl_fail(err, EINVAL, "a tree a manifest cannot hold");
  struct pl_gen_tree *t = realloc(g->trees, (g->ntrees + 1) * sizeof *t);
  if (t == NULL) return pl_fail(err, ENOMEM, "manifest");
  g->trees = t;
  t = &g->trees[g->ntrees];
  t->key = strdup(key);
  t->wheel = strdup(wheel);
  memcpy(t->digest, digest, PL_SHA256_HEX);
  if (t->key == NULL || t->wheel == NULL) {
    free(t->key);
    free(t->wheel);
    return pl_fail(err, ENOMEM, "manifest");
  }
  g->ntrees++;
  return 0;
}

int pl_gen_manifest_format(const struct pl_gen_manifest *g, char **text, size_t *len,
                           pl_error_t *err) {
  struct out o = {0};
  int r = put(&o, err, "%s", GEN_HEADER);
  for (size_t i = 0; i < g->ntrees && r == 0; i++)
    r = put(&o, err, "tree %s %s %s\n", g->trees[i].key, g->trees[i].digest, g->trees[i].wheel);
  if (r == 0) r = put_entries(&o, &g->files, "file ", err);
  if (r < 0) {
    free(o.buf);
    return -1;
  }
  *text = o.buf;
  *len = o.len;
  return 0;
}

static int gen_line(const char *line, size_t len, const char *what, size_t lineno, void *ctx,
                    pl_error_t *err) {
  struct pl_gen_manifest *g = ctx;
  if (len > 5 && memcmp(line, "file ", 5) == 0)
    return parse_entry(line + 5, len - 5, what, lineno, &g->files, err);
  const char *key = line + 5, *sp = len > 5 ? memchr(key, ' ', len - 5) : NULL;
  if (len < 5 || memcmp(line, "tree ", 5) != 0 || sp == NULL || sp == key ||
      (size_t)(line + len - sp) < 67 || !is_hex64(sp + 1) || sp[65] != ' ')
    return pl_fail(err, EINVAL, "%s, line %zu: malformed", what, lineno);
  char digest[PL_SHA256_HEX];
  memcpy(digest, sp + 1, 64);
  digest[64] = '\0';
  cleanup_free char *k = strndup(key, (size_t)(sp - key));
  cleanup_free char *w = strndup(sp + 66, (size_t)(line + len - (sp + 66)));
  if (k == NULL || w == NULL) return pl_fail(err, ENOMEM, "manifest");
  return pl_gen_manifest_add_tree(g, k, digest, w, err);
}

int pl_gen_manifest_parse(const char *text, size_t len, const char *what, struct pl_gen_manifest *g,
                          pl_error_t *err) {
  memset(g, 0, sizeof *g);
  if (each_line(text, len, GEN_HEADER, what, gen_line, g, err) < 0) {
    pl_gen_manifest_free(g);
    return -1;
  }
  pl_manifest_sort(&g->files);
  return 0;
}
