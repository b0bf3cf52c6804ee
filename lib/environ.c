/* pylock — the sandboxed command's environment; see environ.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "environ.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* execve, and when the kernel cannot run the file (ENOEXEC: a script
 * without "#!"), /bin/sh on it, as POSIX's execvp does. */
static void exec_file(const char *file, char **argv) {
  execv(file, argv);
  if (errno != ENOEXEC) return;
  size_t n = 0;
  while (argv[n])
    n++;
  char **sh = calloc(n + 2, sizeof *sh);
  if (sh == NULL) return;
  sh[0] = (char *)"/bin/sh";
  sh[1] = (char *)file;
  for (size_t i = 1; i < n; i++)
    sh[i + 1] = argv[i];
  execv("/bin/sh", sh);
  free(sh);
  errno = ENOEXEC;
}

int pl_execvp(const char *file, char **argv) {
  if (*file == '\0') return errno = ENOENT, -1;
  if (strchr(file, '/')) {
    exec_file(file, argv);
    return -1;
  }
  const char *path = getenv("PATH");
  if (path == NULL) path = "/bin:/usr/bin";
  size_t flen = strlen(file);
  bool denied = false;
  for (const char *p = path;; p++) {
    const char *end = strchrnul(p, ':');
    size_t dlen = (size_t)(end - p);
    char buf[PATH_MAX];
    if (dlen + 1 + flen + 1 <= sizeof buf) {
      /* An empty entry is the working directory, as in execvp. */
      int n = dlen ? snprintf(buf, sizeof buf, "%.*s/%s", (int)dlen, p, file)
                   : snprintf(buf, sizeof buf, "%s", file);
      if (n > 0) exec_file(buf, argv);
      if (errno == EACCES) {
        denied = true;
      } else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
                 errno != ETIMEDOUT) {
        return -1; /* found but not runnable: that is the answer */
      }
    }
    if (*end == '\0') break;
    p = end;
  }
  errno = denied ? EACCES : ENOENT;
  return -1;
}
