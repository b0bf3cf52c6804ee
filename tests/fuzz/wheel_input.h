/* The input format of the wheel fuzz targets (fuzz_wheel, fuzz_install): a wheel's filename
 * on the first line, then either a zip archive as it is ("PK..."), or a description the
 * harness zips, one member after another:
 *   @@ <type><mode> <name>\n<content>      up to the next "\n@@ " or the end
 * type: f file (deflated), s file (stored), d directory, l symbolic link, h hard link
 * (content: the target), c character device, p fifo; mode: octal permissions.  A file whose
 * content is exactly "@RECORD@" gets a RECORD listing every other file with its real sha256
 * and size, so that mutations reach the checks past RECORD.  Header-only: each target is
 * one program.  Call setlocale(LC_CTYPE, "C.UTF-8") first: the writer needs it to store
 * UTF-8 names.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_FUZZ_WHEEL_INPUT_H
#define PYLOCK_FUZZ_WHEEL_INPUT_H

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "archive_path.h"
#include "record.h"

#define MAX_MEMBERS 256
#define AUTO_RECORD "@RECORD@"

struct member {
  char type;
  unsigned mode;
  char name[PL_PATH_MAX + 1];
  const char *data;
  size_t len;
};

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

/* The wheel of the input in a new memfd, and its filename (NULL if the input is none). */
static int wheel_input(const uint8_t *data, size_t size, char filename[256], int *small) {
  const char *p = (const char *)data, *end = p + size;
  const char *nl = memchr(p, '\n', size);
  if (nl == NULL || nl - p > 255) return -1;
  *small = *p == '!';
  snprintf(filename, 256, "%.*s", (int)(nl - p - *small), p + *small);
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
    return -1;
  }
  return fd;
}

#endif
