/* Test helper: write small wheels, valid or broken in one named way. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TEST_WHEELGEN_H
#define PYLOCK_TEST_WHEELGEN_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "digest.h"
#include "dyn_archive.h"
#include "record.h"

enum wheel_flaw {
  WHEEL_OK,
  WHEEL_DOTDOT,          /* an entry "../evil.py", listed in RECORD */
  WHEEL_SYMLINK,         /* an entry NAME/link -> /etc/passwd */
  WHEEL_RECORD_MISMATCH, /* NAME/__init__.py's bytes differ from its RECORD digest */
  WHEEL_SCRIPT_PYTHON3,  /* NAME-VERSION.data/scripts/python3 */
  WHEEL_STDLIB_JSON,     /* NAME-VERSION.data/data/lib/python3.12/json/__init__.py */
  WHEEL_ENTRY_POINT_PIP, /* entry_points.txt: console_scripts pip = NAME:main */
  WHEEL_PTH,             /* not a flaw: NAME.pth, a startup hook */
};

struct zent {
  char name[300];
  const char *data;
  const char *link; /* a symlink to this, or NULL */
};

/* name NULL keeps the name already written into z. */
static void zent_set(struct zent *z, const char *name, const char *data, const char *link) {
  if (name) snprintf(z->name, sizeof z->name, "%s", name);
  z->data = data;
  z->link = link;
}

/* NAME-VERSION-TAG.whl in dir (tag e.g. "py3-none-any"), holding NAME/__init__.py
 * with `code`, METADATA (`metadata`, or a minimal one), WHEEL and a RECORD
 * listing every file.  Returns the path (static buffer). */
static const char *wheelgen(const char *dir, const char *name, const char *version, const char *tag,
                            const char *code, const char *metadata, enum wheel_flaw flaw) {
  static char path[512];
  char di[256], md[512], wh[256], init[256], rec[4096];
  snprintf(path, sizeof path, "%s/%s-%s-%s.whl", dir, name, version, tag);
  snprintf(di, sizeof di, "%s-%s.dist-info", name, version);
  if (metadata == NULL)
    snprintf(md, sizeof md, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version);
  else
    snprintf(md, sizeof md, "%s", metadata);
  snprintf(wh, sizeof wh, "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: %s\n",
           tag);
  snprintf(init, sizeof init, "%s/__init__.py", name);
  char dd[200];
  snprintf(dd, sizeof dd, "%.100s-%.90s.data", name, version);
  struct zent e[6];
  int n = 0;
  zent_set(&e[n++], init, code, NULL);
  snprintf(e[n].name, sizeof e[n].name, "%s/METADATA", di);
  zent_set(&e[n++], NULL, md, NULL);
  snprintf(e[n].name, sizeof e[n].name, "%s/WHEEL", di);
  zent_set(&e[n++], NULL, wh, NULL);
  if (flaw == WHEEL_DOTDOT) zent_set(&e[n++], "../evil.py", "x\n", NULL);
  if (flaw == WHEEL_SCRIPT_PYTHON3) {
    snprintf(e[n].name, sizeof e[n].name, "%s/scripts/python3", dd);
    zent_set(&e[n++], NULL, "#!python\n", NULL);
  }
  if (flaw == WHEEL_STDLIB_JSON) {
    snprintf(e[n].name, sizeof e[n].name, "%s/data/lib/python3.12/json/__init__.py", dd);
    zent_set(&e[n++], NULL, "import os\n", NULL);
  }
  if (flaw == WHEEL_ENTRY_POINT_PIP) {
    snprintf(e[n].name, sizeof e[n].name, "%s/entry_points.txt", di);
    zent_set(&e[n++], NULL, "[console_scripts]\npip = demo:main\n", NULL);
  }
  if (flaw == WHEEL_PTH) {
    snprintf(e[n].name, sizeof e[n].name, "%s.pth", name);
    zent_set(&e[n++], NULL, "import os\n", NULL);
  }
  if (flaw == WHEEL_SYMLINK) {
    snprintf(e[n].name, sizeof e[n].name, "%s/link", name);
    zent_set(&e[n++], NULL, "", "/etc/passwd");
  }
  size_t rl = 0;
  for (int i = 0; i < n; i++) {
    if (e[i].link) continue;
    unsigned char d[PL_HASH_MAX];
    size_t dl;
    char b64[2 * PL_HASH_MAX];
    const char *data = e[i].data;
    if (pl_digest_buffer(PL_HASH_SHA256, data, strlen(data), d, &dl, NULL) < 0) abort();
    if (flaw == WHEEL_RECORD_MISMATCH && i == 0) d[0] ^= 1; /* same size, other digest */
    pl_record_b64(b64, sizeof b64, d, dl);
    rl += (size_t)snprintf(rec + rl, sizeof rec - rl, "%s,sha256=%s,%zu\n", e[i].name, b64,
                           strlen(data));
  }
  snprintf(rec + rl, sizeof rec - rl, "%s/RECORD,,\n", di);

  if (pl_dynlib_load(PL_LIB_ARCHIVE, NULL) < 0) abort();
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  struct archive *a = archive_write_new();
  if (fd < 0 || a == NULL || archive_write_set_format_zip(a) != ARCHIVE_OK ||
      archive_write_zip_set_compression_deflate(a) != ARCHIVE_OK ||
      archive_write_open_fd(a, fd) != ARCHIVE_OK)
    abort();
  snprintf(e[n].name, sizeof e[n].name, "%s/RECORD", di);
  zent_set(&e[n++], NULL, rec, NULL);
  for (int i = 0; i < n; i++) {
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname_utf8(ae, e[i].name);
    archive_entry_set_filetype(ae, e[i].link ? AE_IFLNK : AE_IFREG);
    archive_entry_set_perm(ae, 0644);
    if (e[i].link) archive_entry_set_symlink(ae, e[i].link);
    archive_entry_set_size(ae, e[i].link ? 0 : (la_int64_t)strlen(e[i].data));
    if (archive_write_header(a, ae) != ARCHIVE_OK) abort();
    if (!e[i].link && archive_write_data(a, e[i].data, strlen(e[i].data)) < 0) abort();
    archive_entry_free(ae);
  }
  if (archive_write_close(a) != ARCHIVE_OK) abort();
  archive_write_free(a);
  close(fd);
  return path;
}

#endif
