/* pylock — probing and recording the base interpreter; see interp.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "interp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "cleanup.h"
#include "file.h"
#include "project.h"
#include "sandbox.h"

#define PROBE_TIMEOUT_S 30
#define PROBE_OUTPUT_MAX 16384

/* -I: ignore the environment and user site, so the answer is the
 * interpreter's own, not the caller's shell's. */
static const char probe_script[] =
    "import sys, sysconfig\n"
    "if sys.prefix != sys.base_prefix:\n"
    "    print('venv=' + sys.base_prefix)\n"
    "p = sysconfig.get_paths()\n"
    "v = sys.version_info\n"
    "print('version=%d.%d.%d' % (v[0], v[1], v[2]))\n"
    "print('prefix=' + sys.prefix)\n"
    "for k in ('purelib', 'platlib', 'scripts', 'include', 'data'):\n"
    "    print(k + '=' + p[k])\n"
    "print('cache_tag=' + (sys.implementation.cache_tag or ''))\n"
    /* Marker values: packaging.markers.default_environment(). */
    "import os, platform\n"
    "impl = sys.implementation\n"
    "iv = impl.version\n"
    "s = '%d.%d.%d' % (iv.major, iv.minor, iv.micro)\n"
    "if iv.releaselevel != 'final':\n"
    "    s += iv.releaselevel[0] + str(iv.serial)\n"
    "for k, x in (('implementation_name', impl.name), ('implementation_version', s),\n"
    "             ('os_name', os.name), ('platform_machine', platform.machine()),\n"
    "             ('platform_python_implementation', platform.python_implementation()),\n"
    "             ('platform_release', platform.release()),\n"
    "             ('platform_system', platform.system()),\n"
    "             ('platform_version', platform.version()),\n"
    "             ('python_full_version', platform.python_version()),\n"
    "             ('sys_platform', sys.platform)):\n"
    "    print(k + '=' + ' '.join(str(x).split()))\n"
    /* Tags: packaging.tags (interpreter_name, _cpython_abis, _abi3_applies,
     * platform_tags' linux arch, glibc from confstr like _manylinux). */
    "cv = sysconfig.get_config_var\n"
    "short = {'cpython': 'cp', 'pypy': 'pp'}.get(impl.name, impl.name)\n"
    "if impl.name == 'cpython':\n"
    "    t = 't' if cv('Py_GIL_DISABLED') else ''\n"
    "    d = 'd' if cv('Py_DEBUG') or hasattr(sys, 'gettotalrefcount') else ''\n"
    "    abi, abi3 = 'cp%d%d%s%s' % (v[0], v[1], t, d), not t\n"
    "else:\n"
    "    abi, abi3 = '_'.join((cv('SOABI') or '').split('-')[:2]).replace('.', '_'), False\n"
    "plat = sysconfig.get_platform().replace('-', '_').replace('.', '_')\n"
    "if sys.maxsize <= 2 ** 32:\n"
    "    plat = {'linux_x86_64': 'linux_i686', 'linux_aarch64': 'linux_armv8l'}.get(plat, plat)\n"
    "try:\n"
    "    libc = os.confstr('CS_GNU_LIBC_VERSION') or ''\n"
    "except (AttributeError, OSError, ValueError):\n"
    "    libc = ''\n"
    "print('tag_impl=' + short)\n"
    "print('tag_abi=' + abi)\n"
    "print('tag_abi3=%d' % abi3)\n"
    "print('tag_platform=' + plat)\n"
    "print('libc=' + libc)\n";

static int find_in_path(const char *name, char **out) {
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0') path = "/usr/local/bin:/usr/bin:/bin";
  const char *p = path;
  while (*p) {
    const char *end = strchrnul(p, ':');
    char full[PATH_MAX];
    int n = snprintf(full, sizeof full, "%.*s/%s", (int)(end - p), p, name);
    if (n > 0 && (size_t)n < sizeof full && end > p && p[0] == '/' && access(full, X_OK) == 0) {
      struct stat st;
      if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
        *out = strdup(full);
        return *out ? 0 : -1;
      }
    }
    p = *end ? end + 1 : end;
  }
  return -1;
}

int pl_interp_resolve(const char *name, char **python, pl_error_t *err) {
  char buf[64];
  /* "3.12" means python3.12 on PATH. */
  if (name[0] >= '0' && name[0] <= '9' && strlen(name) < 16) {
    snprintf(buf, sizeof buf, "python%s", name);
    name = buf;
  }
  if (strchr(name, '/')) {
    /* Canonical directory, the user's file name: a venv's bin/python3 is a
     * symlink to the base, and must still be seen as the venv's. */
    cleanup_free char *copy = strdup(name);
    if (copy == NULL) return pl_fail(err, ENOMEM, "interpreter");
    char *slash = strrchr(copy, '/');
    *slash = '\0';
    cleanup_free char *dir = realpath(copy[0] ? copy : "/", NULL);
    if (dir == NULL) return pl_fail(err, errno, "interpreter %s", name);
    if (asprintf(python, "%s/%s", strcmp(dir, "/") ? dir : "", slash + 1) < 0)
      return pl_fail(err, ENOMEM, "interpreter");
    if (access(*python, X_OK) < 0) {
      int e = errno;
      free(*python);
      *python = NULL;
      return pl_fail(err, e, "interpreter %s", name);
    }
    return 0;
  }
  if (find_in_path(name, python) < 0)
    return pl_fail_hint(err, ENOENT, "pass the interpreter with --python PATH", "no %s on PATH",
                        name);
  return 0;
}

int pl_interp_default(char **python, pl_error_t *err) {
  if (find_in_path("python3.12", python) == 0) return 0;
  if (find_in_path("python3", python) == 0) return 0;
  return pl_fail_hint(err, ENOENT,
                      "install Python 3 (Debian: apt install python3) or pass --python PATH",
                      "neither python3.12 nor python3 is on PATH");
}

static const struct {
  const char *key;
  size_t offset;
} fields[] = {{"python", offsetof(struct pl_interp, python)},
              {"version", offsetof(struct pl_interp, version)},
              {"prefix", offsetof(struct pl_interp, prefix)},
              {"purelib", offsetof(struct pl_interp, purelib)},
              {"platlib", offsetof(struct pl_interp, platlib)},
              {"scripts", offsetof(struct pl_interp, scripts)},
              {"include", offsetof(struct pl_interp, include)},
              {"data", offsetof(struct pl_interp, data)},
              {"cache_tag", offsetof(struct pl_interp, cache_tag)},
#define FIELD(name) {#name, offsetof(struct pl_interp, name)},
              PL_INTERP_ENV_FIELDS(FIELD)
#undef FIELD
};

bool pl_interp_has_env(const struct pl_interp *in) {
#define HAS(name) &&in->name
  return true PL_INTERP_ENV_FIELDS(HAS);
#undef HAS
}

/* Field `key` (klen bytes) set to the vlen bytes at val. */
static int set_field_n(struct pl_interp *in, const char *key, size_t klen, const char *val,
                       size_t vlen) {
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
    if (strncmp(key, fields[i].key, klen) != 0 || fields[i].key[klen] != '\0') continue;
    char **slot = (char **)((char *)in + fields[i].offset);
    free(*slot);
    *slot = strndup(val, vlen);
    return *slot ? 0 : -1;
  }
  return 0; /* unknown keys: written by a newer pylock; ignore */
}

static int set_field(struct pl_interp *in, const char *key, const char *val) {
  return set_field_n(in, key, strlen(key), val, strlen(val));
}

static int derive_and_check(struct pl_interp *in, pl_error_t *err) {
  if (!in->python || !in->version || !in->prefix || !in->purelib || !in->platlib || !in->scripts ||
      !in->include || !in->data)
    return pl_fail(err, 0, "incomplete interpreter description");
  const char *dot = strchr(in->version, '.');
  const char *dot2 = dot ? strchr(dot + 1, '.') : NULL;
  size_t n = dot2 ? (size_t)(dot2 - in->version) : strlen(in->version);
  free(in->short_version);
  in->short_version = strndup(in->version, n);
  if (in->short_version == NULL) return pl_fail(err, ENOMEM, "interpreter");
  if (in->prefix[0] != '/' || strcmp(in->prefix, "/") == 0)
    return pl_fail(err, 0, "interpreter prefix '%s' cannot be overlaid", in->prefix);
#define CHECK(name)                                                                                \
  if (pl_interp_relative(in, in->name) == NULL)                                                    \
    return pl_fail_hint(err, 0, "use an interpreter whose install scheme is under its prefix",     \
                        "%s path %s is outside the interpreter prefix %s", #name, in->name,        \
                        in->prefix);
  PL_SCHEME_DIRS(CHECK)
#undef CHECK
  return 0;
}

int pl_interp_parse(const char *buf, struct pl_interp *out, pl_error_t *err) {
  const char *p = buf;
  while (*p) {
    const char *eol = strchrnul(p, '\n');
    const char *eq = memchr(p, '=', (size_t)(eol - p));
    if (eq && set_field_n(out, p, (size_t)(eq - p), eq + 1, (size_t)(eol - eq - 1)) < 0)
      return pl_fail(err, ENOMEM, "parse");
    p = *eol ? eol + 1 : eol;
  }
  return derive_and_check(out, err);
}

char *pl_interp_format(const struct pl_interp *in) {
  char *s = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&s, &len);
  if (m == NULL) return NULL;
  fprintf(m,
          "python=%s\nversion=%s\nprefix=%s\npurelib=%s\nplatlib=%s\nscripts=%s\n"
          "include=%s\ndata=%s\ncache_tag=%s\n",
          in->python, in->version, in->prefix, in->purelib, in->platlib, in->scripts, in->include,
          in->data, in->cache_tag ? in->cache_tag : "");
#define LINE(name)                                                                                 \
  if (in->name) fprintf(m, "%s=%s\n", #name, in->name);
  PL_INTERP_ENV_FIELDS(LINE)
#undef LINE
  if (fclose(m) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

int pl_interp_libs(const struct pl_interp *in, const char *libs[2]) {
  libs[0] = pl_interp_relative(in, in->purelib);
  libs[1] = pl_interp_relative(in, in->platlib);
  if (libs[0] == NULL || libs[1] == NULL) return -1;
  if (strcmp(libs[0], libs[1]) == 0) libs[1] = NULL;
  return 0;
}

const char *pl_interp_relative(const struct pl_interp *in, const char *abs) {
  size_t n = strlen(in->prefix);
  if (strncmp(abs, in->prefix, n) != 0) return NULL;
  if (abs[n] == '\0') return abs + n;
  if (abs[n] != '/') return NULL;
  /* No "." or ".." component anywhere, the last one included. */
  for (const char *c = abs + n; c; c = strchr(c + 1, '/')) {
    const char *end = strchr(c + 1, '/');
    size_t len = end ? (size_t)(end - c - 1) : strlen(c + 1);
    if ((len == 1 && c[1] == '.') || (len == 2 && c[1] == '.' && c[2] == '.') || len == 0)
      return NULL;
  }
  return abs + n + 1;
}

#define INTERP_LINKS_MAX 40

/* May only root or the caller replace entry `e` of directory `d`? */
static bool entry_is_stable(const struct stat *d, const struct stat *e) {
  uid_t me = getuid();
  if (d->st_uid != 0 && d->st_uid != me) return false;
  if (!(d->st_mode & (S_IWGRP | S_IWOTH))) return true;
  /* Others may write d: only the sticky bit keeps them from an entry of ours. */
  return (d->st_mode & S_ISVTX) && (e->st_uid == 0 || e->st_uid == me);
}

static bool path_in(const char *path, const char *dir) {
  size_t n = strlen(dir);
  return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* The place of `places` that path lies in, else NULL. */
static const char *place_of(const char *path, char *const *places, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (path_in(path, places[i]) || strcmp(places[i], "/") == 0) return places[i];
  return NULL;
}

/* Is directory `dir` a pylock project (a pylock.toml in it)?  Code in its
 * sandboxes writes it, as it writes every place pl_sandbox_shared_places
 * names. */
static bool holds_project(const char *dir) {
  char p[PATH_MAX];
  int w = snprintf(p, sizeof p, "%s/%s", dir, PL_LOCK_FILE);
  return w > 0 && (size_t)w < sizeof p && faccessat(AT_FDCWD, p, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Refuse name `cand` (a directory, a link or the file on the way to what
 * `python` names) when code in some sandbox of the user can change it: it
 * lies in /tmp, ~/.cache... (any project's sandbox writes there), or in a
 * project (a directory holding a pylock.toml; is_dir: cand is a directory). */
static int check_sandbox_writable(const char *what, const char *python, const char *cand,
                                  bool is_dir, char *const *places, size_t nplaces,
                                  pl_error_t *err) {
  const char *place = place_of(cand, places, nplaces);
  if (place)
    return pl_fail(err, PL_REFUSED,
                   "%s %s: it is reached through %s, which code in any of your pylock "
                   "sandboxes can write",
                   what, python, place);
  if (is_dir && holds_project(cand))
    return pl_fail(err, PL_REFUSED,
                   "%s %s: it is reached through the project %s, which code in its "
                   "sandboxes can change",
                   what, python, cand);
  return 0;
}

static int check_path(const char *what, const char *python, bool want_dir, const char *project,
                      char *const *places, size_t nplaces, bool shared, pl_error_t *err);

int pl_interp_check_path(const char *python, const char *project, pl_error_t *err) {
  char **places = NULL;
  size_t n = 0;
  /* Someone else's first (the more precise message), then every sandbox's. */
  if (check_path("interpreter", python, false, project, NULL, 0, false, err) < 0 ||
      pl_sandbox_shared_places(&places, &n, err) < 0)
    return -1;
  int r = check_path("interpreter", python, false, project, places, n, true, err);
  pl_sandbox_places_free(places, n);
  return r;
}

int pl_path_check_unchangeable(const char *what, const char *path, bool want_dir, pl_error_t *err) {
  char **places = NULL;
  size_t n = 0;
  if (pl_sandbox_shared_places(&places, &n, err) < 0) return -1;
  int r = check_path(what, path, want_dir, NULL, places, n, true, err);
  pl_sandbox_places_free(places, n);
  return r;
}

/* Could code in a sandbox write directory `dir` (canonical): in a place
 * every sandbox writes, or in a project (at or below a directory holding a
 * pylock.toml)? */
static bool dir_sandbox_writable(const char *dir, char *const *places, size_t nplaces) {
  if (place_of(dir, places, nplaces)) return true;
  char d[PATH_MAX];
  if (snprintf(d, sizeof d, "%s", dir) >= (int)sizeof d) return true;
  for (;;) {
    if (holds_project(d)) return true;
    char *slash = strrchr(d, '/');
    if (slash == NULL || d[1] == '\0') return false;
    if (slash == d)
      slash[1] = '\0';
    else
      *slash = '\0';
  }
}

/* Path p (absolute, no link on its way) without `.`, `..` nor empty names. */
static void lexical_normalize(char *p) {
  size_t o = 0;
  for (const char *c = p; *c;) {
    while (*c == '/')
      c++;
    size_t n = strcspn(c, "/");
    if (n == 0 || (n == 1 && c[0] == '.')) {
    } else if (n == 2 && c[0] == '.' && c[1] == '.') {
      while (o > 0 && p[o - 1] != '/')
        o--;
      if (o > 0) o--;
    } else {
      p[o++] = '/';
      memmove(p + o, c, n);
      o += n;
    }
    c += n;
  }
  if (o == 0) p[o++] = '/';
  p[o] = '\0';
}

int pl_path_check_links(const char *what, const char *path, char **resolved, pl_error_t *err) {
  if (resolved) *resolved = NULL;
  if (path[0] != '/') return pl_fail(err, EINVAL, "%s %s: not an absolute path", what, path);
  char **places = NULL;
  size_t nplaces = 0;
  if (pl_sandbox_shared_places(&places, &nplaces, err) < 0) return -1;
  char cur[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
  int r = 0, links = 0;
  if (snprintf(cur, sizeof cur, "%s", path) >= (int)sizeof cur) {
    r = pl_fail(err, ENAMETOOLONG, "%s %s", what, path);
    goto out;
  }
again:
  for (size_t i = 1, len = strlen(cur); i <= len; i++) {
    if ((cur[i] != '/' && cur[i] != '\0') || cur[i - 1] == '/') continue;
    char save = cur[i];
    cur[i] = '\0';
    struct stat st;
    if (lstat(cur, &st) < 0) goto out; /* what does not exist stays unwritable */
    if (!S_ISLNK(st.st_mode)) {
      cur[i] = save;
      continue;
    }
    char *slash = strrchr(cur, '/');
    *slash = '\0';
    cleanup_free char *parent = realpath(slash == cur ? "/" : cur, NULL);
    *slash = '/';
    if (parent == NULL || dir_sandbox_writable(parent, places, nplaces)) {
      r = pl_fail_hint(err, PL_REFUSED, "name what it points to instead, if you trust it",
                       "%s %s: it is reached through the link %s, which code in your pylock "
                       "sandboxes can replace to lead it anywhere",
                       what, path, cur);
      goto out;
    }
    ssize_t k = readlink(cur, target, sizeof target - 1);
    if (k < 0 || ++links > INTERP_LINKS_MAX) {
      r = pl_fail(err, k < 0 ? errno : ELOOP, "%s %s: %s", what, path, cur);
      goto out;
    }
    target[k] = '\0';
    const char *rest = save ? cur + i + 1 : "";
    *slash = '\0';
    int w = target[0] == '/' ? snprintf(next, sizeof next, "%s/%s", target, rest)
                             : snprintf(next, sizeof next, "%s/%s/%s", cur, target, rest);
    if (w < 0 || (size_t)w >= sizeof next) {
      r = pl_fail(err, ENAMETOOLONG, "%s %s", what, path);
      goto out;
    }
    memcpy(cur, next, (size_t)w + 1);
    goto again;
  }
  /* What was checked, not what the name leads to a moment later. */
  lexical_normalize(cur);
  if (resolved && (*resolved = strdup(cur)) == NULL) r = pl_fail(err, ENOMEM, "%s", what);
out:
  pl_sandbox_places_free(places, nplaces);
  return r;
}

int pl_interp_check_prefix(const char *python, const char *prefix, const char *project,
                           pl_error_t *err) {
  cleanup_free char *real = realpath(prefix, NULL);
  if (real == NULL) return pl_fail(err, errno, "interpreter %s: prefix %s", python, prefix);
  char **places = NULL;
  size_t n = 0;
  if (pl_sandbox_shared_places(&places, &n, err) < 0) return -1;
  int r = 0;
  if (project && path_in(real, project))
    r = pl_fail(err, PL_REFUSED,
                "interpreter %s: its prefix %s lies in the project %s, which code in its "
                "sandboxes can change",
                python, real, project);
  /* Every directory from the top: the prefix's and those above it. */
  char buf[PATH_MAX];
  size_t len = strlen(real);
  for (size_t i = 1; r == 0 && i <= len && len < sizeof buf; i++) {
    if (real[i] != '/' && real[i] != '\0') continue;
    memcpy(buf, real, i);
    buf[i] = '\0';
    r = check_sandbox_writable("interpreter", python, buf, true, places, n, err);
  }
  pl_sandbox_places_free(places, n);
  return r;
}

/* A pylock.toml from a pull request names the interpreter, and the check
 * below is only worth something if what runs later is what was checked:
 * realpath() alone would accept /var/tmp/link/python3 (a link another user
 * owns, pointing at /usr/bin today and at their script a moment later), or
 * PROJECT/py -> /usr/bin/python3 (a link code in the project's sandbox can
 * repoint before the next compileall writes the shared cache).  So the path
 * is resolved here by hand, one name at a time, and every name it goes
 * through must be one that only root or the caller can change; `shared`:
 * and that no sandbox of the caller's can change (check_sandbox_writable). */
static int check_path(const char *what, const char *python, bool want_dir, const char *project,
                      char *const *places, size_t nplaces, bool shared, pl_error_t *err) {
  char cur[PATH_MAX] = "", rest[PATH_MAX], cand[PATH_MAX], link[PATH_MAX];
  struct stat dir, st;
  int links = 0;
  size_t off = 0;
  if (python[0] != '/' || strlen(python) >= sizeof rest)
    return pl_fail(err, EINVAL, "%s %s: not an absolute path", what, python);
  memcpy(rest, python, strlen(python) + 1);
  if (stat("/", &dir) < 0) return pl_fail(err, errno, "stat /");
  st = dir;
  for (;;) {
    const char *p = rest + off;
    while (*p == '/')
      p++;
    if (*p == '\0') break;
    size_t n = strcspn(p, "/");
    off = (size_t)(p - rest) + n;
    if (n == 1 && p[0] == '.') continue;
    if (n == 2 && p[0] == '.' && p[1] == '.') {
      char *up = strrchr(cur, '/');
      if (up) *up = '\0';
      if (stat(cur[0] ? cur : "/", &dir) < 0) return pl_fail(err, errno, "stat %s", cur);
      st = dir;
      continue;
    }
    int w = snprintf(cand, sizeof cand, "%s/%.*s", cur, (int)n, p);
    if (w < 0 || (size_t)w >= sizeof cand) return pl_fail(err, ENAMETOOLONG, "%s %s", what, python);
    if (lstat(cand, &st) < 0) return pl_fail(err, errno, "%s %s: %s", what, python, cand);
    if (!entry_is_stable(&dir, &st))
      return pl_fail(err, PL_REFUSED,
                     "%s %s: %s lies in %s (owned by uid %u, mode %04o), where "
                     "someone else could replace it between pylock's check and its use",
                     what, python, cand, cur[0] ? cur : "/", (unsigned)dir.st_uid,
                     (unsigned)(dir.st_mode & 07777));
    if (project && path_in(cand, project))
      return pl_fail(err, PL_REFUSED,
                     "%s %s: it is reached through the project %s, which code in its "
                     "sandboxes can change",
                     what, python, project);
    if (shared &&
        check_sandbox_writable(what, python, cand, S_ISDIR(st.st_mode), places, nplaces, err) < 0)
      return -1;
    if (S_ISLNK(st.st_mode)) {
      ssize_t l = readlink(cand, link, sizeof link - 1);
      if (l < 0) return pl_fail(err, errno, "%s %s: %s", what, python, cand);
      link[l] = '\0';
      if (++links > INTERP_LINKS_MAX) return pl_fail(err, ELOOP, "%s %s", what, python);
      w = snprintf(cand, sizeof cand, "%s%s", link, rest + off);
      if (w < 0 || (size_t)w >= sizeof cand)
        return pl_fail(err, ENAMETOOLONG, "%s %s", what, python);
      memcpy(rest, cand, (size_t)w + 1);
      off = 0;
      if (link[0] == '/') {
        cur[0] = '\0';
        if (stat("/", &dir) < 0) return pl_fail(err, errno, "stat /");
      }
      continue;
    }
    memcpy(cur, cand, (size_t)w + 1);
    dir = st;
  }
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
    return pl_fail(err, EINVAL, "%s %s: not a %s", what, python,
                   want_dir ? "directory" : "regular file");
  if ((st.st_uid != 0 && st.st_uid != getuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return pl_fail(err, PL_REFUSED,
                   "%s %s: %s is owned by uid %u with mode %04o: someone else could "
                   "change it",
                   what, python, cur, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
  return 0;
}

/* Run `python -I -c probe_script`, bounded in output and time, in a sandbox
 * where it can write nothing: the interpreter may be one a pull request's
 * pylock.toml names. */
static int run_probe(const char *python, char **out, pl_error_t *err) {
  char *argv[] = {(char *)python, "-I", "-c", (char *)probe_script, NULL};
  static const char *const envp[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LC_ALL=C.UTF-8", NULL};
  struct pl_sandbox sb = {.sealed = true, .no_network = true};
  struct pl_child_opts o = {.argv = argv,
                            .envp = envp,
                            .sandbox = &sb,
                            .timeout_s = PROBE_TIMEOUT_S,
                            .output_max = PROBE_OUTPUT_MAX};
  struct pl_child_result r;
  if (pl_child_run(&o, &r, err) < 0) return pl_error_wrap(err, "probe %s", python);
  if (!WIFEXITED(r.status) || WEXITSTATUS(r.status) != 0) {
    free(r.output);
    return pl_fail_hint(err, 0, "check that it runs: PATH -c 'import sysconfig'",
                        "%s failed when asked for its install scheme (status %d)", python,
                        WIFEXITED(r.status) ? WEXITSTATUS(r.status) : 128 + WTERMSIG(r.status));
  }
  *out = r.output;
  return 0;
}

/* Probing starts the interpreter (~20 ms); its answer is cached per user in
 * the state root, keyed by the executable's path and identity (device,
 * inode, size, mtime of what it resolves to), so a reinstalled or upgraded
 * interpreter is probed afresh.  The cache is only a shortcut: any doubt
 * (a file that is not ours, or does not parse) means a probe. */
static int probe_cache_name(const char *python, char *name, size_t cap) {
  struct stat st;
  if (stat(python, &st) < 0) return -1;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)python; *p; p++)
    h = (h ^ *p) * 0x100000001b3ULL;
  int n =
      snprintf(name, cap, "%016llx-%llx-%llx-%llx-%lld.%09ld", (unsigned long long)h,
               (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
               (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
  return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The cached answer, if it is a regular file of ours nobody else can write. */
static char *probe_cache_read(int cache_fd, const char *name) {
  cleanup_close int fd = openat(cache_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != getuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size <= 0 || st.st_size > PROBE_OUTPUT_MAX)
    return NULL;
  char *text = malloc((size_t)st.st_size + 1);
  if (text == NULL) return NULL;
  ssize_t n = read(fd, text, (size_t)st.st_size);
  if (n != st.st_size) {
    free(text);
    return NULL;
  }
  text[n] = '\0';
  return text;
}

int pl_interp_probe(const char *python, int cache_fd, struct pl_interp *out, pl_error_t *err) {
  cleanup_free char *text = NULL;
  char name[256];
  bool cacheable = cache_fd >= 0 && probe_cache_name(python, name, sizeof name) == 0;
  if (cacheable && (text = probe_cache_read(cache_fd, name)) != NULL) {
    struct pl_interp in = {0};
    /* An answer cached by a pylock that did not probe markers and tags is
     * probed again. */
    if (set_field(&in, "python", python) == 0 && pl_interp_parse(text, &in, NULL) == 0 &&
        pl_interp_has_env(&in)) {
      *out = in;
      return 0;
    }
    pl_interp_free(&in);
    free(text);
    text = NULL;
  }
  if (run_probe(python, &text, err) < 0) return -1;
  const char *venv = strstr(text, "venv=");
  if (venv == text || (venv && venv[-1] == '\n')) {
    const char *eol = strchrnul(venv, '\n');
    return pl_fail_hint(err, 0,
                        "pass the base interpreter, e.g. --python <base prefix>/bin/python3",
                        "%s belongs to a virtual environment (base prefix %.*s)", python,
                        (int)(eol - venv - 5), venv + 5);
  }
  if (set_field(out, "python", python) < 0) return pl_fail(err, ENOMEM, "probe");
  if (pl_interp_parse(text, out, err) < 0) return pl_error_wrap(err, "%s", python);
  if (cacheable) pl_write_file_atomic_at(cache_fd, name, text, strlen(text), 0600, NULL);
  return 0;
}

void pl_interp_free(struct pl_interp *in) {
  free(in->python);
  free(in->version);
  free(in->short_version);
  free(in->prefix);
  free(in->purelib);
  free(in->platlib);
  free(in->scripts);
  free(in->include);
  free(in->data);
  free(in->cache_tag);
#define FREE(name) free(in->name);
  PL_INTERP_ENV_FIELDS(FREE)
#undef FREE
  memset(in, 0, sizeof *in);
}
