/* libFuzzer target: parse; if it parses, write, re-parse and compare, and
 * check that writing is idempotent.  make fuzz-toml
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct pl_toml *doc = NULL, *again = NULL;
  pl_error_t err = NULL;
  if (pl_toml_parse((const char *)data, size, &doc, &err) < 0) {
    if (err == NULL || err->msg == NULL || strncmp(err->msg, "TOML line ", 10) != 0) abort();
    pl_error_free(&err);
    return 0;
  }
  char *text = NULL, *text2 = NULL, *json = NULL;
  size_t len = 0, len2 = 0, jlen = 0;
  if (pl_toml_write(doc, &text, &len, &err) < 0) abort();
  if (pl_toml_parse(text, len, &again, &err) < 0) abort(); /* writer emitted invalid TOML */
  if (!pl_toml_equal(doc, again)) abort();                 /* round trip changed the tree */
  if (pl_toml_write(again, &text2, &len2, &err) < 0) abort();
  if (len != len2 || memcmp(text, text2, len) != 0) abort(); /* not deterministic */
  if (pl_toml_dump_json(doc, &json, &jlen, &err) < 0) abort();
  free(json);
  free(text);
  free(text2);
  pl_toml_free(doc);
  pl_toml_free(again);
  return 0;
}
