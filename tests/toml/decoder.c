/* toml-test decoder: TOML on stdin, the toml-test JSON of it on stdout.
 * Exit 1 (message on stderr) when the document is rejected.
 *   toml-test -- build/toml-decoder
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "toml.h"

int main(void) {
  size_t cap = PL_TOML_MAX_DOCUMENT + 1;
  char *buf = malloc(cap);
  if (buf == NULL) return 2;
  size_t len = fread(buf, 1, cap, stdin);
  if (ferror(stdin)) {
    perror("toml-decoder: stdin");
    return 2;
  }
  struct pl_toml *doc = NULL;
  pl_error_t err = NULL;
  char *json = NULL;
  size_t jlen = 0;
  if (pl_toml_parse(buf, len, &doc, &err) < 0 || pl_toml_dump_json(doc, &json, &jlen, &err) < 0) {
    char *msg = pl_error_string(err);
    fprintf(stderr, "toml-decoder: %s\n", msg);
    free(msg);
    pl_error_free(&err);
    pl_toml_free(doc);
    free(buf);
    return 1;
  }
  fwrite(json, 1, jlen, stdout);
  fputc('\n', stdout);
  free(json);
  pl_toml_free(doc);
  free(buf);
  return 0;
}
