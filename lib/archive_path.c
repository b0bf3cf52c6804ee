/* pylock — checks on the names of wheel members; see archive_path.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "archive_path.h"

#include <errno.h>
#include <string.h>

#include "escape.h"

const char *pl_path_quote(char *dst, size_t cap, const char *src, size_t len) {
  size_t o = 0;
  while (len > 0) {
    char unit[PL_ESCAPE_UNIT_MAX];
    size_t ulen, took = pl_escape_unit(PL_ESCAPE_TEXT, src, len, unit, &ulen);
    if (o + ulen + 4 > cap) {
      memcpy(dst + o, "...", 3);
      o += 3;
      break;
    }
    memcpy(dst + o, unit, ulen);
    o += ulen;
    src += took;
    len -= took;
  }
  dst[o] = '\0';
  return dst;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF rejected). */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t k;
  unsigned cp, min;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf)
    k = 2, cp = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    k = 3, cp = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    k = 4, cp = c & 0x07, min = 0x10000;
  else
    return 0;
  if (k > n) return 0;
  for (size_t i = 1; i < k; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return k;
}

int pl_archive_path_check(const char *name, bool is_dir, size_t *len, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  size_t n = strnlen(name, PL_PATH_MAX + 1);
  if (n == 0) return pl_fail(err, 0, "empty member name");
  if (n > PL_PATH_MAX)
    return pl_fail(err, 0, "member name longer than %d bytes: \"%s\"", PL_PATH_MAX,
                   pl_path_quote(q, sizeof q, name, 64));
  if (is_dir && n > 1 && name[n - 1] == '/') n--;
  if (name[0] == '/')
    return pl_fail(err, 0, "absolute member name \"%s\"", pl_path_quote(q, sizeof q, name, n));
  const unsigned char *s = (const unsigned char *)name;
  size_t comp_start = 0;
  int depth = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '/') {
      size_t clen = i - comp_start;
      const char *c = name + comp_start;
      if (clen == 0 || (clen == 1 && c[0] == '.') || (clen == 2 && c[0] == '.' && c[1] == '.'))
        return pl_fail(err, 0, "member name \"%s\" has an empty, \".\" or \"..\" component",
                       pl_path_quote(q, sizeof q, name, n));
      if (clen > PL_PATH_COMPONENT_MAX)
        return pl_fail(err, 0, "member name \"%s\" has a component longer than %d bytes",
                       pl_path_quote(q, sizeof q, name, n), PL_PATH_COMPONENT_MAX);
      if (++depth > PL_PATH_DEPTH_MAX)
        return pl_fail(err, 0, "member name \"%s\" is deeper than %d components",
                       pl_path_quote(q, sizeof q, name, n), PL_PATH_DEPTH_MAX);
      comp_start = i + 1;
      continue;
    }
    /* A backslash is a separator on Windows and in some unzip tools; a
     * control character can rewrite the terminal that shows the name. */
    if (s[i] == '\\' || s[i] < 0x20 || s[i] == 0x7f)
      return pl_fail(err, 0, "member name \"%s\" contains a backslash or control character",
                     pl_path_quote(q, sizeof q, name, n));
    if (s[i] >= 0x80) {
      size_t k = utf8_len(s + i, n - i);
      if (k == 0)
        return pl_fail(err, 0, "member name \"%s\" is not valid UTF-8",
                       pl_path_quote(q, sizeof q, name, n));
      i += k - 1;
    }
  }
  *len = n;
  return 0;
}
