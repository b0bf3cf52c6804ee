/* pylock — the one escaping rule for outside text; see escape.h for the rule. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "escape.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (strict, as Unicode's table 3-7:
 * no overlong form, no surrogate, nothing above U+10FFFF), its code point in
 * *cp; 0 when s does not start one. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp) {
  unsigned char b = s[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
  if (b < 0x80) {
    *cp = b;
    return 1;
  }
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2, *cp = b & 0x1f;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3, *cp = b & 0x0f;
    if (b == 0xe0) lo = 0xa0; /* overlong below U+0800 */
    if (b == 0xed) hi = 0x9f; /* surrogates U+D800-U+DFFF */
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4, *cp = b & 0x07;
    if (b == 0xf0) lo = 0x90; /* overlong below U+10000 */
    if (b == 0xf4) hi = 0x8f; /* above U+10FFFF */
  } else {
    return 0; /* a continuation byte, C0/C1 (overlong 2-byte) or F5-FF */
  }
  if (len < n || s[1] < lo || s[1] > hi) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    *cp = (*cp << 6) | (s[i] & 0x3f);
  }
  return n;
}

/* A character that acts on a terminal or on how a line reads: controls, and
 * the format characters that reorder a line or break it. */
static int is_unsafe(uint32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
         (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The short escape of a C0 control in mode, or NULL. */
static const char *short_escape(enum pl_escape_mode mode, uint32_t cp) {
  switch (cp) {
  case '\n': return "\\n";
  case '\t': return "\\t";
  case '\r': return "\\r";
  case '\b': return mode == PL_ESCAPE_JSON ? "\\b" : NULL;
  case '\f': return mode == PL_ESCAPE_JSON ? "\\f" : NULL;
  default: return NULL;
  }
}

size_t pl_escape_unit(enum pl_escape_mode mode, const char *s, size_t len,
                      char out[PL_ESCAPE_UNIT_MAX], size_t *outlen) {
  const unsigned char *u = (const unsigned char *)s;
  uint32_t cp;
  size_t n = utf8_decode(u, len, &cp);
  int w;
  if (n == 0) {
    /* Not UTF-8: one byte, shown by value in text, replaced in JSON. */
    w = mode == PL_ESCAPE_JSON ? snprintf(out, PL_ESCAPE_UNIT_MAX, "\\ufffd")
                               : snprintf(out, PL_ESCAPE_UNIT_MAX, "\\x%02x", u[0]);
    *outlen = (size_t)w;
    return 1;
  }
  const char *sh;
  if (mode == PL_ESCAPE_JSON && (cp == '"' || cp == '\\')) {
    w = snprintf(out, PL_ESCAPE_UNIT_MAX, "\\%c", (char)cp);
  } else if (!is_unsafe(cp)) {
    memcpy(out, s, n);
    w = (int)n;
  } else if ((sh = short_escape(mode, cp)) != NULL) {
    w = snprintf(out, PL_ESCAPE_UNIT_MAX, "%s", sh);
  } else if (mode == PL_ESCAPE_TEXT && cp <= 0x7f) {
    w = snprintf(out, PL_ESCAPE_UNIT_MAX, "\\x%02x", (unsigned)cp);
  } else {
    w = snprintf(out, PL_ESCAPE_UNIT_MAX, "\\u%04x", (unsigned)cp);
  }
  *outlen = (size_t)w;
  return n;
}

size_t pl_escape(enum pl_escape_mode mode, const char *s, size_t len, char *out, size_t cap) {
  size_t total = 0, used = 0;
  bool full = false;
  while (len > 0) {
    char unit[PL_ESCAPE_UNIT_MAX];
    size_t ulen, took = pl_escape_unit(mode, s, len, unit, &ulen);
    if (!full && cap > 0 && ulen < cap - used) {
      memcpy(out + used, unit, ulen);
      used += ulen;
    } else {
      full = true; /* later units must not fill in after a dropped one */
    }
    total += ulen;
    s += took;
    len -= took;
  }
  if (cap > 0) out[used] = '\0';
  return total;
}

char *pl_escape_dup(enum pl_escape_mode mode, const char *s) {
  size_t len = strlen(s), need = pl_escape(mode, s, len, NULL, 0);
  char *out = malloc(need + 1);
  if (out) pl_escape(mode, s, len, out, need + 1);
  return out;
}
