/* libFuzzer target: the escaping rule (lib/escape.c) — its output is always safe to print. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Valid UTF-8 holding no control character (C0, DEL, C1), no bidi or line
 * control, and, for JSON, no '"' or '\\' that is not escaped.  Written apart
 * from lib/escape.c's decoder on purpose. */
static bool safe(const unsigned char *s, size_t len, bool json) {
  for (size_t i = 0; i < len;) {
    unsigned char b = s[i];
    size_t n = b < 0x80             ? 1
               : (b & 0xe0) == 0xc0 ? 2
               : (b & 0xf0) == 0xe0 ? 3
               : (b & 0xf8) == 0xf0 ? 4
                                    : 0;
    if (n == 0 || i + n > len) return false;
    uint32_t cp = b & (n == 1 ? 0x7f : 0x7f >> n);
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
        (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
      return false;
    if (json && cp == '\\') {
      if (i + 1 >= len || !strchr("\"\\bfnrtu", s[i + 1])) return false;
      i += 2; /* the escaped character is not a closing quote */
      continue;
    }
    if (json && cp == '"') return false;
    i += n;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const enum pl_escape_mode modes[] = {PL_ESCAPE_TEXT, PL_ESCAPE_JSON};
  for (size_t m = 0; m < 2; m++) {
    size_t need = pl_escape(modes[m], (const char *)data, size, NULL, 0);
    char *out = malloc(need + 1);
    if (out == NULL) return 0;
    if (pl_escape(modes[m], (const char *)data, size, out, need + 1) != need) abort();
    if (strlen(out) != need) abort();
    if (!safe((const unsigned char *)out, need, modes[m] == PL_ESCAPE_JSON)) abort();
    /* Truncated output is a prefix of the whole, cut between units. */
    if (need > 0) {
      char *part = malloc(need / 2 + 1);
      if (part) {
        pl_escape(modes[m], (const char *)data, size, part, need / 2 + 1);
        if (strncmp(part, out, strlen(part)) != 0) abort();
        if (!safe((const unsigned char *)part, strlen(part), modes[m] == PL_ESCAPE_JSON)) abort();
        free(part);
      }
    }
    free(out);
  }
  return 0;
}
