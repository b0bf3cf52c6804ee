/* libFuzzer target: wheel verification (lib/wheel.c over libarchive, lib/archive_path.c,
 * lib/record.c, lib/metadata.c): entry names and types, duplicates, layout, RECORD against
 * every member, WHEEL and METADATA against the filename, size and ratio limits, and the
 * sink's view of the second pass.  Input: see wheel_input.h; a leading '!' on the filename
 * line selects tiny limits.
 * SPDX-License-Identifier: Apache-2.0 */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_path.h"
#include "record.h"
#include "wheel.h"
#include "wheel_input.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FUZZ_DEBUG=1 prints why each input was refused (to check that seeds get far). */
static void debug(const pl_error_t err) {
  static int on = -1;
  if (on < 0) on = getenv("FUZZ_DEBUG") != NULL;
  if (on && err && err->msg) fprintf(stderr, "fuzz: refused: %s\n", err->msg);
}

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
  char filename[256];
  int small;
  int fd = wheel_input(data, size, filename, &small);
  if (fd < 0) return 0;
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
