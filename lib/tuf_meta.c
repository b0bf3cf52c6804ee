/* pylock — TUF metadata writer; see tuf_meta.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "tuf_meta.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonjson.h"
#include "cleanup.h"
#include "sha.h"
#include "tuf.h"

static json_t *new_body(const char *type, int64_t version, time_t expires) {
  json_t *b = json_object();
  if (b == NULL) return NULL;
  json_object_set_new(b, "_type", json_string(type));
  json_object_set_new(b, "spec_version", json_string(PL_TUF_SPEC_VERSION));
  pl_tuf_set_version(b, version);
  pl_tuf_set_expires(b, expires);
  return b;
}

void pl_tuf_set_version(json_t *body, int64_t version) {
  json_object_set_new(body, "version", json_integer(version));
}

void pl_tuf_set_expires(json_t *body, time_t expires) {
  char s[21];
  pl_tuf_format_time(expires, s);
  json_object_set_new(body, "expires", json_string(s));
}

int64_t pl_tuf_get_version(const json_t *body) {
  json_t *v = json_object_get(body, "version");
  return json_is_integer(v) ? json_integer_value(v) : 0;
}

json_t *pl_tuf_new_root(int64_t version, time_t expires) {
  json_t *b = new_body("root", version, expires);
  if (b == NULL) return NULL;
  json_object_set_new(b, "consistent_snapshot", json_false());
  json_object_set_new(b, "keys", json_object());
  json_t *roles = json_object();
  for (int r = 0; r < PL_TUF_NROLES; r++) {
    json_t *role = json_object();
    json_object_set_new(role, "keyids", json_array());
    json_object_set_new(role, "threshold", json_integer(1));
    json_object_set_new(roles, pl_tuf_role_names[r], role);
  }
  json_object_set_new(b, "roles", roles);
  return b;
}

json_t *pl_tuf_new_targets(int64_t version, time_t expires) {
  json_t *b = new_body("targets", version, expires);
  if (b) json_object_set_new(b, "targets", json_object());
  return b;
}

/* A meta entry {"version", and "length"+"hashes" of bytes when not NULL}:
 * what lets a client check a file before it parses it. */
static json_t *meta_file(int64_t version, const char *bytes, size_t len, pl_error_t *err) {
  json_t *e = json_object();
  if (e == NULL) {
    pl_fail(err, ENOMEM, "metadata");
    return NULL;
  }
  json_object_set_new(e, "version", json_integer(version));
  if (bytes == NULL) return e;
  char hex[PL_SHA256_HEX];
  if (pl_sha256_hex(bytes, len, hex, err) < 0) {
    pl_json_decref(e);
    return NULL;
  }
  json_t *h = json_object();
  json_object_set_new(h, "sha256", json_string(hex));
  json_object_set_new(e, "length", json_integer((json_int_t)len));
  json_object_set_new(e, "hashes", h);
  return e;
}

/* A body of type `type` whose meta lists `file` as meta_file() describes it. */
static json_t *new_meta_body(const char *type, int64_t version, time_t expires, const char *file,
                             int64_t file_version, const char *bytes, size_t len, pl_error_t *err) {
  json_t *b = new_body(type, version, expires);
  json_t *meta = json_object();
  json_t *e = b && meta ? meta_file(file_version, bytes, len, err) : NULL;
  if (e == NULL) {
    if (b == NULL || meta == NULL) pl_fail(err, ENOMEM, "%s", type);
    pl_json_decref(meta);
    pl_json_decref(b);
    return NULL;
  }
  json_object_set_new(meta, file, e);
  json_object_set_new(b, "meta", meta);
  return b;
}

json_t *pl_tuf_new_snapshot(int64_t version, time_t expires, int64_t targets_version,
                            const char *targets_bytes, size_t targets_len, pl_error_t *err) {
  return new_meta_body("snapshot", version, expires, "targets.json", targets_version, targets_bytes,
                       targets_len, err);
}

json_t *pl_tuf_new_timestamp(int64_t version, time_t expires, int64_t snapshot_version,
                             const char *snapshot_bytes, size_t snapshot_len, pl_error_t *err) {
  return new_meta_body("timestamp", version, expires, "snapshot.json", snapshot_version,
                       snapshot_bytes, snapshot_len, err);
}

static json_t *role_obj(const json_t *root, const char *role) {
  return json_object_get(json_object_get(root, "roles"), role);
}

static int array_index(const json_t *arr, const char *s) {
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const char *v = json_string_value(json_array_get(arr, i));
    if (v && strcmp(v, s) == 0) return (int)i;
  }
  return -1;
}

int pl_tuf_root_add_key(json_t *root, const char *role, const struct pl_key *k, pl_error_t *err) {
  json_t *r = role_obj(root, role);
  json_t *ids = json_object_get(r, "keyids");
  if (!json_is_array(ids)) return pl_fail(err, 0, "root has no role %s", role);
  json_t *kj = pl_key_to_json(k);
  if (kj == NULL) return pl_fail(err, ENOMEM, "add key");
  json_object_set_new(json_object_get(root, "keys"), k->keyid, kj);
  if (array_index(ids, k->keyid) < 0) json_array_append_new(ids, json_string(k->keyid));
  return 0;
}

void pl_tuf_root_remove_key(json_t *root, const char *role, const char *keyid) {
  json_t *ids = json_object_get(role_obj(root, role), "keyids");
  int i = array_index(ids, keyid);
  if (i >= 0) json_array_remove(ids, (size_t)i);
  for (int r = 0; r < PL_TUF_NROLES; r++)
    if (pl_tuf_root_has_key(root, pl_tuf_role_names[r], keyid)) return;
  json_object_del(json_object_get(root, "keys"), keyid);
}

void pl_tuf_root_set_threshold(json_t *root, const char *role, int64_t threshold) {
  json_t *r = role_obj(root, role);
  if (r) json_object_set_new(r, "threshold", json_integer(threshold));
}

int pl_tuf_root_has_key(const json_t *root, const char *role, const char *keyid) {
  return array_index(json_object_get(role_obj(root, role), "keyids"), keyid) >= 0;
}

int64_t pl_tuf_root_threshold(const json_t *root, const char *role) {
  json_t *t = json_object_get(role_obj(root, role), "threshold");
  return json_is_integer(t) ? json_integer_value(t) : 0;
}

int pl_tuf_targets_add(json_t *targets, const char *name, uint64_t length, const char *sha256,
                       pl_error_t *err) {
  json_t *tg = json_object_get(targets, "targets");
  if (!json_is_object(tg)) return pl_fail(err, 0, "targets body has no \"targets\" object");
  json_t *e = json_object(), *h = json_object();
  json_object_set_new(h, "sha256", json_string(sha256));
  json_object_set_new(e, "length", json_integer((json_int_t)length));
  json_object_set_new(e, "hashes", h);
  if (json_object_set_new(tg, name, e) < 0) return pl_fail(err, 0, "target name %s", name);
  return 0;
}

int pl_tuf_sign(const json_t *body, const struct pl_key *const *keys, size_t nkeys, char **out,
                size_t *len, pl_error_t *err) {
  cleanup_free char *canon = NULL;
  size_t clen;
  if (pl_json_canonical(body, &canon, &clen, err) < 0) return -1;
  cleanup_json json_t *env = json_object();
  json_t *sigs = json_array();
  if (env == NULL || sigs == NULL) return pl_fail(err, ENOMEM, "sign");
  json_object_set_new(env, "signatures", sigs);
  pl_json_set(env, "signed", (json_t *)body);
  for (size_t i = 0; i < nkeys; i++) {
    unsigned char sig[PL_ED25519_SIG];
    char hex[2 * PL_ED25519_SIG + 1];
    if (pl_key_sign(keys[i], canon, clen, sig, err) < 0) return -1;
    pl_hex_encode(sig, sizeof sig, hex);
    json_t *s = json_object();
    json_object_set_new(s, "keyid", json_string(keys[i]->keyid));
    json_object_set_new(s, "sig", json_string(hex));
    json_array_append_new(sigs, s);
  }
  char *text = json_dumps(env, JSON_INDENT(1) | JSON_SORT_KEYS);
  if (text == NULL) return pl_fail(err, ENOMEM, "sign");
  size_t n = strlen(text);
  char *withnl = realloc(text, n + 2);
  if (withnl == NULL) {
    free(text);
    return pl_fail(err, ENOMEM, "sign");
  }
  withnl[n] = '\n';
  withnl[n + 1] = '\0';
  *out = withnl;
  *len = n + 1;
  return 0;
}

/* The delegations object of a targets body, created empty when missing. */
static json_t *delegations_of(json_t *targets) {
  json_t *d = json_object_get(targets, "delegations");
  if (d) return d;
  d = json_object();
  json_object_set_new(d, "keys", json_object());
  json_object_set_new(targets, "delegations", d);
  return d;
}

/* A role object {"keyids": [keys...], "threshold"}, the keys added to keys_obj. */
static json_t *role_with_keys(json_t *keys_obj, const struct pl_key *const *keys, size_t nkeys,
                              int64_t threshold, pl_error_t *err) {
  json_t *role = json_object(), *ids = json_array();
  if (role == NULL || ids == NULL) {
    pl_json_decref(role);
    pl_json_decref(ids);
    pl_fail(err, ENOMEM, "delegation");
    return NULL;
  }
  for (size_t i = 0; i < nkeys; i++) {
    json_object_set_new(keys_obj, keys[i]->keyid, pl_key_to_json(keys[i]));
    json_array_append_new(ids, json_string(keys[i]->keyid));
  }
  json_object_set_new(role, "keyids", ids);
  json_object_set_new(role, "threshold", json_integer(threshold));
  return role;
}

int pl_tuf_delegate(json_t *targets, const char *name, const struct pl_key *const *keys,
                    size_t nkeys, int64_t threshold, bool terminating, const char *pattern_kind,
                    const char *const *patterns, size_t npatterns, pl_error_t *err) {
  json_t *d = delegations_of(targets);
  json_t *roles = json_object_get(d, "roles");
  if (roles == NULL) {
    roles = json_array();
    json_object_set_new(d, "roles", roles);
  }
  json_t *role = role_with_keys(json_object_get(d, "keys"), keys, nkeys, threshold, err);
  if (role == NULL) return -1;
  json_t *list = json_array();
  for (size_t i = 0; i < npatterns; i++)
    json_array_append_new(list, json_string(patterns[i]));
  json_object_set_new(role, "name", json_string(name));
  json_object_set_new(role, "terminating", json_boolean(terminating));
  json_object_set_new(role, pattern_kind, list);
  json_array_append_new(roles, role);
  return 0;
}

int pl_tuf_delegate_succinct(json_t *targets, const struct pl_key *const *keys, size_t nkeys,
                             int64_t threshold, unsigned bit_length, const char *name_prefix,
                             pl_error_t *err) {
  json_t *d = delegations_of(targets);
  json_t *role = role_with_keys(json_object_get(d, "keys"), keys, nkeys, threshold, err);
  if (role == NULL) return -1;
  json_object_set_new(role, "bit_length", json_integer(bit_length));
  json_object_set_new(role, "name_prefix", json_string(name_prefix));
  json_object_set_new(d, "succinct_roles", role);
  return 0;
}

uint32_t pl_tuf_succinct_bin(const char *path, unsigned bit_length, pl_error_t *err) {
  char hex[PL_SHA256_HEX];
  unsigned char first[4] = {0};
  char head[9];
  if (pl_sha256_hex(path, strlen(path), hex, err) < 0) return UINT32_MAX;
  snprintf(head, sizeof head, "%.8s", hex);
  pl_hex_decode(head, first, sizeof first);
  uint32_t word = (uint32_t)first[0] << 24 | (uint32_t)first[1] << 16 | (uint32_t)first[2] << 8 |
                  (uint32_t)first[3];
  return (uint32_t)((uint64_t)word >> (32 - bit_length));
}

void pl_tuf_succinct_name(const char *name_prefix, unsigned bit_length, uint32_t bin, char *out,
                          size_t cap) {
  char last[16];
  int width = snprintf(last, sizeof last, "%" PRIx64, ((uint64_t)1 << bit_length) - 1);
  snprintf(out, cap, "%s-%0*" PRIx32, name_prefix, width, bin);
}

int pl_tuf_meta_set(json_t *body, const char *file, int64_t version, const char *bytes, size_t len,
                    pl_error_t *err) {
  json_t *meta = json_object_get(body, "meta");
  if (!json_is_object(meta)) return pl_fail(err, 0, "body has no \"meta\" object");
  json_t *e = meta_file(version, bytes, len, err);
  if (e == NULL) return -1;
  json_object_set_new(meta, file, e);
  return 0;
}
