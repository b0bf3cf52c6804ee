/* libFuzzer target: wheel filenames, tag compatibility and member names
 * (lib/tags.c, lib/archive_path.c).
 * SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "archive_path.h"
#include "tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pl_wheel_interp interps[] = {
    {"cp", 3, 12, "cp312", true, "x86_64", PL_LIBC_GLIBC, 2, 36},
    {"cp", 3, 13, "cp313t", false, "aarch64", PL_LIBC_MUSL, 1, 2},
    {"pp", 3, 10, "pypy310_pp73", false, "i686", PL_LIBC_GLIBC, 2, 5},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  pl_error_t err = NULL;
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(s, &fn, &err) == 0) {
    char tags[512];
    pl_wheel_tags_string(&fn, tags, sizeof tags);
    for (size_t i = 0; i < sizeof interps / sizeof interps[0]; i++)
      if (pl_wheel_tags_check(&fn, &interps[i], &err) < 0 && err == NULL) abort();
    pl_wheel_filename_free(&fn);
  } else if (err == NULL) {
    abort();
  }
  pl_error_free(&err);
  size_t len;
  for (int dir = 0; dir < 2; dir++) {
    if (pl_archive_path_check(s, dir, &len, &err) == 0) {
      if (len == 0 || s[0] == '/' || strncmp(s, "../", 3) == 0 || strcmp(s, "..") == 0 ||
          strstr(s, "/../") || strchr(s, '\\'))
        abort();
    } else if (err == NULL) {
      abort();
    }
    pl_error_free(&err);
  }
  char q[PL_QUOTE_CAP];
  pl_path_quote(q, sizeof q, s, size);
  if (strlen(q) >= sizeof q) abort();
  free(s);
  return 0;
}
