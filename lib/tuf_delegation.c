/* pylock — TUF delegated targets roles: the search of spec 5.6.7, hashed bins, TAP 15. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "fetch.h"
#include "file.h"
#include "sha.h"
#include "tuf_private.h"

#define STATE_SUBDIR "delegated"
#define STAGE_SUBDIR "delegated.walk"

/* A role the search is to visit: its name, and the delegation (keys,
 * keyids, threshold) that vouches for it. */
struct visit {
  char name[PL_TUF_ROLE_NAME_MAX + 1];
  const char *delegator;
  const json_t *keys;  /* the delegator's delegations.keys */
  const json_t *entry; /* the delegation: "keyids", "threshold" */
  int parent;          /* index in the visited path, -1 for the top-level's children */
};

struct visits {
  struct visit *v;
  size_t n, cap;
};

static int visits_push(struct visits *s, const struct visit *v, pl_error_t *err) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? 2 * s->cap : 16;
    struct visit *nv = reallocarray(s->v, cap, sizeof *nv);
    if (nv == NULL) return pl_fail(err, ENOMEM, "delegations");
    s->v = nv;
    s->cap = cap;
  }
  s->v[s->n++] = *v;
  return 0;
}

/* Role names become file names (NAME.json, VERSION.NAME.json, and in the
 * state directory): only a plain, bounded name that no top-level role has
 * can be one.  A registry naming roles otherwise is refused, not encoded. */
static bool role_name_ok(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > PL_TUF_ROLE_NAME_MAX || name[0] == '.') return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  for (int r = 0; r < PL_TUF_NROLES; r++)
    if (strcmp(name, pl_tuf_role_names[r]) == 0) return false;
  return true;
}

/* One "paths" pattern against a target path, as python-tuf and tuf-js
 * match it: the same number of '/'-separated parts, each matched by
 * fnmatch (so '*' never crosses a '/'). */
static bool path_pattern_matches(const char *pattern, const char *path) {
  for (;;) {
    const char *ps = strchr(pattern, '/'), *ts = strchr(path, '/');
    if ((ps == NULL) != (ts == NULL)) return false;
    size_t pl = ps ? (size_t)(ps - pattern) : strlen(pattern);
    size_t tl = ts ? (size_t)(ts - path) : strlen(path);
    char pbuf[PATH_MAX], tbuf[PATH_MAX];
    if (pl >= sizeof pbuf || tl >= sizeof tbuf) return false;
    memcpy(pbuf, pattern, pl);
    pbuf[pl] = '\0';
    memcpy(tbuf, path, tl);
    tbuf[tl] = '\0';
    if (fnmatch(pbuf, tbuf, FNM_NOESCAPE) != 0) return false;
    if (ps == NULL) return true;
    pattern = ps + 1;
    path = ts + 1;
  }
}

/* Does the delegation `entry` cover path (whose sha256 is hash)?  Exactly
 * one of "paths" and "path_hash_prefixes" must be there; anything else is a
 * malformed delegation and fails the search. */
static int entry_covers(const json_t *entry, const char *from, const char *path, const char *hash,
                        bool *covers, pl_error_t *err) {
  const json_t *paths = json_object_get(entry, "paths");
  const json_t *prefixes = json_object_get(entry, "path_hash_prefixes");
  const char *name = json_string_value(json_object_get(entry, "name"));
  if ((paths == NULL) == (prefixes == NULL) || !json_is_array(paths ? paths : prefixes))
    return pl_fail(err, 0,
                   "%s: the delegation to %s must list exactly one of paths and "
                   "path_hash_prefixes",
                   from, name);
  const json_t *list = paths ? paths : prefixes;
  *covers = false;
  for (size_t i = 0; i < json_array_size(list) && !*covers; i++) {
    const char *p = json_string_value(json_array_get(list, i));
    if (p == NULL)
      return pl_fail(err, 0, "%s: the delegation to %s lists a non-string", from, name);
    *covers = paths ? path_pattern_matches(p, path) : strncmp(hash, p, strlen(p)) == 0;
  }
  return 0;
}

/* TAP 15 succinct hash bins: the role for path is NAME_PREFIX-BIN, BIN the
 * first bit_length bits of its sha256, in hex as wide as the last bin's. */
static int succinct_role(const json_t *sr, const char *from, const char *hash, char *out,
                         size_t cap, pl_error_t *err) {
  int64_t bits;
  const char *prefix = json_string_value(json_object_get(sr, "name_prefix"));
  if (tuf_get_int(sr, "bit_length", &bits) < 0 || bits < 1 || bits > 32 || prefix == NULL)
    return pl_fail(err, 0, "%s: succinct_roles needs bit_length 1..32 and a name_prefix", from);
  unsigned char first[4];
  char head[9];
  snprintf(head, sizeof head, "%.8s", hash);
  if (!pl_hex_decode(head, first, sizeof first)) return pl_fail(err, 0, "%s: bad hash", from);
  uint32_t word = (uint32_t)first[0] << 24 | (uint32_t)first[1] << 16 | (uint32_t)first[2] << 8 |
                  (uint32_t)first[3];
  uint64_t bin = (uint64_t)word >> (32 - bits), last = ((uint64_t)1 << bits) - 1;
  char lastx[16];
  int width = snprintf(lastx, sizeof lastx, "%" PRIx64, last);
  int n = snprintf(out, cap, "%s-%0*" PRIx64, prefix, width, bin);
  if (n < 0 || (size_t)n >= cap || !role_name_ok(out))
    return pl_fail(err, 0, "%s: succinct_roles names an unsafe or too long role \"%s\"", from,
                   prefix);
  return 0;
}

/* Regular hashed bins, as PEP 458 lays them out and python-tuf and tuf-js
 * write them: every role of a delegations object delegates by
 * path_hash_prefixes, every prefix of one length (1 to 5 hex digits), no
 * prefix listed twice (so at most one role covers a path, and listing
 * order and `terminating` change nothing).  Then the role for a path is
 * found by binary search on its hash's prefix: reading 16,384 entries for
 * each lookup made a million-target registry unsearchable.  Any other
 * shape (paths patterns, mixed lengths, overlaps) is searched entry by
 * entry, against the budget (spend_steps). */
#define PREFIX_INDEX_MAX_DIGITS 5
#define PREFIX_INDEX_MAX_SLOTS ((size_t)1 << 20)

struct prefix_slot {
  uint32_t prefix;
  uint32_t role; /* index in "roles" */
};

struct tuf_prefix_index {
  const json_t *delegations;
  unsigned digits; /* 0: not regular, searched entry by entry */
  struct prefix_slot *slots;
  size_t n;
};

static int cmp_slot(const void *a, const void *b) {
  const struct prefix_slot *x = a, *y = b;
  return x->prefix < y->prefix ? -1 : x->prefix > y->prefix;
}

/* The first `digits` hex digits of s (lowercase, as sha256 hex is) as a
 * number; false when they are not that. */
static bool hex_prefix(const char *s, unsigned digits, uint32_t *out) {
  uint32_t v = 0;
  for (unsigned i = 0; i < digits; i++) {
    char c = s[i];
    if (c >= '0' && c <= '9')
      v = v * 16 + (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f')
      v = v * 16 + (uint32_t)(c - 'a' + 10);
    else
      return false;
  }
  *out = v;
  return true;
}

/* Index `roles` when they are regular hashed bins; else ix->digits 0.
 * *read counts the entries looked at, for the search budget. */
static int index_prefixes(const json_t *roles, struct tuf_prefix_index *ix, size_t *read,
                          pl_error_t *err) {
  ix->digits = 0;
  size_t n = 0, cap = 0;
  unsigned digits = 0;
  struct prefix_slot *slots = NULL;
  bool regular = json_array_size(roles) > 0;
  for (size_t i = 0; regular && i < json_array_size(roles); i++) {
    const json_t *e = json_array_get(roles, i);
    const json_t *pre = json_object_get(e, "path_hash_prefixes");
    const json_t *term = json_object_get(e, "terminating");
    const char *name = json_string_value(json_object_get(e, "name"));
    regular = json_is_array(pre) && json_array_size(pre) > 0 && !json_object_get(e, "paths") &&
              name && role_name_ok(name) && (term == NULL || json_is_boolean(term));
    for (size_t k = 0; regular && k < json_array_size(pre); k++) {
      const char *p = json_string_value(json_array_get(pre, k));
      size_t len = p ? strlen(p) : 0;
      if (digits == 0) digits = (unsigned)len;
      uint32_t v = 0;
      regular = len == digits && len >= 1 && len <= PREFIX_INDEX_MAX_DIGITS &&
                hex_prefix(p, digits, &v) && n < PREFIX_INDEX_MAX_SLOTS;
      if (regular && n == cap) {
        cap = cap ? 2 * cap : 256;
        struct prefix_slot *ns = reallocarray(slots, cap, sizeof *ns);
        if (ns == NULL) {
          free(slots);
          return pl_fail(err, ENOMEM, "delegations");
        }
        slots = ns;
      }
      if (regular) slots[n++] = (struct prefix_slot){v, (uint32_t)i};
      (*read)++;
    }
    (*read)++;
  }
  if (regular && n > 1) {
    qsort(slots, n, sizeof *slots, cmp_slot);
    for (size_t i = 1; regular && i < n; i++)
      regular = slots[i].prefix != slots[i - 1].prefix;
  }
  if (!regular) {
    free(slots);
    return 0;
  }
  ix->digits = digits;
  ix->slots = slots;
  ix->n = n;
  return 0;
}

/* The prefix index of `delegations`, built on first use and kept for the
 * session; *read is what building it read (0 when it was kept). */
static int prefix_index(struct pl_tuf *t, const json_t *delegations,
                        const struct tuf_prefix_index **out, size_t *read, pl_error_t *err) {
  *read = 0;
  for (size_t i = 0; i < t->npindex; i++)
    if (t->pindex[i]->delegations == delegations) {
      *out = t->pindex[i];
      return 0;
    }
  struct tuf_prefix_index *ix = calloc(1, sizeof *ix);
  struct tuf_prefix_index **np = ix ? reallocarray(t->pindex, t->npindex + 1, sizeof *np) : NULL;
  if (np == NULL) {
    free(ix);
    return pl_fail(err, ENOMEM, "delegations");
  }
  t->pindex = np;
  ix->delegations = delegations;
  const json_t *roles = json_object_get(delegations, "roles");
  if (json_is_array(roles) && index_prefixes(roles, ix, read, err) < 0) {
    free(ix);
    return -1;
  }
  t->pindex[t->npindex++] = ix;
  *out = ix;
  return 0;
}

/* The role (index in "roles") the regular bins ix give hash to, or -1. */
static long prefix_lookup(const struct tuf_prefix_index *ix, const char *hash) {
  uint32_t v;
  if (!hex_prefix(hash, ix->digits, &v)) return -1;
  struct prefix_slot key = {.prefix = v};
  const struct prefix_slot *s = bsearch(&key, ix->slots, ix->n, sizeof key, cmp_slot);
  return s ? (long)s->role : -1;
}

/* The roles `delegations` (of role `from`, at visited index parent) hands
 * path to, pushed on the stack so that the first is visited next.  A
 * matching terminating delegation ends the search after its own subtree:
 * it empties the stack and hides the delegations listed after it. */
static int push_children(struct visits *stack, const json_t *delegations,
                         const struct tuf_prefix_index *pix, const char *from, int parent,
                         const char *path, const char *hash, pl_error_t *err) {
  const json_t *keys = json_object_get(delegations, "keys");
  const json_t *roles = json_object_get(delegations, "roles");
  const json_t *sr = json_object_get(delegations, "succinct_roles");
  if (!json_is_object(keys) || (roles == NULL) == (sr == NULL) ||
      (roles && (!json_is_array(roles) || json_array_size(roles) > PL_TUF_MAX_DELEGATIONS)))
    return pl_fail(err, 0,
                   "%s: delegations need keys and exactly one of roles (at most %d) and "
                   "succinct_roles",
                   from, PL_TUF_MAX_DELEGATIONS);
  struct visit v = {.delegator = from, .keys = keys, .parent = parent};
  if (sr) {
    /* Succinct bins are terminating: one bin answers for its paths. */
    if (succinct_role(sr, from, hash, v.name, sizeof v.name, err) < 0) return -1;
    v.entry = sr;
    stack->n = 0;
    return visits_push(stack, &v, err);
  }
  size_t first = stack->n, from_i = 0, to_i = json_array_size(roles);
  if (pix && pix->digits) { /* regular bins: the one role that can cover path */
    long only = prefix_lookup(pix, hash);
    from_i = only < 0 ? 0 : (size_t)only;
    to_i = only < 0 ? 0 : (size_t)only + 1;
  }
  for (size_t i = from_i; i < to_i; i++) {
    const json_t *e = json_array_get(roles, i);
    const char *name = json_string_value(json_object_get(e, "name"));
    const json_t *term = json_object_get(e, "terminating");
    if (name == NULL || !role_name_ok(name) || (term && !json_is_boolean(term)))
      return pl_fail_hint(err, 0, "role names are letters, digits, '-', '_' and '.'",
                          "%s: a delegation has a missing, unsafe or reserved name \"%s\" or a "
                          "non-boolean terminating",
                          from, name ? name : "");
    bool covers = false;
    if (entry_covers(e, from, path, hash, &covers, err) < 0) return -1;
    if (!covers) continue;
    snprintf(v.name, sizeof v.name, "%s", name);
    v.entry = e;
    if (json_is_true(term)) {
      /* Keep only the children pushed so far, then this one. */
      if (first > 0) memmove(stack->v, stack->v + first, (stack->n - first) * sizeof *stack->v);
      stack->n -= first;
      first = 0;
      if (visits_push(stack, &v, err) < 0) return -1;
      break;
    }
    if (visits_push(stack, &v, err) < 0) return -1;
  }
  /* Reverse this role's children: the first listed is popped first. */
  for (size_t i = first, j = stack->n; j > i + 1; i++, j--) {
    struct visit tmp = stack->v[i];
    stack->v[i] = stack->v[j - 1];
    stack->v[j - 1] = tmp;
  }
  return 0;
}

static struct tuf_role *find_loaded(struct pl_tuf *t, const char *name, const char *delegator) {
  for (size_t i = 0; i < t->nroles; i++)
    if (strcmp(t->roles[i]->name, name) == 0 && strcmp(t->roles[i]->delegator, delegator) == 0)
      return t->roles[i];
  return NULL;
}

static void role_free(struct tuf_role *r) {
  if (r == NULL) return;
  free(r->name);
  free(r->delegator);
  tuf_md_clear(&r->md);
  free(r->targets);
  free(r);
}

static void walk_unstage(struct pl_tuf *t, bool publish);

void tuf_delegated_free(struct pl_tuf *t) {
  walk_unstage(t, false); /* an update that failed keeps nothing of its walk */
  for (size_t i = 0; i < t->npindex; i++) {
    free(t->pindex[i]->slots);
    free(t->pindex[i]);
  }
  free(t->pindex);
  t->pindex = NULL;
  t->npindex = 0;
  for (size_t i = 0; i < t->nroles; i++)
    role_free(t->roles[i]);
  free(t->roles);
  t->roles = NULL;
  t->nroles = t->caproles = 0;
}

/* Parse raw as role v->name and check it against its delegation: the
 * delegation's keys and threshold, the version snapshot lists. */
static int check_role(struct pl_tuf *t, const struct visit *v, char *raw, size_t len,
                      const char *file, int64_t want, struct md *m, pl_error_t *err) {
  if (tuf_md_parse(raw, len, file, "targets", m, err) < 0) return -1;
  int r = tuf_verify_sigs(v->keys, v->entry, v->name, m, file, err);
  if (r == 0 && m->version != want)
    r = pl_fail(err, 0, "%s: version mismatch: expected %" PRId64 " (snapshot.json), got %" PRId64,
                file, want, m->version);
  if (r == 0) r = tuf_check_expiry(m, file, t->now, err);
  if (r < 0) tuf_md_clear(m);
  return r;
}

/* The copy of role name kept in the state directory, verified against the
 * delegation and the version snapshot lists; *kept_version is the version
 * of a kept copy whose signatures verify (0 if none), a floor against
 * rollback whatever snapshot says. */
static int load_kept(struct pl_tuf *t, const struct visit *v, const json_t *meta, int64_t want,
                     struct md *m, int64_t *kept_version) {
  *kept_version = 0;
  if (t->state_dir == NULL) return -1;
  char rel[PL_TUF_ROLE_NAME_MAX + 32];
  cleanup_close int dfd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char *raw = NULL;
  size_t len;
  pl_error_t e = NULL;
  /* A walk reads first what it staged: each bin fetched once. */
  snprintf(rel, sizeof rel, STAGE_SUBDIR "/%s.json", v->name);
  if (!t->walk_staging || dfd < 0 ||
      pl_read_file_at(dfd, rel, PL_TUF_TARGETS_MAX, &raw, &len, &e) < 0) {
    pl_error_free(&e);
    snprintf(rel, sizeof rel, STATE_SUBDIR "/%s.json", v->name);
  }
  if (dfd < 0 ||
      (raw == NULL && pl_read_file_at(dfd, rel, PL_TUF_TARGETS_MAX, &raw, &len, &e) < 0) ||
      tuf_md_parse(raw, len, rel, "targets", m, &e) < 0) {
    pl_error_free(&e);
    return -1;
  }
  if (tuf_verify_sigs(v->keys, v->entry, v->name, m, rel, &e) < 0) {
    pl_error_free(&e);
    tuf_md_clear(m);
    return -1;
  }
  *kept_version = m->version;
  if (m->version != want ||
      tuf_check_meta_bytes(meta, rel, "snapshot.json", m->raw, m->rawlen, &e) < 0) {
    pl_error_free(&e);
    tuf_md_clear(m);
    return -1;
  }
  return 0;
}

/* Keep a verified role for the next update; a cache, so failing to write
 * it costs a fetch later and nothing else. */
static void keep_role(struct pl_tuf *t, const char *name, const struct md *m) {
  if (t->state_dir == NULL) return;
  pl_error_t e = NULL;
  cleanup_close int dfd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char rel[PL_TUF_ROLE_NAME_MAX + 32];
  const char *sub = t->walk_staging ? STAGE_SUBDIR : STATE_SUBDIR;
  snprintf(rel, sizeof rel, "%s/%s.json", sub, name);
  if (dfd < 0 || pl_mkdir_p_at(dfd, sub, 0700, &e) < 0 ||
      pl_write_file_atomic_at(dfd, rel, m->raw, m->rawlen, 0644, &e) < 0)
    pl_error_free(&e);
}

/* The entry snapshot lists for role v->name (a new reference), its
 * version, and the file name a fetch reads it under. */
static int role_listed(struct pl_tuf *t, const struct visit *v, json_t **meta, int64_t *want,
                       char listed[PL_TUF_ROLE_NAME_MAX + 8], char file[PL_TUF_ROLE_NAME_MAX + 32],
                       pl_error_t *err) {
  snprintf(listed, PL_TUF_ROLE_NAME_MAX + 8, "%s.json", v->name);
  if (tuf_snapshot_meta(t, listed, meta, err) < 0) return -1;
  if (!json_is_object(*meta) || tuf_get_int(*meta, "version", want) < 0 || *want < 1)
    return pl_fail(err, 0, "snapshot.json: meta has no valid entry for %s (delegated by %s)",
                   listed, v->delegator);
  if (t->consistent)
    snprintf(file, PL_TUF_ROLE_NAME_MAX + 32, "%" PRId64 ".%s", *want, listed);
  else
    snprintf(file, PL_TUF_ROLE_NAME_MAX + 32, "%s", listed);
  return 0;
}

/* Fetched bytes of role v->name (file, at the version want snapshot
 * lists), their length and hashes checked against snapshot's already:
 * checked as a lookup checks them, the delegation's keys and threshold,
 * that version, expiry, and never below the version kept. */
static int check_fetched(struct pl_tuf *t, const struct visit *v, int64_t want, int64_t kept,
                         char *raw, size_t len, const char *file, struct md *m, pl_error_t *err) {
  if (check_role(t, v, raw, len, file, want, m, err) < 0) return -1;
  if (m->version < kept) {
    tuf_md_clear(m);
    return pl_fail(err, 0, "%s: version rollback: trusted version %" PRId64 ", got %" PRId64, file,
                   kept, want);
  }
  return 0;
}

/* Make the verified m the session's role v->name (fresh: fetched, to be
 * kept in the state directory). */
static int adopt_role(struct pl_tuf *t, const struct visit *v, struct md *mp, bool fresh,
                      const char *listed, struct tuf_role **out, pl_error_t *err) {
  struct md m = *mp;
  struct tuf_role *r = calloc(1, sizeof *r);
  if (r == NULL || (r->name = strdup(v->name)) == NULL ||
      (r->delegator = strdup(v->delegator)) == NULL) {
    role_free(r);
    tuf_md_clear(&m);
    return pl_fail(err, ENOMEM, "%s", listed);
  }
  r->md = m;
  if (tuf_index_targets(json_object_get(m.body, "targets"), listed, &r->targets, &r->ntargets,
                        err) < 0) {
    role_free(r);
    return -1;
  }
  if (t->nroles == t->caproles) {
    size_t cap = t->caproles ? 2 * t->caproles : 16;
    struct tuf_role **nr = reallocarray(t->roles, cap, sizeof *nr);
    if (nr == NULL) {
      role_free(r);
      return pl_fail(err, ENOMEM, "%s", listed);
    }
    t->roles = nr;
    t->caproles = cap;
  }
  t->roles[t->nroles++] = r;
  /* During an update, kept only once the whole update passed. */
  r->unsaved = fresh;
  if (fresh && (t->keep_roles_now || t->walk_staging)) {
    keep_role(t, r->name, &r->md);
    r->unsaved = false;
  }
  *out = r;
  return 0;
}

/* 5.6.7.1: the verified metadata of delegated role v->name: the one this
 * session verified already, the copy kept in the state directory when it is
 * the version snapshot lists, or else fetched (VERSION.NAME.json with
 * consistent snapshots), checked against snapshot's length and hashes
 * before parsing, then against the delegation's keys and threshold, the
 * version snapshot lists (never below the kept one) and expiry. */
static int load_role(struct pl_tuf *t, const struct visit *v, struct tuf_role **out,
                     pl_error_t *err) {
  if ((*out = find_loaded(t, v->name, v->delegator)) != NULL) return 0;
  char listed[PL_TUF_ROLE_NAME_MAX + 8], file[PL_TUF_ROLE_NAME_MAX + 32];
  cleanup_json json_t *meta = NULL;
  int64_t want;
  if (role_listed(t, v, &meta, &want, listed, file, err) < 0) return -1;
  struct md m;
  int64_t kept;
  bool fresh = false;
  if (load_kept(t, v, meta, want, &m, &kept) < 0) {
    if (t->f == NULL)
      return pl_fail_hint(err, ENOENT, "update once with the network: pylock sync",
                          "no verified %s (version %" PRId64 ") kept", listed, want);
    char *raw = NULL;
    size_t len;
    if (tuf_fetch_meta(t, file, meta, "snapshot.json", PL_TUF_TARGETS_MAX, &raw, &len, err) < 0 ||
        check_fetched(t, v, want, kept, raw, len, file, &m, err) < 0)
      return -1;
    fresh = true;
  } else if (tuf_check_expiry(&m, listed, t->now, err) < 0) {
    tuf_md_clear(&m);
    return -1;
  }
  return adopt_role(t, v, &m, fresh, listed, out, err);
}

/* One role a prefetch fetches: its visit, what snapshot lists, where the
 * bytes arrive. */
struct prefetch {
  struct visit v;
  json_t *meta;
  int64_t want, kept;
  char listed[PL_TUF_ROLE_NAME_MAX + 8], file[PL_TUF_ROLE_NAME_MAX + 32];
  char *buf;
  size_t len, cap;
};

/* A prefetch's bytes, collected in memory. */
static int prefetch_sink(void *ctx, const void *data, size_t n, pl_error_t *err) {
  struct prefetch *p = ctx;
  if (p->len + n + 1 > p->cap) { /* bounded: pl_fetch_many stops at the job's max */
    size_t cap = p->cap ? p->cap : 16384;
    while (cap < p->len + n + 1)
      cap *= 2;
    char *nb = realloc(p->buf, cap);
    if (nb == NULL) return pl_fail(err, ENOMEM, "%s", p->file);
    p->buf = nb;
    p->cap = cap;
  }
  memcpy(p->buf + p->len, data, n);
  p->len += n;
  return 0;
}

/* The first role a lookup of name would visit below the top-level targets,
 * when the top-level delegations are succinct or regular hashed bins (one
 * role a name, found in one step); false for any other name or shape. */
static bool first_bin(struct pl_tuf *t, const json_t *top, const char *name, struct visit *out) {
  char hash[PL_SHA256_HEX];
  struct pl_tuf_target key = {.name = name};
  pl_error_t e = NULL;
  const struct tuf_prefix_index *pix = NULL;
  size_t read = 0;
  struct visits stack = {0};
  bool ok = !(t->ntargets && bsearch(&key, t->targets, t->ntargets, sizeof key, tuf_cmp_target)) &&
            pl_sha256_hex(name, strlen(name), hash, &e) == 0;
  if (ok && json_is_array(json_object_get(top, "roles"))) {
    ok = prefix_index(t, top, &pix, &read, &e) == 0 && pix->digits;
    t->search_steps += read;
  }
  ok = ok && push_children(&stack, top, pix, "targets", -1, name, hash, &e) == 0 && stack.n == 1;
  if (ok) *out = stack.v[0];
  free(stack.v);
  pl_error_free(&e);
  return ok;
}

/* The roles lookups of names would load first, neither loaded nor kept,
 * without duplicates (*np of them). */
static void prefetch_plan(struct pl_tuf *t, const char *const *names, size_t n,
                          struct prefetch *plan, size_t *np) {
  const json_t *top = json_object_get(t->md[PL_TUF_TARGETS].body, "delegations");
  *np = 0;
  for (size_t i = 0; i < n; i++) {
    struct prefetch *p = &plan[*np];
    memset(p, 0, sizeof *p);
    if (!first_bin(t, top, names[i], &p->v) || find_loaded(t, p->v.name, p->v.delegator)) continue;
    bool dup = false;
    for (size_t k = 0; k < *np && !dup; k++)
      dup = strcmp(plan[k].v.name, p->v.name) == 0;
    pl_error_t e = NULL;
    if (dup || role_listed(t, &p->v, &p->meta, &p->want, p->listed, p->file, &e) < 0) {
      pl_error_free(&e);
      pl_json_decref(p->meta);
      continue;
    }
    struct md m;
    if (load_kept(t, &p->v, p->meta, p->want, &m, &p->kept) == 0) {
      /* Kept: the lookup will read it from the state; nothing to fetch. */
      tuf_md_clear(&m);
      pl_json_decref(p->meta);
      continue;
    }
    (*np)++;
  }
}

/* pl_tuf_prefetch (tuf.h): plan, fetch at once, verify each as load_role does. */
int tuf_delegated_prefetch(struct pl_tuf *t, const char *const *names, size_t n, pl_error_t *err) {
  if (!t->delegates || t->all_loaded || t->f == NULL || n == 0) return 0;
  struct prefetch *plan = calloc(n, sizeof *plan);
  struct pl_fetch_job *jobs = calloc(n, sizeof *jobs);
  if (plan == NULL || jobs == NULL) {
    free(plan);
    free(jobs);
    return pl_fail(err, ENOMEM, "prefetch");
  }
  size_t np = 0, failed = 0;
  int r = 0;
  prefetch_plan(t, names, n, plan, &np);
  for (size_t i = 0; i < np; i++) {
    int64_t l;
    bool listed = tuf_get_int(plan[i].meta, "length", &l) == 0;
    uint64_t max =
        listed && l >= 0 && (uint64_t)l <= PL_TUF_TARGETS_MAX ? (uint64_t)l : PL_TUF_UNLISTED_MAX;
    jobs[i] = (struct pl_fetch_job){
        .relpath = plan[i].file, .max = max, .sink = prefetch_sink, .ctx = &plan[i]};
  }
  pl_error_t e = NULL;
  /* Best effort: whatever fails to arrive or to verify is left to the
   * lookup, which fetches it again on its own and says what is wrong. */
  bool arrived = np > 0 && pl_fetch_many(t->f, jobs, np, &failed, &e) == 0;
  pl_error_free(&e);
  for (size_t i = 0; i < np; i++) {
    struct prefetch *p = &plan[i];
    struct md m;
    struct tuf_role *role;
    if (arrived && r == 0 && p->buf != NULL &&
        tuf_check_meta_bytes(p->meta, p->file, "snapshot.json", p->buf, p->len, &e) == 0) {
      if (check_fetched(t, &p->v, p->want, p->kept, p->buf, p->len, p->file, &m, &e) == 0 &&
          adopt_role(t, &p->v, &m, true, p->listed, &role, &e) < 0 && e && e->errnum == ENOMEM) {
        r = -1;
        *err = e;
        e = NULL;
      }
      p->buf = NULL; /* taken by check_fetched */
    }
    pl_error_free(&e);
    free(p->buf);
    pl_json_decref(p->meta);
  }
  free(plan);
  free(jobs);
  return r;
}

/* Count the entries of `delegations` a search is about to read against
 * the client's budget, and give the prefix index that spares reading them
 * (*pix; its digits 0 when the delegations are not regular bins).  Without
 * a budget, a registry delegating by "paths" or irregular hash prefixes
 * made loading every target cost targets x roles entry checks (1,024 bins
 * of 64 targets took 35 s of CPU), and a hostile registry could hold a CI
 * job for hours.  The budget grows with the targets loaded; succinct bins
 * and regular hashed bins spend one step a search (and the entries read
 * once, to index them). */
static int spend_steps(struct pl_tuf *t, const json_t *delegations, const char *name,
                       const struct tuf_prefix_index **pix, pl_error_t *err) {
  const json_t *roles = json_object_get(delegations, "roles");
  size_t budget = t->search_budget ? t->search_budget : PL_TUF_MAX_SEARCH_STEPS, read = 0;
  *pix = NULL;
  if (json_is_array(roles) && prefix_index(t, delegations, pix, &read, err) < 0) return -1;
  t->search_steps += read;
  if (*pix && (*pix)->digits)
    t->search_steps += 1;
  else
    t->search_steps += json_is_array(roles) ? json_array_size(roles) : 0; /* succinct: none */
  if (t->search_steps <= budget) return 0;
  return pl_fail_hint(err, E2BIG,
                      "publish with succinct hash bins (pylock registry init --bins), or PEP 458 "
                      "hashed bins (path_hash_prefixes of one length, none listed twice), which a "
                      "search reads in one step",
                      "%s: the registry's delegations are too costly to search: more than %zu "
                      "delegation entries read (paths patterns or irregular hash prefixes)",
                      name, budget);
}

/* A role that is its own ancestor on the path the search took to it. */
static bool is_loop(const struct visit *path, const struct visit *v) {
  for (int p = v->parent; p >= 0; p = path[p].parent)
    if (strcmp(path[p].name, v->name) == 0) return true;
  return false;
}

int tuf_delegated_find(struct pl_tuf *t, const char *name, const struct pl_tuf_target **out,
                       pl_error_t *err) {
  char hash[PL_SHA256_HEX];
  if (pl_sha256_hex(name, strlen(name), hash, err) < 0) return -1;
  /* 5.6.7: pre-order depth-first, from the top-level targets (whose own
   * entries the caller looked at first). */
  struct visits stack = {0};
  struct visit path[PL_TUF_MAX_ROLES_VISITED];
  const json_t *top = json_object_get(t->md[PL_TUF_TARGETS].body, "delegations");
  const struct tuf_prefix_index *pix = NULL;
  int r = spend_steps(t, top, name, &pix, err);
  if (r == 0) r = push_children(&stack, top, pix, "targets", -1, name, hash, err);
  int visited = 0;
  *out = NULL;
  while (r == 0 && stack.n > 0 && *out == NULL) {
    if (visited == PL_TUF_MAX_ROLES_VISITED) {
      r = pl_fail_hint(err, 0, "the registry's delegations are too deep or too many",
                       "%s: more than %d delegated roles visited looking it up", name,
                       PL_TUF_MAX_ROLES_VISITED);
      break;
    }
    struct visit v = stack.v[--stack.n];
    if (is_loop(path, &v)) {
      r = pl_fail(err, 0, "%s: delegation loop: %s delegates back to %s", name, v.delegator,
                  v.name);
      break;
    }
    path[visited] = v;
    struct tuf_role *role;
    if ((r = load_role(t, &v, &role, err)) < 0) break;
    struct pl_tuf_target key = {.name = name};
    *out = role->ntargets ? bsearch(&key, role->targets, role->ntargets, sizeof key, tuf_cmp_target)
                          : NULL;
    const json_t *d = json_object_get(role->md.body, "delegations");
    if (*out == NULL && d != NULL && (r = spend_steps(t, d, name, &pix, err)) == 0)
      r = push_children(&stack, d, pix, path[visited].name, visited, name, hash, err);
    visited++;
  }
  free(stack.v);
  if (r < 0) {
    *out = NULL;
    return -1;
  }
  return 0;
}

/* Every role reachable from the top-level targets, each verified as a
 * search would verify it; a role reached again is not expanded again, so
 * loops end, and at most PL_TUF_MAX_ROLES_TOTAL roles are loaded. */
static int load_every_role(struct pl_tuf *t, pl_error_t *err) {
  struct pending {
    const json_t *d;
    const char *from;
  };
  cleanup_free struct pending *todo = malloc(sizeof *todo);
  if (todo == NULL) return pl_fail(err, ENOMEM, "delegations");
  size_t ntodo = 1;
  todo[0] = (struct pending){json_object_get(t->md[PL_TUF_TARGETS].body, "delegations"), "targets"};
  int r = 0;
  while (r == 0 && ntodo > 0) {
    struct pending p = todo[--ntodo];
    const json_t *keys = json_object_get(p.d, "keys");
    const json_t *roles = json_object_get(p.d, "roles");
    const json_t *sr = json_object_get(p.d, "succinct_roles");
    /* push_children checks the shape; a lookup of "" gives us that check. */
    struct visits probe = {0};
    r = push_children(&probe, p.d, NULL, p.from, -1, "", "0000000000000000", err);
    free(probe.v);
    if (r < 0) break;
    int64_t bits = 0;
    size_t n = sr ? 0 : json_array_size(roles);
    if (sr) tuf_get_int(sr, "bit_length", &bits);
    if (sr && bits > 16)
      return pl_fail(err, E2BIG, "%s: more than 65536 succinct bins to verify", p.from);
    if (sr) n = (size_t)1 << bits;
    for (size_t i = 0; r == 0 && i < n; i++) {
      struct visit v = {.delegator = p.from, .keys = keys, .parent = -1};
      if (sr) {
        char hash[PL_SHA256_HEX];
        uint32_t word = (uint32_t)(i << (32 - bits));
        snprintf(hash, sizeof hash, "%08" PRIx32, word);
        v.entry = sr;
        r = succinct_role(sr, p.from, hash, v.name, sizeof v.name, err);
      } else {
        v.entry = json_array_get(roles, i);
        snprintf(v.name, sizeof v.name, "%s", json_string_value(json_object_get(v.entry, "name")));
      }
      if (r < 0 || find_loaded(t, v.name, v.delegator) != NULL) continue;
      if (t->nroles >= PL_TUF_MAX_ROLES_TOTAL) {
        r = pl_fail(err, E2BIG, "more than %d delegated roles", PL_TUF_MAX_ROLES_TOTAL);
        break;
      }
      struct tuf_role *role;
      if ((r = load_role(t, &v, &role, err)) < 0) break;
      const json_t *d = json_object_get(role->md.body, "delegations");
      if (d == NULL) continue;
      struct pending *nt = reallocarray(todo, ntodo + 1, sizeof *nt);
      if (nt == NULL) return pl_fail(err, ENOMEM, "delegations");
      todo = nt;
      todo[ntodo++] = (struct pending){d, role->name};
    }
  }
  return r;
}

/* The roles a walk staged: moved into the state directory (publish), or
 * removed. */
static void walk_unstage(struct pl_tuf *t, bool publish) {
  if (!t->walk_staging) return;
  t->walk_staging = false;
  cleanup_close int dfd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  pl_error_t e = NULL;
  int sfd =
      dfd < 0 ? -1 : openat(dfd, STAGE_SUBDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR *d = sfd < 0 ? NULL : fdopendir(sfd);
  if (d == NULL) {
    if (sfd >= 0) close(sfd);
    return;
  }
  if (publish && pl_mkdir_p_at(dfd, STATE_SUBDIR, 0700, &e) < 0) publish = false;
  pl_error_free(&e);
  for (struct dirent *de; (de = readdir(d)) != NULL;) {
    if (de->d_name[0] == '.') continue;
    char to[sizeof STATE_SUBDIR + sizeof de->d_name];
    snprintf(to, sizeof to, STATE_SUBDIR "/%s", de->d_name);
    /* A cache: a file that fails to move costs a fetch later. */
    if (!publish || renameat(sfd, de->d_name, dfd, to) < 0) unlinkat(sfd, de->d_name, 0);
  }
  closedir(d);
  unlinkat(dfd, STAGE_SUBDIR, AT_REMOVEDIR);
  if (!publish) rmdir(t->state_dir); /* when the walk made it: only an empty one goes */
}

void tuf_delegated_keep(struct pl_tuf *t) {
  walk_unstage(t, true);
  for (size_t i = 0; i < t->nroles; i++)
    if (t->roles[i]->unsaved) {
      keep_role(t, t->roles[i]->name, &t->roles[i]->md);
      t->roles[i]->unsaved = false;
    }
  t->keep_roles_now = true;
}

int tuf_delegated_load_all(struct pl_tuf *t, pl_error_t *err) {
  if (load_every_role(t, err) < 0) return -1;
  /* Every name any role lists, each kept only as the search finds it: an
   * entry a role lists outside what was delegated to it never counts. */
  size_t total = t->ntargets;
  for (size_t i = 0; i < t->nroles; i++)
    total += t->roles[i]->ntargets;
  t->search_budget = PL_TUF_MAX_SEARCH_STEPS + PL_TUF_SEARCH_STEPS_PER_TARGET * total;
  struct pl_tuf_target *all = calloc(total ? total : 1, sizeof *all);
  if (all == NULL) return pl_fail(err, ENOMEM, "targets");
  size_t n = 0;
  memcpy(all, t->targets, t->ntargets * sizeof *all);
  n = t->ntargets;
  for (size_t i = 0; i < t->nroles; i++) {
    const struct tuf_role *role = t->roles[i];
    for (size_t j = 0; j < role->ntargets; j++) {
      const struct pl_tuf_target *top =
          t->ntargets
              ? bsearch(&role->targets[j], t->targets, t->ntargets, sizeof *all, tuf_cmp_target)
              : NULL;
      if (top != NULL) continue; /* top-level entries win */
      const struct pl_tuf_target *e;
      if (tuf_delegated_find(t, role->targets[j].name, &e, err) < 0) {
        free(all);
        return -1;
      }
      if (e == &role->targets[j]) all[n++] = *e;
    }
  }
  if (n) qsort(all, n, sizeof *all, tuf_cmp_target);
  free(t->targets);
  t->targets = all;
  t->ntargets = n;
  t->all_loaded = true;
  return 0;
}

/* ---- pl_tuf_walk: every role, one at a time ---- */

/* The roles a walk reached, as "DELEGATOR/NAME" in an open-addressed set
 * sized for PL_TUF_MAX_ROLES_TOTAL (bounded by roles, never by targets). */
#define SEEN_SLOTS ((size_t)1 << 18)

struct seen {
  char **slot;
  size_t n;
};

/* Note delegator/name; *again when it was noted before. */
static int seen_add(struct seen *s, const char *delegator, const char *name, bool *again,
                    pl_error_t *err) {
  char key[2 * PL_TUF_ROLE_NAME_MAX + 2];
  snprintf(key, sizeof key, "%s/%s", delegator, name);
  uint64_t h = 1469598103934665603u;
  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211u;
  size_t i = (size_t)h & (SEEN_SLOTS - 1);
  for (; s->slot[i] != NULL; i = (i + 1) & (SEEN_SLOTS - 1))
    if (strcmp(s->slot[i], key) == 0) {
      *again = true;
      return 0;
    }
  *again = false;
  if (s->n >= PL_TUF_MAX_ROLES_TOTAL)
    return pl_fail(err, E2BIG, "more than %d delegated roles", PL_TUF_MAX_ROLES_TOTAL);
  if ((s->slot[i] = strdup(key)) == NULL) return pl_fail(err, ENOMEM, "delegations");
  s->n++;
  return 0;
}

static void seen_free(struct seen *s) {
  for (size_t i = 0; s->slot && i < SEEN_SLOTS; i++)
    free(s->slot[i]);
  free(s->slot);
}

/* One delegations object being walked: of role (NULL: the top-level
 * targets), its next child and how many it has. */
struct frame {
  const json_t *d;
  const char *from;
  struct tuf_role *role;
  size_t next, n;
  int64_t bits; /* succinct_roles' bit_length, 0 for "roles" */
};

/* The frame of delegations d of role `from`, its shape checked as a
 * search checks it. */
static int frame_of(const json_t *d, const char *from, struct tuf_role *role, struct frame *out,
                    pl_error_t *err) {
  struct visits probe = {0};
  int r = push_children(&probe, d, NULL, from, -1, "", "0000000000000000", err);
  free(probe.v);
  if (r < 0) return -1;
  const json_t *sr = json_object_get(d, "succinct_roles");
  *out = (struct frame){.d = d, .from = from, .role = role};
  if (sr) {
    tuf_get_int(sr, "bit_length", &out->bits);
    if (out->bits > 16)
      return pl_fail(err, E2BIG, "%s: more than 65536 succinct bins to verify", from);
    out->n = (size_t)1 << out->bits;
  } else {
    out->n = json_array_size(json_object_get(d, "roles"));
  }
  return 0;
}

/* The visit of f's next child. */
static int frame_child(struct frame *f, struct visit *v, pl_error_t *err) {
  size_t i = f->next++;
  *v = (struct visit){.delegator = f->from, .keys = json_object_get(f->d, "keys"), .parent = -1};
  if (f->bits) {
    char hash[PL_SHA256_HEX];
    uint32_t word = (uint32_t)(i << (32 - f->bits));
    snprintf(hash, sizeof hash, "%08" PRIx32, word);
    v->entry = json_object_get(f->d, "succinct_roles");
    return succinct_role(v->entry, f->from, hash, v->name, sizeof v->name, err);
  }
  v->entry = json_array_get(json_object_get(f->d, "roles"), i);
  snprintf(v->name, sizeof v->name, "%s", json_string_value(json_object_get(v->entry, "name")));
  return 0;
}

/* Free every loaded role but those of the frames (and the prefix indexes
 * of the delegations freed with them). */
static void evict_roles(struct pl_tuf *t, const struct frame *fr, size_t nfr) {
  size_t k = 0;
  for (size_t i = 0; i < t->nroles; i++) {
    struct tuf_role *r = t->roles[i];
    bool pinned = false;
    for (size_t j = 0; j < nfr && !pinned; j++)
      pinned = fr[j].role == r;
    if (pinned) {
      t->roles[k++] = r;
      continue;
    }
    const json_t *d = json_object_get(r->md.body, "delegations");
    for (size_t p = 0; d && p < t->npindex; p++)
      if (t->pindex[p]->delegations == d) {
        free(t->pindex[p]->slots);
        free(t->pindex[p]);
        t->pindex[p--] = t->pindex[--t->npindex];
      }
    role_free(r);
  }
  t->nroles = k;
}

/* The loaded role whose entries hold e ("" when none does). */
static const char *owner_of(const struct pl_tuf *t, const struct pl_tuf_target *e) {
  for (size_t i = 0; e && i < t->nroles; i++)
    if (e >= t->roles[i]->targets && e < t->roles[i]->targets + t->roles[i]->ntargets)
      return t->roles[i]->name;
  return "";
}

/* Each entry of role against what a lookup of its name finds, to v. */
static int walk_entries(struct pl_tuf *t, const struct tuf_role *role,
                        const struct pl_tuf_visitor *v, pl_error_t *err) {
  size_t base = t->search_budget ? t->search_budget : PL_TUF_MAX_SEARCH_STEPS;
  for (size_t j = 0; j < role->ntargets; j++) {
    const struct pl_tuf_target *mine = &role->targets[j], *e = NULL;
    const char *by = "targets";
    bool top = t->ntargets && bsearch(mine, t->targets, t->ntargets, sizeof *mine, tuf_cmp_target);
    /* As loading every target did: the budget grows with the targets read. */
    t->search_budget = base += PL_TUF_SEARCH_STEPS_PER_TARGET;
    if (!top) {
      if (tuf_delegated_find(t, mine->name, &e, err) < 0) return -1;
      by = owner_of(t, e);
    }
    if (v->target &&
        v->target(v->ctx, t, role->name, mine, e == mine, e == mine ? role->name : by, err) < 0)
      return -1;
  }
  return 0;
}

int pl_tuf_walk(struct pl_tuf *t, const struct pl_tuf_visitor *v, pl_error_t *err) {
  if (t->all_loaded) return pl_fail(err, EINVAL, "pl_tuf_walk after every role was loaded");
  const json_t *top = json_object_get(t->md[PL_TUF_TARGETS].body, "delegations");
  size_t hint = 0;
  struct frame fr[PL_TUF_MAX_ROLES_VISITED + 1];
  size_t nfr = 0;
  if (t->delegates && frame_of(top, "targets", NULL, &fr[nfr++], err) < 0) return -1;
  hint = nfr ? fr[0].n : 0;
  if (v->role) v->role(v->ctx, "targets", 0, hint);
  for (size_t i = 0; i < t->ntargets; i++)
    if (v->target && v->target(v->ctx, t, "targets", &t->targets[i], true, "targets", err) < 0)
      return -1;
  if (!t->keep_roles_now && t->state_dir && t->delegates) {
    pl_error_t e = NULL;
    walk_unstage(t, false);
    t->walk_staging = true;
    if (pl_mkdir_p(t->state_dir, 0700, &e) == 0) {
      cleanup_close int dfd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd >= 0 && faccessat(dfd, STAGE_SUBDIR, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        pl_remove_tree_at(dfd, STAGE_SUBDIR, &e); /* what a crashed walk left */
    }
    pl_error_free(&e);
  }
  struct seen seen = {.slot = nfr ? calloc(SEEN_SLOTS, sizeof(char *)) : NULL};
  if (nfr && seen.slot == NULL) return pl_fail(err, ENOMEM, "delegations");
  int r = 0;
  while (r == 0 && nfr > 0) {
    struct frame *f = &fr[nfr - 1];
    if (f->next == f->n) {
      nfr--;
      evict_roles(t, fr, nfr);
      continue;
    }
    struct visit vis;
    bool again = false;
    struct tuf_role *role;
    if ((r = frame_child(f, &vis, err)) < 0 ||
        (r = seen_add(&seen, vis.delegator, vis.name, &again, err)) < 0 || again)
      continue;
    /* A role deeper than a search may go is one no lookup ever trusts. */
    if (nfr > PL_TUF_MAX_ROLES_VISITED) {
      r = pl_fail_hint(err, 0, "the registry's delegations are too deep or too many",
                       "%s.json: more than %d delegated roles visited to reach it", vis.name,
                       PL_TUF_MAX_ROLES_VISITED);
      break;
    }
    if ((r = load_role(t, &vis, &role, err)) < 0) break;
    if (v->role) v->role(v->ctx, role->name, seen.n, hint);
    if ((r = walk_entries(t, role, v, err)) < 0) break;
    const json_t *d = json_object_get(role->md.body, "delegations");
    if (d != NULL && (r = frame_of(d, role->name, role, &fr[nfr], err)) == 0) nfr++;
    evict_roles(t, fr, nfr);
  }
  evict_roles(t, fr, 0);
  seen_free(&seen);
  return r;
}
