/* pylock — a project's environment as the commands that change it see it:
 * pylock.toml (the lock), its state (interpreter record, generations: see
 * project.h), the registry it trusts, and the operations lock, sync, list, verify and
 * rollback (gc is gc.h's).  The CLI files stay thin; progress reaches the user through a
 * callback, since lib/ never prints.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ENV_H
#define PYLOCK_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "change.h"
#include "error.h"
#include "interp.h"
#include "lockfile.h"
#include "select.h"
#include "state.h"
#include "tuf.h"

#define PL_REGISTRY_ROOT_FILE "registry-root.json"
#define PL_REGISTRY_ROOT_TOFU "registry-root.tofu" /* present: trusted on first use */

struct pl_env {
  char *root;            /* the project directory, absolute */
  struct pl_state state; /* the per-user state root (state.h) */
  char *state_path;      /* the project's state directory in it (project.h) */
  int root_fd, state_fd;
  char *lock_text; /* pylock.toml as read */
  size_t lock_len;
  struct pl_lockfile lf;
  struct pl_interp in;
  char *user_site;     /* ~/.local/lib/pythonX.Y, hidden in the sandbox */
  struct pl_tuf *tuf;  /* after pl_env_update_trust */
  int change_lock;     /* held by pl_env_begin_change, else -1 */
  bool offline;        /* --offline: the registry's last verified metadata, nothing fetched */
  bool runner;         /* ci, sync --frozen: pylock.toml is a pull request's (see below) */
  bool keep_policy;    /* refuse to build from a lock that loosens the sandboxes */
  const char *trusted; /* --trusted NAME: the root to anchor to */
  const char *python;  /* --python PATH: the interpreter the runner chose */
  char *anchor;        /* after pl_env_update_trust: which root it anchored to */
  struct pl_select_opts select_opts; /* the extras and groups asked for */
  bool select_given;                 /* by the caller (else a change keeps the environment's) */
  bool compile_after_switch;         /* new trees without byte-code first (pl_env_sync) */
  int compile_lock;                  /* held while compiling after the switch, else -1 */
  bool compile_detach;               /* that compile is the caller's (pl_env_compile_pending) */
  unsigned pending_gen;              /* with compile_detach: the generation it compiles */
  /* Cache trees this change found damaged, each left where it is until the
   * tree built again under its key replaces it (env.c): no later generation
   * of the change, its byte-compiling's too, takes one. */
  struct pl_env_damaged *damaged;
  size_t ndamaged;
  /* Called once a change made generation n current, before byte-compiling
   * after the switch: when its code can first run.  May be NULL. */
  void (*switched)(const struct pl_env *e, unsigned n, void *ctx);
  void *switched_ctx;
  char kept_key[PL_SELECT_KEY_MAX]; /* a generation's recorded selection, parsed into: */
  const char *kept_extras[PL_SELECT_MAX_NAMES], *kept_groups[PL_SELECT_MAX_NAMES];
  struct pl_selection sel; /* after pl_env_select: what of the lock gets installed */
  bool selected;
  const void *sel_of; /* the package list it was made for (e->lf.packages, npackages) */
  size_t sel_n;
  char *
      index_registry; /* a lock without [tool.pylock] registry: the one its packages' index names */
  char **preferences; /* locked versions pl_env_resolve keeps ("name==version"), or NULL */
  size_t npreferences;
  bool dropped_preferences; /* after pl_env_resolve: no resolution kept them all */
  void (*progress)(void *ctx, const char *msg);
  void *progress_ctx;
};

/* How much a project's pylock.toml is trusted.  Always: the interpreter it
 * names must be an absolute path outside the project, the caller's or
 * root's and writable by nobody else (and all the way to it), and it only
 * ever runs in sandboxes.  `runner` (ci, sync --frozen: the lock may be a
 * pull request's) adds: the interpreter is the one --python names, or one
 * root installed; and the registry root is one the runner trusts -- --trusted
 * NAME, a root in the trust store (the one pylock.toml names, or the one
 * whose keys it pins), or one the user gave `pylock init` -- never a root
 * anchored on first use from keys a checkout pins. */
struct pl_env_opts {
  const char *dir; /* NULL: nearest pylock.toml upward */
  void (*progress)(void *ctx, const char *msg);
  void *progress_ctx;
  bool offline, runner;
  bool keep_policy; /* refuse a lock that loosens the project's sandboxes (auto-sync) */
  const char *trusted, *python;
  struct pl_select_opts select; /* --extra, --group (sync, ci) */
  bool compile_after_switch;    /* see pl_env_sync */
  bool compile_detach;          /* see pl_env_compile_pending */
  /* see struct pl_env */
  void (*switched)(const struct pl_env *e, unsigned n, void *ctx);
  void *switched_ctx;
};

/* Open the project at o->dir.  A project without state (a fresh checkout, a
 * moved or copied project) gets it, for the interpreter its pylock.toml (or
 * o->python) names; one in the old layout (.pylock/ in the project) is
 * moved.  `progress` may be NULL. */
int pl_env_open_with(struct pl_env *e, const struct pl_env_opts *o, pl_error_t *err);
int pl_env_open(struct pl_env *e, const char *dir, void (*progress)(void *, const char *),
                void *progress_ctx, pl_error_t *err);
void pl_env_close(struct pl_env *e);

/* Take the project's change lock (reporting through progress while waiting),
 * then re-read pylock.toml: another change may have rewritten it meanwhile. */
int pl_env_begin_change(struct pl_env *e, pl_error_t *err);

/* Update the registry's TUF metadata from its trusted root: the state's copy,
 * a `pylock trust` name, or the registry's 1.root.json when its root key ids
 * are those pinned in pylock.toml (a fresh checkout). */
int pl_env_update_trust(struct pl_env *e, pl_error_t *err);

/* Decide what of pylock.toml this interpreter installs (select.h), once
 * per lock read: the packages its markers, extras and groups select and
 * each one's best wheel by tags.  An interpreter record made before pylock
 * probed markers and tags is probed again. */
int pl_env_select(struct pl_env *e, pl_error_t *err);

/* Resolve the requested set (pip, in the sandbox) into e->lf.  *changed
 * tells whether pylock.toml's bytes would change; *why names the first
 * difference (caller frees). */
int pl_env_resolve(struct pl_env *e, bool *changed, char **why, pl_error_t *err);

/* Write e->lf to pylock.toml atomically. */
int pl_env_write_lock(struct pl_env *e, pl_error_t *err);

/* Is the lock stale for the requested set (a requirement with no requested
 * package, or the reverse)?  Cheap: no resolution.  0 fresh, 1 stale (*why). */
int pl_env_lock_is_stale(const struct pl_env *e, char *why, size_t cap);

struct pl_sync_result {
  unsigned generation; /* now current */
  bool unchanged;      /* the current generation already matched */
  size_t packages, fetched, built;
  size_t repaired; /* damaged things found and rebuilt: a generation, trees, wheels */
  uint64_t files;  /* of the new generation, counted as pylock verify counts them */
  double ms_fetch, ms_build, ms_link;
  unsigned source_generation; /* made current first, without byte-code (0: none) */
  double ms_compile;          /* from that switch to the one to `generation` */
  bool compile_pending;       /* compile_detach: the compile is left to pl_env_compile_pending */
  size_t compile_packages;    /* how many packages it compiles (0: unknown, a killed one's) */
  int compile_pid;            /* the caller's: the process compiling it, if another */
};

/* Make the environment match the lock: every wheel from the cache or fetched
 * through the registry (length, sha256, wheel checks), a new generation built
 * beside the current one and switched to with one rename.  The current
 * generation is kept only if it was built from this lock and is sound: it
 * exists, with its manifest and record, and no file of it was written, added
 * or removed since (its stat fingerprint, change.h); else it is rebuilt, as
 * is a cached tree whose fingerprint changed (quarantined first).  `repair`
 * rebuilds the generation in any case and hashes every file of every tree it
 * uses against the tree's manifest (what bit rot needs).
 *
 * With compile_after_switch (pl_env_opts), the trees missing from the cache
 * are built as source trees (no byte-code, cache.h) and the generation made
 * of them is switched to first: usable, its runs import from source (and
 * say so through progress); then one compiler makes the complete trees from
 * them, and a second generation of the same packages with byte-code
 * replaces it as current (not as previous: rollback goes to what was there
 * before).  Its record says bytecode=no (change.h) until then, and the
 * compile lock (generations.h) is held from before the first switch to the
 * second; a sync that finds such a current generation built from this lock
 * finishes it instead of keeping it, whatever compile_after_switch says.
 * e->switched is called right after the (first) switch. */
int pl_env_sync(struct pl_env *e, bool repair, struct pl_sync_result *res, pl_error_t *err);

/* With the change lock held (pl_env_begin_change), after e->lf changed:
 * write pylock.toml and build its generation as one transaction (change.h).
 * On failure nothing changed, but for a failure to byte-compile after the
 * switch (compile_after_switch): the new lock's environment is then current
 * without byte-code (res->source_generation), and the next sync compiles it. */
int pl_env_commit(struct pl_env *e, struct pl_sync_result *res, pl_error_t *err);

/* With compile_detach (pl_env_opts or set before the change), pl_env_sync
 * and pl_env_commit return right after the first switch with
 * res->compile_pending set and the change lock and the compile lock still
 * held (e->change_lock, e->compile_lock): the compile after the switch and
 * the second switch are then this call's, in whichever process the caller
 * chooses (pylock forks a detached one that inherits both locks: flock
 * follows the open file description, so nobody else can take them in
 * between).  It releases the compile lock when done, failed or not; on
 * failure the source generation stays current (bytecode=no, "pending"). */
int pl_env_compile_pending(struct pl_env *e, struct pl_sync_result *res, pl_error_t *err);

/* sha256 of the lock the current generation was built from, or "" if unknown. */
int pl_env_current_lock_hash(const struct pl_env *e, char hash[65], pl_error_t *err);

/* Record in generations/N.meta that generation n was built from the lock
 * `text` (len bytes, parsed: lf): its sha256, pylock.toml's stat if the file
 * holds exactly that text (change.h), and the sandbox settings lf makes. */
int pl_env_write_meta(int root_fd, int state_fd, unsigned n, const struct pl_lockfile *lf,
                      const char *text, size_t len, pl_error_t *err);

struct pl_gen_manifest;
/* Write generations/N.manifest (manifest.h) atomically. */
int pl_env_write_gen_manifest(int state_fd, unsigned n, const struct pl_gen_manifest *g,
                              pl_error_t *err);

/* pl_env_quick_state and struct pl_env_policy: change.h. */

/* sha256 hex of the lock text as it is now. */
int pl_env_lock_hash(const struct pl_env *e, char hash[65], pl_error_t *err);

/* A requirement string's distribution name, PEP 503-normalized, into out;
 * returns its length, or -1. */
int pl_requirement_name(const char *req, char *out, size_t cap);

/* Root key ids of a TUF root document, sorted. */
int pl_root_keyids(const char *text, size_t len, const char *what, char ***ids, size_t *n,
                   pl_error_t *err);

/* What the current generation holds, from its .dist-info directories. */
struct pl_installed {
  char *name, *version;
  bool requested;       /* has REQUESTED */
  char **startup_hooks; /* what it installed at a site directory's root that runs at
                           every interpreter start (pl_wheel_startup_hook), sorted */
  size_t nstartup_hooks;
};
int pl_env_installed(const struct pl_env *e, struct pl_installed **list, size_t *n,
                     pl_error_t *err);
void pl_installed_free(struct pl_installed *list, size_t n);

/* The startup hooks at the roots of the current generation's site
 * directories (pl_wheel_startup_hook), by name, sorted: one readdir each,
 * no RECORD read.  On failure *names may hold what was found. */
int pl_env_startup_hooks(const struct pl_env *e, char ***names, size_t *n, pl_error_t *err);

/* Re-check every file of the current generation against pylock's manifest
 * and its RECORD (report); the manifest against the cache trees' and the
 * lock's wheels; the lock's wheels against what the registry signs (the
 * last verified metadata: nothing is fetched); the trusted root; and the
 * installed set against the lock.  *lock_issues lines ("requests 2.28.1 is
 * locked but not installed"), caller frees. */
struct pl_verify_report;
int pl_env_verify(struct pl_env *e, struct pl_verify_report *report, char ***lock_issues,
                  size_t *nlock_issues, pl_error_t *err);

/* Switch back to the previous generation; *from and *to tell which. */
int pl_env_rollback(struct pl_env *e, unsigned *from, unsigned *to, pl_error_t *err);

#endif
