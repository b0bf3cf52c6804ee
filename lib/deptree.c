/* pylock — the environment's dependency graph from installed metadata; see deptree.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "deptree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "change.h"
#include "cleanup.h"
#include "distname.h"
#include "env.h"
#include "file.h"
#include "metadata.h"
#include "pep508.h"
#include "project.h"

void pl_deptree_free(struct pl_dep_node *nodes, size_t n) {
  for (size_t i = 0; nodes && i < n; i++) {
    free(nodes[i].name), free(nodes[i].version);
    for (size_t k = 0; k < nodes[i].nrequires; k++)
      free(nodes[i].requires[k]);
    free(nodes[i].requires);
    for (size_t k = 0; k < nodes[i].nedges; k++)
      free(nodes[i].edges[k].requirement);
    free(nodes[i].edges);
  }
  free(nodes);
}

/* Each Requires-Dist of METADATA onto the node. */
static int on_header(void *ctx, const char *key, size_t klen, const char *val, size_t vlen,
                     pl_error_t *err) {
  struct pl_dep_node *node = ctx;
  if (klen != 13 || strncasecmp(key, "Requires-Dist", 13) != 0) return 0;
  if (node->nrequires >= 4096) return 0;
  char **v = realloc(node->requires, (node->nrequires + 1) * sizeof *v);
  if (v == NULL) return pl_fail(err, ENOMEM, "tree");
  node->requires = v;
  if ((v[node->nrequires] = strndup(val, vlen)) == NULL) return pl_fail(err, ENOMEM, "tree");
  node->nrequires++;
  return 0;
}

/* One .dist-info of a site directory: a node. */
static int read_dist(int dfd, const char *di, const struct pl_env *e, struct pl_dep_node *node,
                     pl_error_t *err) {
  (void)e;
  char path[600];
  snprintf(path, sizeof path, "%s/METADATA", di);
  cleanup_free char *text = NULL;
  size_t len = 0;
  struct pl_metadata md = {0};
  if (pl_read_file_at(dfd, path, PL_METADATA_MAX_BYTES, &text, &len, err) < 0 ||
      pl_metadata_parse(text, len, &md, err) < 0)
    return pl_error_wrap(err, "%s", di);
  node->name = md.name, node->version = md.version;
  md.name = md.version = NULL;
  pl_metadata_free(&md);
  snprintf(path, sizeof path, "%s/REQUESTED", di);
  node->requested = faccessat(dfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
  return pl_headers_parse(text, len, on_header, node, err);
}

/* Every .dist-info of one site directory of the generation: a node each. */
static int read_site(int gen_fd, const char *rel, const struct pl_env *e,
                     struct pl_dep_node **nodes, size_t *n, pl_error_t *err) {
  int fd = openat(gen_fd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : pl_fail(err, errno, "open %s", rel);
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return pl_fail(err, errno, "read %s", rel);
  }
  struct dirent *de;
  int rc = 0;
  while (rc == 0 && (de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len < 11 || strcmp(de->d_name + len - 10, ".dist-info") != 0) continue;
    if (*n >= PL_DEPTREE_MAX_PACKAGES) {
      rc = pl_fail(err, E2BIG, "more than %d packages", PL_DEPTREE_MAX_PACKAGES);
      break;
    }
    struct pl_dep_node *v = realloc(*nodes, (*n + 1) * sizeof *v);
    if (v == NULL) {
      rc = pl_fail(err, ENOMEM, "tree");
      break;
    }
    *nodes = v;
    memset(&v[*n], 0, sizeof v[*n]);
    (*n)++;
    rc = read_dist(dirfd(d), de->d_name, e, &v[*n - 1], err);
  }
  closedir(d);
  return rc;
}

/* Nodes by normalized name. */
static int cmp_node(const void *a, const void *b) {
  const struct pl_dep_node *x = a, *y = b;
  char nx[PL_DISTNAME_MAX + 1] = "", ny[PL_DISTNAME_MAX + 1] = "";
  pl_distname_normalize(x->name, strlen(x->name), nx, sizeof nx);
  pl_distname_normalize(y->name, strlen(y->name), ny, sizeof ny);
  return strcmp(nx, ny);
}

/* The node of that name (PEP 503), or n. */
static size_t find(const struct pl_dep_node *nodes, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (pl_distname_equal(nodes[i].name, strlen(nodes[i].name), name, strlen(name))) return i;
  return n;
}

/* Extras asked of each node: by the requested set and by Requires-Dist of
 * installed packages.  asked[i] is a NULL-free list of normalized extras. */
struct asked {
  char **extras;
  size_t n;
};

/* The extras r asks for, added to a (duplicates dropped). */
static void ask(struct asked *a, const struct pl_requirement *r) {
  for (size_t k = 0; k < r->nextras; k++) {
    bool have = false;
    for (size_t j = 0; j < a->n && !have; j++)
      have = strcmp(a->extras[j], r->extras[k]) == 0;
    char **v = have ? NULL : realloc(a->extras, (a->n + 1) * sizeof *v);
    if (v == NULL) continue;
    a->extras = v;
    if ((v[a->n] = strdup(r->extras[k])) != NULL) a->n++;
  }
}

/* The marker environment pylock can vouch for on Linux with CPython. */
static void marker_env(const struct pl_env *e, struct pl_marker_env *env) {
  memset(env, 0, sizeof *env);
  env->value[PL_MV_OS_NAME] = "posix";
  env->value[PL_MV_SYS_PLATFORM] = "linux";
  env->value[PL_MV_PLATFORM_SYSTEM] = "Linux";
  env->value[PL_MV_PYTHON_VERSION] = e->in.short_version;
  env->value[PL_MV_PYTHON_FULL_VERSION] = e->in.version;
}

/* Does requirement r of node i apply here?  A marker that cannot be
 * evaluated applies (the edge is drawn if its target is installed). */
static bool applies(const struct pl_requirement *r, const struct asked *a,
                    const struct pl_marker_env *env) {
  if (r->marker == NULL) return true;
  for (size_t k = 0; k <= a->n; k++) {
    struct pl_marker_query q = {.extra = k < a->n ? a->extras[k] : NULL};
    bool out = false;
    pl_error_t unknown = NULL;
    if (pl_marker_eval(r->marker, env, &q, &out, &unknown) < 0) {
      pl_error_free(&unknown);
      return true;
    }
    if (out) return true;
  }
  return false;
}

/* Each node's edges to the installed packages it requires here. */
static int add_edges(struct pl_dep_node *nodes, size_t n, const struct asked *asked,
                     const struct pl_marker_env *env, pl_error_t *err) {
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < nodes[i].nrequires; k++) {
      struct pl_requirement r;
      pl_error_t bad = NULL;
      if (pl_requirement_parse(nodes[i].requires[k], 0, &r, &bad) < 0) {
        pl_error_free(&bad);
        continue;
      }
      size_t to = find(nodes, n, r.name);
      bool draw = to < n && to != i && applies(&r, &asked[i], env);
      pl_requirement_free(&r);
      if (!draw) continue;
      bool dup = false;
      for (size_t j = 0; j < nodes[i].nedges && !dup; j++)
        dup = nodes[i].edges[j].to == to;
      if (dup) continue;
      struct pl_dep_edge *v = realloc(nodes[i].edges, (nodes[i].nedges + 1) * sizeof *v);
      if (v == NULL) return pl_fail(err, ENOMEM, "tree");
      nodes[i].edges = v;
      v[nodes[i].nedges] =
          (struct pl_dep_edge){.to = to, .requirement = strdup(nodes[i].requires[k])};
      if (v[nodes[i].nedges].requirement == NULL) return pl_fail(err, ENOMEM, "tree");
      nodes[i].nedges++;
    }
  return 0;
}

/* Edges by their target's position. */
static int cmp_edge(const void *a, const void *b) {
  size_t x = ((const struct pl_dep_edge *)a)->to, y = ((const struct pl_dep_edge *)b)->to;
  return x < y ? -1 : x > y;
}

/* Extras asked of each node, from the requested set and every Requires-Dist
 * that applies (two rounds: an extra may bring a requirement asking another). */
static void collect_asked(struct pl_dep_node *nodes, size_t n, const char *const *requested,
                          size_t nrequested, struct asked *asked, const struct pl_marker_env *env) {
  for (size_t k = 0; k < nrequested; k++) {
    struct pl_requirement r;
    pl_error_t bad = NULL;
    if (pl_requirement_parse(requested[k], 0, &r, &bad) < 0) {
      pl_error_free(&bad);
      continue;
    }
    size_t to = find(nodes, n, r.name);
    if (to < n) ask(&asked[to], &r);
    pl_requirement_free(&r);
  }
  for (int round = 0; round < 2; round++)
    for (size_t i = 0; i < n; i++)
      for (size_t k = 0; k < nodes[i].nrequires; k++) {
        struct pl_requirement r;
        pl_error_t bad = NULL;
        if (pl_requirement_parse(nodes[i].requires[k], 0, &r, &bad) < 0) {
          pl_error_free(&bad);
          continue;
        }
        size_t to = find(nodes, n, r.name);
        if (to < n && applies(&r, &asked[i], env)) ask(&asked[to], &r);
        pl_requirement_free(&r);
      }
}

int pl_deptree_read(const struct pl_env *e, const char *const *requested, size_t nrequested,
                    struct pl_dep_node **out, size_t *n, pl_error_t *err) {
  unsigned cur = 0;
  *out = NULL, *n = 0;
  if (pl_change_effective(e->root_fd, e->state_fd, &cur, err) < 0) return -1;
  if (cur == 0)
    return pl_fail_hint(err, ENOENT, "build it with: pylock sync", "no environment yet");
  char name[64];
  snprintf(name, sizeof name, "%s/%u", PL_GENERATIONS_DIR, cur);
  cleanup_close int gen_fd =
      openat(e->state_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (gen_fd < 0)
    return pl_fail_hint(err, errno, "rebuild it with: pylock sync",
                        "%s/%s: the current generation is missing", e->state_path, name);
  const char *pure = pl_interp_relative(&e->in, e->in.purelib);
  const char *plat = pl_interp_relative(&e->in, e->in.platlib);
  struct pl_dep_node *nodes = NULL;
  size_t cnt = 0;
  struct pl_marker_env env;
  marker_env(e, &env);
  int rc = pure ? read_site(gen_fd, pure, e, &nodes, &cnt, err) : 0;
  if (rc == 0 && plat && (pure == NULL || strcmp(pure, plat) != 0))
    rc = read_site(gen_fd, plat, e, &nodes, &cnt, err);
  struct asked *asked = rc == 0 ? calloc(cnt ? cnt : 1, sizeof *asked) : NULL;
  if (rc == 0 && asked == NULL) rc = pl_fail(err, ENOMEM, "tree");
  if (rc == 0) {
    if (cnt) qsort(nodes, cnt, sizeof *nodes, cmp_node);
    collect_asked(nodes, cnt, requested, nrequested, asked, &env);
    rc = add_edges(nodes, cnt, asked, &env, err);
    for (size_t i = 0; rc == 0 && i < cnt; i++)
      if (nodes[i].nedges) qsort(nodes[i].edges, nodes[i].nedges, sizeof *nodes[i].edges, cmp_edge);
  }
  for (size_t i = 0; asked && i < cnt; i++) {
    for (size_t k = 0; k < asked[i].n; k++)
      free(asked[i].extras[k]);
    free(asked[i].extras);
  }
  free(asked);
  if (rc < 0) {
    pl_deptree_free(nodes, cnt);
    return -1;
  }
  *out = nodes, *n = cnt;
  return 0;
}
