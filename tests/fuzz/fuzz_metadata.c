/* libFuzzer target: METADATA and WHEEL parsing (lib/metadata.c). */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distname.h"
#include "metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_error_t err = NULL;
  struct pl_metadata md = {0};
  if (pl_metadata_parse((const char *)data, size, &md, &err) == 0) {
    if (!pl_distname_valid(md.name, strlen(md.name))) abort();
    char norm[PL_DISTNAME_MAX + 1];
    if (pl_distname_normalize(md.name, strlen(md.name), norm, sizeof norm) < 0) abort();
    if (!pl_distname_equal(md.name, strlen(md.name), norm, strlen(norm))) abort();
    pl_metadata_free(&md);
  } else if (err == NULL) {
    abort();
  }
  pl_error_free(&err);
  struct pl_wheelfile wf = {0};
  if (pl_wheelfile_parse((const char *)data, size, &wf, &err) == 0) {
    if (wf.version_major != 1) abort();
    pl_wheelfile_free(&wf);
  } else if (err == NULL) {
    abort();
  }
  pl_error_free(&err);
  return 0;
}
