/* pylock lock — resolve the requested set against the registry into pylock.toml. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "cli.h"
#include "file.h"
#include "interp.h"
#include "lockfile.h"
#include "project.h"
#include "resolve.h"
#include "truststore.h"
#include "tuf.h"

#define INTERP_FILE_MAX 16384
#define REGISTRY_ROOT_FILE "registry-root.json"

static void usage(FILE *out) {
  fprintf(out,
          "usage: pylock lock [--check]\n\n"
          "Resolve the requested requirements ([tool.pylock] requested in pylock.toml)\n"
          "against the project's registry and write the result to pylock.toml (PEP 751).\n"
          "Resolution is pip's, run by the base interpreter inside the project's namespaces\n"
          "with no network: pip sees only an index generated from the registry's verified\n"
          "metadata. pylock.toml is rewritten only when its content changes.\n\n"
          "Options:\n"
          "  --check     change nothing; exit 1 with the reason if pylock.toml does not match\n"
          "              the resolution of the requested set, 0 if it does\n"
          "  -h, --help  print this help and exit\n\n"
          "The registry and its trusted root come from 'pylock init --registry URL --root\n"
          "FILE' (or --trusted NAME). PYLOCK_RESOLVE_PIP=registry runs the registry's pip\n"
          "wheel even when the base interpreter has pip.\n");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)ftw;
  if (flag == FTW_DP)
    rmdir(path);
  else
    unlink(path);
  return 0;
}

/* One line naming the first difference between two package lists. */
static void describe_change(const struct pl_lockfile *old, const struct pl_lockfile *new, char *buf,
                            size_t cap) {
  for (size_t i = 0; i < new->npackages; i++) {
    const struct pl_lock_package *n = &new->packages[i], *o = pl_lockfile_find(old, n->name);
    if (o == NULL) {
      snprintf(buf, cap, "%s %s would be added", n->name, n->version);
      return;
    }
    if (strcmp(o->version, n->version) != 0) {
      snprintf(buf, cap, "%s would change from %s to %s", n->name, o->version, n->version);
      return;
    }
  }
  for (size_t i = 0; i < old->npackages; i++)
    if (pl_lockfile_find(new, old->packages[i].name) == NULL) {
      snprintf(buf, cap, "%s would be removed", old->packages[i].name);
      return;
    }
  snprintf(buf, cap, "the locked wheels, hashes or requested flags differ");
}

struct lock_ctx {
  char *root, *lock_text, *interp_text, *gen, *layer, *state_dir, *trusted_root, *tuf_state, *work,
      *cache, *user_site;
  size_t lock_len;
  int state_fd;
  struct pl_lockfile lf;
  struct pl_interp in;
  struct pl_tuf *tuf;
};

static void ctx_free(struct lock_ctx *c) {
  if (c->work) nftw(c->work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  free(c->root), free(c->lock_text), free(c->interp_text), free(c->gen), free(c->layer);
  free(c->state_dir), free(c->trusted_root), free(c->tuf_state), free(c->work), free(c->cache);
  free(c->user_site);
  if (c->state_fd >= 0) close(c->state_fd);
  pl_lockfile_free(&c->lf);
  pl_interp_free(&c->in);
  pl_tuf_free(c->tuf);
}

static int cache_dir(char **out, pl_error_t *err) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  int r = -1;
  if (xdg && xdg[0] == '/')
    r = asprintf(out, "%s/pylock/wheels", xdg);
  else if (home && home[0] == '/')
    r = asprintf(out, "%s/.cache/pylock/wheels", home);
  else
    return pl_fail_hint(err, ENOENT, "set HOME or XDG_CACHE_HOME", "no cache directory");
  return r < 0 ? pl_fail(err, ENOMEM, "lock") : 0;
}

static int prepare(struct lock_ctx *c, pl_error_t *err) {
  if (pl_project_find(pl_cli.project, &c->root, err) < 0) return -1;
  if ((c->state_fd = pl_project_open_state(c->root, err)) < 0) return -1;
  cleanup_free char *path = NULL;
  if (asprintf(&path, "%s/%s", c->root, PL_LOCK_FILE) < 0) return pl_fail(err, ENOMEM, "lock");
  if (pl_read_file_at(AT_FDCWD, path, PL_LOCK_MAX_BYTES, &c->lock_text, &c->lock_len, err) < 0 ||
      pl_lockfile_parse(c->lock_text, c->lock_len, PL_LOCK_FILE, &c->lf, err) < 0)
    return -1;
  if (c->lf.registry == NULL)
    return pl_fail_hint(err, ENOENT,
                        "name one: pylock init --registry URL --root FILE (in a new project)",
                        "%s names no registry ([tool.pylock] registry)", PL_LOCK_FILE);
  if (pl_read_file_at(c->state_fd, PL_INTERP_FILE, INTERP_FILE_MAX, &c->interp_text, NULL, err) <
          0 ||
      pl_interp_parse(c->interp_text, &c->in, err) < 0)
    return pl_error_set_hint(err, "rebuild the environment with: pylock sync");
  if (pl_project_current(c->root, c->state_fd, &c->gen, &c->layer, err) < 0) return -1;
  if (asprintf(&c->state_dir, "%s/%s", c->root, PL_STATE_DIR) < 0)
    return pl_fail(err, ENOMEM, "lock");
  const char *home = getenv("HOME");
  if (home && home[0] == '/' &&
      asprintf(&c->user_site, "%s/.local/lib/python%s", home, c->in.short_version) < 0)
    return pl_fail(err, ENOMEM, "lock");

  /* The trusted root: the copy init made, else a `pylock trust` name. */
  if (faccessat(c->state_fd, REGISTRY_ROOT_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
    if (asprintf(&c->trusted_root, "%s/" REGISTRY_ROOT_FILE, c->state_dir) < 0)
      return pl_fail(err, ENOMEM, "lock");
  } else if (c->lf.registry_trusted) {
    if (pl_trust_find(c->lf.registry_trusted, &c->trusted_root, err) < 0) return -1;
  } else {
    return pl_fail_hint(err, ENOENT, "pylock init --registry URL --root FILE",
                        "no trusted root for %s (neither %s/%s nor [tool.pylock] registry-trusted)",
                        c->lf.registry, PL_STATE_DIR, REGISTRY_ROOT_FILE);
  }
  if (pl_registry_state_dir(c->lf.registry, &c->tuf_state, err) < 0 ||
      pl_mkdir_p(c->tuf_state, 0700, err) < 0)
    return -1;
  struct pl_tuf_options o = {
      .url = c->lf.registry, .root_path = c->trusted_root, .state_dir = c->tuf_state};
  if (pl_tuf_update(&o, &c->tuf, err) < 0) return -1;

  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] != '/') tmp = "/tmp";
  if (asprintf(&c->work, "%s/pylock-lock-XXXXXX", tmp) < 0) return pl_fail(err, ENOMEM, "lock");
  if (mkdtemp(c->work) == NULL) {
    int e = errno;
    free(c->work);
    c->work = NULL;
    return pl_fail(err, e, "create a work directory in %s", tmp);
  }
  return cache_dir(&c->cache, err);
}

static int lock_project(bool check, pl_error_t *err) {
  struct lock_ctx c = {.state_fd = -1};
  int rc = -1;
  struct pl_lock_package *pkgs = NULL;
  size_t npkgs = 0;
  cleanup_free char *old_norm = NULL, *new_text = NULL;
  size_t new_len = 0;
  cleanup_close int dfd = -1;
  if (prepare(&c, err) < 0) goto out;

  const char *pip = getenv("PYLOCK_RESOLVE_PIP");
  struct pl_resolve_opts ro = {.python = c.in.python,
                               .prefix = c.in.prefix,
                               .project = c.root,
                               .state_dir = c.state_dir,
                               .layer = c.layer,
                               .user_site = c.user_site,
                               .work_dir = c.work,
                               .cache_dir = c.cache,
                               .registry = c.lf.registry,
                               .requirements = (const char *const *)c.lf.requested,
                               .nrequirements = c.lf.nrequested,
                               .registry_pip = pip && strcmp(pip, "registry") == 0};
  pl_cli_info("pylock: resolving %zu requirement(s) against %s", c.lf.nrequested, c.lf.registry);
  if (pl_resolve(c.tuf, &ro, &pkgs, &npkgs, err) < 0) goto out;

  /* The file as pylock would write it now, and with the new resolution. */
  if (pl_lockfile_write(&c.lf, &old_norm, NULL, err) < 0) goto out;
  struct pl_lockfile old = {0};
  if (check && pl_lockfile_parse(c.lock_text, c.lock_len, PL_LOCK_FILE, &old, err) < 0) goto out;
  pl_lockfile_set_packages(&c.lf, pkgs, npkgs);
  pkgs = NULL;
  if (pl_lockfile_write(&c.lf, &new_text, &new_len, err) < 0) {
    pl_lockfile_free(&old);
    goto out;
  }
  if (check) {
    bool same = strcmp(old_norm, new_text) == 0;
    if (!same) {
      char why[512];
      describe_change(&old, &c.lf, why, sizeof why);
      pl_fail_hint(err, 0, "update it with: pylock lock",
                   "%s is out of date with the requested set and the registry: %s", PL_LOCK_FILE,
                   why);
    }
    pl_lockfile_free(&old);
    rc = same ? 0 : -1;
    if (same) pl_cli_info("pylock: %s is up to date (%zu packages)", PL_LOCK_FILE, npkgs);
    goto out;
  }
  if (new_len == c.lock_len && memcmp(new_text, c.lock_text, new_len) == 0) {
    pl_cli_info("pylock: %s is up to date (%zu packages)", PL_LOCK_FILE, c.lf.npackages);
    rc = 0;
    goto out;
  }
  dfd = open(c.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    pl_fail(err, errno, "open %s", c.root);
    goto out;
  }
  if (pl_write_file_atomic_at(dfd, PL_LOCK_FILE, new_text, new_len, 0644, err) < 0) goto out;
  pl_cli_info("pylock: locked %zu packages in %s", c.lf.npackages, PL_LOCK_FILE);
  rc = 0;
out:
  for (size_t i = 0; pkgs && i < npkgs; i++)
    pl_lock_package_free(&pkgs[i]);
  free(pkgs);
  ctx_free(&c);
  return rc;
}

int pl_cmd_lock(int argc, char **argv) {
  static const struct option opts[] = {
      {"check", no_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  bool check = false;
  int c;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'c': check = true; break;
    case 'h': usage(stdout); return PL_EXIT_OK;
    default: return pl_cli_usage_error("lock", "unknown option");
    }
  }
  if (optind < argc) return pl_cli_usage_error("lock", "unexpected argument '%s'", argv[optind]);
  pl_error_t err = NULL;
  if (lock_project(check, &err) < 0) return pl_cli_report("lock", &err);
  return PL_EXIT_OK;
}
