/* pylock — what tuf.c shares with tuf_delegation.c, and nothing else may use. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TUF_PRIVATE_H
#define PYLOCK_TUF_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dyn_jansson.h"
#include "error.h"
#include "tuf.h"

/* One verified (or trusted-from-state) metadata file. */
struct md {
  json_t *doc;  /* the whole envelope */
  json_t *body; /* its "signed" object (borrowed from doc) */
  char *raw;    /* the bytes as fetched, persisted as they are */
  size_t rawlen;
  int64_t version;
  time_t expires;
  bool kept; /* raw is what the state directory holds already */
};

/* A delegated targets role, verified with the keys its delegator lists. */
struct tuf_role {
  char *name;
  char *delegator; /* whose delegation it was verified against */
  struct md md;
  struct pl_tuf_target *targets; /* its entries, sorted by name */
  size_t ntargets;
  bool unsaved; /* fetched, not yet kept in the state directory */
};

/* The delegations of one targets role, indexed by hash prefix when they
 * are regular hashed bins (tuf_delegation.c). */
struct tuf_prefix_index;

/* The snapshot a past update verified, as its record in the state
 * directory describes it (tuf_snapshot.c): read at each update so that an
 * unchanged snapshot is neither parsed nor verified again. */
struct tuf_kept_snapshot {
  bool ok;                         /* the record was read whole, and names the root trusted now */
  bool lazy;                       /* md[PL_TUF_SNAPSHOT] is that snapshot, its body not loaded */
  char root_sha256[PL_SHA256_HEX]; /* of the root trusted now */
  char sha256[PL_SHA256_HEX], sha512[PL_SHA512_HEX];
  uint64_t length;
  int64_t version;
  time_t expires;
  char file_id[96]; /* the kept file as written: inode, size, mtime, ctime */
  char index_sha256[PL_SHA256_HEX];
  uint64_t index_length;
  json_t *targets_meta; /* what it lists for targets.json */
  char *index;          /* the index, once a lookup loaded and checked it */
  size_t *lines;        /* offset of each line of index */
  size_t nlines;
};

struct pl_tuf {
  struct pl_fetcher *f;
  time_t now;
  struct md md[PL_TUF_NROLES];
  bool consistent;
  struct pl_tuf_target *targets; /* top-level targets, or every target once all_loaded */
  size_t ntargets;
  char *state_dir;         /* delegated roles are kept under state_dir/delegated */
  bool delegates;          /* top-level targets has delegations */
  bool all_loaded;         /* targets lists what every lookup would find */
  bool keep_roles_now;     /* the update passed: keep each role as it is verified */
  bool walk_staging;       /* pl_tuf_walk in an update: fresh roles are staged in the state
                              directory, kept only once the update passed (tuf_delegated_keep) */
  struct tuf_role **roles; /* delegated roles verified in this session */
  size_t nroles, caproles;
  size_t search_steps;              /* delegation entries the searches looked at */
  size_t search_budget;             /* at most; 0: PL_TUF_MAX_SEARCH_STEPS */
  struct tuf_prefix_index **pindex; /* one per delegations object searched */
  size_t npindex;
  struct tuf_kept_snapshot ks;
};

int tuf_get_int(const json_t *obj, const char *key, int64_t *out);
int tuf_md_parse(char *raw, size_t len, const char *file, const char *type, struct md *m,
                 pl_error_t *err);
void tuf_md_clear(struct md *m);
/* m is signed by a threshold of the keys r (an object with "keyids" and
 * "threshold", for role `role`) names, looked up in `keys`. */
int tuf_verify_sigs(const json_t *keys, const json_t *r, const char *role, const struct md *m,
                    const char *file, pl_error_t *err);
/* m is signed by a threshold of the keys the trusted root assigns to role. */
int tuf_verify_role(const json_t *root_body, const char *role, const struct md *m, const char *file,
                    pl_error_t *err);
/* The role `role` at the version (and bytes) the meta of `parent` lists:
 * the kept copy when it is that one, else fetched and verified; *file
 * receives the name it was fetched under. */
int tuf_fetch_listed_role(struct pl_tuf *t, enum pl_tuf_role parent, const char *role, size_t max,
                          struct md *m, char file[48], pl_error_t *err);
int tuf_check_expiry(const struct md *m, const char *file, time_t now, pl_error_t *err);
int tuf_check_meta_bytes(const json_t *meta, const char *file, const char *from, const char *raw,
                         size_t len, pl_error_t *err);
int tuf_fetch_meta(struct pl_tuf *t, const char *file, const json_t *meta, const char *from,
                   size_t max, char **raw, size_t *len, pl_error_t *err);
/* The entries of a "targets" object, checked and sorted by name (names
 * borrowed from tg). */
int tuf_index_targets(const json_t *tg, const char *file, struct pl_tuf_target **out, size_t *n,
                      pl_error_t *err);
int tuf_cmp_target(const void *a, const void *b);

/* tuf_snapshot.c: note the root trusted now, and read the record of the
 * snapshot kept in statefd (when not -1), usable (t->ks.ok) when a past
 * update verified it under that root. */
int tuf_ks_read(struct pl_tuf *t, int statefd, pl_error_t *err);
/* Use the kept snapshot when it is the one `meta` (timestamp's entry for
 * snapshot.json, version want) names and its kept bytes are those the
 * record names: 1 when used (its body left unparsed), 0 when not usable,
 * -1 when it has expired. */
int tuf_ks_use(struct pl_tuf *t, int statefd, const json_t *meta, int64_t want, pl_error_t *err);
/* Record the snapshot this update verified (md[PL_TUF_SNAPSHOT], parsed)
 * and write its index; a cache, so a failure only costs a parse later. */
void tuf_ks_write(struct pl_tuf *t, int statefd);
void tuf_ks_free(struct pl_tuf *t);
/* The entry snapshot lists for file, a new reference (*entry NULL when it
 * lists none): from the parsed body, or from the kept index. */
int tuf_snapshot_meta(struct pl_tuf *t, const char *file, json_t **entry, pl_error_t *err);

/* tuf_delegation.c: look name up through the delegations (top-level targets
 * first); ENOENT when no role trusted for it lists it. */
int tuf_delegated_find(struct pl_tuf *t, const char *name, const struct pl_tuf_target **out,
                       pl_error_t *err);
/* pl_tuf_prefetch for delegated roles. */
int tuf_delegated_prefetch(struct pl_tuf *t, const char *const *names, size_t n, pl_error_t *err);
/* Verify every delegated role and make t->targets list every target a
 * lookup would find. */
int tuf_delegated_load_all(struct pl_tuf *t, pl_error_t *err);
void tuf_delegated_free(struct pl_tuf *t);
/* The update passed: keep the roles it verified, and from now on each as
 * a lookup verifies it. */
void tuf_delegated_keep(struct pl_tuf *t);

#endif
