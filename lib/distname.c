/* pylock — project names and versions; see distname.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "distname.h"

#include <string.h>

static bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool pl_distname_valid(const char *name, size_t len) {
  if (len == 0 || len > PL_DISTNAME_MAX) return false;
  if (!alnum(name[0]) || !alnum(name[len - 1])) return false;
  for (size_t i = 0; i < len; i++)
    if (!alnum(name[i]) && name[i] != '-' && name[i] != '_' && name[i] != '.') return false;
  return true;
}

int pl_distname_normalize(const char *name, size_t len, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = name[i];
    if (c == '-' || c == '_' || c == '.') {
      while (i + 1 < len && (name[i + 1] == '-' || name[i + 1] == '_' || name[i + 1] == '.'))
        i++;
      c = '-';
    }
    if (o + 1 >= cap) return -1;
    out[o++] = lower(c);
  }
  if (cap == 0) return -1;
  out[o] = '\0';
  return (int)o;
}

bool pl_distname_equal(const char *a, size_t alen, const char *b, size_t blen) {
  char na[PL_DISTNAME_MAX + 1], nb[PL_DISTNAME_MAX + 1];
  int la = pl_distname_normalize(a, alen, na, sizeof na);
  int lb = pl_distname_normalize(b, blen, nb, sizeof nb);
  return la >= 0 && la == lb && memcmp(na, nb, (size_t)la) == 0;
}

bool pl_version_valid(const char *v, size_t len) {
  if (len == 0 || len > PL_VERSION_MAX) return false;
  for (size_t i = 0; i < len; i++)
    if (!alnum(v[i]) && (v[i] == 0 || !strchr(".!+_-", v[i]))) return false;
  return true;
}

bool pl_version_matches_filename(const char *metadata_version, const char *file_version,
                                 size_t file_len) {
  size_t mlen = strlen(metadata_version);
  if (mlen != file_len) return false;
  for (size_t i = 0; i < mlen; i++) {
    char m = metadata_version[i] == '-' ? '_' : lower(metadata_version[i]);
    if (m != lower(file_version[i])) return false;
  }
  return true;
}
