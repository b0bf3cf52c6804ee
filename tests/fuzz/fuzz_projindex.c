/* libFuzzer target: a registry's per-project PEP 691 index pages (lib/projindex.c), which
 * the client parses from a registry before pip sees anything of them.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "projindex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_error_t err = NULL;
  struct pl_projindex ix;
  if (pl_projindex_parse((const char *)data, size, "six", &ix, &err) < 0) {
    if (err == NULL || err->msg == NULL) abort(); /* a failure always says why */
    pl_error_free(&err);
    return 0;
  }
  /* What parses holds only six's wheels, each once, sorted; and renders
   * into a page that parses back to the same files. */
  for (size_t i = 0; i < ix.n; i++) {
    if (strchr(ix.files[i].filename, '/') || strlen(ix.files[i].sha256) != 64) abort();
    if (i > 0 && strcmp(ix.files[i - 1].filename, ix.files[i].filename) >= 0) abort();
    if (pl_projindex_find(&ix, ix.files[i].filename) != &ix.files[i]) abort();
  }
  char *out = NULL;
  size_t len = 0;
  if (pl_projindex_render(&ix, false, &out, &len, &err) == 0) {
    struct pl_projindex back;
    if (pl_projindex_parse(out, len, "six", &back, &err) < 0) abort();
    if (back.n != ix.n) abort();
    for (size_t i = 0; i < ix.n; i++)
      if (strcmp(back.files[i].filename, ix.files[i].filename) != 0 ||
          strcmp(back.files[i].sha256, ix.files[i].sha256) != 0 ||
          back.files[i].metadata != ix.files[i].metadata)
        abort();
    pl_projindex_free(&back);
    free(out);
  } else {
    pl_error_free(&err);
  }
  pl_projindex_free(&ix);
  return 0;
}
