/* pylock — TUF 1.0 client: the only way registry bytes become trusted.
 *
 * pl_tuf_update() runs the client workflow of the TUF specification (5.1-5.6)
 * against a registry laid out as man/pylock-registry.5 describes:
 *   root.json chain (N+1.root.json ..., each signed by a threshold of the old
 *   and of its own root keys, versions strictly consecutive), then
 *   timestamp.json -> snapshot.json -> targets.json, each checked for _type,
 *   spec_version 1.x, signature threshold over its canonical `signed`, version
 *   (no rollback below what the state directory last saw; exactly what the
 *   referring role lists), expiry against one clock reading, and length and
 *   hashes where the referring role gives them, checked before the bytes are
 *   parsed (unlisted lengths are capped, see PL_TUF_UNLISTED_MAX).
 * Delegated targets roles (5.6.7) are searched pre-order depth-first from
 * the top-level targets (tuf_delegation.c): each verified with the keys and
 * threshold of the delegation that names it, at the version snapshot lists,
 * trusted only for the paths or path hash prefixes (or TAP 15 succinct hash
 * bins) delegated to it; `terminating` honoured; loops and searches of more
 * than PL_TUF_MAX_ROLES_VISITED roles refused.  Verified roles are kept in
 * the state directory and fetched again only when snapshot lists another
 * version.
 * Nothing is written to the state directory unless the whole update passes.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TUF_H
#define PYLOCK_TUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "sha.h"
#include "error.h"

/* Size caps on metadata.  When the referring role lists a length (signed,
 * and checked with the listed hashes before anything is parsed), at most
 * that many bytes are read, and the listed length may go up to the role's
 * _MAX.  Metadata whose length no role lists is parsed before its signature
 * can be checked, and hostile JSON costs up to ~50 bytes of memory per byte
 * to parse: it is read only up to PL_TUF_UNLISTED_MAX (root and timestamp,
 * which no role lists, up to their own smaller caps). */
#define PL_TUF_ROOT_MAX ((size_t)512 << 10)
#define PL_TUF_TIMESTAMP_MAX ((size_t)64 << 10)
#define PL_TUF_SNAPSHOT_MAX ((size_t)4 << 20)
#define PL_TUF_TARGETS_MAX ((size_t)32 << 20)
#define PL_TUF_UNLISTED_MAX ((size_t)2 << 20)
/* Delegations: a role name's longest length; the roles one delegations
 * object may list; the roles one target search visits (python-tuf's
 * max_delegations); the delegated roles one client loads in all. */
#define PL_TUF_ROLE_NAME_MAX 128
#define PL_TUF_MAX_DELEGATIONS 65536
#define PL_TUF_MAX_ROLES_VISITED 32
#define PL_TUF_MAX_ROLES_TOTAL 70000
/* Delegation entries (of "roles" lists) one client reads over all its
 * searches, a search reading every entry of each role it visits: about 4 s
 * of work, plus PL_TUF_SEARCH_STEPS_PER_TARGET for each target loaded. */
#define PL_TUF_MAX_SEARCH_STEPS ((size_t)8 << 20)
#define PL_TUF_SEARCH_STEPS_PER_TARGET 32
/* Root rotations followed in one update (as python-tuf). */
#define PL_TUF_MAX_ROOT_ROTATIONS 256

enum pl_tuf_role { PL_TUF_ROOT, PL_TUF_TIMESTAMP, PL_TUF_SNAPSHOT, PL_TUF_TARGETS, PL_TUF_NROLES };
extern const char *const pl_tuf_role_names[PL_TUF_NROLES];

struct pl_tuf_options {
  const char *url;       /* registry: directory, file:///DIR or http(s)://... */
  const char *root_path; /* the trusted root this registry is anchored to */
  const char *state_dir; /* per-registry state (last versions seen); NULL keeps none */
  time_t now;            /* the clock for expiry; 0 means time(NULL) */
  const char *ca_bundle; /* for https: NULL for the system's store (pl_config_ca_bundle) */
  bool offline; /* no fetch: the metadata state_dir kept from the last update, verified again
                   against the trusted root, and refused once any of it has expired */
  /* Delegated targets roles: false verifies every one during the update, so
   * pl_tuf_target_count/at list every target; true verifies (and fetches,
   * unless state_dir holds the version snapshot names) only the roles a
   * pl_tuf_find_target() search visits, and count/at list only top-level
   * targets. */
  bool lazy_delegations;
  /* Streaming (registry verify): when set, the update walks every role
   * instead (pl_tuf_walk; lazy_delegations is then implied), staging the
   * roles it fetches in state_dir, kept there only once the update passed. */
  const struct pl_tuf_visitor *walk;
};

struct pl_tuf_target {
  const char *name; /* target path, e.g. "foo-1.0-py3-none-any.whl" */
  uint64_t length;
  char sha256[PL_SHA256_HEX]; /* "" if the target lists none */
  char sha512[PL_SHA512_HEX]; /* "" if the target lists none */
};

struct pl_tuf;

/* What pl_tuf_walk shows of each role it verifies. */
struct pl_tuf_visitor {
  /* Each role once verified, pre-order ("targets" first, index 0), with
   * how many roles the top-level targets delegates to (a hint for
   * progress).  May be NULL. */
  void (*role)(void *ctx, const char *role, size_t index, size_t hint);
  /* Each entry the role lists: trusted when a lookup of its name finds
   * this very entry; otherwise answered_by is the role a lookup trusts
   * for it ("" when none: the entry lies outside what was delegated to
   * the role).  t may be used for lookups and fetches; a failure stops
   * the walk. */
  int (*target)(void *ctx, struct pl_tuf *t, const char *role, const struct pl_tuf_target *e,
                bool trusted, const char *answered_by, pl_error_t *err);
  void *ctx;
};

/* Run the client workflow; on success *out holds the verified metadata. */
int pl_tuf_update(const struct pl_tuf_options *o, struct pl_tuf **out, pl_error_t *err);
void pl_tuf_free(struct pl_tuf *t);

/* When the first of the verified roles (delegated ones verified so far
 * included) expires. */
time_t pl_tuf_expires(const struct pl_tuf *t);

/* Version and expiry of a verified role. */
void pl_tuf_role_info(const struct pl_tuf *t, enum pl_tuf_role r, int64_t *version,
                      time_t *expires);

/* After a lazy update: verify every delegated role now, so that
 * pl_tuf_target_count/at list every target (a no-op when they do). */
int pl_tuf_load_all(struct pl_tuf *t, pl_error_t *err);

/* Verify every delegated role, one at a time, pre-order depth-first as a
 * search would, each freed once its entries were visited: memory holds the
 * roles on the path from the top-level targets (at most
 * PL_TUF_MAX_ROLES_VISITED, deeper roles are refused: no search reaches
 * them) and what lookups load, freed after each role; never every target.
 * A role reached again is not visited again (loops end); at most
 * PL_TUF_MAX_ROLES_TOTAL roles. */
int pl_tuf_walk(struct pl_tuf *t, const struct pl_tuf_visitor *v, pl_error_t *err);

/* Verified targets, sorted by name. */
size_t pl_tuf_target_count(const struct pl_tuf *t);
const struct pl_tuf_target *pl_tuf_target_at(const struct pl_tuf *t, size_t i);
/* The signed entry for name; fails with ENOENT naming the registry. */
int pl_tuf_find_target(struct pl_tuf *t, const char *name, const struct pl_tuf_target **out,
                       pl_error_t *err);

/* Before looking names up: fetch at once (over HTTP in parallel) the
 * delegated roles (hashed bins) their lookups would read first and the
 * state does not keep, each verified as a lookup verifies it, so that the
 * lookups need no request of their own.  Best effort: a role that fails to
 * arrive or to verify is left to its lookup, which fetches it again and
 * says why.  Fails only when out of memory. */
int pl_tuf_prefetch(struct pl_tuf *t, const char *const *names, size_t n, pl_error_t *err);

/* Download target `name` into fd (a fresh, empty, writable file) and check
 * its length and sha256 (and sha512 if signed).  On any failure fd is
 * truncated to 0 bytes: its content is only ever the verified target. */
int pl_tuf_fetch_target(struct pl_tuf *t, const char *name, int fd, pl_error_t *err);

/* pl_tuf_fetch_target for n targets at once (names[i] into fds[i]), over
 * HTTP in parallel (pl_fetch_many).  Each is checked against its signed
 * length and hashes; on any failure every fd is truncated to 0 bytes and
 * *failed is the index of the target that failed. */
int pl_tuf_fetch_targets(struct pl_tuf *t, const char *const *names, const int *fds, size_t n,
                         size_t *failed, pl_error_t *err);
/* The same into memory; *buf is returned only when verified. */
int pl_tuf_fetch_target_mem(struct pl_tuf *t, const char *name, char **buf, size_t *len,
                            pl_error_t *err);
/* Check a local copy (e.g. from a cache) read from fd at offset 0. */
int pl_tuf_verify_target_fd(struct pl_tuf *t, const char *name, int fd, pl_error_t *err);

/* Check that buf is a TUF root signed by a threshold of its own root keys
 * (what `trust add` accepts).  Fills version and expiry; expiry is not
 * judged here (the client judges the newest root after rotation). */
int pl_tuf_check_root(const char *buf, size_t len, const char *what, int64_t *version,
                      time_t *expires, pl_error_t *err);

/* TUF time stamps: "YYYY-MM-DDTHH:MM:SSZ". */
int pl_tuf_parse_time(const char *s, time_t *out);
void pl_tuf_format_time(time_t t, char out[21]);

#endif
