/* pylock — running a command in a project's environment; see launch.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "change.h"
#include "cleanup.h"
#include "config.h"
#include "env.h"
#include "environ.h"
#include "file.h"
#include "generations.h"
#include "harden.h"
#include "interp.h"
#include "keepalive.h"
#include "lockfile.h"
#include "paths.h"
#include "project.h"
#include "state.h"

#define INTERP_FILE_MAX 16384

/* The project's own settings: from the generation's record while
 * pylock.toml has not changed since the sync, else from pylock.toml, but
 * never looser than the record: code in a --strict sandbox can write
 * pylock.toml (the project is writable there), and must not turn --strict
 * off for the user's next run.  Only a sync, which says so, loosens them. */
static int project_policy(struct pl_launch *l, int root_fd, bool fresh_only, bool *strict,
                          bool *no_network, pl_error_t *err) {
  struct pl_env_policy p;
  if (pl_env_quick_state(root_fd, l->state_fd, &p) == PL_ENV_FRESH) {
    *strict = p.strict, *no_network = p.no_network;
    l->fresh = true;
    return 0;
  }
  /* pylock.toml may be a pull request's: only a program that will use it
   * parses it (the static front end has no PIE nor _FORTIFY_SOURCE). */
  if (fresh_only)
    return pl_fail(err, ESTALE, "%s changed since the environment was built", PL_LOCK_FILE);
  *strict = p.strict, *no_network = p.no_network; /* if pylock.toml cannot be read */
  cleanup_free char *text = NULL;
  size_t len = 0;
  struct pl_lockfile lf = {0};
  if (pl_read_file_at(root_fd, PL_LOCK_FILE, PL_LOCK_MAX_BYTES, &text, &len, err) < 0 ||
      pl_lockfile_parse(text, len, PL_LOCK_FILE, &lf, err) < 0)
    return -1;
  *strict |= lf.strict, *no_network |= lf.no_network;
  pl_lockfile_free(&lf);
  return 0;
}

/* The settings recorded for the projects around this one (a directory
 * above its root with a state; its pylock.toml is not asked for: code in
 * its sandboxes can move that away): a project below another may have been
 * planted by code in that one's sandboxes, which write it, and its runs
 * must be no looser than that one's.  What cannot be read adds nothing. */
static void enclosing_policy(struct pl_launch *l, bool *strict, bool *no_network) {
  char dir[PATH_MAX];
  if (snprintf(dir, sizeof dir, "%s", l->root) >= (int)sizeof dir) return;
  for (char *slash; dir[1] != '\0' && (slash = strrchr(dir, '/')) != NULL;) {
    if (slash == dir)
      slash[1] = '\0';
    else
      *slash = '\0';
    pl_error_t e = NULL;
    cleanup_free char *path = NULL;
    int fd = pl_project_state_open(&l->state, dir, false, &path, &e);
    pl_error_free(&e);
    if (fd < 0) continue;
    unsigned cur = 0;
    struct pl_gen_meta m;
    if (pl_gen_current(fd, &cur, NULL) == 0 && cur && pl_meta_read(fd, cur, &m, NULL) == 0)
      *strict |= m.strict, *no_network |= m.no_network;
    close(fd);
  }
}

static int add_allowed(struct pl_launch *l, const char *path, pl_error_t *err) {
  char **a = realloc(l->allow_write, (l->nallow_write + 1) * sizeof *a);
  if (a == NULL) return pl_fail(err, ENOMEM, "allow-write");
  l->allow_write = a;
  if ((a[l->nallow_write] = strdup(path)) == NULL) return pl_fail(err, ENOMEM, "allow-write");
  l->nallow_write++;
  return 0;
}

int pl_launch_open(struct pl_launch *l, const struct pl_launch_opts *o, pl_error_t *err) {
  memset(l, 0, sizeof *l);
  l->state.fd = l->state_fd = l->run_fd = -1;
  cleanup_free char *interp_text = NULL;
  if (pl_project_find(o->project, &l->root, err) < 0 || pl_state_open(&l->state, err) < 0)
    return -1;
  l->state_fd = pl_project_state_open(&l->state, l->root, false, &l->state_path, err);
  if (l->state_fd < 0) return -1;
  if (pl_read_file_at(l->state_fd, PL_INTERP_FILE, INTERP_FILE_MAX, &interp_text, NULL, err) < 0 ||
      pl_interp_parse(interp_text, &l->in, err) < 0)
    return pl_error_set_hint(err, "rebuild the environment with: pylock sync");
  cleanup_close int root_fd = open(l->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return pl_fail(err, errno, "open %s", l->root);
  if (pl_project_current(l->state_path, l->state_fd, root_fd, &l->gen, &l->layer, err) < 0)
    return -1;
  /* The record of the keep-alive holder: written from here, outside. */
  if (mkdirat(l->state_fd, PL_RUN_DIR, 0700) < 0 && errno != EEXIST)
    return pl_fail(err, errno, "create %s/%s", l->state_path, PL_RUN_DIR);
  l->run_fd = openat(l->state_fd, PL_RUN_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (l->run_fd < 0) return pl_fail(err, errno, "open %s/%s", l->state_path, PL_RUN_DIR);
  if (pl_path_user_site(l->in.short_version, &l->user_site, err) < 0 ||
      pl_path_user_config("", &l->config_dir, err) < 0 ||
      pl_path_cache_home(&l->cache_home, err) < 0)
    return -1;
  if ((l->cwd = getcwd(NULL, 0)) == NULL) return pl_fail(err, errno, "getcwd");
  /* The cache as it resolves now (a ~/.cache linked to another disk): the
   * sandbox binds it back writable at its real path; never through a link
   * where a sandbox writes (a cache in /tmp), which could lead anywhere. */
  char *cache = NULL;
  if (pl_path_check_links("cache", l->cache_home, &cache, err) < 0) return -1;
  if (cache) {
    free(l->cache_home);
    l->cache_home = cache;
  }

  bool strict = o->strict, no_network = o->no_network, p_strict = false, p_nonet = false;
  if (project_policy(l, root_fd, o->fresh_only, &p_strict, &p_nonet, err) < 0) {
    if (!o->lenient || o->fresh_only) return -1;
    pl_error_free(err); /* the record's settings stand */
  }
  enclosing_policy(l, &p_strict, &p_nonet);
  const struct pl_config *cfg = pl_config_get(err);
  if (cfg == NULL) return -1;
  strict |= p_strict || cfg->strict > 0;
  no_network |= p_nonet || strict;
  /* As they resolve now, and never through a link that code in a sandbox
   * could have put there, to have a later run write where the link leads. */
  for (size_t i = 0; i < o->nallow_write; i++) {
    cleanup_free char *real = NULL;
    if (pl_path_check_links("--allow-write", o->allow_write[i], &real, err) < 0) return -1;
    if (real == NULL) return pl_fail(err, ENOENT, "--allow-write %s", o->allow_write[i]);
    if (add_allowed(l, real, err) < 0) return -1;
  }
  /* The configuration's paths as they resolve now, as --allow-write's are:
   * the mounts and the checks of what lies below a writable place compare
   * real paths.  One that does not exist stays unwritable. */
  for (size_t i = 0; i < cfg->nallow_write; i++) {
    cleanup_free char *real = NULL;
    if (pl_path_check_links("allow-write", cfg->allow_write[i], &real, err) < 0) return -1;
    if (real && add_allowed(l, real, err) < 0) return -1;
  }

  l->sb = (struct pl_sandbox){.project = l->root,
                              .state_root = l->state.path,
                              .config_dir = l->config_dir,
                              .prefix = l->in.prefix,
                              .layer = l->layer,
                              .user_site = l->user_site,
                              .cwd = l->cwd,
                              .cache_home = l->cache_home,
                              .allow_write = (const char *const *)l->allow_write,
                              .nallow_write = l->nallow_write,
                              .no_network = no_network,
                              .strict = strict};
  cleanup_free char *state_at = NULL;
  if (pl_state_location(&state_at, err) < 0 ||
      pl_sandbox_check_links(&l->sb, state_at, "pylock's state directory", err) < 0 ||
      pl_sandbox_check_links(&l->sb, l->config_dir, "pylock's configuration directory", err) < 0)
    return -1;
  return 0;
}

void pl_launch_close(struct pl_launch *l) {
  free(l->root);
  free(l->state_path);
  free(l->gen);
  free(l->layer);
  free(l->user_site);
  free(l->config_dir);
  free(l->cache_home);
  free(l->cwd);
  for (size_t i = 0; i < l->nallow_write; i++)
    free(l->allow_write[i]);
  free(l->allow_write);
  if (l->state_fd >= 0) close(l->state_fd);
  if (l->run_fd >= 0) close(l->run_fd);
  pl_state_close(&l->state);
  pl_interp_free(&l->in);
  memset(l, 0, sizeof *l);
  l->state_fd = l->run_fd = -1;
}

/* --strict hides the credential agents too: their sockets are unreachable
 * anyway (no unix sockets), and programs should not wait on them. */
static void strict_environ(void) {
  const char *agents[] = {"SSH_AUTH_SOCK", "SSH_AGENT_PID", "GPG_AGENT_INFO",
                          "DBUS_SESSION_BUS_ADDRESS"};
  for (size_t i = 0; i < sizeof agents / sizeof agents[0]; i++)
    unsetenv(agents[i]);
}

/* In the sandbox's namespaces: restrict, scrub the environment, harden,
 * exec (pl_launch_exec's second half). */
static int finish(struct pl_launch *l, const char *cmd, char **argv, pl_error_t *err) {
  if (pl_sandbox_restrict(&l->sb, err) < 0) return -1;
  cleanup_free char *pybin = strdup(l->in.python);
  if (pybin == NULL) return pl_fail(err, ENOMEM, "run");
  const char *bindirs[] = {l->in.scripts, dirname(pybin), NULL};
  if (pl_environ_prepare(l->root, bindirs, err) < 0) return -1;
  if (l->sb.strict) strict_environ();
  unsetenv("DBUS_SESSION_BUS_ADDRESS"); /* hidden: see sandbox.h */
  if (pl_harden(l->sb.strict, err) < 0) return -1;
  pl_execvp(cmd, argv);
  return errno;
}

/* The generation's folds lead into the cache of the state the sandbox binds
 * read-only (generations.h): not to where a moved or copied state was.
 * The stamp of its lib directories is taken first: a holder spawned after
 * the check records it (in its digest), and is joined only while the
 * directories are still the ones checked. */
static int check_folds(struct pl_launch *l, pl_error_t *err) {
  l->sb.folds_stamp = pl_gen_folds_stamp(l->state_fd, l->gen, l->state.path, &l->in);
  return pl_gen_check_folds_of(l->state_fd, l->state_path, l->gen, l->state.path, &l->in, NULL,
                               NULL, err);
}

/* The interpreter the state records, and its prefix, out of reach of code
 * in any sandbox as they are now (interp.h): a link or a prefix in /tmp or
 * ~/.cache, where another project's run could change it, would have this
 * run (a shim execs the interpreter by that path) run that code with this
 * project writable.  Not on a joined run: a holder is spawned only here. */
static int check_interp(struct pl_launch *l, pl_error_t *err) {
  if (pl_interp_check_path(l->in.python, l->root, err) < 0 ||
      pl_interp_check_prefix(l->in.python, l->in.prefix, l->root, err) < 0)
    return pl_error_set_hint(err,
                             "use an interpreter installed where only you or root can "
                             "change it: remove %s, then pylock init --python PATH",
                             l->state_path);
  return 0;
}

int pl_launch_exec(struct pl_launch *l, const char *cmd, char **argv, pl_error_t *err) {
  if (check_interp(l, err) < 0 || check_folds(l, err) < 0 ||
      pl_keepalive_enter(&l->sb, l->run_fd, l->state_path, l->gen, err) < 0)
    return -1;
  if (l->before_exec && l->before_exec(l->before_exec_ctx, err) < 0) return -1;
  return finish(l, cmd, argv, err);
}

/* No check of the folds here: a holder is joined only when its record names
 * this generation and a digest of this state root (pl_keepalive_digest),
 * and only pl_launch_exec spawns one, after check_folds passed for that
 * same pair.  A generation never changes once built (a sync makes a new
 * one), but a state restored or copied over in place changes it under its
 * name: the digest holds the stamp of its lib directories taken when the
 * folds were checked, and one that differs now (a fold replaced, the
 * generation replaced) is not joined: pl_launch_exec checks again.  A moved
 * or copied state is another root: no holder of its own until a run has
 * checked its folds.  (The check reads every fold link: a cost that grows
 * with the packages, on the path meant to cost least; the stamp is two
 * stats.) */
int pl_launch_exec_joined(struct pl_launch *l, const char *cmd, char **argv, pl_error_t *err) {
  if ((l->sb.folds_stamp = pl_gen_folds_stamp(l->state_fd, l->gen, l->state.path, &l->in)) == 0)
    return 0;
  int joined = pl_keepalive_join(&l->sb, l->run_fd, l->gen, err);
  if (joined <= 0) return joined;
  if (l->before_exec && l->before_exec(l->before_exec_ctx, err) < 0) return -1;
  return finish(l, cmd, argv, err);
}
