/* pylock — writing TUF metadata: build `signed` bodies, sign envelopes.
 * Used by the registry writer and by tests that need hostile metadata.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TUF_META_H
#define PYLOCK_TUF_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dyn_jansson.h"
#include "ed25519.h"
#include "error.h"

#define PL_TUF_SPEC_VERSION "1.0.31"

/* New `signed` bodies (new references; NULL when out of memory).  A root has
 * all four roles with no keys and threshold 1; consistent_snapshot false. */
json_t *pl_tuf_new_root(int64_t version, time_t expires);
json_t *pl_tuf_new_targets(int64_t version, time_t expires);
/* snapshot meta {"targets.json": {"version", and "length"+"hashes"
 * ({"sha256"}) of targets_bytes when not NULL}} */
json_t *pl_tuf_new_snapshot(int64_t version, time_t expires, int64_t targets_version,
                            const char *targets_bytes, size_t targets_len, pl_error_t *err);
/* timestamp meta {"snapshot.json": {"version", and "length"+"hashes"
 * ({"sha256"}) of snapshot_bytes when not NULL}} */
json_t *pl_tuf_new_timestamp(int64_t version, time_t expires, int64_t snapshot_version,
                             const char *snapshot_bytes, size_t snapshot_len, pl_error_t *err);

/* Set version / expires of any body. */
void pl_tuf_set_version(json_t *body, int64_t version);
void pl_tuf_set_expires(json_t *body, time_t expires);
int64_t pl_tuf_get_version(const json_t *body);

/* Root editing: list key k for role (adds it to "keys"), drop keyid from a
 * role (and from "keys" when no role uses it any more), set a threshold. */
int pl_tuf_root_add_key(json_t *root, const char *role, const struct pl_key *k, pl_error_t *err);
void pl_tuf_root_remove_key(json_t *root, const char *role, const char *keyid);
void pl_tuf_root_set_threshold(json_t *root, const char *role, int64_t threshold);
/* True if keyid is listed for role; threshold of role (0 if none). */
int pl_tuf_root_has_key(const json_t *root, const char *role, const char *keyid);
int64_t pl_tuf_root_threshold(const json_t *root, const char *role);

/* Add or replace a target entry {"length", "hashes": {"sha256"}}. */
int pl_tuf_targets_add(json_t *targets, const char *name, uint64_t length, const char *sha256,
                       pl_error_t *err);

/* Delegate from a targets body to role `name`, held by keys (public parts
 * suffice) with threshold, for the paths ("paths": fnmatch patterns) or
 * path hash prefixes ("path_hash_prefixes") given. */
int pl_tuf_delegate(json_t *targets, const char *name, const struct pl_key *const *keys,
                    size_t nkeys, int64_t threshold, bool terminating, const char *pattern_kind,
                    const char *const *patterns, size_t npatterns, pl_error_t *err);
/* Delegate every path, by TAP 15 succinct hash bins, to 2^bit_length roles
 * NAME_PREFIX-BIN held by the same keys. */
int pl_tuf_delegate_succinct(json_t *targets, const struct pl_key *const *keys, size_t nkeys,
                             int64_t threshold, unsigned bit_length, const char *name_prefix,
                             pl_error_t *err);
/* The succinct bin of path (UINT32_MAX on error), and its role's name. */
uint32_t pl_tuf_succinct_bin(const char *path, unsigned bit_length, pl_error_t *err);
void pl_tuf_succinct_name(const char *name_prefix, unsigned bit_length, uint32_t bin, char *out,
                          size_t cap);
/* List (or replace) `file` in a snapshot or timestamp body's meta. */
int pl_tuf_meta_set(json_t *body, const char *file, int64_t version, const char *bytes, size_t len,
                    pl_error_t *err);

/* Sign body with each of keys (private) and render the envelope
 * {"signatures":[...],"signed":body} as indented JSON with a final newline. */
int pl_tuf_sign(const json_t *body, const struct pl_key *const *keys, size_t nkeys, char **out,
                size_t *len, pl_error_t *err);

/* Check that buf (TUF metadata of `type`, named `what`) is signed by a
 * threshold of the keys `role` (an object with "keyids" and "threshold")
 * names, looked up in `keys` (a root's or a delegation's key table); and,
 * when meta (the entry the referring role `from` lists for it) is given,
 * that its length, hashes and version are those listed.  Expiry is not
 * judged: a publisher checks what it is about to re-sign. */
int pl_tuf_check_signed(const char *buf, size_t len, const char *what, const char *type,
                        const json_t *keys, const json_t *role, const json_t *meta,
                        const char *from, pl_error_t *err);

#endif
