/* libFuzzer target: wheel verification (lib/wheel.c over libarchive, lib/archive_path.c,
 * lib/record.c, lib/metadata.c): entry names and types, duplicates, layout, RECORD against
 * every member, WHEEL and METADATA against the filename, size and ratio limits, and the
 * sink's view of the second pass.
 *
 * Input: the wheel's filename on the first line (a leading '!' selects tiny limits), then
 * either a zip archive as it is ("PK..."), or a description the harness zips, one member
 * after another:
 *   @@ <type><mode> <name>\n<content>      up to the next "\n@@ " or the end
 * type: f file (deflated), s file (stored), d directory, l symbolic link, h hard link
 * (content: the target), c character device, p fifo; mode: octal permissions.  A file whose
 * content is exactly "@RECORD@" gets a RECORD listing every other file with its real sha256
 * and size, so that mutations reach the checks past RECORD. */
#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archive_path.h"
#include "record.h"
#include "wheel.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

#define MAX_MEMBERS 256
#define AUTO_RECORD "@RECORD@"

struct member {
  char type;
  unsigned mode;
  char name[PL_PATH_MAX + 1];
  const char *data;
  size_t len;
};

static const struct pl_wheel_limits tiny = {
    .max_entries = 12,
    .max_entry_size = 4096,
    .max_total_size = 16384,
    .max_ratio = 8,
    .ratio_floor = 512,
    .max_total_ratio = 4,
    .total_ratio_floor = 2048,
};

static const struct pl_wheel_interp interp = {"cp",          3, 12, "cp312", true, "x86_64",
                                              PL_LIBC_GLIBC, 2, 36};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  /* Member names are UTF-8: the writer needs a UTF-8 locale to store them as such. */
  setlocale(LC_CTYPE, "C.UTF-8");
  return 0;
}

/* Split the description into members; false if it is not one. */
static size_t parse_members(const char *p, const char *end, struct member *m) {
  size_t n = 0;
  while (p < end && n < MAX_MEMBERS && end - p > 4 && memcmp(p, "@@ ", 3) == 0) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (nl == NULL) break;
    const char *h = p + 3, *sp = memchr(h, ' ', (size_t)(nl - h));
    if (sp == NULL || (size_t)(nl - sp - 1) > PL_PATH_MAX) break;
    m[n].type = *h;
    m[n].mode = (unsigned)strtoul(h + 1, NULL, 8) & 07777;
    memcpy(m[n].name, sp + 1, (size_t)(nl - sp - 1));
    m[n].name[nl - sp - 1] = '\0';
    const char *next = memmem(nl + 1, (size_t)(end - nl - 1), "\n@@ ", 4);
    m[n].data = nl + 1;
    m[n].len = (size_t)((next ? next : end) - (nl + 1));
    n++;
    p = next ? next + 1 : end;
  }
  return n;
}

static int is_file(const struct member *m) {
  return m->type == 'f' || m->type == 's';
}

/* RECORD rows for every file but the automatic ones, as a new string. */
static char *make_record(const struct member *m, size_t n, size_t *len) {
  char *out = NULL;
  size_t cap = 0;
  FILE *f = open_memstream(&out, &cap);
  if (f == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (!is_file(&m[i])) continue;
    if (m[i].len == strlen(AUTO_RECORD) && memcmp(m[i].data, AUTO_RECORD, m[i].len) == 0) {
      fprintf(f, "%s,,\n", m[i].name);
      continue;
    }
    unsigned char md[32];
    char b64[64];
    EVP_Digest(m[i].data, m[i].len, md, NULL, EVP_sha256(), NULL);
    pl_record_b64(b64, sizeof b64, md, sizeof md);
    fprintf(f, "%s,sha256=%s,%zu\n", m[i].name, b64, m[i].len);
  }
  fclose(f);
  *len = cap;
  return out;
}

static void zip_members(int fd, const struct member *m, size_t n) {
  size_t rlen = 0;
  char *record = make_record(m, n, &rlen);
  struct archive *a = archive_write_new();
  if (a == NULL || record == NULL) abort();
  archive_write_set_format_zip(a);
  archive_write_set_format_option(a, "zip", "hdrcharset", "UTF-8");
  if (archive_write_open_fd(a, fd) != ARCHIVE_OK) abort();
  for (size_t i = 0; i < n; i++) {
    struct archive_entry *e = archive_entry_new();
    const char *data = m[i].data;
    size_t len = m[i].len;
    if (is_file(&m[i]) && len == strlen(AUTO_RECORD) && memcmp(data, AUTO_RECORD, len) == 0)
      data = record, len = rlen;
    char target[PL_PATH_MAX + 1];
    snprintf(target, sizeof target, "%.*s", (int)(len < PL_PATH_MAX ? len : PL_PATH_MAX), data);
    /* libarchive cannot write a name that is not UTF-8 (its reader is what is fuzzed):
     * such a member is left out. */
    if (!archive_entry_update_pathname_utf8(e, m[i].name) ||
        (m[i].type == 'l' && !archive_entry_update_symlink_utf8(e, target)) ||
        (m[i].type == 'h' && !archive_entry_update_hardlink_utf8(e, target))) {
      archive_entry_free(e);
      continue;
    }
    archive_entry_set_perm(e, m[i].mode);
    archive_entry_set_mtime(e, 315532800, 0);
    switch (m[i].type) {
    case 's':
    case 'f': archive_entry_set_filetype(e, AE_IFREG); break;
    case 'd': archive_entry_set_filetype(e, AE_IFDIR), len = 0; break;
    case 'l': archive_entry_set_filetype(e, AE_IFLNK); break;
    case 'h': archive_entry_set_filetype(e, AE_IFREG); break;
    case 'c': archive_entry_set_filetype(e, AE_IFCHR), len = 0; break;
    default: archive_entry_set_filetype(e, AE_IFIFO), len = 0; break;
    }
    if (m[i].type == 'l' || m[i].type == 'h') len = 0;
    archive_entry_set_size(e, (la_int64_t)len);
    if (m[i].type == 's')
      archive_write_zip_set_compression_store(a);
    else
      archive_write_zip_set_compression_deflate(a);
    if (archive_write_header(a, e) == ARCHIVE_OK && len) archive_write_data(a, data, len);
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  free(record);
}

/* The second pass as a sink sees it: prepared once, then begin/data/end per member, each
 * file's bytes exactly the size its RECORD row gives. */
struct watch {
  int prepared, open;
  uint64_t bytes, files;
};

static int w_prepare(void *ctx, const struct pl_wheel_info *info, pl_error_t *err) {
  struct watch *w = ctx;
  if (w->prepared++ || info->dist_info == NULL || info->name == NULL) abort();
  return 0;
}

static int w_begin(void *ctx, const struct pl_wheel_entry *e, pl_error_t *err) {
  struct watch *w = ctx;
  size_t len;
  if (!w->prepared || w->open) abort();
  if (pl_archive_path_check(e->path, e->is_dir, &len, err) < 0 || len != strlen(e->path)) abort();
  if (!e->is_dir && (e->record == NULL || !e->record->has_size)) abort();
  w->open = 1, w->bytes = 0;
  return 0;
}

static int w_data(void *ctx, const void *buf, size_t len, pl_error_t *err) {
  struct watch *w = ctx;
  if (!w->open) abort();
  w->bytes += len;
  return 0;
}

static int w_end(void *ctx, const struct pl_wheel_entry *e, pl_error_t *err) {
  struct watch *w = ctx;
  if (!w->open || (e->is_dir ? w->bytes != 0 : w->bytes != e->record->size)) abort();
  w->open = 0;
  w->files += !e->is_dir;
  return 0;
}

static const struct pl_wheel_sink sink = {w_begin, w_data, w_end, w_prepare};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data, *end = p + size;
  const char *nl = memchr(p, '\n', size);
  if (nl == NULL || nl - p > 255) return 0;
  char filename[256];
  int small = *p == '!';
  snprintf(filename, sizeof filename, "%.*s", (int)(nl - p - small), p + small);
  p = nl + 1;

  int fd = memfd_create("wheel", MFD_CLOEXEC);
  if (fd < 0) abort();
  static struct member m[MAX_MEMBERS];
  size_t n;
  if (end - p >= 2 && memcmp(p, "PK", 2) == 0) {
    if (write(fd, p, (size_t)(end - p)) != end - p) abort();
  } else if ((n = parse_members(p, end, m)) > 0) {
    zip_members(fd, m, n);
  } else {
    close(fd);
    return 0;
  }
  struct watch w = {0};
  struct pl_wheel_info info = {0};
  pl_error_t err = NULL;
  if (pl_wheel_verify_stream(fd, filename, &interp, small ? &tiny : NULL, &sink, &w, &info, &err) ==
      0) {
    /* RECORD lists every file, itself perhaps not. */
    if (w.open || w.files != info.files || info.record.n > info.files ||
        info.record.n + 1 < info.files)
      abort();
    if (info.dist_info == NULL || info.metadata == NULL) abort();
    pl_wheel_info_free(&info);
  } else if (err == NULL || err->msg == NULL) {
    abort();
  }
  debug(err);
  pl_error_free(&err);
  close(fd);
  return 0;
}
