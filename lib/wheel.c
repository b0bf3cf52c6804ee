/* pylock — wheel verification; see wheel.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "wheel.h"

#include <errno.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_path.h"
#include "cleanup.h"
#include "digest.h"
#include "distname.h"
#include "dyn_archive.h"

/* The largest wheels on PyPI hold tens of thousands of files (200,000 is
 * far above them) and single shared objects of 1-2 GiB (CUDA libraries), so
 * 4 GiB per file and 16 GiB in all refuse nothing real while keeping a
 * hostile wheel from filling the disk.  Deflate inflates at most ~1032:1;
 * real files rarely pass 20:1, so 200:1 on any file past 1 MiB catches a
 * bomb's one huge entry, and 100:1 for the whole wheel past 64 MiB catches
 * many small ones, and entries sharing compressed data (which are also
 * refused outright, see stream_members). */
const struct pl_wheel_limits pl_wheel_default_limits = {
    .max_entries = 200000,
    .max_entry_size = 4ull << 30,
    .max_total_size = 16ull << 30,
    .max_ratio = 200,
    .ratio_floor = 1ull << 20,
    .max_total_ratio = 100,
    .total_ratio_floor = 64ull << 20,
};

#define READ_BLOCK (64 * 1024)

struct member {
  char *raw;  /* name as the archive has it */
  char *path; /* checked, without a trailing '/' */
  bool is_dir;
  bool executable;
  const struct pl_record_entry *row;
};

/* The .dist-info files read in the first pass; entry_points.txt is optional. */
enum { META_RECORD, META_WHEEL, META_METADATA, META_ENTRY_POINTS, META_COUNT };
#define META_REQUIRED META_ENTRY_POINTS
static const char *const meta_names[META_COUNT] = {"RECORD", "WHEEL", "METADATA",
                                                   "entry_points.txt"};
static const size_t meta_max[META_COUNT] = {PL_RECORD_MAX_BYTES, PL_WHEELFILE_MAX_BYTES,
                                            PL_METADATA_MAX_BYTES, PL_ENTRY_POINTS_MAX};

struct range {
  int64_t start, end;
};

struct membuf {
  char *p;
  size_t len, cap, max;
};

struct verify {
  int fd;
  const struct pl_wheel_limits *lim;
  uint64_t archive_size;
  struct member *m;
  size_t n, cap;
  struct member **sorted;
  char *meta_top; /* the .dist-info directory the metadata files came from */
  struct membuf meta[META_COUNT];
  bool meta_found[META_COUNT];
  char *record_path;
  struct pl_record_entry record_self; /* RECORD's bytes as read in the first pass */
  uint64_t total;                     /* inflated bytes of the current pass */
  struct range *ranges;
  size_t nranges;
};

static void verify_free(struct verify *v) {
  for (size_t i = 0; i < v->n; i++) {
    free(v->m[i].raw);
    free(v->m[i].path);
  }
  free(v->m);
  free(v->sorted);
  free(v->meta_top);
  for (int k = 0; k < META_COUNT; k++)
    free(v->meta[k].p);
  free(v->record_path);
  free(v->ranges);
}

static const char *q(char *buf, const char *s) {
  return pl_path_quote(buf, PL_QUOTE_CAP, s, strlen(s));
}

int pl_wheel_check_entry_type(const char *path, unsigned filetype, const char *hardlink,
                              const char *symlink, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  /* A link could point the installer, or a later reader of the env, outside
   * the environment or at another file's verified bytes; a device or fifo has
   * no bytes to verify at all.  Wheels need none of them. */
  if (hardlink)
    return pl_fail(err, 0, "entry \"%s\": hard links are not allowed in a wheel", q(qb, path));
  if (symlink || filetype == AE_IFLNK)
    return pl_fail(err, 0, "entry \"%s\": symbolic links are not allowed in a wheel", q(qb, path));
  if (filetype != AE_IFREG && filetype != AE_IFDIR)
    return pl_fail(err, 0,
                   "entry \"%s\": type %s is not allowed in a wheel (expected a regular file or "
                   "directory)",
                   q(qb, path),
                   filetype == AE_IFCHR    ? "character device"
                   : filetype == AE_IFBLK  ? "block device"
                   : filetype == AE_IFIFO  ? "fifo"
                   : filetype == AE_IFSOCK ? "socket"
                                           : "unknown");
  return 0;
}

static int archive_open(struct verify *v, struct archive **out, pl_error_t *err) {
  if (lseek(v->fd, 0, SEEK_SET) < 0) return pl_fail(err, errno, "cannot seek to the start");
  struct archive *a = archive_read_new();
  if (a == NULL) return pl_fail(err, ENOMEM, "cannot allocate an archive reader");
  /* Only the seekable zip reader: it follows the central directory, as
   * Python's zipfile (so pip and `import`-time tools) does.  The streaming
   * reader trusts local headers instead, and a crafted zip can make the two
   * list different files. */
  if (archive_read_support_format_zip_seekable(a) != ARCHIVE_OK ||
      archive_read_open_fd(a, v->fd, READ_BLOCK) != ARCHIVE_OK) {
    pl_fail(err, 0, "not a readable zip archive: %s",
            archive_error_string(a) ? archive_error_string(a) : "unknown error");
    archive_read_free(a);
    return -1;
  }
  *out = a;
  return 0;
}

static void archive_closep(struct archive **a) {
  if (*a) archive_read_free(*a);
}
#define cleanup_archive __attribute__((cleanup(archive_closep)))

typedef int (*chunk_fn)(void *ctx, const void *buf, size_t len, pl_error_t *err);

/* Inflate the current entry, counting the bytes ourselves (the sizes the zip
 * declares are not trusted) and stopping as soon as a limit is passed. */
static int read_data(struct verify *v, struct archive *a, const char *path, chunk_fn fn, void *ctx,
                     uint64_t *got, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  const struct pl_wheel_limits *lim = v->lim;
  int64_t start = archive_filter_bytes(a, -1);
  cleanup_free char *buf = malloc(READ_BLOCK);
  uint64_t n = 0;
  if (buf == NULL) return pl_fail(err, ENOMEM, "reading entry \"%s\"", q(qb, path));
  for (;;) {
    la_ssize_t r = archive_read_data(a, buf, READ_BLOCK);
    if (r == 0) break;
    if (r < 0)
      return pl_fail(err, EIO, "entry \"%s\": %s", q(qb, path),
                     archive_error_string(a) ? archive_error_string(a) : "read error");
    n += (uint64_t)r;
    v->total += (uint64_t)r;
    if (n > lim->max_entry_size)
      return pl_fail(err, 0, "entry \"%s\": size limit: expected at most %llu bytes, got more",
                     q(qb, path), (unsigned long long)lim->max_entry_size);
    if (v->total > lim->max_total_size)
      return pl_fail(err, 0,
                     "entry \"%s\": total size limit: expected at most %llu bytes in all, got more",
                     q(qb, path), (unsigned long long)lim->max_total_size);
    int64_t used = archive_filter_bytes(a, -1) - start;
    uint64_t c = used > 0 ? (uint64_t)used : 1;
    if (lim->max_ratio && n > lim->ratio_floor && (n - 1) / lim->max_ratio >= c)
      return pl_fail(err, 0,
                     "entry \"%s\": compression ratio limit (zip bomb?): expected at most %llu:1, "
                     "got %llu bytes from %llu compressed",
                     q(qb, path), (unsigned long long)lim->max_ratio, (unsigned long long)n,
                     (unsigned long long)c);
    if (lim->max_total_ratio && v->total > lim->total_ratio_floor &&
        (v->total - 1) / lim->max_total_ratio >= v->archive_size)
      return pl_fail(err, 0,
                     "entry \"%s\": total compression ratio limit (zip bomb?): expected at most "
                     "%llu:1, got %llu bytes from a %llu-byte wheel",
                     q(qb, path), (unsigned long long)lim->max_total_ratio,
                     (unsigned long long)v->total, (unsigned long long)v->archive_size);
    if (fn && fn(ctx, buf, (size_t)r, err) < 0) return -1;
  }
  *got = n;
  return 0;
}

static int membuf_append(void *ctx, const void *buf, size_t len, pl_error_t *err) {
  struct membuf *b = ctx;
  if (len > b->max - b->len) return pl_fail(err, 0, "larger than %zu bytes", b->max);
  if (b->len + len > b->cap) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + len)
      ncap *= 2;
    if (ncap > b->max) ncap = b->max;
    char *p = realloc(b->p, ncap);
    if (p == NULL) return pl_fail(err, ENOMEM, "buffering metadata");
    b->p = p;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, buf, len);
  b->len += len;
  return 0;
}

/* Is `path` <top>.dist-info/{RECORD,WHEEL,METADATA}?  Returns the kind, and
 * the length of <top>.dist-info, or -1. */
static int meta_kind(const char *path, size_t *toplen) {
  const char *slash = strchr(path, '/');
  if (slash == NULL || strchr(slash + 1, '/')) return -1;
  size_t tl = (size_t)(slash - path);
  if (tl <= 10 || memcmp(slash - 10, ".dist-info", 10) != 0) return -1;
  for (int k = 0; k < META_COUNT; k++)
    if (strcmp(slash + 1, meta_names[k]) == 0) {
      *toplen = tl;
      return k;
    }
  return -1;
}

/* First pass: headers, entry types and names, and the .dist-info metadata. */
static int scan_members(struct verify *v, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP];
  cleanup_archive struct archive *a = NULL;
  if (archive_open(v, &a, err) < 0) return -1;
  for (;;) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK)
      return pl_fail(err, 0, "entry #%zu: %s", v->n + 1,
                     archive_error_string(a) ? archive_error_string(a) : "unreadable header");
    if (v->n >= v->lim->max_entries)
      return pl_fail(err, 0, "entry count limit: expected at most %llu entries, got more",
                     (unsigned long long)v->lim->max_entries);
    const char *raw = archive_entry_pathname_utf8(e);
    if (raw == NULL) return pl_fail(err, 0, "entry #%zu: name is not valid UTF-8", v->n + 1);
    unsigned type = archive_entry_filetype(e);
    if (pl_wheel_check_entry_type(raw, type, archive_entry_hardlink(e), archive_entry_symlink(e),
                                  err) < 0)
      return -1;
    bool is_dir = type == AE_IFDIR;
    size_t len;
    if (pl_archive_path_check(raw, is_dir, &len, err) < 0) return -1;
    if (v->n == v->cap) {
      size_t ncap = v->cap ? v->cap * 2 : 256;
      struct member *m = realloc(v->m, ncap * sizeof *m);
      if (m == NULL) return pl_fail(err, ENOMEM, "listing entries");
      v->m = m;
      v->cap = ncap;
    }
    struct member *m = &v->m[v->n];
    memset(m, 0, sizeof *m);
    m->raw = strdup(raw);
    m->path = strndup(raw, len);
    v->n++;
    if (m->raw == NULL || m->path == NULL) return pl_fail(err, ENOMEM, "listing entries");
    m->is_dir = is_dir;
    /* Only "executable or not" survives: the installer writes 0644 or 0755,
     * never setuid, setgid or world-writable bits from the zip. */
    m->executable = !is_dir && (archive_entry_mode(e) & 0111) != 0;

    size_t tl;
    int k = is_dir ? -1 : meta_kind(m->path, &tl);
    if (k < 0) continue;
    if (v->meta_top == NULL) {
      v->meta_top = strndup(m->path, tl);
      if (v->meta_top == NULL) return pl_fail(err, ENOMEM, "listing entries");
    } else if (strlen(v->meta_top) != tl || memcmp(v->meta_top, m->path, tl) != 0) {
      return pl_fail(err, 0, "more than one .dist-info directory: \"%s\" and \"%s\"",
                     q(qb, v->meta_top), pl_path_quote(qc, sizeof qc, m->path, tl));
    }
    v->meta_found[k] = true;
    v->meta[k].max = meta_max[k];
    uint64_t got;
    if (read_data(v, a, m->path, membuf_append, &v->meta[k], &got, err) < 0)
      return pl_error_wrap(err, "%s", q(qb, m->path));
  }
  return 0;
}

/* Case-folded order in which '/' sorts before every other byte, so that
 * "a" is followed directly by everything under "a/". */
static unsigned fold(unsigned char c) {
  if (c == '/') return 1;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 'a';
  return c;
}

static int fold_cmp(const char *a, const char *b) {
  for (;; a++, b++) {
    unsigned ca = fold((unsigned char)*a), cb = fold((unsigned char)*b);
    if (ca != cb || ca == 0) return (int)ca - (int)cb;
  }
}

static int cmp_member(const void *a, const void *b) {
  return fold_cmp((*(struct member *const *)a)->path, (*(struct member *const *)b)->path);
}

/* Names must be unique even ignoring ASCII case: the env or the cache may sit
 * on a case-insensitive file system, where "A.py" would overwrite the
 * verified "a.py".  And no file may also be a directory of another member. */
static int check_unique(struct verify *v, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP];
  v->sorted = calloc(v->n ? v->n : 1, sizeof *v->sorted);
  if (v->sorted == NULL) return pl_fail(err, ENOMEM, "sorting entries");
  for (size_t i = 0; i < v->n; i++)
    v->sorted[i] = &v->m[i];
  if (v->n) qsort(v->sorted, v->n, sizeof *v->sorted, cmp_member);
  for (size_t i = 1; i < v->n; i++) {
    const struct member *p = v->sorted[i - 1], *c = v->sorted[i];
    if (fold_cmp(p->path, c->path) == 0)
      return pl_fail(err, 0,
                     strcmp(p->path, c->path) == 0
                         ? "duplicate entry \"%s\" (also as \"%s\")"
                         : "entries \"%s\" and \"%s\" differ only in letter case",
                     q(qb, p->raw), q(qc, c->raw));
    size_t pl = strlen(p->path);
    if (!p->is_dir && strlen(c->path) > pl && c->path[pl] == '/' &&
        fold_cmp(p->path, c->path) < 0) {
      bool under = true;
      for (size_t j = 0; j < pl && under; j++)
        under = fold((unsigned char)p->path[j]) == fold((unsigned char)c->path[j]);
      if (under)
        return pl_fail(err, 0, "entry \"%s\" is a file but \"%s\" is inside it", q(qb, p->path),
                       q(qc, c->path));
    }
  }
  return 0;
}

static bool ends_with(const char *s, size_t len, const char *suffix) {
  size_t sl = strlen(suffix);
  return len > sl && memcmp(s + len - sl, suffix, sl) == 0;
}

/* The top-level directory names: exactly one NAME-VERSION.dist-info, matching
 * the filename, and at most one NAME-VERSION.data with scheme subdirectories. */
static int check_layout(struct verify *v, struct pl_wheel_info *info, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP];
  static const char *const schemes[] = {"purelib", "platlib", "headers", "scripts", "data"};
  const char *di = NULL;
  size_t dil = 0;
  for (size_t i = 0; i < v->n; i++) {
    const struct member *m = &v->m[i];
    const char *slash = strchr(m->path, '/');
    if (slash == NULL && !m->is_dir) continue;
    size_t tl = slash ? (size_t)(slash - m->path) : strlen(m->path);
    if (!ends_with(m->path, tl, ".dist-info")) continue;
    if (di && (tl != dil || memcmp(di, m->path, tl) != 0))
      return pl_fail(err, 0, "more than one .dist-info directory: \"%s\" and \"%s\"",
                     pl_path_quote(qb, sizeof qb, di, dil),
                     pl_path_quote(qc, sizeof qc, m->path, tl));
    di = m->path;
    dil = tl;
  }
  if (di == NULL) return pl_fail(err, 0, "no .dist-info directory");
  info->dist_info = strndup(di, dil);
  if (info->dist_info == NULL) return pl_fail(err, ENOMEM, "checking layout");
  size_t stem = dil - 10;
  const char *dash = memchr(di, '-', stem);
  if (dash == NULL || memchr(dash + 1, '-', stem - (size_t)(dash + 1 - di)))
    return pl_fail(err, 0, "\"%s\" is not NAME-VERSION.dist-info", q(qb, info->dist_info));
  size_t nl = (size_t)(dash - di);
  char ver[PL_VERSION_MAX + 1];
  size_t vl = stem - nl - 1;
  if (vl == 0 || vl > PL_VERSION_MAX)
    return pl_fail(err, 0, "\"%s\" has no valid version", q(qb, info->dist_info));
  memcpy(ver, dash + 1, vl);
  ver[vl] = '\0';
  const struct pl_wheel_filename *fn = &info->filename;
  if (!pl_distname_equal(di, nl, fn->name, strlen(fn->name)) ||
      !pl_version_matches_filename(ver, fn->version, strlen(fn->version)))
    return pl_fail(err, 0, "dist-info mismatch: expected %s-%s.dist-info, got \"%s\"", fn->name,
                   fn->version, q(qb, info->dist_info));
  if (v->meta_top && strcmp(v->meta_top, info->dist_info) != 0)
    return pl_fail(err, 0, "metadata files found under \"%s\", not \"%s\"", q(qb, v->meta_top),
                   q(qc, info->dist_info));
  if (asprintf(&info->data_dir, "%.*s.data", (int)stem, di) < 0) {
    info->data_dir = NULL;
    return pl_fail(err, ENOMEM, "checking layout");
  }
  bool has_data = false;
  for (size_t i = 0; i < v->n; i++) {
    const struct member *m = &v->m[i];
    const char *slash = strchr(m->path, '/');
    if (slash == NULL && !m->is_dir) continue;
    size_t tl = slash ? (size_t)(slash - m->path) : strlen(m->path);
    if (!ends_with(m->path, tl, ".data")) continue;
    if (tl != strlen(info->data_dir) || memcmp(m->path, info->data_dir, tl) != 0)
      return pl_fail(err, 0, "unexpected .data directory: expected \"%s\", got \"%s\"",
                     info->data_dir, pl_path_quote(qb, sizeof qb, m->path, tl));
    has_data = true;
    if (slash == NULL) continue;
    /* Files under .data go to the install scheme's directory named here;
     * an unknown name would have nowhere defined to go. */
    const char *sub = slash + 1, *end = strchr(sub, '/');
    size_t sl = end ? (size_t)(end - sub) : strlen(sub);
    bool known = false;
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++)
      known |= strlen(schemes[s]) == sl && memcmp(schemes[s], sub, sl) == 0;
    if (!known || (end == NULL && !m->is_dir))
      return pl_fail(err, 0,
                     "entry \"%s\": not under a known scheme (purelib, platlib, headers, "
                     "scripts, data) of %s",
                     q(qb, m->path), info->data_dir);
  }
  if (!has_data) {
    free(info->data_dir);
    info->data_dir = NULL;
  }
  return 0;
}

static int check_buffer(const struct pl_record_entry *row, const struct membuf *b,
                        pl_error_t *err) {
  struct pl_digest d;
  if (pl_digest_init(&d, row->algo, err) < 0) return -1;
  if (pl_digest_update(&d, b->p, b->len, err) < 0) {
    pl_digest_release(&d);
    return -1;
  }
  return pl_digest_check(&d, row, err);
}

/* WHEEL, METADATA and RECORD against each other and the filename. */
static int check_metadata(struct verify *v, const struct pl_wheel_interp *interp,
                          struct pl_wheel_info *info, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  const struct pl_wheel_filename *fn = &info->filename;
  for (int k = 0; k < META_REQUIRED; k++)
    if (!v->meta_found[k])
      return pl_fail(err, 0, "%s/%s is missing", info->dist_info, meta_names[k]);
  if (asprintf(&v->record_path, "%s/RECORD", info->dist_info) < 0) {
    v->record_path = NULL;
    return pl_fail(err, ENOMEM, "checking metadata");
  }
  const struct membuf *rb = &v->meta[META_RECORD], *wb = &v->meta[META_WHEEL],
                      *mb = &v->meta[META_METADATA];
  if (pl_record_parse(rb->p ? rb->p : "", rb->len, v->record_path, &info->record, err) < 0)
    return pl_error_wrap(err, "%s", v->record_path);
  if (pl_wheelfile_parse(wb->p ? wb->p : "", wb->len, &info->wheel, err) < 0)
    return pl_error_wrap(err, "%s/WHEEL", info->dist_info);
  struct pl_metadata md = {0};
  if (pl_metadata_parse(mb->p ? mb->p : "", mb->len, &md, err) < 0)
    return pl_error_wrap(err, "%s/METADATA", info->dist_info);
  info->name = md.name;
  info->version = md.version;
  info->metadata_version = md.metadata_version;
  info->metadata = malloc(mb->len + 1);
  if (info->metadata == NULL) return pl_fail(err, ENOMEM, "checking metadata");
  if (mb->len) memcpy(info->metadata, mb->p, mb->len);
  info->metadata[mb->len] = '\0';
  info->metadata_len = mb->len;

  /* The copies parsed here must be the bytes RECORD vouches for. */
  for (int k = META_WHEEL; k < META_COUNT; k++) {
    if (!v->meta_found[k]) continue;
    char path[PL_PATH_MAX + 1];
    snprintf(path, sizeof path, "%s/%s", info->dist_info, meta_names[k]);
    const struct pl_record_entry *row = pl_record_find(&info->record, path);
    if (row == NULL) return pl_fail(err, 0, "entry \"%s\" is not listed in RECORD", path);
    if (check_buffer(row, &v->meta[k], err) < 0) return pl_error_wrap(err, "entry \"%s\"", path);
  }
  v->record_self.path = v->record_path;
  v->record_self.algo = PL_HASH_SHA256;
  v->record_self.has_size = true;
  v->record_self.size = rb->len;
  if (pl_digest_buffer(PL_HASH_SHA256, rb->p ? rb->p : "", rb->len, v->record_self.digest,
                       &v->record_self.digest_len, err) < 0)
    return -1;

  if (!pl_distname_equal(info->name, strlen(info->name), fn->name, strlen(fn->name)))
    return pl_fail(err, 0, "METADATA name mismatch: filename says %s, METADATA says \"%s\"",
                   fn->name, q(qb, info->name));
  if (!pl_version_matches_filename(info->version, fn->version, strlen(fn->version)))
    return pl_fail(err, 0, "METADATA version mismatch: filename says %s, METADATA says \"%s\"",
                   fn->version, q(qb, info->version));
  const char *wbuild = info->wheel.build;
  if ((fn->build == NULL) != (wbuild == NULL) || (wbuild && strcmp(fn->build, wbuild) != 0))
    return pl_fail(err, 0, "build tag mismatch: filename says %s, WHEEL says %s",
                   fn->build ? fn->build : "none", wbuild ? q(qb, wbuild) : "none");
  /* Old wheels may lack Tag lines; when present they must declare every tag
   * the filename claims, which is what the compatibility check trusts. */
  if (info->wheel.ntags)
    for (size_t p = 0; p < fn->npython; p++)
      for (size_t a = 0; a < fn->nabi; a++)
        for (size_t l = 0; l < fn->nplatform; l++) {
          char tag[3 * 256];
          snprintf(tag, sizeof tag, "%s-%s-%s", fn->python[p], fn->abi[a], fn->platform[l]);
          bool found = false;
          for (size_t t = 0; t < info->wheel.ntags && !found; t++)
            found = strcmp(info->wheel.tags[t], tag) == 0;
          if (!found)
            return pl_fail(err, 0, "tag mismatch: filename has %s, WHEEL does not list it", tag);
        }
  if (interp && pl_wheel_tags_check(fn, interp, err) < 0) return -1;
  return 0;
}

/* Every file is in RECORD and every RECORD row is a file.  Only RECORD itself
 * goes unlisted.  RECORD.jws and RECORD.p7s (the wheel spec's optional
 * signatures, unlisted by design) get no exemption: pylock's trust is TUF
 * over the whole wheel and it checks neither, and a file installed without a
 * digest could never be re-checked by `pylock verify`. */
static int check_record(struct verify *v, struct pl_wheel_info *info, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  struct pl_record *rec = &info->record;
  cleanup_free bool *seen = calloc(rec->n ? rec->n : 1, sizeof *seen);
  if (seen == NULL) return pl_fail(err, ENOMEM, "checking RECORD");
  for (size_t i = 0; i < v->n; i++) {
    struct member *m = &v->m[i];
    const struct pl_record_entry *row = pl_record_find(rec, m->path);
    if (row) seen[row - rec->entries] = true;
    if (m->is_dir) {
      if (row) return pl_fail(err, 0, "RECORD lists \"%s\", a directory", q(qb, m->path));
      continue;
    }
    if (strcmp(m->path, v->record_path) == 0) {
      m->row = &v->record_self;
      continue;
    }
    if (row == NULL) return pl_fail(err, 0, "entry \"%s\": not listed in RECORD", q(qb, m->path));
    m->row = row;
    rec->entries[row - rec->entries].executable = m->executable;
  }
  for (size_t i = 0; i < rec->n; i++)
    if (!seen[i])
      return pl_fail(err, 0, "RECORD lists \"%s\" but the wheel has no such file",
                     q(qb, rec->entries[i].path));
  return 0;
}

/* ---- what no wheel may install, whatever the base interpreter ------------- */

/* "", or a version ("3", "3.12", "312") with at most two ABI flags (3.13t,
 * 3.7m, 3.7dm). */
static bool version_tail(const char *s) {
  if (*s == '\0') return true;
  if (*s < '0' || *s > '9') return false;
  while ((*s >= '0' && *s <= '9') || *s == '.')
    s++;
  for (int i = 0; i < 2 && *s && strchr("dmtu", *s); i++)
    s++;
  return *s == '\0';
}

static bool read_at_start(const char *name) {
  size_t n = strlen(name);
  return strcasecmp(name, "pyvenv.cfg") == 0 || (n > 5 && strcasecmp(name + n - 5, "._pth") == 0);
}

bool pl_wheel_reserved_script(const char *name, bool dist_is_pip) {
  if (read_at_start(name)) return true;
  if (strncasecmp(name, "python", 6) == 0 && version_tail(name + 6)) return true;
  return !dist_is_pip && strncasecmp(name, "pip", 3) == 0 && version_tail(name + 3);
}

/* What a script (or program) named `name` would shadow, or NULL. */
static const char *script_shadows(const char *name, bool dist_is_pip) {
  if (!pl_wheel_reserved_script(name, dist_is_pip)) return NULL;
  if (read_at_start(name)) return "what the interpreter reads at start (a file beside it)";
  return strncasecmp(name, "pip", 3) == 0 ? "pip (a program by its name)"
                                          : "the interpreter (a program by its name)";
}

size_t pl_wheel_startup_hook(const char *path) {
  size_t first = strcspn(path, "/"), mod = strcspn(path, "./");
  if (path[first] == '\0' && first > 4 && strcmp(path + first - 4, ".pth") == 0) return first;
  if (mod == 13 &&
      (strncmp(path, "sitecustomize", 13) == 0 || strncmp(path, "usercustomize", 13) == 0))
    return first;
  return 0;
}

/* Component i (from 0) of path and its length; NULL if there is none. */
static const char *component(const char *path, int i, size_t *len) {
  for (; i > 0; i--) {
    path = strchr(path, '/');
    if (path == NULL) return NULL;
    path++;
  }
  *len = strcspn(path, "/");
  return path;
}

static bool is(const char *c, size_t len, const char *word) {
  return c && len == strlen(word) && memcmp(c, word, len) == 0;
}

/* A file of .data/data/ goes to the data scheme path: the prefix itself for
 * Python's own schemes (/usr/local for Debian's), beside the interpreter and
 * its standard library, where the overlay would lay it over the base's own
 * files; and pylock cannot know which base a registry's wheel will meet.
 * So refuse what, under any prefix, belongs to the interpreter:
 * lib/pythonX.Y/ (lib64/, any lib...) anywhere but its site-packages or
 * dist-packages (the standard library, lib-dynload's extension modules, and
 * lib/pythonXY.zip, which sys.path lists before them even when the base has
 * none), lib/libpython... (its shared library), a program named like the interpreter or pip in a
 * bin/ or sbin/, the files the interpreter reads beside itself at start
 * (pyvenv.cfg makes it a virtual environment of another home; a ._pth file
 * replaces sys.path), and pip.conf at the root (sys.prefix/pip.conf is
 * pip's configuration for the prefix).  Headers (.data/headers) and other
 * data (share/, etc/) shadow nothing of the interpreter's; whatever of the
 * base they would replace, the installer refuses against the base itself.
 * Returns what the file would shadow, or NULL; *site is its path below a
 * site directory when it lands in one. */
static const char *data_shadows(const char *rel, bool dist_is_pip, const char **site) {
  size_t l0 = 0, l1 = 0, l2 = 0;
  const char *c0 = component(rel, 0, &l0), *c1 = component(rel, 1, &l1),
             *c2 = component(rel, 2, &l2);
  const char *base = strrchr(rel, '/');
  base = base ? base + 1 : rel;
  *site = NULL;
  if (c1 && l0 >= 3 && strncmp(c0, "lib", 3) == 0) {
    if (l1 >= 9 && strncasecmp(c1, "libpython", 9) == 0) return "the interpreter's shared library";
    if (l1 >= 6 && strncasecmp(c1, "python", 6) == 0) {
      char ver[16] = "x";
      if (l1 - 6 < sizeof ver) snprintf(ver, sizeof ver, "%.*s", (int)(l1 - 6), c1 + 6);
      if (!version_tail(ver) || c2 == NULL || c2[l2] != '/' ||
          !(is(c2, l2, "site-packages") || is(c2, l2, "dist-packages")))
        return "the standard library";
      *site = c2 + l2 + 1;
    }
  }
  if (read_at_start(base)) return "what the interpreter reads at start (a file beside it)";
  if (strcasecmp(rel, "pip.conf") == 0) return "pip's configuration";
  if (base != rel && script_shadows(base, dist_is_pip)) {
    const char *parent = base - 1;
    while (parent > rel && parent[-1] != '/')
      parent--;
    size_t pl = (size_t)(base - 1 - parent);
    if (is(parent, pl, "bin") || is(parent, pl, "sbin")) return script_shadows(base, dist_is_pip);
  }
  return NULL;
}

/* Note the startup hook `site` (a path below a site directory) names, once. */
static int add_hook(struct pl_wheel_info *info, const char *site, pl_error_t *err) {
  size_t len = pl_wheel_startup_hook(site);
  if (len == 0) return 0;
  for (size_t i = 0; i < info->nstartup_hooks; i++)
    if (strlen(info->startup_hooks[i]) == len && memcmp(info->startup_hooks[i], site, len) == 0)
      return 0;
  char **l = realloc(info->startup_hooks, (info->nstartup_hooks + 1) * sizeof *l);
  if (l == NULL) return pl_fail(err, ENOMEM, "listing startup hooks");
  info->startup_hooks = l;
  if ((l[info->nstartup_hooks] = strndup(site, len)) == NULL)
    return pl_fail(err, ENOMEM, "listing startup hooks");
  info->nstartup_hooks++;
  return 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

#define SHADOW_HINT                                                                                \
  "a wheel may not replace the interpreter, its standard library or pip: ask its publisher "       \
  "for one that does not"

/* Every file and every script the wheel would install against what belongs
 * to the interpreter (see data_shadows), and its startup hooks listed. */
static int check_shadowing(struct verify *v, struct pl_wheel_info *info, pl_error_t *err) {
  char qb[PL_QUOTE_CAP], qc[PL_QUOTE_CAP];
  bool is_pip = pl_distname_equal(info->name, strlen(info->name), "pip", 3);
  size_t dl = info->data_dir ? strlen(info->data_dir) : 0;
  for (size_t i = 0; i < v->n; i++) {
    const struct member *m = &v->m[i];
    if (m->is_dir) continue;
    const char *site = m->path, *what = NULL;
    if (dl && strncmp(m->path, info->data_dir, dl) == 0 && m->path[dl] == '/') {
      /* check_layout: <data>/<scheme>/<rest>, a known scheme. */
      const char *key = m->path + dl + 1, *rest = strchr(key, '/') + 1;
      const char *base = strrchr(rest, '/');
      site = NULL;
      if (!strncmp(key, "purelib/", 8) || !strncmp(key, "platlib/", 8))
        site = rest;
      else if (!strncmp(key, "scripts/", 8))
        what = script_shadows(base ? base + 1 : rest, is_pip);
      else if (!strncmp(key, "data/", 5))
        what = data_shadows(rest, is_pip, &site);
    }
    if (what)
      return pl_fail_hint(err, 0, SHADOW_HINT, "entry \"%s\" would shadow %s", q(qb, m->path),
                          what);
    if (site && add_hook(info, site, err) < 0) return -1;
  }
  if (info->nstartup_hooks)
    qsort(info->startup_hooks, info->nstartup_hooks, sizeof *info->startup_hooks, cmp_str);
  if (!v->meta_found[META_ENTRY_POINTS]) return 0;
  /* The scripts the installer will generate: parsed from the bytes RECORD
   * vouches for, by the parser the installer uses. */
  const struct membuf *b = &v->meta[META_ENTRY_POINTS];
  cleanup_free char *text = strndup(b->p ? b->p : "", b->len);
  cleanup_free struct pl_entry_point *ep = NULL;
  size_t n = 0;
  if (text == NULL) return pl_fail(err, ENOMEM, "entry_points.txt");
  if (pl_wheel_entry_points_parse(text, &ep, &n, err) < 0)
    return pl_error_wrap(err, "%s/entry_points.txt", info->dist_info);
  for (size_t i = 0; i < n; i++) {
    const char *what = script_shadows(ep[i].name, is_pip);
    if (what)
      return pl_fail_hint(err, 0, SHADOW_HINT, "entry point %s = %s (%s) would shadow %s",
                          q(qb, ep[i].name), q(qc, ep[i].value),
                          ep[i].gui ? "gui_scripts" : "console_scripts", what);
  }
  return 0;
}

/* ---- entry_points.txt --------------------------------------------------- */

static char *trim(char *a, char *b) {
  while (a < b && (*a == ' ' || *a == '\t' || *a == '\r'))
    a++;
  while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r'))
    b--;
  *b = '\0';
  return a;
}

int pl_wheel_entry_points_parse(char *buf, struct pl_entry_point **out, size_t *n,
                                pl_error_t *err) {
  int section = 0; /* 1 console, 2 gui */
  size_t cap = 0;
  for (char *line = buf; line && *line;) {
    char *eol = strchr(line, '\n');
    char *next = eol ? eol + 1 : NULL;
    char *t = trim(line, eol ? eol : line + strlen(line));
    line = next;
    if (*t == '\0' || *t == '#' || *t == ';') continue;
    if (*t == '[') {
      char *close = strchr(t, ']');
      if (close == NULL) continue;
      char *name = trim(t + 1, close);
      section = strcmp(name, "console_scripts") == 0 ? 1 : strcmp(name, "gui_scripts") == 0 ? 2 : 0;
      continue;
    }
    char *eq = strchr(t, '=');
    if (section == 0 || eq == NULL) continue;
    char *name = trim(t, eq), *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
    size_t i = 0;
    for (; i < *n; i++)
      if (strcmp((*out)[i].name, name) == 0) break;
    if (i == *n) {
      if (*n >= PL_ENTRY_POINTS_COUNT_MAX)
        return pl_fail(err, 0, "more than %d entry points", PL_ENTRY_POINTS_COUNT_MAX);
      if (*n == cap) {
        cap = cap ? cap * 2 : 16;
        struct pl_entry_point *l = realloc(*out, cap * sizeof *l);
        if (l == NULL) return pl_fail(err, ENOMEM, "entry points");
        *out = l;
      }
      (*n)++;
    }
    (*out)[i] = (struct pl_entry_point){name, value, section == 2};
  }
  return 0;
}

static void digestp(struct pl_digest *d) {
  pl_digest_release(d);
}

struct stream_ctx {
  struct pl_digest *d;
  const struct pl_wheel_sink *sink;
  void *ctx;
};

static int stream_chunk(void *c, const void *buf, size_t len, pl_error_t *err) {
  struct stream_ctx *s = c;
  if (s->d && pl_digest_update(s->d, buf, len, err) < 0) return -1;
  if (s->sink && s->sink->data) return s->sink->data(s->ctx, buf, len, err);
  return 0;
}

static int cmp_range(const void *a, const void *b) {
  const struct range *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* Second pass: every byte, against RECORD, in archive order. */
static int stream_members(struct verify *v, const struct pl_wheel_sink *sink, void *ctx,
                          struct pl_wheel_info *info, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  cleanup_archive struct archive *a = NULL;
  if (archive_open(v, &a, err) < 0) return -1;
  v->total = 0;
  v->ranges = calloc(v->n ? v->n : 1, sizeof *v->ranges);
  if (v->ranges == NULL) return pl_fail(err, ENOMEM, "reading entries");
  size_t i = 0;
  for (;; i++) {
    struct archive_entry *e;
    int r = archive_read_next_header(a, &e);
    if (r == ARCHIVE_EOF) break;
    const char *raw = r == ARCHIVE_OK ? archive_entry_pathname_utf8(e) : NULL;
    if (i >= v->n || raw == NULL || strcmp(raw, v->m[i].raw) != 0 ||
        (archive_entry_filetype(e) == AE_IFDIR) != v->m[i].is_dir)
      return pl_fail(err, EIO, "entry #%zu changed between two reads of the wheel", i + 1);
    const struct member *m = &v->m[i];
    struct pl_wheel_entry we = {m->path, m->is_dir, m->executable, m->is_dir ? NULL : m->row};
    if (sink && sink->begin && sink->begin(ctx, &we, err) < 0) return -1;
    int64_t start = archive_filter_bytes(a, -1);
    uint64_t got;
    __attribute__((cleanup(digestp))) struct pl_digest d = {0};
    if (!m->is_dir && pl_digest_init(&d, m->row->algo, err) < 0) return -1;
    struct stream_ctx sc = {m->is_dir ? NULL : &d, sink, ctx};
    if (read_data(v, a, m->path, stream_chunk, &sc, &got, err) < 0) return -1;
    if (m->is_dir) {
      if (got) return pl_fail(err, 0, "entry \"%s\": a directory with data", q(qb, m->path));
    } else {
      if (archive_entry_size_is_set(e) && (uint64_t)archive_entry_size(e) != got)
        return pl_fail(err, 0, "entry \"%s\": size mismatch: the zip declares %lld bytes, got %llu",
                       q(qb, m->path), (long long)archive_entry_size(e), (unsigned long long)got);
      if (pl_digest_check(&d, m->row, err) < 0)
        return pl_error_wrap(err, "entry \"%s\"", q(qb, m->path));
      info->files++;
      info->total_size += got;
    }
    int64_t end = archive_filter_bytes(a, -1);
    if (end > start) v->ranges[v->nranges++] = (struct range){start, end};
    if (sink && sink->end && sink->end(ctx, &we, err) < 0) return -1;
  }
  if (i != v->n) return pl_fail(err, EIO, "the wheel changed between two reads");
  /* Entries whose compressed data overlap are how a small zip can inflate
   * without bound (and how two readers can be shown different bytes). */
  if (v->nranges) qsort(v->ranges, v->nranges, sizeof *v->ranges, cmp_range);
  for (size_t k = 1; k < v->nranges; k++)
    if (v->ranges[k].start < v->ranges[k - 1].end)
      return pl_fail(err, 0, "entries share compressed data at offset %lld (zip bomb?)",
                     (long long)v->ranges[k].start);
  return 0;
}

void pl_wheel_info_free(struct pl_wheel_info *info) {
  if (info == NULL) return;
  free(info->name);
  free(info->version);
  free(info->metadata_version);
  free(info->dist_info);
  free(info->data_dir);
  free(info->metadata);
  for (size_t i = 0; i < info->nstartup_hooks; i++)
    free(info->startup_hooks[i]);
  free(info->startup_hooks);
  pl_wheel_filename_free(&info->filename);
  pl_wheelfile_free(&info->wheel);
  pl_record_free(&info->record);
  memset(info, 0, sizeof *info);
}

int pl_wheel_verify_stream(int fd, const char *filename, const struct pl_wheel_interp *interp,
                           const struct pl_wheel_limits *limits, const struct pl_wheel_sink *sink,
                           void *ctx, struct pl_wheel_info *out, pl_error_t *err) {
  char qb[PL_QUOTE_CAP];
  struct verify v = {.fd = fd, .lim = limits ? limits : &pl_wheel_default_limits};
  struct pl_wheel_info info = {0};
  struct stat st;
  int r = -1;
  /* Names in a zip are UTF-8 (flag 11); libarchive converts them to the
   * current locale's charset and fails in the C locale.  A thread-local
   * UTF-8 locale keeps every valid name readable without touching the
   * process's locale. */
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  locale_t old = utf8 ? uselocale(utf8) : (locale_t)0;

  if (pl_wheel_filename_parse(filename, &info.filename, err) < 0) goto out;
  if (pl_dynlib_load(PL_LIB_ARCHIVE, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) goto out;
  if (fstat(fd, &st) < 0) {
    pl_fail(err, errno, "fstat");
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    pl_fail(err, 0, "not a regular file");
    goto out;
  }
  v.archive_size = (uint64_t)st.st_size;
  if (scan_members(&v, err) < 0 || check_unique(&v, err) < 0 || check_layout(&v, &info, err) < 0 ||
      check_metadata(&v, interp, &info, err) < 0 || check_record(&v, &info, err) < 0 ||
      check_shadowing(&v, &info, err) < 0 ||
      (sink && sink->prepare && sink->prepare(ctx, &info, err) < 0) ||
      stream_members(&v, sink, ctx, &info, err) < 0)
    goto out;
  *out = info;
  memset(&info, 0, sizeof info);
  r = 0;
out:
  if (r < 0) pl_error_wrap(err, "wheel %s", q(qb, filename));
  pl_wheel_info_free(&info);
  verify_free(&v);
  if (utf8) {
    uselocale(old);
    freelocale(utf8);
  }
  return r;
}

int pl_wheel_verify(int fd, const char *filename, const struct pl_wheel_interp *interp,
                    struct pl_wheel_info *out, pl_error_t *err) {
  return pl_wheel_verify_stream(fd, filename, interp, NULL, NULL, NULL, out, err);
}
