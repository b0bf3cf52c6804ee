/* Print the canonical JSON of the document on stdin (for interop checks). */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "canonjson.h"

int main(void) {
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, stdin);
  pl_error_t err = NULL;
  json_t *v = NULL;
  char *out = NULL;
  size_t len;
  if (pl_json_parse(buf, n, "stdin", &v, &err) < 0 || pl_json_canonical(v, &out, &len, &err) < 0) {
    fprintf(stderr, "canon: %s\n", err->msg);
    return 1;
  }
  fwrite(out, 1, len, stdout);
  return 0;
}
