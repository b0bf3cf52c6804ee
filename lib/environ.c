/* pylock — the sandboxed command's environment; see environ.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "environ.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"

extern char **environ;

static const char *const leaks[] = {
    "PYTHONPATH=", "PYTHONHOME=", "PYTHONUSERBASE=", "VIRTUAL_ENV=", "CONDA_PREFIX=", "PIP_"};

bool pl_environ_is_leak(const char *entry) {
  for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++)
    if (strncmp(entry, leaks[i], strlen(leaks[i])) == 0) return true;
  return false;
}

static bool path_has(const char *list, size_t len, const char *dir) {
  size_t dlen = strlen(dir);
  const char *p = list, *end = list + len;
  while (p < end) {
    const char *colon = memchr(p, ':', (size_t)(end - p));
    const char *e = colon ? colon : end;
    if ((size_t)(e - p) == dlen && memcmp(p, dir, dlen) == 0) return true;
    p = e + 1;
  }
  return false;
}

char *pl_environ_path_prepend(const char *path, const char *const *dirs) {
  if (path == NULL) path = "/usr/local/bin:/usr/bin:/bin";
  size_t cap = strlen(path) + 2;
  for (const char *const *d = dirs; *d; d++)
    cap += strlen(*d) + 1;
  char *out = malloc(cap);
  if (out == NULL) return NULL;
  size_t len = 0;
  for (const char *const *d = dirs; *d; d++) {
    if (**d == '\0' || path_has(out, len, *d)) continue;
    if (len) out[len++] = ':';
    memcpy(out + len, *d, strlen(*d));
    len += strlen(*d);
  }
  size_t prefix_len = len;
  const char *p = path;
  while (*p) {
    const char *colon = strchrnul(p, ':');
    size_t n = (size_t)(colon - p);
    char dir[4096];
    if (n < sizeof dir) {
      memcpy(dir, p, n);
      dir[n] = '\0';
      /* Keep the caller's order; drop only what we put first already. */
      if (!path_has(out, prefix_len, dir) || n == 0) {
        if (len) out[len++] = ':';
        memcpy(out + len, dir, n);
        len += n;
      }
    }
    p = *colon ? colon + 1 : colon;
  }
  out[len] = '\0';
  return out;
}

int pl_environ_prepare(const char *project, const char *const *bindirs, pl_error_t *err) {
  /* Compact environ in place: setenv/unsetenv would rescan it each time. */
  size_t w = 0;
  for (size_t r = 0; environ[r]; r++)
    if (!pl_environ_is_leak(environ[r])) environ[w++] = environ[r];
  environ[w] = NULL;
  if (setenv("PYLOCK_PROJECT", project, 1) < 0 || setenv("PYTHONNOUSERSITE", "1", 1) < 0)
    return pl_fail(err, errno, "setenv");
  if (bindirs && bindirs[0]) {
    cleanup_free char *path = pl_environ_path_prepend(getenv("PATH"), bindirs);
    if (path == NULL || setenv("PATH", path, 1) < 0) return pl_fail(err, ENOMEM, "PATH");
  }
  return 0;
}

char **pl_environ_build(const char *const *extra) {
  size_t n = 0, k = 0;
  while (environ[n])
    n++;
  while (extra[k])
    k++;
  char **out = malloc((n + k + 1) * sizeof *out);
  if (out == NULL) return NULL;
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (pl_environ_is_leak(environ[i])) continue;
    bool replaced = false;
    for (size_t j = 0; j < k && !replaced; j++) {
      size_t name = strcspn(extra[j], "=");
      replaced = strncmp(environ[i], extra[j], name + 1) == 0;
    }
    if (!replaced) out[w++] = environ[i];
  }
  for (size_t j = 0; j < k; j++)
    out[w++] = (char *)extra[j];
  out[w] = NULL;
  return out;
}
