/* pylock — TUF 1.0 client workflow; see tuf.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "tuf.h"
#include "tuf_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "ed25519.h"
#include "fetch.h"
#include "file.h"
#include "tuf_private.h"

const char *const pl_tuf_role_names[PL_TUF_NROLES] = {"root", "timestamp", "snapshot", "targets"};

void tuf_md_clear(struct md *m) {
  pl_json_decref(m->doc);
  free(m->raw);
  memset(m, 0, sizeof *m);
}

static void md_move(struct md *to, struct md *from) {
  tuf_md_clear(to);
  *to = *from;
  memset(from, 0, sizeof *from);
}

static int digits(const char *s, int n) {
  int v = 0;
  for (int i = 0; i < n; i++)
    v = v * 10 + (s[i] - '0');
  return v;
}

int pl_tuf_parse_time(const char *s, time_t *out) {
  /* Strictly YYYY-MM-DDTHH:MM:SSZ: no offsets, no fractions, no guessing. */
  static const char pat[] = "dddd-dd-ddTdd:dd:ddZ";
  if (s == NULL || strlen(s) != sizeof pat - 1) return -1;
  for (size_t i = 0; pat[i]; i++) {
    if (pat[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != pat[i]) return -1;
  }
  struct tm tm = {.tm_year = digits(s, 4) - 1900,
                  .tm_mon = digits(s + 5, 2) - 1,
                  .tm_mday = digits(s + 8, 2),
                  .tm_hour = digits(s + 11, 2),
                  .tm_min = digits(s + 14, 2),
                  .tm_sec = digits(s + 17, 2)};
  if (tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
      tm.tm_sec > 60)
    return -1;
  *out = timegm(&tm);
  return 0;
}

void pl_tuf_format_time(time_t t, char out[21]) {
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int tuf_get_int(const json_t *obj, const char *key, int64_t *out) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v)) return -1;
  *out = json_integer_value(v);
  return 0;
}

/* Parse an envelope and check what needs no key: _type, spec_version,
 * version, expires. */
int tuf_md_parse(char *raw, size_t len, const char *file, const char *type, struct md *m,
                 pl_error_t *err) {
  memset(m, 0, sizeof *m);
  json_t *doc = NULL;
  if (pl_json_parse(raw, len, file, &doc, err) < 0) {
    free(raw);
    return -1;
  }
  m->doc = doc;
  m->raw = raw;
  m->rawlen = len;
  json_t *body = json_object_get(doc, "signed");
  if (!json_is_object(body) || !json_is_array(json_object_get(doc, "signatures"))) {
    tuf_md_clear(m);
    return pl_fail(err, 0, "%s: not TUF metadata (no \"signed\" object or \"signatures\" list)",
                   file);
  }
  m->body = body;
  const char *t = json_string_value(json_object_get(body, "_type"));
  if (t == NULL || strcmp(t, type) != 0) {
    pl_fail(err, 0, "%s: wrong _type: expected \"%s\", got \"%s\"", file, type, t ? t : "");
    tuf_md_clear(m);
    return -1;
  }
  const char *sv = json_string_value(json_object_get(body, "spec_version"));
  if (sv == NULL || !(sv[0] == '1' && (sv[1] == '\0' || sv[1] == '.'))) {
    pl_fail_hint(err, 0, "pylock implements TUF specification 1.x",
                 "%s: unsupported spec_version: expected 1.x, got \"%s\"", file, sv ? sv : "");
    tuf_md_clear(m);
    return -1;
  }
  if (tuf_get_int(body, "version", &m->version) < 0 || m->version < 1) {
    tuf_md_clear(m);
    return pl_fail(err, 0, "%s: version is missing or not a positive integer", file);
  }
  const char *exp = json_string_value(json_object_get(body, "expires"));
  if (pl_tuf_parse_time(exp, &m->expires) < 0) {
    pl_fail(err, 0, "%s: expires is not YYYY-MM-DDTHH:MM:SSZ: \"%s\"", file, exp ? exp : "");
    tuf_md_clear(m);
    return -1;
  }
  return 0;
}

static bool array_has_string(const json_t *arr, const char *s) {
  for (size_t i = 0; i < json_array_size(arr); i++) {
    const char *v = json_string_value(json_array_get(arr, i));
    if (v && strcmp(v, s) == 0) return true;
  }
  return false;
}

/* The heart of trust: m counts as signed by `role` only when at least
 * `threshold` distinct keys that root assigns to that role produced valid
 * signatures over the canonical form of m's "signed".  Signatures by other
 * keys, a key counted once already (even under another keyid: one key
 * listed twice must not pass a threshold of two), unknown key types and
 * malformed entries count for nothing; they do not fail the check by themselves, exactly as the TUF
 * specification and python-tuf behave. */
int tuf_verify_sigs(const json_t *keys, const json_t *r, const char *role, const struct md *m,
                    const char *file, pl_error_t *err) {
  json_t *keyids = json_object_get(r, "keyids");
  int64_t threshold = 0;
  if (!json_is_array(keyids) || !json_is_object(keys) ||
      tuf_get_int(r, "threshold", &threshold) < 0 || threshold < 1)
    return pl_fail(err, 0, "%s: the delegation to %s has no valid keyids/threshold", file, role);
  cleanup_free char *canon = NULL;
  size_t clen;
  if (pl_json_canonical(m->body, &canon, &clen, err) < 0) return pl_error_wrap(err, "%s", file);

  json_t *sigs = json_object_get(m->doc, "signatures");
  size_t nsig = json_array_size(sigs);
  cleanup_free unsigned char(*counted)[32] = calloc(nsig + 1, sizeof *counted);
  cleanup_free const char **tried = calloc(nsig + 1, sizeof *tried);
  if (counted == NULL || tried == NULL) return pl_fail(err, ENOMEM, "%s", file);
  int64_t valid = 0;
  int untrusted = 0, invalid = 0;
  size_t ntried = 0;
  for (size_t i = 0; i < nsig; i++) {
    json_t *s = json_array_get(sigs, i);
    const char *keyid = json_string_value(json_object_get(s, "keyid"));
    const char *sighex = json_string_value(json_object_get(s, "sig"));
    if (keyid == NULL || sighex == NULL) {
      invalid++;
      continue;
    }
    if (!array_has_string(keyids, keyid) || json_object_get(keys, keyid) == NULL) {
      untrusted++;
      continue;
    }
    /* One signature per keyid, the first (python-tuf refuses a keyid twice):
     * the signatures are not signed, so a mirror could otherwise repeat a
     * trusted keyid with garbage thousands of times and make every update
     * check them all (9,000 ed25519 checks, 0.4 s, in 2 MiB of targets.json).  Now
     * at most one check per key the role lists. */
    bool seen = false;
    for (size_t k = 0; k < ntried && !seen; k++)
      seen = strcmp(tried[k], keyid) == 0;
    if (seen) {
      invalid++;
      continue;
    }
    tried[ntried++] = keyid;
    struct pl_key key;
    unsigned char sig[PL_ED25519_SIG];
    pl_error_t ignored = NULL;
    if (pl_key_from_json(json_object_get(keys, keyid), &key, &ignored) < 0) {
      pl_error_free(&ignored);
      invalid++;
      continue;
    }
    bool dup = false;
    for (int64_t k = 0; k < valid; k++)
      dup = dup || memcmp(counted[k], key.pub, 32) == 0;
    if (dup) continue;
    if (!pl_hex_decode(sighex, sig, sizeof sig) ||
        pl_key_verify(key.pub, canon, clen, sig, &ignored) < 0) {
      pl_error_free(&ignored);
      invalid++;
      continue;
    }
    memcpy(counted[valid++], key.pub, 32);
  }
  if (valid < threshold)
    return pl_fail_hint(err, 0,
                        "the registry's metadata is not signed by the keys you trust: "
                        "it was tampered with, or signed with the wrong key",
                        "%s: signature threshold not met: expected %" PRId64
                        " valid signature(s) by %s keys, got %" PRId64
                        " (%d by keys not trusted for %s, %d invalid)",
                        file, threshold, role, valid, untrusted, role, invalid);
  return 0;
}

/* m is signed by a threshold of the keys root assigns to `role`. */
int tuf_verify_role(const json_t *root_body, const char *role, const struct md *m, const char *file,
                    pl_error_t *err) {
  json_t *r = json_object_get(json_object_get(root_body, "roles"), role);
  if (!json_is_object(r)) return pl_fail(err, 0, "root: no role %s", role);
  return tuf_verify_sigs(json_object_get(root_body, "keys"), r, role, m, file, err);
}

int tuf_check_expiry(const struct md *m, const char *file, time_t now, pl_error_t *err) {
  if (m->expires > now) return 0;
  char e[21], n[21];
  pl_tuf_format_time(m->expires, e);
  pl_tuf_format_time(now, n);
  return pl_fail_hint(err, 0,
                      "the registry must re-sign its metadata (pylock registry sign); until then "
                      "nothing from it is trusted",
                      "%s: expired: valid until %s, now %s", file, e, n);
}

int pl_tuf_check_root(const char *buf, size_t len, const char *what, int64_t *version,
                      time_t *expires, pl_error_t *err) {
  char *copy = malloc(len + 1);
  if (copy == NULL) return pl_fail(err, ENOMEM, "%s", what);
  memcpy(copy, buf, len);
  copy[len] = '\0';
  struct md m;
  if (tuf_md_parse(copy, len, what, "root", &m, err) < 0) return -1;
  int r = tuf_verify_role(m.body, "root", &m, what, err);
  if (r == 0) {
    if (version) *version = m.version;
    if (expires) *expires = m.expires;
  }
  tuf_md_clear(&m);
  return r;
}

int pl_tuf_check_signed(const char *buf, size_t len, const char *what, const char *type,
                        const json_t *keys, const json_t *role, const json_t *meta,
                        const char *from, pl_error_t *err) {
  char *copy = malloc(len + 1);
  if (copy == NULL) return pl_fail(err, ENOMEM, "%s", what);
  memcpy(copy, buf, len);
  copy[len] = '\0';
  struct md m;
  if (tuf_md_parse(copy, len, what, type, &m, err) < 0) return -1;
  int64_t want = 0;
  int r = json_is_object(role) ? tuf_verify_sigs(keys, role, type, &m, what, err)
                               : pl_fail(err, 0, "%s: no role holds it", what);
  if (r == 0 && meta) r = tuf_check_meta_bytes(meta, what, from, buf, len, err);
  if (r == 0 && meta && tuf_get_int(meta, "version", &want) == 0 && want != m.version)
    r = pl_fail(err, 0, "%s: version %" PRId64 ", but %s lists version %" PRId64, what, m.version,
                from, want);
  tuf_md_clear(&m);
  return r;
}

/* ---- fetching metadata with the limits the referring role sets ---- */

struct hashing {
  struct pl_sha d;
};

static int hash_sink(void *ctx, const void *data, size_t n, pl_error_t *err) {
  return pl_sha_update(&((struct hashing *)ctx)->d, data, n, err);
}

/* Compare length and the hashes a meta entry lists against bytes. */
int tuf_check_meta_bytes(const json_t *meta, const char *file, const char *from, const char *raw,
                         size_t len, pl_error_t *err) {
  int64_t want_len;
  if (tuf_get_int(meta, "length", &want_len) == 0 && (uint64_t)want_len != len)
    return pl_fail(err, 0, "%s: length mismatch: expected %" PRId64 " bytes (%s), got %zu", file,
                   want_len, from, len);
  json_t *hashes = json_object_get(meta, "hashes");
  if (hashes == NULL) return 0;
  if (!json_is_object(hashes) || json_object_size(hashes) == 0)
    return pl_fail(err, 0, "%s: %s lists an empty or malformed hashes object", file, from);
  struct hashing h;
  if (pl_sha_init(&h.d, err) < 0) return -1;
  char s256[PL_SHA256_HEX], s512[PL_SHA512_HEX];
  if (hash_sink(&h, raw, len, err) < 0) {
    pl_sha_free(&h.d);
    return -1;
  }
  if (pl_sha_final(&h.d, s256, s512, err) < 0) return -1;
  const char *w256 = json_string_value(json_object_get(hashes, "sha256"));
  const char *w512 = json_string_value(json_object_get(hashes, "sha512"));
  if (w256 == NULL && w512 == NULL)
    return pl_fail(err, 0, "%s: %s lists no sha256 or sha512 hash", file, from);
  if (w256 && strcasecmp(w256, s256) != 0)
    return pl_fail(err, 0, "%s: sha256 mismatch: expected %s (%s), got %s", file, w256, from, s256);
  if (w512 && strcasecmp(w512, s512) != 0)
    return pl_fail(err, 0, "%s: sha512 mismatch: expected %s (%s), got %s", file, w512, from, s512);
  return 0;
}

/* Fetch `file` and check it against the meta entry its referring role lists
 * (`from`), before anything parses it: exactly the listed length (which may
 * go up to max) and the listed hashes; without a listed length, at most
 * PL_TUF_UNLISTED_MAX bytes (or max when smaller). */
int tuf_fetch_meta(struct pl_tuf *t, const char *file, const json_t *meta, const char *from,
                   size_t max, char **raw, size_t *len, pl_error_t *err) {
  int64_t want_len;
  bool has_len = meta && tuf_get_int(meta, "length", &want_len) == 0;
  if (has_len && (want_len < 0 || (uint64_t)want_len > max))
    return pl_fail(err, EFBIG,
                   "%s: %s lists a length of %" PRId64 " bytes, more than the %zu allowed", file,
                   from, want_len, max);
  size_t cap = has_len ? (size_t)want_len : max < PL_TUF_UNLISTED_MAX ? max : PL_TUF_UNLISTED_MAX;
  if (pl_fetch_mem(t->f, file, cap, raw, len, err) < 0) {
    if ((*err)->errnum != EFBIG) return -1;
    if (has_len)
      return pl_fail(err, 0, "%s: length mismatch: expected %" PRId64 " bytes (%s), got more", file,
                     want_len, from);
    if (from == NULL)
      return pl_fail(err, 0, "%s: larger than the %zu bytes allowed (refused before parsing)", file,
                     cap);
    return pl_fail_hint(err, 0,
                        "a registry should list the length and hashes of each role it names "
                        "(pylock registry sign does)",
                        "%s: larger than the %zu bytes allowed for metadata whose length %s "
                        "does not list (refused before parsing)",
                        file, cap, from);
  }
  if (meta && tuf_check_meta_bytes(meta, file, from, *raw, *len, err) < 0) {
    free(*raw);
    *raw = NULL;
    return -1;
  }
  return 0;
}

/* ---- 5.3: the root chain ---- */

static int load_root_file(int dirfd, const char *name, struct md *m, pl_error_t *err) {
  char *raw = NULL;
  size_t len;
  if (pl_read_file_at(dirfd, name, PL_TUF_ROOT_MAX, &raw, &len, err) < 0) return -1;
  if (tuf_md_parse(raw, len, name, "root", m, err) < 0) return -1;
  if (tuf_verify_role(m->body, "root", m, name, err) < 0) {
    tuf_md_clear(m);
    return -1;
  }
  return 0;
}

static bool role_keys_equal(const json_t *a_root, const json_t *b_root, const char *role) {
  json_t *a = json_object_get(json_object_get(a_root, "roles"), role);
  json_t *b = json_object_get(json_object_get(b_root, "roles"), role);
  int64_t ta = 0, tb = 0;
  tuf_get_int(a, "threshold", &ta);
  tuf_get_int(b, "threshold", &tb);
  json_t *ka = json_object_get(a, "keyids"), *kb = json_object_get(b, "keyids");
  if (ta != tb || json_array_size(ka) != json_array_size(kb)) return false;
  for (size_t i = 0; i < json_array_size(ka); i++) {
    const char *id = json_string_value(json_array_get(ka, i));
    if (id == NULL || !array_has_string(kb, id)) return false;
    /* Same keyid must also mean the same key material. */
    cleanup_free char *ca = NULL, *cb = NULL;
    size_t la, lb;
    pl_error_t e = NULL;
    json_t *va = json_object_get(json_object_get(a_root, "keys"), id);
    json_t *vb = json_object_get(json_object_get(b_root, "keys"), id);
    if (!va || !vb || pl_json_canonical(va, &ca, &la, &e) < 0 ||
        pl_json_canonical(vb, &cb, &lb, &e) < 0 || la != lb || memcmp(ca, cb, la) != 0) {
      pl_error_free(&e);
      return false;
    }
  }
  return true;
}

static int update_root(struct pl_tuf *t, pl_error_t *err) {
  for (int i = 0; i < PL_TUF_MAX_ROOT_ROTATIONS; i++) {
    int64_t next = t->md[PL_TUF_ROOT].version + 1;
    char file[40];
    snprintf(file, sizeof file, "%" PRId64 ".root.json", next);
    char *raw = NULL;
    size_t len;
    if (pl_fetch_mem(t->f, file, PL_TUF_ROOT_MAX, &raw, &len, err) < 0) {
      if (pl_error_is(*err, ENOENT)) {
        pl_error_free(err);
        return 0;
      }
      return -1;
    }
    struct md m;
    if (tuf_md_parse(raw, len, file, "root", &m, err) < 0) return -1;
    /* A new root must convince both the keys we trust now and its own:
     * the old keys authorise the change, the new ones prove they exist. */
    if (tuf_verify_role(t->md[PL_TUF_ROOT].body, "root", &m, file, err) < 0 ||
        tuf_verify_role(m.body, "root", &m, file, err) < 0) {
      if ((*err)->msg) pl_error_wrap(err, "root rotation to version %" PRId64, next);
      tuf_md_clear(&m);
      return -1;
    }
    if (m.version != next) {
      pl_fail(err, 0, "%s: version mismatch: expected %" PRId64 ", got %" PRId64, file, next,
              m.version);
      tuf_md_clear(&m);
      return -1;
    }
    md_move(&t->md[PL_TUF_ROOT], &m);
  }
  return pl_fail(err, 0, "more than %d root rotations in one update", PL_TUF_MAX_ROOT_ROTATIONS);
}

/* Trusted timestamp/snapshot/targets from the state directory: a baseline
 * against rollback, kept only if the current root still vouches for it. */
static void load_trusted(struct pl_tuf *t, int statefd, enum pl_tuf_role r) {
  char name[32];
  snprintf(name, sizeof name, "%s.json", pl_tuf_role_names[r]);
  char *raw = NULL;
  size_t len;
  pl_error_t e = NULL;
  struct md m;
  if (pl_read_file_at(statefd, name, PL_TUF_TARGETS_MAX, &raw, &len, &e) < 0 ||
      tuf_md_parse(raw, len, name, pl_tuf_role_names[r], &m, &e) < 0) {
    pl_error_free(&e);
    return;
  }
  if (tuf_verify_role(t->md[PL_TUF_ROOT].body, pl_tuf_role_names[r], &m, name, &e) < 0) {
    pl_error_free(&e);
    tuf_md_clear(&m);
    return;
  }
  m.kept = true;
  md_move(&t->md[r], &m);
}

/* ---- 5.4-5.6 ---- */

static const json_t *meta_entry(const struct md *m, const char *name) {
  return json_object_get(json_object_get(m->body, "meta"), name);
}

static int meta_version(const struct md *m, const char *file, const char *name, int64_t *v,
                        pl_error_t *err) {
  const json_t *e = meta_entry(m, name);
  if (!json_is_object(e) || tuf_get_int(e, "version", v) < 0 || *v < 1)
    return pl_fail(err, 0, "%s: meta has no valid entry for %s", file, name);
  return 0;
}

static int update_timestamp(struct pl_tuf *t, pl_error_t *err) {
  const char *file = "timestamp.json";
  char *raw = NULL;
  size_t len;
  if (tuf_fetch_meta(t, file, NULL, NULL, PL_TUF_TIMESTAMP_MAX, &raw, &len, err) < 0) {
    if (pl_error_is(*err, ENOENT))
      pl_error_set_hint(err, "is the URL the registry's top directory (where root.json is)?");
    return -1;
  }
  struct md *old = &t->md[PL_TUF_TIMESTAMP];
  /* The very bytes verified against this root already (load_trusted): the
   * same answer again, expiry aside. */
  if (old->doc && old->rawlen == len && memcmp(old->raw, raw, len) == 0) {
    free(raw);
    return tuf_check_expiry(old, file, t->now, err);
  }
  struct md m;
  if (tuf_md_parse(raw, len, file, "timestamp", &m, err) < 0) return -1;
  int64_t snapv, old_snapv;
  int r = tuf_verify_role(t->md[PL_TUF_ROOT].body, "timestamp", &m, file, err);
  if (r == 0) r = meta_version(&m, file, "snapshot.json", &snapv, err);
  if (r == 0 && old->doc) {
    if (m.version < old->version)
      r = pl_fail(err, 0, "%s: version rollback: trusted version %" PRId64 ", got %" PRId64, file,
                  old->version, m.version);
    else if (tuf_get_int(meta_entry(old, "snapshot.json"), "version", &old_snapv) == 0 &&
             snapv < old_snapv)
      r = pl_fail(err, 0,
                  "%s: snapshot.json version rollback: trusted version %" PRId64 ", got %" PRId64,
                  file, old_snapv, snapv);
  }
  if (r == 0) r = tuf_check_expiry(&m, file, t->now, err);
  if (r < 0) {
    tuf_md_clear(&m);
    return -1;
  }
  md_move(old, &m);
  return 0;
}

/* 5.5.1-5.5.3 and 5.6.1-5.6.3: fetch the role `role` at the version its
 * parent's meta names (bounded, hash/length-checked when the parent lists
 * them), check its signatures against the trusted root and that version.
 * *file receives the name it was fetched under. */
int tuf_fetch_listed_role(struct pl_tuf *t, enum pl_tuf_role parent, const char *role, size_t max,
                          struct md *m, char file[48], pl_error_t *err) {
  char parent_file[32], listed[16]; /* "snapshot.json" or "targets.json" */
  snprintf(parent_file, sizeof parent_file, "%s.json", pl_tuf_role_names[parent]);
  snprintf(listed, sizeof listed, "%s.json", role);
  cleanup_json json_t *meta = NULL;
  if (parent == PL_TUF_SNAPSHOT) {
    if (tuf_snapshot_meta(t, listed, &meta, err) < 0) return -1;
  } else if ((meta = (json_t *)meta_entry(&t->md[parent], listed)) != NULL) {
    json_incref(meta);
  }
  int64_t want;
  if (!json_is_object(meta) || tuf_get_int(meta, "version", &want) < 0 || want < 1)
    return pl_fail(err, 0, "%s: meta has no valid entry for %s", parent_file, listed);
  if (t->consistent)
    snprintf(file, 48, "%" PRId64 ".%s", want, listed);
  else
    snprintf(file, 48, "%s", listed);
  char *raw = NULL;
  size_t len;
  /* The copy the state kept, when it is the version (and the bytes, where
   * listed) the parent names, is what a fetch would return: with
   * consistent snapshots VERSION.ROLE.json never changes, and without, a
   * registry publishes a role again only under a new version (python-tuf
   * reuses it too, for both layouts).  load_trusted() verified it against
   * the current root already.  So nothing published since costs one
   * request, the timestamp, whatever the layout. */
  const struct md *kept = &t->md[role[0] == 's' ? PL_TUF_SNAPSHOT : PL_TUF_TARGETS];
  pl_error_t stale = NULL;
  if (kept->doc && kept->version == want &&
      tuf_check_meta_bytes(meta, file, parent_file, kept->raw, kept->rawlen, &stale) == 0 &&
      (raw = malloc(kept->rawlen + 1)) != NULL) {
    memcpy(raw, kept->raw, kept->rawlen);
    raw[kept->rawlen] = '\0';
    *m = *kept;
    m->doc = json_incref(kept->doc);
    m->raw = raw;
    return 0;
  }
  pl_error_free(&stale);
  if (tuf_fetch_meta(t, file, meta, parent_file, max, &raw, &len, err) < 0) return -1;
  /* Without consistent snapshots: the bytes kept, fetched again (the
   * parent vouched for them as for any fetch), need no second check. */
  if (kept->doc && kept->version == want && kept->rawlen == len &&
      memcmp(kept->raw, raw, len) == 0) {
    *m = *kept;
    m->doc = json_incref(kept->doc);
    m->raw = raw;
    return 0;
  }
  if (tuf_md_parse(raw, len, file, role, m, err) < 0) return -1;
  int r = tuf_verify_role(t->md[PL_TUF_ROOT].body, role, m, file, err);
  if (r == 0 && m->version != want)
    r = pl_fail(err, 0, "%s: version mismatch: expected %" PRId64 " (%s), got %" PRId64, file, want,
                parent_file, m->version);
  if (r < 0) tuf_md_clear(m);
  return r;
}

/* 5.5.  baseline: the state's snapshot may serve as the trusted one (its
 * keys did not change). */
static int update_snapshot(struct pl_tuf *t, int statefd, bool baseline, pl_error_t *err) {
  char file[48];
  struct md m;
  int64_t want;
  if (meta_version(&t->md[PL_TUF_TIMESTAMP], "timestamp.json", "snapshot.json", &want, err) < 0)
    return -1;
  if (baseline) {
    /* The very snapshot a past update verified under this root, named
     * again by the timestamp: its version is the one listed, it is the
     * trusted snapshot (no rollback against itself), and only its expiry
     * is left to check.  Its body is read when a lookup needs it. */
    int used =
        tuf_ks_use(t, statefd, meta_entry(&t->md[PL_TUF_TIMESTAMP], "snapshot.json"), want, err);
    if (used != 0) return used < 0 ? -1 : 0;
    load_trusted(t, statefd, PL_TUF_SNAPSHOT);
  }
  if (tuf_fetch_listed_role(t, PL_TUF_TIMESTAMP, "snapshot", PL_TUF_SNAPSHOT_MAX, &m, file, err) <
      0)
    return -1;
  int r = 0;
  struct md *old = &t->md[PL_TUF_SNAPSHOT];
  if (r == 0 && old->doc) {
    json_t *ometa = json_object_get(old->body, "meta");
    for (void *it = json_object_iter(ometa); it && r == 0; it = json_object_iter_next(ometa, it)) {
      const char *name = json_object_iter_key(it);
      int64_t ov = 0, nv = 0;
      tuf_get_int(json_object_iter_value(it), "version", &ov);
      const json_t *ne = meta_entry(&m, name);
      if (ne == NULL)
        r = pl_fail(err, 0, "%s: %s is missing, but the trusted snapshot lists it", file, name);
      else if (tuf_get_int(ne, "version", &nv) < 0 || nv < ov)
        r = pl_fail(err, 0, "%s: %s version rollback: trusted version %" PRId64 ", got %" PRId64,
                    file, name, ov, nv);
    }
  }
  if (r == 0) r = tuf_check_expiry(&m, file, t->now, err);
  if (r < 0) {
    tuf_md_clear(&m);
    return -1;
  }
  md_move(old, &m);
  return 0;
}

int tuf_cmp_target(const void *a, const void *b) {
  return strcmp(((const struct pl_tuf_target *)a)->name, ((const struct pl_tuf_target *)b)->name);
}

int tuf_index_targets(const json_t *tg, const char *file, struct pl_tuf_target **out, size_t *n_out,
                      pl_error_t *err) {
  if (!json_is_object(tg)) return pl_fail(err, 0, "%s: no \"targets\" object", file);
  size_t n = json_object_size(tg), i = 0;
  struct pl_tuf_target *list = calloc(n ? n : 1, sizeof *list);
  if (list == NULL) return pl_fail(err, ENOMEM, "%s", file);
  for (void *it = json_object_iter((json_t *)tg); it && i < n;
       it = json_object_iter_next((json_t *)tg, it), i++) {
    struct pl_tuf_target *e = &list[i];
    json_t *v = json_object_iter_value(it);
    e->name = json_object_iter_key(it);
    int64_t l;
    json_t *h = json_object_get(v, "hashes");
    const char *s256 = json_string_value(json_object_get(h, "sha256"));
    const char *s512 = json_string_value(json_object_get(h, "sha512"));
    if (!pl_fetch_path_ok(e->name) || tuf_get_int(v, "length", &l) < 0 || l < 0 ||
        !json_is_object(h) || (s256 && strlen(s256) != 64) || (s512 && strlen(s512) != 128)) {
      pl_fail(err, 0, "%s: target \"%s\" has an unsafe path or malformed length/hashes", file,
              e->name);
      free(list);
      return -1;
    }
    e->length = (uint64_t)l;
    snprintf(e->sha256, sizeof e->sha256, "%s", s256 ? s256 : "");
    snprintf(e->sha512, sizeof e->sha512, "%s", s512 ? s512 : "");
  }
  if (i) qsort(list, i, sizeof *list, tuf_cmp_target);
  *out = list;
  *n_out = i;
  return 0;
}

/* The top-level targets as t's list; whether they delegate. */
static int index_targets(struct pl_tuf *t, const char *file, pl_error_t *err) {
  struct pl_tuf_target *list;
  size_t n;
  const json_t *body = t->md[PL_TUF_TARGETS].body;
  if (tuf_index_targets(json_object_get(body, "targets"), file, &list, &n, err) < 0) return -1;
  free(t->targets);
  t->targets = list;
  t->ntargets = n;
  t->delegates = json_object_get(body, "delegations") != NULL;
  return 0;
}

static int update_targets(struct pl_tuf *t, pl_error_t *err) {
  char file[48];
  struct md m;
  if (tuf_fetch_listed_role(t, PL_TUF_SNAPSHOT, "targets", PL_TUF_TARGETS_MAX, &m, file, err) < 0)
    return -1;
  int r = 0;
  struct md *old = &t->md[PL_TUF_TARGETS];
  if (r == 0 && old->doc && m.version < old->version)
    r = pl_fail(err, 0, "%s: version rollback: trusted version %" PRId64 ", got %" PRId64, file,
                old->version, m.version);
  if (r == 0) r = tuf_check_expiry(&m, file, t->now, err);
  if (r < 0) {
    tuf_md_clear(&m);
    return -1;
  }
  md_move(old, &m);
  return index_targets(t, file, err);
}

/* The version snapshot lists for file. */
static int snapshot_lists(struct pl_tuf *t, const char *file, int64_t *v, pl_error_t *err) {
  cleanup_json json_t *e = NULL;
  if (tuf_snapshot_meta(t, file, &e, err) < 0) return -1;
  if (!json_is_object(e) || tuf_get_int(e, "version", v) < 0 || *v < 1)
    return pl_fail(err, 0, "snapshot.json: meta has no valid entry for %s", file);
  return 0;
}

/* --offline: the kept snapshot, when its record says this root verified
 * the one the kept timestamp names (t->ks.lazy then; its expiry is judged
 * with the others'); 0 when the kept bytes are to be verified again. */
static int kept_snapshot_offline(struct pl_tuf *t, int statefd, pl_error_t *err) {
  const json_t *meta = meta_entry(&t->md[PL_TUF_TIMESTAMP], "snapshot.json");
  int64_t want;
  if (t->md[PL_TUF_TIMESTAMP].doc == NULL || tuf_get_int(meta, "version", &want) < 0) return 0;
  if (tuf_ks_read(t, statefd, err) < 0) return -1;
  pl_error_t expired = NULL;
  int used = tuf_ks_use(t, statefd, meta, want, &expired);
  pl_error_free(&expired);
  return used;
}

/* --offline: what the last update verified and kept, verified again against
 * the trusted root (each role's signatures, the versions naming each other)
 * and refused when any of it has expired: freeze protection still holds. */
static int update_offline(struct pl_tuf *t, int statefd, const char *url, pl_error_t *err) {
  if (statefd < 0)
    return pl_fail_hint(err, ENOENT, "update once with the network: pylock sync",
                        "no verified metadata of %s kept yet", url);
  for (int r = PL_TUF_TIMESTAMP; r < PL_TUF_NROLES; r++) {
    if (r == PL_TUF_SNAPSHOT && kept_snapshot_offline(t, statefd, err) != 0) {
      if (!t->ks.lazy) return -1;
      continue;
    }
    load_trusted(t, statefd, (enum pl_tuf_role)r);
    if (t->md[r].doc == NULL)
      return pl_fail_hint(err, ENOENT, "update once with the network: pylock sync",
                          "no verified %s.json of %s kept", pl_tuf_role_names[r], url);
  }
  int64_t v;
  for (int r = 0; r < PL_TUF_NROLES; r++) {
    char file[32];
    snprintf(file, sizeof file, "%s.json", pl_tuf_role_names[r]);
    if (tuf_check_expiry(&t->md[r], file, t->now, err) < 0)
      return pl_error_set_hint(err, "update with the network: pylock sync");
  }
  if (meta_version(&t->md[PL_TUF_TIMESTAMP], "timestamp.json", "snapshot.json", &v, err) < 0 ||
      (v != t->md[PL_TUF_SNAPSHOT].version &&
       pl_fail(err, 0, "kept snapshot.json is version %" PRId64 ", timestamp.json names %" PRId64,
               t->md[PL_TUF_SNAPSHOT].version, v) < 0) ||
      snapshot_lists(t, "targets.json", &v, err) < 0 ||
      (v != t->md[PL_TUF_TARGETS].version &&
       pl_fail(err, 0, "kept targets.json is version %" PRId64 ", snapshot.json names %" PRId64,
               t->md[PL_TUF_TARGETS].version, v) < 0))
    return pl_error_set_hint(err, "update with the network: pylock sync");
  return index_targets(t, "targets.json", err);
}

/* Does dirfd/name hold exactly these bytes already? */
static bool kept_as(int dirfd, const char *name, const char *data, size_t len) {
  char *have = NULL;
  size_t hlen = 0;
  pl_error_t e = NULL;
  bool same = pl_read_file_at(dirfd, name, len + 1, &have, &hlen, &e) == 0 && hlen == len &&
              memcmp(have, data, len) == 0;
  pl_error_free(&e);
  free(have);
  return same;
}

/* Persist what passed: each file replaced atomically, root first so that a
 * crash in between leaves a state the next update accepts.  A file the
 * state holds already, byte for byte, is left alone: with nothing
 * published since, an update writes (and syncs) nothing.  What was loaded
 * from this state (`kept`, for the anchor it grew from) is not even read. */
static int save_state(struct pl_tuf *t, const char *dir, const char *anchor_hash, bool anchor_kept,
                      pl_error_t *err) {
  if (pl_mkdir_p(dir, 0700, err) < 0) return -1;
  cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return pl_fail(err, errno, "open state directory %s", dir);
  char line[PL_SHA256_HEX + 1];
  snprintf(line, sizeof line, "%s\n", anchor_hash);
  if (!anchor_kept && !kept_as(fd, "anchor.sha256", line, strlen(line)) &&
      pl_write_file_atomic_at(fd, "anchor.sha256", line, strlen(line), 0644, err) < 0)
    return pl_error_wrap(err, "state %s", dir);
  for (int r = 0; r < PL_TUF_NROLES; r++) {
    /* No bytes: the kept snapshot its record names (tuf_ks_use). */
    if ((anchor_kept && t->md[r].kept) || t->md[r].raw == NULL) continue;
    char name[32];
    snprintf(name, sizeof name, "%s.json", pl_tuf_role_names[r]);
    if (!kept_as(fd, name, t->md[r].raw, t->md[r].rawlen) &&
        pl_write_file_atomic_at(fd, name, t->md[r].raw, t->md[r].rawlen, 0644, err) < 0)
      return pl_error_wrap(err, "state %s", dir);
  }
  /* A snapshot verified by this update: recorded, for the next to use. */
  if (t->md[PL_TUF_SNAPSHOT].doc) tuf_ks_write(t, fd);
  return 0;
}

int pl_tuf_update(const struct pl_tuf_options *o, struct pl_tuf **out, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  cleanup_close int statefd = -1;
  struct pl_tuf *t = calloc(1, sizeof *t);
  if (t == NULL) return pl_fail(err, ENOMEM, "TUF update");
  if (o->state_dir && (t->state_dir = strdup(o->state_dir)) == NULL) {
    free(t);
    return pl_fail(err, ENOMEM, "TUF update");
  }
  /* 5.1: one clock reading for the whole update. */
  t->now = o->now ? o->now : time(NULL);

  /* 5.2: the anchor, or the newer root the state kept for this anchor. */
  char anchor_hash[PL_SHA256_HEX] = "";
  bool anchor_kept = false;   /* the state grew from this anchor */
  bool snap_baseline = false; /* the state's snapshot may be the trusted one */
  {
    char *raw = NULL;
    size_t len;
    if (pl_read_file_at(AT_FDCWD, o->root_path, PL_TUF_ROOT_MAX, &raw, &len, err) < 0 ||
        pl_sha256_hex(raw, len, anchor_hash, err) < 0 ||
        tuf_md_parse(raw, len, o->root_path, "root", &t->md[PL_TUF_ROOT], err) < 0 ||
        tuf_verify_role(t->md[PL_TUF_ROOT].body, "root", &t->md[PL_TUF_ROOT], o->root_path, err) <
            0) {
      pl_error_wrap(err, "trusted root");
      goto fail;
    }
  }
  if (o->state_dir) statefd = open(o->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (statefd >= 0) {
    char *kept = NULL;
    size_t klen;
    pl_error_t e = NULL;
    struct md sroot;
    /* The state's root only counts for the anchor it grew from: trusting a
     * different root file restarts the chain from that file. */
    if (pl_read_file_at(statefd, "anchor.sha256", 128, &kept, &klen, &e) == 0 && klen >= 64 &&
        memcmp(kept, anchor_hash, 64) == 0 &&
        load_root_file(statefd, "root.json", &sroot, &e) == 0) {
      anchor_kept = true;
      sroot.kept = true;
      if (sroot.version >= t->md[PL_TUF_ROOT].version)
        md_move(&t->md[PL_TUF_ROOT], &sroot);
      else
        tuf_md_clear(&sroot);
    }
    free(kept);
    pl_error_free(&e);
  }
  if (o->offline) {
    t->consistent = json_is_true(json_object_get(t->md[PL_TUF_ROOT].body, "consistent_snapshot"));
    if (update_offline(t, statefd, o->url, err) < 0 ||
        (t->delegates && !o->lazy_delegations && !o->walk && tuf_delegated_load_all(t, err) < 0) ||
        (o->walk && pl_tuf_walk(t, o->walk, err) < 0))
      goto fail;
    t->keep_roles_now = true; /* nothing is fetched offline */
    *out = t;
    return 0;
  }
  if (pl_fetcher_open(o->url, o->ca_bundle, &t->f, err) < 0) goto fail;

  /* 5.3 */
  json_t *start_root = json_deep_copy(t->md[PL_TUF_ROOT].body);
  if (start_root == NULL) {
    pl_fail(err, ENOMEM, "TUF update");
    goto fail;
  }
  if (update_root(t, err) < 0 ||
      tuf_check_expiry(&t->md[PL_TUF_ROOT], "root.json", t->now, err) < 0) {
    pl_json_decref(start_root);
    goto fail;
  }
  json_t *cs = json_object_get(t->md[PL_TUF_ROOT].body, "consistent_snapshot");
  t->consistent = json_is_true(cs);
  if (statefd >= 0) {
    /* 5.3.11 fast-forward recovery: after the timestamp or snapshot keys
     * change, the versions signed by the old (maybe compromised) keys are no
     * baseline: an attacker could have pushed them arbitrarily high to
     * freeze us.  The same holds for targets keys and the targets version. */
    bool ts_same = role_keys_equal(start_root, t->md[PL_TUF_ROOT].body, "timestamp");
    bool sn_same = role_keys_equal(start_root, t->md[PL_TUF_ROOT].body, "snapshot");
    bool tg_same = role_keys_equal(start_root, t->md[PL_TUF_ROOT].body, "targets");
    if (ts_same && sn_same) load_trusted(t, statefd, PL_TUF_TIMESTAMP);
    snap_baseline = ts_same && sn_same && tg_same;
    if (tg_same) load_trusted(t, statefd, PL_TUF_TARGETS);
  }
  pl_json_decref(start_root);
  if (tuf_ks_read(t, snap_baseline ? statefd : -1, err) < 0) goto fail;

  if (update_timestamp(t, err) < 0 || update_snapshot(t, statefd, snap_baseline, err) < 0 ||
      update_targets(t, err) < 0)
    goto fail;
  if (t->delegates && !o->lazy_delegations && !o->walk && tuf_delegated_load_all(t, err) < 0)
    goto fail;
  /* Streaming: each role verified, visited and freed before the next. */
  if (o->walk && pl_tuf_walk(t, o->walk, err) < 0) goto fail;
  if (o->state_dir && save_state(t, o->state_dir, anchor_hash, anchor_kept, err) < 0) goto fail;
  tuf_delegated_keep(t);
  *out = t;
  return 0;
fail:
  pl_tuf_free(t);
  return -1;
}

void pl_tuf_free(struct pl_tuf *t) {
  if (t == NULL) return;
  for (int r = 0; r < PL_TUF_NROLES; r++)
    tuf_md_clear(&t->md[r]);
  pl_fetcher_free(t->f);
  tuf_delegated_free(t);
  tuf_ks_free(t);
  free(t->state_dir);
  free(t->targets);
  free(t);
}

time_t pl_tuf_expires(const struct pl_tuf *t) {
  time_t first = t->md[0].expires;
  for (int r = 1; r < PL_TUF_NROLES; r++)
    if (t->md[r].expires < first) first = t->md[r].expires;
  for (size_t i = 0; i < t->nroles; i++)
    if (t->roles[i]->md.expires < first) first = t->roles[i]->md.expires;
  return first;
}

void pl_tuf_role_info(const struct pl_tuf *t, enum pl_tuf_role r, int64_t *version,
                      time_t *expires) {
  if (version) *version = t->md[r].version;
  if (expires) *expires = t->md[r].expires;
}

int pl_tuf_load_all(struct pl_tuf *t, pl_error_t *err) {
  if (!t->delegates || t->all_loaded) return 0;
  return tuf_delegated_load_all(t, err);
}

size_t pl_tuf_target_count(const struct pl_tuf *t) {
  return t->ntargets;
}

const struct pl_tuf_target *pl_tuf_target_at(const struct pl_tuf *t, size_t i) {
  return i < t->ntargets ? &t->targets[i] : NULL;
}

int pl_tuf_prefetch(struct pl_tuf *t, const char *const *names, size_t n, pl_error_t *err) {
  return tuf_delegated_prefetch(t, names, n, err);
}

int pl_tuf_find_target(struct pl_tuf *t, const char *name, const struct pl_tuf_target **out,
                       pl_error_t *err) {
  struct pl_tuf_target key = {.name = name};
  const struct pl_tuf_target *e =
      t->ntargets ? bsearch(&key, t->targets, t->ntargets, sizeof key, tuf_cmp_target) : NULL;
  /* Top-level targets come first in the search; the rest is delegated. */
  if (e == NULL && t->delegates && !t->all_loaded && tuf_delegated_find(t, name, &e, err) < 0)
    return -1;
  if (e == NULL) return pl_fail(err, ENOENT, "%s: not a signed target of this registry", name);
  if (e->sha256[0] == '\0')
    return pl_fail(err, 0, "%s: the signed target lists no sha256 hash", name);
  *out = e;
  return 0;
}

/* ---- targets ---- */

struct target_sink {
  struct pl_sha d;
  int fd;    /* write here, or -1 */
  char *buf; /* or collect here (capacity length) */
  size_t len;
};

static int target_sink_write(void *ctx, const void *data, size_t n, pl_error_t *err) {
  struct target_sink *s = ctx;
  if (pl_sha_update(&s->d, data, n, err) < 0) return -1;
  if (s->buf) {
    memcpy(s->buf + s->len, data, n); /* fits: the fetch is capped at the signed length */
    s->len += n;
    return 0;
  }
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(s->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return pl_fail(err, errno, "write target");
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int target_check(const struct pl_tuf_target *e, struct target_sink *s, pl_error_t *err) {
  uint64_t got = s->d.length;
  char s256[PL_SHA256_HEX], s512[PL_SHA512_HEX];
  if (pl_sha_final(&s->d, s256, s512, err) < 0) return -1;
  if (got != e->length)
    return pl_fail(err, 0,
                   "%s: length mismatch: expected %" PRIu64 " bytes (targets.json), got %" PRIu64,
                   e->name, e->length, got);
  if (strcasecmp(e->sha256, s256) != 0)
    return pl_fail(err, 0, "%s: sha256 mismatch: expected %s (targets.json), got %s", e->name,
                   e->sha256, s256);
  if (e->sha512[0] && strcasecmp(e->sha512, s512) != 0)
    return pl_fail(err, 0, "%s: sha512 mismatch: expected %s (targets.json), got %s", e->name,
                   e->sha512, s512);
  return 0;
}

/* Where target e lives in the registry, into *path. */
static int target_path(const struct pl_tuf *t, const struct pl_tuf_target *e, char **path,
                       pl_error_t *err) {
  const char *slash = strrchr(e->name, '/');
  int r;
  if (t->consistent)
    r = asprintf(path, "targets/%.*s%s.%s", slash ? (int)(slash - e->name + 1) : 0, e->name,
                 e->sha256, slash ? slash + 1 : e->name);
  else
    r = asprintf(path, "targets/%s", e->name);
  if (r < 0) {
    *path = NULL;
    return pl_fail(err, ENOMEM, "%s", e->name);
  }
  return 0;
}

static int offline_refusal(const struct pl_tuf_target *e, pl_error_t *err) {
  return pl_fail_hint(err, ENETDOWN, "fetch it with the network: run again without --offline",
                      "%s is not in the cache, and --offline fetches nothing", e->name);
}

/* A fetch of e that failed with *err: more than its length reads as a
 * length mismatch. */
static int fetch_failed(const struct pl_tuf_target *e, pl_error_t *err) {
  if ((*err)->errnum == EFBIG)
    return pl_fail(err, 0,
                   "%s: length mismatch: expected %" PRIu64 " bytes (targets.json), got more",
                   e->name, e->length);
  return -1;
}

static int target_fetch(struct pl_tuf *t, const struct pl_tuf_target *e, struct target_sink *s,
                        pl_error_t *err) {
  if (t->f == NULL) return offline_refusal(e, err);
  cleanup_free char *path = NULL;
  if (target_path(t, e, &path, err) < 0) return -1;
  if (pl_sha_init(&s->d, err) < 0) return -1;
  if (pl_fetch(t->f, path, e->length, target_sink_write, s, err) < 0) {
    pl_sha_free(&s->d);
    return fetch_failed(e, err);
  }
  return target_check(e, s, err);
}

int pl_tuf_fetch_target(struct pl_tuf *t, const char *name, int fd, pl_error_t *err) {
  const struct pl_tuf_target *e;
  if (pl_tuf_find_target(t, name, &e, err) < 0) return -1;
  struct target_sink s = {.fd = fd};
  if (target_fetch(t, e, &s, err) < 0) {
    /* Whatever arrived is unverified: leave nothing of it behind. */
    if (ftruncate(fd, 0) == 0) lseek(fd, 0, SEEK_SET);
    return -1;
  }
  return 0;
}

/* The n targets' sinks, hashes started, and their fetch jobs; *ready is
 * how many sinks were started (to be freed). */
static int targets_prepare(struct pl_tuf *t, const char *const *names, const int *fds, size_t n,
                           const struct pl_tuf_target **es, struct target_sink *sinks,
                           struct pl_fetch_job *jobs, size_t *ready, size_t *failed,
                           pl_error_t *err) {
  for (size_t i = 0; i < n; i++) {
    *failed = i;
    if (pl_tuf_find_target(t, names[i], &es[i], err) < 0) return -1;
    if (t->f == NULL) return offline_refusal(es[i], err);
    char *path = NULL;
    if (target_path(t, es[i], &path, err) < 0) return -1;
    jobs[i] = (struct pl_fetch_job){
        .relpath = path, .max = es[i]->length, .sink = target_sink_write, .ctx = &sinks[i]};
    sinks[i].fd = fds[i];
    if (pl_sha_init(&sinks[i].d, err) < 0) return -1;
    *ready = i + 1;
  }
  return 0;
}

int pl_tuf_fetch_targets(struct pl_tuf *t, const char *const *names, const int *fds, size_t n,
                         size_t *failed, pl_error_t *err) {
  *failed = 0;
  if (n == 0) return 0;
  const struct pl_tuf_target **es = calloc(n, sizeof *es);
  struct target_sink *sinks = calloc(n, sizeof *sinks);
  struct pl_fetch_job *jobs = calloc(n, sizeof *jobs);
  size_t ready = 0;
  int r = es && sinks && jobs ? 0 : pl_fail(err, ENOMEM, "fetch");
  if (r == 0) r = targets_prepare(t, names, fds, n, es, sinks, jobs, &ready, failed, err);
  if (r == 0 && pl_fetch_many(t->f, jobs, n, failed, err) < 0) r = fetch_failed(es[*failed], err);
  for (size_t i = 0; i < ready; i++) {
    if (r == 0) {
      *failed = i;
      r = target_check(es[i], &sinks[i], err); /* frees the hash */
    } else {
      pl_sha_free(&sinks[i].d);
    }
  }
  if (r < 0) {
    /* Whatever arrived is unverified: leave nothing of it behind. */
    for (size_t i = 0; i < n; i++)
      if (ftruncate(fds[i], 0) == 0) lseek(fds[i], 0, SEEK_SET);
  }
  for (size_t i = 0; jobs && i < n; i++)
    free((char *)jobs[i].relpath);
  free(es);
  free(sinks);
  free(jobs);
  return r;
}

int pl_tuf_fetch_target_mem(struct pl_tuf *t, const char *name, char **buf, size_t *len,
                            pl_error_t *err) {
  const struct pl_tuf_target *e;
  if (pl_tuf_find_target(t, name, &e, err) < 0) return -1;
  if (e->length > PL_JSON_MAX)
    return pl_fail(err, EFBIG, "%s: %" PRIu64 " bytes is too large to hold in memory", name,
                   e->length);
  struct target_sink s = {.fd = -1, .buf = malloc(e->length + 1)};
  if (s.buf == NULL) return pl_fail(err, ENOMEM, "%s", name);
  if (target_fetch(t, e, &s, err) < 0) {
    free(s.buf);
    return -1;
  }
  s.buf[s.len] = '\0';
  *buf = s.buf;
  *len = s.len;
  return 0;
}

int pl_tuf_verify_target_fd(struct pl_tuf *t, const char *name, int fd, pl_error_t *err) {
  const struct pl_tuf_target *e;
  if (pl_tuf_find_target(t, name, &e, err) < 0) return -1;
  struct target_sink s = {.fd = -1};
  if (pl_sha_init(&s.d, err) < 0) return -1;
  char buf[65536];
  off_t off = 0;
  for (;;) {
    ssize_t r = pread(fd, buf, sizeof buf, off);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      pl_sha_free(&s.d);
      return pl_fail(err, errno, "%s: read", name);
    }
    if (r == 0) break;
    off += r;
    if (pl_sha_update(&s.d, buf, (size_t)r, err) < 0 || (uint64_t)off > e->length) {
      pl_sha_free(&s.d);
      if ((uint64_t)off > e->length)
        return pl_fail(err, 0,
                       "%s: length mismatch: expected %" PRIu64 " bytes (targets.json), got more",
                       name, e->length);
      return -1;
    }
  }
  return target_check(e, &s, err);
}
