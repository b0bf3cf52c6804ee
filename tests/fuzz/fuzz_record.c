/* libFuzzer target: RECORD parsing (lib/record.c). */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_error_t err = NULL;
  struct pl_record rec = {0};
  if (pl_record_parse((const char *)data, size, "x-1.0.dist-info/RECORD", &rec, &err) == 0) {
    /* Every row found again by lookup; sorted and unique. */
    for (size_t i = 0; i < rec.n; i++) {
      if (pl_record_find(&rec, rec.entries[i].path) != &rec.entries[i]) abort();
      if (i && strcmp(rec.entries[i - 1].path, rec.entries[i].path) >= 0) abort();
      char b64[2 * PL_HASH_MAX];
      pl_record_b64(b64, sizeof b64, rec.entries[i].digest, rec.entries[i].digest_len);
    }
    pl_record_free(&rec);
  } else if (err == NULL) {
    abort(); /* a failure always says why */
  }
  pl_error_free(&err);
  return 0;
}
