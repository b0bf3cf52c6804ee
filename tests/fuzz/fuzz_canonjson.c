/* libFuzzer target: strict JSON parsing and canonical emission (lib/canonjson.c), the bytes
 * every TUF signature covers.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Canonical JSON writes strings raw: a control character makes it no longer JSON. */
static int has_control(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20) return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_error_t err = NULL;
  cleanup_json json_t *v = NULL;
  if (pl_json_parse((const char *)data, size, "fuzz", &v, &err) < 0) {
    if (err == NULL || err->msg == NULL) abort(); /* a failure always says why */
    pl_error_free(&err);
    return 0;
  }
  char *canon = NULL, *again = NULL;
  size_t len = 0, len2 = 0;
  if (pl_json_canonical(v, &canon, &len, &err) < 0) {
    if (err == NULL) abort();
    pl_error_free(&err);
    return 0;
  }
  if (strlen(canon) > len) abort();
  if (!has_control(canon, len)) {
    /* Canonical output parses back to an equal tree and is a fixed point. */
    cleanup_json json_t *w = NULL;
    if (pl_json_parse(canon, len, "canonical", &w, &err) < 0) abort();
    if (!json_equal(v, w)) abort();
    if (pl_json_canonical(w, &again, &len2, &err) < 0) abort();
    if (len != len2 || memcmp(canon, again, len) != 0) abort();
  }
  free(canon);
  free(again);
  return 0;
}
