/* pylock — writing a registry: a directory of TUF metadata and targets that
 * any static web server, object store or file share can publish.
 *
 * Layout (man/pylock-registry.5):
 *   DIR/root.json, DIR/<N>.root.json   every root version ever signed
 *   DIR/timestamp.json, DIR/snapshot.json, DIR/targets.json
 *   DIR/targets/<wheel>.whl            target "<wheel>.whl"
 *   DIR/targets/<wheel>.whl.metadata   target "<wheel>.whl.metadata" (PEP 658)
 * consistent_snapshot is false: metadata and targets keep their plain names.
 * With hashed bins (init's opts->bins), consistent_snapshot is true:
 *   DIR/V.snapshot.json, DIR/V.targets.json (delegating by TAP 15 succinct
 *   roles), DIR/V.bins-HEX.json, DIR/targets/SHA256.NAME
 * and add signs again only the bins its targets fall in.
 * With per-project index targets (init's opts->project_index, or
 * pl_registry_index on an existing registry):
 *   DIR/targets/simple/index-layout.json    the layout marker
 *   DIR/targets/simple/<project>/index.json PEP 691 page of each project
 * (SHA256.NAME with consistent snapshots); add rewrites the page of each
 * project it touches, and nothing proportional to the registry.
 *
 * DIR and DIR/targets must be the caller's and writable by nobody else; each
 * is opened once without following a symlink, and every read and write is
 * relative to those handles.  A change is staged in full (every file written
 * under a temporary name beside its final one) and published only when all
 * of it is ready, by renames: targets before the metadata that lists them,
 * root before the roles it keys.
 *
 * Nothing is signed as it stands on disk unless it is what was signed: the
 * directory may be written by others (a sandbox of a project that holds it,
 * the object store it is synced from).  Every role document a change starts
 * from is checked first, as a client checks it (signed by a threshold of
 * its role's keys, at the version and with the hashes the referring role
 * lists), root against the root pylock last signed or accepted for DIR
 * (kept in STATE/published/, lib/state.h, out of every sandbox's reach);
 * one that changed since it was signed fails the change before anything is
 * written.  Only sign takes hand edits, and lists them (pl_registry_sign).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_REGISTRY_H
#define PYLOCK_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ed25519.h"
#include "error.h"

#define PL_REGISTRY_EXPIRES_DAYS 30 /* timestamp, snapshot, targets */
#define PL_REGISTRY_ROOT_EXPIRES_DAYS 365
#define PL_REGISTRY_BINS_MAX 65536
#define PL_REGISTRY_BIN_PREFIX "bins"
#define PL_REGISTRY_WHEEL_MAX ((uint64_t)4 << 30)
/* Longest wheel file name: its target NAME.metadata and the temporary file
 * beside it (".NAME.metadata.tmp" and 16 hex digits) must fit NAME_MAX 255. */
#define PL_REGISTRY_WHEEL_NAME_MAX (255 - 30)

/* What sign found changed by hand in a targets role since pylock signed it,
 * or what withdraw removes. */
enum pl_registry_edit {
  PL_REGISTRY_EDIT_REMOVED,   /* a target no longer listed */
  PL_REGISTRY_EDIT_ADDED,     /* a target pylock did not sign (or has no record of) */
  PL_REGISTRY_EDIT_CHANGED,   /* a target whose length or hashes changed, or other fields */
  PL_REGISTRY_EDIT_WITHDRAWN, /* withdraw: a target it removes */
};

struct pl_registry_opts {
  const struct pl_key *keys; /* private keys to sign with */
  size_t nkeys;
  /* init only: the keys that hold the online roles (timestamp, snapshot and
   * the hashed bins), as PEP 458 advises; none: keys hold every role. */
  const struct pl_key *online_keys;
  size_t nonline_keys;
  unsigned bins;         /* init only: delegate targets to this many hashed bins (a power of two,
                            2..PL_REGISTRY_BINS_MAX; 0: one targets.json) */
  bool project_index;    /* init only: publish per-project index targets (lib/projindex.h),
                            which every later add keeps current (the CLI's default) */
  unsigned threshold;    /* init: signatures each role needs (0: 1) */
  unsigned expires_days; /* timestamp/snapshot/targets (0: PL_REGISTRY_EXPIRES_DAYS);
                            root gets at least PL_REGISTRY_ROOT_EXPIRES_DAYS */
  time_t now;            /* 0: time(NULL) */
  /* The files the private keys were read from: each is refused when it lies
   * inside DIR (or inside any registry), since publishing the directory
   * would publish the key. */
  const char *const *key_files;
  size_t nkey_files;
  /* add, index, withdraw, sign: the root to anchor to when pylock has no
   * record of signing this registry here (the bytes of the maintainer's own
   * copy, and its name for messages); root.json must be it or a rotation
   * from it.  NULL: with no record, root.json must be signed by one of the
   * keys given.  A record, when there is one, is the anchor. */
  const char *anchor_root;
  size_t anchor_root_len;
  const char *anchor_root_name;
  /* add only: called once the add succeeded, for each wheel of it that
   * installs startup hooks (pl_wheel_startup_hook: .pth files,
   * sitecustomize): its file name and theirs, sorted.  May be NULL. */
  void (*startup_hooks)(void *ctx, const char *wheel, char *const *hooks, size_t n);
  /* called once when another publisher holds the registry, before waiting
   * for it (one change at a time).  May be NULL. */
  void (*waiting)(void *ctx, const char *dir);
  /* called for each temporary file (pl_registry_is_temp_name) that a
   * publisher which did not finish (killed, crashed) left in the registry,
   * once the next publisher, holding the registry, has removed it: its
   * path relative to dir, and that publisher's pid (0: unknown).  May be NULL. */
  void (*swept)(void *ctx, const char *dir, const char *name, long pid);
  /* sign and withdraw: called for each target they change, before
   * anything is written (with the file that lists it; target NULL for a
   * change to anything else of that file, such as its delegations). */
  void (*edit)(void *ctx, const char *file, enum pl_registry_edit kind, const char *target);
  void *ctx;
  /* sign only: */
  bool accept_edits; /* sign targets added or changed by hand (listed through edit) */
  const struct pl_key *add_root_keys; /* keys to add to the root role (private: they sign) */
  size_t nadd_root_keys;
  const char *const *remove_root_keyids; /* keyids to drop from the root role */
  size_t nremove_root_keyids;
  bool renew_root; /* sign a new root version even without key changes */
};

/* Whether name is one of the publisher's temporary names: ".pylock-tmp-"
 * and 16 lowercase hex digits, nothing else.  Every file a publisher writes
 * is written under such a name and renamed; the next publisher removes those
 * a dead one left, and nothing else (the served directory may hold files of
 * other tools). */
#define PL_REGISTRY_TEMP_PREFIX ".pylock-tmp-"
bool pl_registry_is_temp_name(const char *name);

/* Create DIR (mode 0755, when missing) and DIR/targets with root version 1
 * (root.json, 1.root.json) and empty targets, snapshot and timestamp, all
 * roles held by opts->keys.  Refuses a directory that already holds
 * root.json, and one that is not the caller's alone. */
int pl_registry_init(const char *dir, const struct pl_registry_opts *opts, pl_error_t *err);

/* Verify each wheel as a client would (pl_wheel_verify without the tag
 * check: a safe zip, RECORD, WHEEL, METADATA consistent with its filename),
 * copy it to DIR/targets/, add it and its METADATA (as <wheel>.metadata) as
 * targets, and re-sign targets, snapshot and timestamp with bumped versions.
 * Every name is checked first, then every wheel staged and verified, and
 * nothing is published unless all passed: a failure leaves the registry
 * byte for byte as it was.  Adding the same bytes again is a no-op;
 * different bytes under a published name fail. */
int pl_registry_add(const char *dir, const struct pl_registry_opts *o, const char *const *wheels,
                    size_t nwheels, pl_error_t *err);

/* What pl_registry_index did. */
struct pl_registry_index_stats {
  size_t pages_written; /* new or changed pages */
  size_t pages_removed; /* pages of projects without files, withdrawn */
  size_t bins_signed;
  bool already; /* the registry published pages before (the layout marker) */
};

/* Make the registry publish per-project index targets from now on (as
 * init's opts->project_index; every later add keeps them current): write
 * the page of every project from its signed file targets (Requires-Python
 * from each signed .metadata in DIR/targets), withdraw pages of projects
 * without files, add the layout marker, and re-sign only the roles that
 * list a changed page (those bins, or targets), snapshot and timestamp;
 * nothing when every page is current already.  Streams: the targets are
 * read one bin at a time and spilled to temporary files by project, so
 * memory stays bounded whatever the registry's size.  New files are
 * written under names no published metadata lists yet; everything a
 * client reads changes only at the publication, as for add. */
int pl_registry_index(const char *dir, const struct pl_registry_opts *opts,
                      struct pl_registry_index_stats *stats, pl_error_t *err);

/* Re-sign timestamp, snapshot and targets with bumped versions and new
 * expiry; and root (N+1, signed by the old and the new root keys) when keys
 * change, renew_root is set, or root would expire before the others.
 * A targets role (or bin) edited by hand since pylock signed it is compared
 * with what pylock last signed of it (the record in the state root): each
 * target removed, added or changed is said through opts->edit; additions
 * and changes are refused unless opts->accept_edits (and without a record
 * every target of it counts as added). */
int pl_registry_sign(const char *dir, const struct pl_registry_opts *opts, pl_error_t *err);

/* Withdraw wheels: each spec is a wheel file name (or a path to one: its
 * last component) or NAME==VERSION (every wheel of that release).  Removes
 * each wheel's target and its .metadata target, drops it from its
 * project's page (withdrawing a page left empty), re-signs what lists them,
 * snapshot and timestamp, and then removes the files.  Nothing changes
 * unless every spec names a published wheel. */
int pl_registry_withdraw(const char *dir, const struct pl_registry_opts *opts,
                         const char *const *specs, size_t nspecs, pl_error_t *err);

/* Fail when keyfile (a private key, existing or about to be written) is in
 * a directory that holds a registry (a TUF root.json) or below one:
 * publishing that directory would publish the key.  Both the path as given
 * and the path it resolves to are walked up to /. */
int pl_registry_check_key_path(const char *keyfile, pl_error_t *err);

#endif
