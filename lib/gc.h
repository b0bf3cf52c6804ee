/* pylock — garbage collection of pylock's state root (state.h), and the
 * cache lock that keeps it from removing what a change needs.
 *
 * What is live.  gc keeps every complete generation of every project that
 * it does not remove itself: the current and previous ones, the two a change
 * record names (a command killed between its commit and its switch: the new
 * one may go with pylock.toml already; change.h), any that a running
 * environment has mounted, and all of a project whose change lock is held
 * (it cannot look at that one now).  Each generation's N.manifest
 * (manifest.h) names the cache trees it was built from; those trees, and the
 * wheels they were built from (a tree's key starts with its wheel's
 * sha256), are live; every other tree and wheel in the cache is removed.
 * Link counts and ages decide nothing.  A generation without a manifest that
 * parses (made by a pylock older than manifests, or damaged) makes gc keep
 * the whole cache, and say which generation: a sync of that project writes
 * its manifest.  pylock cache clean (pl_gc_clean_cache) keeps the trees of
 * the same live set, read from every generation it finds (it prunes none),
 * and removes every wheel.
 *
 * The cache lock, STATE/cache/lock.  A change holds it (pl_gc_hold_cache)
 * from before it looks up, fetches or builds anything in the cache until
 * its new generation, whose manifest names every tree it used, is in place
 * (a complete generation is live, current or not); the resolver holds it
 * while pip reads cached wheels.  gc reads the manifests and removes trees
 * and wheels only while holding it exclusively.  So every tree a change
 * needs is either named by a manifest gc reads or held; and a partial tree
 * (trees/.tmp-*), a temporary wheel (wheels/.*) or a damaged entry a sync
 * moved to quarantine/ that exists while gc holds the lock has no maker at
 * work any more, whatever its age, and is removed.
 *
 * Lock order: a project's change lock (generations.h) first, then the cache
 * lock.  Nothing waits for a project's change lock while holding the cache
 * lock: gc waits only for the project it runs in, before the cache lock, and
 * only tries the others' (LOCK_NB).  It prunes generations and removes
 * orphans under the projects' locks, before it takes the cache lock.
 *
 * How it is made: OFD write locks (fcntl F_OFD_SETLK) on a file of mode
 * 0200.  Byte 0 is a gate; a holder takes the gate, then one byte of its own
 * at a random offset above it, and lets the gate go; gc takes the gate, then
 * every byte above it.  Holding the gate, gc lets no new holder in while it
 * waits for those inside, so a stream of changes cannot starve it; it waits
 * a bounded time, then fails having removed nothing from the cache.  Only
 * write locks are used, and only on a file nobody can read: code pylock runs
 * in a sandbox sees the state root read-only, so it can open the file
 * neither for writing (write locks) nor for reading (read locks, which would
 * conflict too), and cannot hold the lock to stall every change of the user
 * or gc.
 *
 * Orphans.  A project's state (STATE/projects/<id>/) is an orphan when its
 * `path` names a directory that no longer exists, no longer holds
 * pylock.toml, or is now reached through another canonical path (so another
 * state), or is one pylock would refuse (project.h: another user's, or
 * writable by others, as a deleted project made again in /tmp by someone
 * else is).  gc marks it (the file `orphaned`, holding the time it first saw
 * it so) and removes it, generations and all, once it has been an orphan for
 * the grace period, unless its change lock is held or a generation of it is
 * mounted.  A project found again loses its mark.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_GC_H
#define PYLOCK_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"
#include "state.h"

#define PL_GC_CACHE_LOCK "lock"      /* in STATE/cache */
#define PL_GC_ORPHAN_MARK "orphaned" /* in STATE/projects/<id> */
#define PL_GC_ORPHAN_DAYS_DEFAULT 30 /* the grace period */
#define PL_GC_ORPHAN_DAYS_MAX 36500  /* a hundred years */
#define PL_GC_WAIT_DEFAULT 60        /* seconds gc waits for the cache lock */
#define PL_GC_WAIT_MAX 86400

/* Take the cache lock shared, for a change or a resolution, waiting (and
 * saying so through progress, which may be NULL) while gc holds it.
 * Returns the fd that holds it: close it to let go. */
int pl_gc_hold_cache(const struct pl_state *s, void (*progress)(void *ctx, const char *msg),
                     void *ctx, pl_error_t *err);

/* Whether one line of /proc/locks is a holder of the cache lock file with
 * device dev_major:dev_minor and inode ino: an OFD write lock (not a
 * waiter's) on a byte above the gate.  gc counts them to say whom it waits for. */
bool pl_gc_locks_line_holds(const char *line, unsigned dev_major, unsigned dev_minor,
                            unsigned long long ino);

struct pl_gc_opts {
  const char *project;   /* canonical project directory whose generations to prune
                            after waiting for its change lock, or NULL */
  unsigned orphan_days;  /* grace period; 0: remove orphans now */
  unsigned wait_seconds; /* how long to wait for the cache lock */
  void (*progress)(void *ctx, const char *msg);
  void *progress_ctx;
  const char *command; /* named in the hint when the cache stays busy; NULL: "pylock gc" */
};

struct pl_gc_result {
  size_t generations;        /* removed: neither current, previous nor in use */
  size_t generations_in_use; /* kept: a running environment has them mounted */
  size_t trees, wheels;      /* removed from the cache: no kept generation uses them */
  size_t trees_kept;         /* cache clean: trees left in the cache, a generation uses them */
  size_t leftovers;          /* removed: partial trees, temporary wheels, quarantine */
  size_t orphans;            /* orphan projects removed */
  size_t orphans_waiting;    /* orphan projects marked, within their grace period */
  size_t busy;               /* projects whose change lock was held: left as they are */
  bool cache_kept;           /* a generation without a manifest kept the whole cache */
  uint64_t bytes;            /* freed */
};

/* Collect garbage in the state root s (see above). */
int pl_gc_run(const struct pl_state *s, const struct pl_gc_opts *o, struct pl_gc_result *res,
              pl_error_t *err);

/* Empty the shared cache (STATE/cache) of all that no environment uses:
 * every wheel, every leftover (partial trees, temporary wheels, quarantine,
 * anything else there), and every tree no generation names: the live set
 * above, read from the manifests of every complete generation of every
 * project, under the cache lock held as gc holds it (so waiting up to
 * o->wait_seconds for syncs, then failing having removed nothing).  It
 * removes no generation, so every one left in the state root counts, old
 * ones too: they and then their trees go with pylock gc.  A generation
 * without a manifest that parses keeps every tree (cache_kept, said
 * through o->progress, as gc does); wheels and leftovers still go.  The
 * cache is sealed read-only; this is how to empty it.  Environments keep
 * working: their generations' package directories are hard links of the
 * trees' files or symlinks into the trees (envgen.h), and the trees stay;
 * the next change fetches the wheels it needs again.  It takes no
 * project's change lock (it removes nothing of a project's; a change holds
 * the cache lock until its generation is complete).  Never follows a
 * symlink, never leaves the cache's mount.  res counts trees, wheels and
 * (leftovers) anything else removed, the trees kept (trees_kept), and the
 * bytes freed. */
int pl_gc_clean_cache(const struct pl_state *s, const struct pl_gc_opts *o,
                      struct pl_gc_result *res, pl_error_t *err);

/* ---- the live set (exposed for tests) ------------------------------------ */

struct pl_gc_live {
  char **trees; /* tree keys (cache.h), sorted and unique after pl_gc_live_sort */
  size_t ntrees, cap;
  char *keep_all; /* not NULL: why nothing in the cache may go */
};

/* The trees a generation manifest's text names; `what` names it.  A
 * manifest that does not parse sets keep_all (an error only when out of
 * memory). */
int pl_gc_live_add_manifest(struct pl_gc_live *l, const char *text, size_t len, const char *what,
                            pl_error_t *err);

/* Every complete generation of the project whose state is open at fd;
 * `shown` names it.  A generation without a manifest sets keep_all. */
int pl_gc_live_add_project(struct pl_gc_live *l, int project_fd, const char *shown,
                           pl_error_t *err);

void pl_gc_live_sort(struct pl_gc_live *l);
bool pl_gc_live_has_tree(const struct pl_gc_live *l, const char *key);
bool pl_gc_live_has_wheel(const struct pl_gc_live *l, const char *sha256);
void pl_gc_live_free(struct pl_gc_live *l);

#endif
