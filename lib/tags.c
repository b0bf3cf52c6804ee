/* pylock — wheel filenames and tag compatibility; see tags.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "tags.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_path.h"
#include "distname.h"

static bool alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool all_of(const char *s, const char *extra) {
  if (*s == '\0') return false;
  for (; *s; s++)
    if (!alnum(*s) && !strchr(extra, *s)) return false;
  return true;
}

void pl_wheel_filename_free(struct pl_wheel_filename *fn) {
  if (fn == NULL) return;
  free(fn->buf);
  memset(fn, 0, sizeof *fn);
}

/* Split a compressed tag set "py2.py3" in place. */
static int split_set(char *s, const char **out, size_t *n, const char *what, pl_error_t *err) {
  *n = 0;
  for (;;) {
    char *dot = strchr(s, '.');
    if (dot) *dot = '\0';
    if (!all_of(s, "_")) return pl_fail(err, 0, "bad %s tag \"%s\"", what, s);
    if (*n >= PL_TAGSET_MAX) return pl_fail(err, 0, "more than %d %s tags", PL_TAGSET_MAX, what);
    out[(*n)++] = s;
    if (dot == NULL) return 0;
    s = dot + 1;
  }
}

int pl_wheel_filename_parse(const char *filename, struct pl_wheel_filename *out, pl_error_t *err) {
  char q[PL_QUOTE_CAP];
  struct pl_wheel_filename fn = {0};
  size_t len = strnlen(filename, PL_WHEEL_FILENAME_MAX + 1);
  const char *why = NULL;
  if (len > PL_WHEEL_FILENAME_MAX) {
    why = "longer than 255 bytes";
    goto bad;
  }
  if (len < 4 || memcmp(filename + len - 4, ".whl", 4) != 0) {
    why = "does not end in .whl";
    goto bad;
  }
  fn.buf = strndup(filename, len - 4);
  if (fn.buf == NULL) return pl_fail(err, ENOMEM, "parsing wheel filename");
  char *part[7];
  int n = 0;
  for (char *s = fn.buf;; n++) {
    if (n == 6) {
      why = "has more than 6 dash-separated parts";
      goto bad;
    }
    part[n] = s;
    char *dash = strchr(s, '-');
    if (dash == NULL) {
      n++;
      break;
    }
    *dash = '\0';
    s = dash + 1;
  }
  if (n < 5) {
    why = "has fewer than 5 dash-separated parts";
    goto bad;
  }
  fn.name = part[0];
  fn.version = part[1];
  fn.build = n == 6 ? part[2] : NULL;
  if (!all_of(fn.name, "._") || !pl_distname_valid(fn.name, strlen(fn.name))) {
    why = "has an invalid distribution name";
    goto bad;
  }
  if (!pl_version_valid(fn.version, strlen(fn.version))) {
    why = "has an invalid version";
    goto bad;
  }
  if (fn.build && (!all_of(fn.build, "._") || fn.build[0] < '0' || fn.build[0] > '9')) {
    why = "has a build tag that does not start with a digit";
    goto bad;
  }
  if (split_set(part[n - 3], fn.python, &fn.npython, "python", err) < 0 ||
      split_set(part[n - 2], fn.abi, &fn.nabi, "abi", err) < 0 ||
      split_set(part[n - 1], fn.platform, &fn.nplatform, "platform", err) < 0) {
    pl_error_wrap(err, "wheel filename \"%s\"", pl_path_quote(q, sizeof q, filename, len));
    pl_wheel_filename_free(&fn);
    return -1;
  }
  *out = fn;
  return 0;
bad:
  pl_wheel_filename_free(&fn);
  return pl_fail(err, 0,
                 "wheel filename \"%s\" %s (expected "
                 "NAME-VERSION[-BUILD]-PYTHON-ABI-PLATFORM.whl)",
                 pl_path_quote(q, sizeof q, filename, len), why);
}

/* Decimal without sign or leading zero, at most 4 digits; advances *s. */
static bool take_uint(const char **s, unsigned *v) {
  const char *p = *s;
  unsigned x = 0;
  int d = 0;
  if (*p == '0' && p[1] >= '0' && p[1] <= '9') return false;
  while (*p >= '0' && *p <= '9' && d < 4)
    x = x * 10 + (unsigned)(*p++ - '0'), d++;
  if (d == 0 || (*p >= '0' && *p <= '9')) return false;
  *v = x;
  *s = p;
  return true;
}

/* "<prefix>_X_Y_<arch>" with (X, Y) no newer than the libc's. */
static bool versioned_platform(const struct pl_wheel_interp *in, const char *plat,
                               const char *prefix) {
  size_t pl = strlen(prefix);
  unsigned x, y;
  if (strncmp(plat, prefix, pl) != 0 || plat[pl] != '_') return false;
  const char *s = plat + pl + 1;
  if (!take_uint(&s, &x) || *s++ != '_' || !take_uint(&s, &y) || *s++ != '_') return false;
  if (strcmp(s, in->arch) != 0) return false;
  /* packaging's floor for glibc 2: 2.5 on x86, 2.17 (manylinux2014) elsewhere. */
  bool x86 = strcmp(in->arch, "x86_64") == 0 || strcmp(in->arch, "i686") == 0;
  if (strcmp(prefix, "manylinux") == 0 && x == 2 && y < (x86 ? 5u : 17u)) return false;
  return x < in->libc_major || (x == in->libc_major && y <= in->libc_minor);
}

static bool glibc_at_least(const struct pl_wheel_interp *in, unsigned x, unsigned y) {
  return in->libc == PL_LIBC_GLIBC &&
         (in->libc_major > x || (in->libc_major == x && in->libc_minor >= y));
}

static bool platform_supported(const struct pl_wheel_interp *in, const char *plat) {
  static const struct {
    const char *prefix;
    unsigned major, minor;
    bool x86_only;
  } legacy[] = {{"manylinux1_", 2, 5, true},
                {"manylinux2010_", 2, 12, true},
                {"manylinux2014_", 2, 17, false}};
  if (strncmp(plat, "linux_", 6) == 0) return strcmp(plat + 6, in->arch) == 0;
  if (in->libc == PL_LIBC_MUSL) return versioned_platform(in, plat, "musllinux");
  if (versioned_platform(in, plat, "manylinux")) return true;
  for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
    size_t pl = strlen(legacy[i].prefix);
    if (strncmp(plat, legacy[i].prefix, pl) != 0 || strcmp(plat + pl, in->arch) != 0) continue;
    if (legacy[i].x86_only && strcmp(in->arch, "x86_64") != 0 && strcmp(in->arch, "i686") != 0)
      return false;
    return glibc_at_least(in, legacy[i].major, legacy[i].minor);
  }
  return false;
}

/* tag == prefix + py_major + [minor]; *minor = -1 when absent. */
static bool python_tag(const struct pl_wheel_interp *in, const char *tag, const char *prefix,
                       int *minor) {
  size_t pl = strlen(prefix);
  unsigned major, m;
  if (strncmp(tag, prefix, pl) != 0) return false;
  const char *s = tag + pl;
  /* The major is one digit for every Python there is; "310" is 3.10. */
  if (*s < '1' || *s > '9') return false;
  major = (unsigned)(*s++ - '0');
  if (major != in->py_major) return false;
  if (*s == '\0') {
    *minor = -1;
    return true;
  }
  if (!take_uint(&s, &m) || *s != '\0') return false;
  *minor = (int)m;
  return true;
}

bool pl_tag_supported(const struct pl_wheel_interp *in, const char *python, const char *abi,
                      const char *platform) {
  bool any = strcmp(platform, "any") == 0;
  bool plat_ok = !any && platform_supported(in, platform);
  bool none = strcmp(abi, "none") == 0;
  int minor;
  if (python_tag(in, python, in->impl, &minor)) {
    if (minor == (int)in->py_minor) {
      if (in->abi && strcmp(abi, in->abi) == 0) return plat_ok;
      if (strcmp(abi, "abi3") == 0) return in->abi3 && plat_ok;
      return none && (plat_ok || any);
    }
    /* Older versions of the same implementation: only the stable ABI,
     * which CPython keeps from 3.2 on. */
    return minor >= 2 && minor < (int)in->py_minor && in->abi3 && strcmp(abi, "abi3") == 0 &&
           plat_ok;
  }
  if (python_tag(in, python, "py", &minor))
    return minor <= (int)in->py_minor && none && (plat_ok || any);
  return false;
}

void pl_wheel_tags_string(const struct pl_wheel_filename *fn, char *dst, size_t cap) {
  size_t o = 0;
  const char *const *sets[3] = {fn->python, fn->abi, fn->platform};
  size_t ns[3] = {fn->npython, fn->nabi, fn->nplatform};
  if (cap == 0) return;
  dst[0] = '\0';
  for (int s = 0; s < 3; s++)
    for (size_t i = 0; i < ns[s]; i++) {
      int w = snprintf(dst + o, cap - o, "%s%s", i ? "." : (s ? "-" : ""), sets[s][i]);
      if (w < 0 || (size_t)w >= cap - o) return;
      o += (size_t)w;
    }
}

int pl_wheel_tags_check(const struct pl_wheel_filename *fn, const struct pl_wheel_interp *in,
                        pl_error_t *err) {
  for (size_t p = 0; p < fn->npython; p++)
    for (size_t a = 0; a < fn->nabi; a++)
      for (size_t l = 0; l < fn->nplatform; l++)
        if (pl_tag_supported(in, fn->python[p], fn->abi[a], fn->platform[l])) return 0;
  char tags[512];
  pl_wheel_tags_string(fn, tags, sizeof tags);
  return pl_fail(err, 0,
                 "incompatible tags: no tag of %s fits the interpreter (%s%u%u, abi %s%s, %s %u.%u "
                 "%s)",
                 tags, in->impl, in->py_major, in->py_minor, in->abi ? in->abi : "none",
                 in->abi3 ? "/abi3" : "", in->libc == PL_LIBC_MUSL ? "musl" : "glibc",
                 in->libc_major, in->libc_minor, in->arch);
}

/* A supported platform's position in packaging's platform_tags(): newest
 * manylinux/musllinux first, each legacy alias (manylinux2014, 2010, 1)
 * right after the versioned tag it stands for, linux_ARCH last. */
static long long platform_rank(const struct pl_wheel_interp *in, const char *plat) {
  static const struct {
    const char *prefix;
    unsigned major, minor;
  } legacy[] = {{"manylinux1_", 2, 5}, {"manylinux2010_", 2, 12}, {"manylinux2014_", 2, 17}};
  unsigned x = 0, y = 0, alias = 0;
  if (strncmp(plat, "linux_", 6) == 0) return 1LL << 30;
  const char *s = strchr(plat, '_');
  for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
    if (strncmp(plat, legacy[i].prefix, strlen(legacy[i].prefix)) == 0)
      x = legacy[i].major, y = legacy[i].minor, alias = 1;
  if (!alias && (s == NULL || (s++, !take_uint(&s, &x)) || *s++ != '_' || !take_uint(&s, &y)))
    return 1LL << 30; /* not reached: supported platforms parse */
  unsigned top = x == in->libc_major ? in->libc_minor : 9999;
  return ((long long)(in->libc_major - x) * 10000 + (top - y)) * 2 + alias;
}

/* pl_tag_supported's python tag forms, in packaging's order:
 *   0 impl+minor with the interpreter's ABI, on a platform (cpython_tags)
 *   1 impl+minor abi3, platform     2 impl+minor none, platform
 *   3 older impl+minor abi3, platform, newest first
 *   4 pyXY / pyX none, platform (compatible_tags: py312, py3, py311 ... py30)
 *   5 impl+minor none any           6 pyXY / pyX none any, same order as 4 */
long long pl_tag_rank(const struct pl_wheel_interp *in, const char *python, const char *abi,
                      const char *platform) {
  if (!pl_tag_supported(in, python, abi, platform)) return -1;
  bool any = strcmp(platform, "any") == 0;
  long long block, sub = 0, plat = any ? 0 : platform_rank(in, platform);
  int minor;
  if (python_tag(in, python, in->impl, &minor)) {
    if (minor != (int)in->py_minor)
      block = 3, sub = (int)in->py_minor - 1 - minor;
    else if (in->abi && strcmp(abi, in->abi) == 0)
      block = 0;
    else if (strcmp(abi, "abi3") == 0)
      block = 1;
    else
      block = any ? 5 : 2;
  } else {
    python_tag(in, python, "py", &minor);
    block = any ? 6 : 4;
    sub = minor == (int)in->py_minor ? 0 : minor < 0 ? 1 : (int)in->py_minor - minor + 1;
  }
  return (block * 128 + sub) * (1LL << 31) + plat;
}

long long pl_wheel_tags_rank(const struct pl_wheel_filename *fn, const struct pl_wheel_interp *in) {
  long long best = -1;
  for (size_t p = 0; p < fn->npython; p++)
    for (size_t a = 0; a < fn->nabi; a++)
      for (size_t l = 0; l < fn->nplatform; l++) {
        long long r = pl_tag_rank(in, fn->python[p], fn->abi[a], fn->platform[l]);
        if (r >= 0 && (best < 0 || r < best)) best = r;
      }
  return best;
}
