/* pylock — the requested set: pyproject.toml, pylock.toml, or a foreign lock's top level; see
 * requested.h.
 * SPDX-License-Identifier: Apache-2.0 */
#include "requested.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "distname.h"
#include "env.h"
#include "file.h"
#include "metadata.h"
#include "pep508.h"
#include "project.h"
#include "tuf.h"
#include "tags.h"
#include "version.h"

void pl_requested_free(struct pl_requested *rq) {
  pl_pyproject_free(&rq->py);
  free(rq->py_text);
  memset(rq, 0, sizeof *rq);
}

/* pyproject.toml: a regular file in the project, not a link to one
 * elsewhere (a pull request could point it at any file of the user's). */
static int read_pyproject(int root_fd, struct pl_requested *rq, bool *present, pl_error_t *err) {
  *present = false;
  cleanup_close int fd =
      openat(root_fd, PL_PYPROJECT_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return 0;
  if (fd < 0 && errno == ELOOP)
    return pl_fail_hint(err, PL_REFUSED, "make it a regular file in the project",
                        "%s is a symbolic link; pylock reads and writes it only as a regular "
                        "file of the project",
                        PL_PYPROJECT_FILE);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return pl_fail(err, errno, "open %s", PL_PYPROJECT_FILE);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, 0, "%s is not a regular file", PL_PYPROJECT_FILE);
  if ((size_t)st.st_size > PL_PYPROJECT_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s is larger than %zu bytes", PL_PYPROJECT_FILE,
                   PL_PYPROJECT_MAX_BYTES);
  char path[32];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  if (pl_read_file_at(AT_FDCWD, path, PL_PYPROJECT_MAX_BYTES, &rq->py_text, &rq->py_len, err) < 0)
    return pl_error_wrap(err, "%s", PL_PYPROJECT_FILE);
  rq->py_mode = st.st_mode & 0777;
  *present = true;
  return 0;
}

/* *dst (freed first) becomes a copy of src[0..n). */
static int copy_strv(char **src, size_t n, char ***dst, size_t *dn, pl_error_t *err) {
  char **v = calloc(n ? n : 1, sizeof *v);
  if (v == NULL) return pl_fail(err, ENOMEM, "requested");
  for (size_t i = 0; i < n; i++)
    if ((v[i] = strdup(src[i])) == NULL) {
      while (i--)
        free(v[i]);
      free(v);
      return pl_fail(err, ENOMEM, "requested");
    }
  for (size_t i = 0; i < *dn; i++)
    free((*dst)[i]);
  free(*dst);
  *dst = v, *dn = n;
  return 0;
}

/* rq->py from text; when it declares the requested set, that set is e's. */
static int apply(struct pl_env *e, struct pl_requested *rq, const char *text, size_t len,
                 pl_error_t *err) {
  struct pl_pyproject py;
  if (pl_pyproject_parse(text, len, &py, err) < 0) return -1;
  pl_pyproject_free(&rq->py);
  rq->py = py;
  if (!py.declares) return 0;
  if (py.requires_python) {
    bool ok = false;
    if (pl_requires_python_ok(py.requires_python, e->in.version, &ok, err) < 0)
      return pl_error_wrap(err, "%s: [project] requires-python", PL_PYPROJECT_FILE);
    if (!ok)
      return pl_fail_hint(err, 0,
                          "make the project with a Python that fits: pylock init --python PATH",
                          "%s requires Python %s; the project's base interpreter %s is %s",
                          PL_PYPROJECT_FILE, py.requires_python, e->in.python, e->in.version);
  }
  if (copy_strv(py.requested, py.nrequested, &e->lf.requested, &e->lf.nrequested, err) < 0 ||
      pl_lockfile_set(&e->lf.requires_python, py.requires_python, err) < 0)
    return -1;
  e->lf.requested_external = true;
  rq->source = PL_REQUESTED_PYPROJECT;
  return 0;
}

int pl_requested_load(struct pl_env *e, struct pl_requested *rq, pl_error_t *err) {
  memset(rq, 0, sizeof *rq);
  rq->source = PL_REQUESTED_LOCK;
  bool present;
  if (read_pyproject(e->root_fd, rq, &present, err) < 0) return -1;
  return present ? apply(e, rq, rq->py_text, rq->py_len, err) : 0;
}

int pl_requested_apply_pyproject(struct pl_env *e, struct pl_requested *rq, const char *text,
                                 size_t len, pl_error_t *err) {
  return apply(e, rq, text, len, err);
}

bool pl_requested_foreign(const struct pl_env *e, const struct pl_requested *rq) {
  return rq->source == PL_REQUESTED_LOCK && e->lf.nrequested == 0 && e->lf.npackages > 0;
}

/* ---- a foreign lock's top level ---------------------------------------- */

/* Does the marker ask for an extra?  Such a requirement is not one the
 * package brings by itself. */
static bool marker_uses_extra(const struct pl_marker *m) {
  for (size_t i = 0; m && i < m->nnodes; i++)
    if (m->nodes[i].kind == PL_MARKER_CMP &&
        (m->nodes[i].lhs.var == PL_MV_EXTRA || m->nodes[i].rhs.var == PL_MV_EXTRA))
      return true;
  return false;
}

struct edges {
  const struct pl_lockfile *lf;
  bool *depended; /* per package of lf */
};

/* A Requires-Dist of one package: marks the locked package it names as a
 * dependency (whatever its other markers: a package some locked package
 * may need is never taken for one the user asked for). */
static int on_header(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                     pl_error_t *err) {
  struct edges *g = ctx;
  (void)err;
  if (klen != 13 || strncasecmp(key, "Requires-Dist", 13) != 0 || vlen >= PL_REQ_MAX_BYTES)
    return 0;
  char req[PL_REQ_MAX_BYTES];
  memcpy(req, val, vlen);
  req[vlen] = '\0';
  struct pl_requirement r;
  pl_error_t bad = NULL;
  if (pl_requirement_parse(req, 0, &r, &bad) < 0) {
    pl_error_free(&bad);
    return 0;
  }
  if (!marker_uses_extra(r.marker))
    for (size_t i = 0; i < g->lf->npackages; i++)
      if (pl_distname_equal(g->lf->packages[i].name, strlen(g->lf->packages[i].name), r.name,
                            strlen(r.name)))
        g->depended[i] = true;
  pl_requirement_free(&r);
  return 0;
}

/* The Requires-Dist of package p, from the PEP 658 metadata the registry
 * signs for one of its wheels. */
static int package_edges(struct pl_env *e, const struct pl_lock_package *p, struct edges *g,
                         pl_error_t *err) {
  for (size_t k = 0; k < p->nwheels; k++) {
    char target[PL_WHEEL_FILENAME_MAX + 16];
    const struct pl_tuf_target *t = NULL;
    pl_error_t absent = NULL;
    if (snprintf(target, sizeof target, "%s.metadata", p->wheels[k].name) >= (int)sizeof target)
      continue;
    if (pl_tuf_find_target(e->tuf, target, &t, &absent) < 0) {
      pl_error_free(&absent);
      continue;
    }
    cleanup_free char *md = NULL;
    size_t len = 0;
    if (pl_tuf_fetch_target_mem(e->tuf, target, &md, &len, err) < 0) return -1;
    return pl_headers_parse(md, len, on_header, g, err);
  }
  return pl_fail_hint(err, ENOENT,
                      "name what the project asks for: declare it in pyproject.toml "
                      "([project] dependencies), or list it in pylock.toml ([tool.pylock] "
                      "requested = [\"NAME\", ...])",
                      "cannot tell which packages of %s were asked for: %s signs no metadata "
                      "for %s %s",
                      PL_LOCK_FILE, e->lf.registry ? e->lf.registry : e->index_registry, p->name,
                      p->version);
}

int pl_requested_derive(struct pl_env *e, struct pl_requested *rq, pl_error_t *err) {
  if (pl_env_update_trust(e, err) < 0) {
    if (e->lf.registry == NULL)
      pl_error_set_hint(err,
                        "name the registry at the end of %s: [tool.pylock] registry = "
                        "\"URL\" (trusted through the root the project was created with)",
                        PL_LOCK_FILE);
    return -1;
  }
  cleanup_free bool *depended = calloc(e->lf.npackages, sizeof *depended);
  if (depended == NULL) return pl_fail(err, ENOMEM, "requested");
  struct edges g = {.lf = &e->lf, .depended = depended};
  for (size_t i = 0; i < e->lf.npackages; i++)
    if (package_edges(e, &e->lf.packages[i], &g, err) < 0) return -1;
  char **top = calloc(e->lf.npackages, sizeof *top);
  size_t n = 0;
  if (top == NULL) return pl_fail(err, ENOMEM, "requested");
  for (size_t i = 0; i < e->lf.npackages; i++) {
    bool dup = false;
    for (size_t k = 0; k < n && !dup; k++)
      dup = pl_distname_equal(top[k], strlen(top[k]), e->lf.packages[i].name,
                              strlen(e->lf.packages[i].name));
    if (depended[i] || dup) continue;
    if ((top[n] = strdup(e->lf.packages[i].name)) == NULL) {
      while (n--)
        free(top[n]);
      free(top);
      return pl_fail(err, ENOMEM, "requested");
    }
    n++;
  }
  if (n == 0) {
    free(top);
    return pl_fail_hint(err, 0,
                        "list what the project asks for in pylock.toml: [tool.pylock] "
                        "requested = [\"NAME\", ...]",
                        "every package of %s is a dependency of another: no top level to "
                        "request",
                        PL_LOCK_FILE);
  }
  for (size_t i = 0; i < e->lf.nrequested; i++)
    free(e->lf.requested[i]);
  free(e->lf.requested);
  e->lf.requested = top, e->lf.nrequested = n;
  rq->source = PL_REQUESTED_DERIVED;
  return 0;
}

/* ---- what a resolution keeps ------------------------------------------- */

/* Does the requested set still allow version `v` of `name`? */
static bool still_allowed(const struct pl_lockfile *lf, const char *name, const char *v) {
  struct pl_version ver;
  if (pl_version_parse(v, strlen(v), &ver) < 0) return false;
  for (size_t i = 0; i < lf->nrequested; i++) {
    struct pl_requirement r;
    pl_error_t bad = NULL;
    if (pl_requirement_parse(lf->requested[i], 0, &r, &bad) < 0) {
      pl_error_free(&bad);
      continue;
    }
    bool ok = true;
    if (pl_distname_equal(r.name, strlen(r.name), name, strlen(name)))
      for (size_t k = 0; k < r.nspecs && ok; k++)
        ok = pl_spec_contains(&r.specs[k], &ver, true);
    pl_requirement_free(&r);
    if (!ok) return false;
  }
  return true;
}

int pl_requested_preferences(struct pl_env *e, const char *const *upgrade, size_t nupgrade,
                             bool upgrade_all, pl_error_t *err) {
  if (upgrade_all) return 0;
  char **v = calloc(e->lf.npackages ? e->lf.npackages : 1, sizeof *v);
  size_t n = 0;
  if (v == NULL) return pl_fail(err, ENOMEM, "resolve");
  for (size_t i = 0; i < e->lf.npackages; i++) {
    const struct pl_lock_package *p = &e->lf.packages[i];
    bool skip = p->version == NULL || !still_allowed(&e->lf, p->name, p->version);
    for (size_t k = 0; k < nupgrade && !skip; k++)
      skip = pl_distname_equal(p->name, strlen(p->name), upgrade[k], strlen(upgrade[k]));
    if (skip) continue;
    if (asprintf(&v[n], "%s==%s", p->name, p->version) < 0) {
      while (n--)
        free(v[n]);
      free(v);
      return pl_fail(err, ENOMEM, "resolve");
    }
    n++;
  }
  for (size_t i = 0; i < e->npreferences; i++)
    free(e->preferences[i]);
  free(e->preferences);
  e->preferences = v, e->npreferences = n;
  return 0;
}

int pl_requested_write_pyproject(struct pl_env *e, const struct pl_requested *rq, const char *text,
                                 size_t len, pl_error_t *err) {
  /* A rename in the project directory: a link put there since it was read
   * is replaced, never written through. */
  return pl_write_file_atomic_at(e->root_fd, PL_PYPROJECT_FILE, text, len,
                                 rq->py_mode ? rq->py_mode : 0644, err);
}
