/* pylock — the verified snapshot kept in the state directory: its record and compact index. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "file.h"
#include "sha.h"
#include "tuf_private.h"

/* A registry of a million targets lists 16,384 bins in a snapshot of
 * 0.77 MB: parsing it and checking its signature at every update cost
 * 40-60 ms of CPU, where nothing published since should cost one small
 * request.  So when an update has verified a snapshot, it keeps beside it
 * (snapshot.json, as fetched) a record: which root it was verified under
 * (its bytes' sha256), the snapshot's own sha256, sha512, length, version
 * and expiry, what it lists for targets.json, and the sha256 of an index
 * of its meta (snapshot.index: "NAME\tJSON\n" lines sorted by name).  The
 * state directory is written by pylock alone (no sandbox can write it), so
 * what the record says pylock verified, it did; what the record and the
 * index guard against is a state damaged by a crash, a disk or another of
 * the user's processes: the record carries its own checksum, names the
 * kept bytes by hash and the index by hash, each checked before its bytes
 * are used.  An update does not read the kept snapshot (hashing it took
 * 1-3 ms): the record also notes the file's inode, size, modification and
 * change times as written, and only a file whose differ is hashed.
 * Anything that does not match is not used: the update then verifies the
 * kept snapshot as before, or fetches it again. */
#define RECORD_FILE "snapshot.record"
#define INDEX_FILE "snapshot.index"
#define RECORD_MAX ((size_t)64 << 10)
#define INDEX_MAX ((size_t)16 << 20)

void tuf_ks_free(struct pl_tuf *t) {
  pl_json_decref(t->ks.targets_meta);
  free(t->ks.index);
  free(t->ks.lines);
  memset(&t->ks, 0, sizeof t->ks);
}

/* The checksum a record carries: sha256 of its canonical form without "check". */
static int record_check(const json_t *rec, char out[PL_SHA256_HEX], pl_error_t *err) {
  cleanup_json json_t *copy = json_deep_copy(rec);
  if (copy == NULL) return pl_fail(err, ENOMEM, RECORD_FILE);
  json_object_del(copy, "check");
  cleanup_free char *canon = NULL;
  size_t clen;
  if (pl_json_canonical(copy, &canon, &clen, err) < 0) return -1;
  return pl_sha256_hex(canon, clen, out, err);
}

/* s is a hex digest of exactly n digits. */
static bool hex_ok(const char *s, size_t n) {
  if (s == NULL || strlen(s) != n) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

/* The fields of a record whose checksum matched. */
static bool record_fields(struct tuf_kept_snapshot *ks, const json_t *rec) {
  const json_t *s = json_object_get(rec, "snapshot"), *ix = json_object_get(rec, "index");
  const char *s256 = json_string_value(json_object_get(s, "sha256"));
  const char *s512 = json_string_value(json_object_get(s, "sha512"));
  const char *i256 = json_string_value(json_object_get(ix, "sha256"));
  const char *id = json_string_value(json_object_get(s, "file"));
  int64_t len, ver, exp, ilen, format;
  json_t *tm = json_object_get(rec, "targets");
  if (tuf_get_int(rec, "format", &format) < 0 || format != 1 || !hex_ok(s256, 64) ||
      !hex_ok(s512, 128) || !hex_ok(i256, 64) || tuf_get_int(s, "length", &len) < 0 || len < 0 ||
      tuf_get_int(s, "version", &ver) < 0 || ver < 1 || tuf_get_int(s, "expires", &exp) < 0 ||
      tuf_get_int(ix, "length", &ilen) < 0 || ilen < 0 || !json_is_object(tm) || id == NULL ||
      strlen(id) >= sizeof ks->file_id)
    return false;
  memcpy(ks->file_id, id, strlen(id) + 1);
  memcpy(ks->sha256, s256, PL_SHA256_HEX);
  memcpy(ks->sha512, s512, PL_SHA512_HEX);
  memcpy(ks->index_sha256, i256, PL_SHA256_HEX);
  ks->length = (uint64_t)len;
  ks->version = ver;
  ks->expires = (time_t)exp;
  ks->index_length = (uint64_t)ilen;
  ks->targets_meta = json_incref(tm);
  return true;
}

int tuf_ks_read(struct pl_tuf *t, int statefd, pl_error_t *err) {
  struct tuf_kept_snapshot *ks = &t->ks;
  tuf_ks_free(t);
  const struct md *root = &t->md[PL_TUF_ROOT];
  if (pl_sha256_hex(root->raw, root->rawlen, ks->root_sha256, err) < 0) return -1;
  if (statefd < 0) return 0;
  char *raw = NULL;
  size_t len;
  pl_error_t e = NULL;
  cleanup_json json_t *rec = NULL;
  char check[PL_SHA256_HEX];
  if (pl_read_file_at(statefd, RECORD_FILE, RECORD_MAX, &raw, &len, &e) < 0 ||
      pl_json_parse(raw, len, RECORD_FILE, &rec, &e) < 0 || !json_is_object(rec) ||
      record_check(rec, check, &e) < 0) {
    free(raw);
    pl_error_free(&e);
    return 0;
  }
  free(raw);
  const char *have = json_string_value(json_object_get(rec, "check"));
  const char *root_sha = json_string_value(json_object_get(rec, "root"));
  /* Verified under another root (rotated since, or another anchor's): its
   * signatures are to be checked again under this one. */
  ks->ok = have && strcmp(have, check) == 0 && root_sha && strcmp(root_sha, ks->root_sha256) == 0 &&
           record_fields(ks, rec);
  return 0;
}

/* The kept snapshot is the one a meta entry (timestamp's) lists: its
 * length and hashes, as tuf_check_meta_bytes would compare them. */
static bool record_matches_meta(const struct tuf_kept_snapshot *ks, const json_t *meta) {
  int64_t want_len;
  if (tuf_get_int(meta, "length", &want_len) == 0 && (uint64_t)want_len != ks->length) return false;
  const json_t *hashes = json_object_get(meta, "hashes");
  if (hashes == NULL) return true;
  const char *w256 = json_string_value(json_object_get(hashes, "sha256"));
  const char *w512 = json_string_value(json_object_get(hashes, "sha512"));
  return json_is_object(hashes) && (w256 || w512) && (!w256 || strcasecmp(w256, ks->sha256) == 0) &&
         (!w512 || strcasecmp(w512, ks->sha512) == 0);
}

/* dirfd/name holds exactly the bytes whose sha256 and length are given. */
static bool file_is(int dirfd, const char *name, const char *sha256, uint64_t length) {
  char *raw = NULL, got[PL_SHA256_HEX];
  size_t len;
  pl_error_t e = NULL;
  bool same = length <= PL_TUF_SNAPSHOT_MAX &&
              pl_read_file_at(dirfd, name, (size_t)length, &raw, &len, &e) == 0 && len == length &&
              pl_sha256_hex(raw, len, got, &e) == 0 && strcmp(got, sha256) == 0;
  free(raw);
  pl_error_free(&e);
  return same;
}

/* What identifies dirfd/name as written ("" when it cannot be read):
 * another process rewriting it changes its inode or change time. */
static void file_id(int dirfd, const char *name, char out[96]) {
  struct stat st;
  out[0] = '\0';
  if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
    snprintf(out, 96, "%ju %jd %jd.%09ld %jd.%09ld", (uintmax_t)st.st_ino, (intmax_t)st.st_size,
             (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, (intmax_t)st.st_ctim.tv_sec,
             st.st_ctim.tv_nsec);
}

/* The kept snapshot still is the file the record describes, or at least
 * holds the bytes it names. */
static bool kept_unchanged(int statefd, const struct tuf_kept_snapshot *ks) {
  char id[96];
  file_id(statefd, "snapshot.json", id);
  return (id[0] && strcmp(id, ks->file_id) == 0) ||
         file_is(statefd, "snapshot.json", ks->sha256, ks->length);
}

int tuf_ks_use(struct pl_tuf *t, int statefd, const json_t *meta, int64_t want, pl_error_t *err) {
  struct tuf_kept_snapshot *ks = &t->ks;
  if (!ks->ok || ks->version != want || !record_matches_meta(ks, meta) ||
      !kept_unchanged(statefd, ks))
    return 0;
  struct md *m = &t->md[PL_TUF_SNAPSHOT];
  tuf_md_clear(m);
  m->version = ks->version;
  m->expires = ks->expires;
  m->kept = true;
  ks->lazy = true;
  /* Its expiry still counts, whatever the timestamp says. */
  return tuf_check_expiry(m, "snapshot.json", t->now, err) < 0 ? -1 : 1;
}

struct index_entry {
  const char *name;
  char *json;
};

static int cmp_entry(const void *a, const void *b) {
  return strcmp(((const struct index_entry *)a)->name, ((const struct index_entry *)b)->name);
}

/* A name the index can hold on a line of its own. */
static bool index_name_ok(const char *s) {
  if (*s == '\0') return false;
  for (; *s; s++)
    if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f) return false;
  return true;
}

/* An entry as one line of JSON: most list a version alone (a bin's, in a
 * snapshot of 16,384), written here directly; json_dumps for the rest
 * took 10 ms for a whole snapshot. */
static char *entry_json(const json_t *v) {
  json_t *ver = json_object_get(v, "version");
  if (json_object_size(v) != 1 || !json_is_integer(ver) || json_integer_value(ver) < 0)
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
  char digits[24], *p = digits + sizeof digits;
  uint64_t n = (uint64_t)json_integer_value(ver);
  *--p = '\0';
  do
    *--p = (char)('0' + n % 10);
  while ((n /= 10) > 0);
  static const char head[] = "{\"version\":";
  size_t dl = (size_t)(digits + sizeof digits - 1 - p);
  char *out = malloc(sizeof head + dl + 1);
  if (out == NULL) return NULL;
  memcpy(out, head, sizeof head - 1);
  memcpy(out + sizeof head - 1, p, dl);
  memcpy(out + sizeof head - 1 + dl, "}", 2);
  return out;
}

/* The index of meta: "NAME\tJSON\n" lines sorted by name; NULL when some
 * name cannot be a line (no index then: lookups parse the snapshot). */
static char *build_index(const json_t *meta, size_t *len) {
  size_t n = json_object_size(meta), i = 0, total = 0;
  struct index_entry *es = calloc(n ? n : 1, sizeof *es);
  char *out = NULL;
  bool ok = es != NULL, sorted = true;
  for (void *it = json_object_iter((json_t *)meta); ok && it && i < n;
       it = json_object_iter_next((json_t *)meta, it), i++) {
    es[i].name = json_object_iter_key(it);
    es[i].json = entry_json(json_object_iter_value(it));
    ok = index_name_ok(es[i].name) && es[i].json && !strchr(es[i].json, '\n');
    if (ok) total += strlen(es[i].name) + strlen(es[i].json) + 2;
    sorted = sorted && (i == 0 || strcmp(es[i - 1].name, es[i].name) < 0);
  }
  if (ok && total <= INDEX_MAX && (out = malloc(total + 1)) != NULL) {
    if (!sorted) qsort(es, i, sizeof *es, cmp_entry);
    size_t off = 0;
    for (size_t k = 0; k < i; k++) {
      size_t nl = strlen(es[k].name), jl = strlen(es[k].json);
      memcpy(out + off, es[k].name, nl);
      out[off + nl] = '\t';
      memcpy(out + off + nl + 1, es[k].json, jl);
      out[off + nl + 1 + jl] = '\n';
      off += nl + jl + 2;
    }
    out[off] = '\0';
    *len = off;
  }
  for (size_t k = 0; es && k < n; k++)
    free(es[k].json);
  free(es);
  return out;
}

/* The record of the verified snapshot m, its index of ilen bytes hashed. */
static json_t *build_record(const struct tuf_kept_snapshot *ks, const struct md *m, const char *id,
                            const json_t *targets_meta, const char *index, size_t ilen,
                            pl_error_t *err) {
  char s256[PL_SHA256_HEX], s512[PL_SHA512_HEX], i256[PL_SHA256_HEX], check[PL_SHA256_HEX];
  struct pl_sha d;
  if (pl_sha_init(&d, err) < 0) return NULL;
  if (pl_sha_update(&d, m->raw, m->rawlen, err) < 0) {
    pl_sha_free(&d);
    return NULL;
  }
  if (pl_sha_final(&d, s256, s512, err) < 0 || pl_sha256_hex(index, ilen, i256, err) < 0)
    return NULL;
  json_t *rec = json_object(), *s = json_object(), *ix = json_object();
  if (rec == NULL || s == NULL || ix == NULL) {
    pl_json_decref(rec);
    pl_json_decref(s);
    pl_json_decref(ix);
    pl_fail(err, ENOMEM, RECORD_FILE);
    return NULL;
  }
  json_object_set_new(s, "sha256", json_string(s256));
  json_object_set_new(s, "sha512", json_string(s512));
  json_object_set_new(s, "length", json_integer((json_int_t)m->rawlen));
  json_object_set_new(s, "version", json_integer(m->version));
  json_object_set_new(s, "expires", json_integer((json_int_t)m->expires));
  json_object_set_new(s, "file", json_string(id));
  json_object_set_new(ix, "sha256", json_string(i256));
  json_object_set_new(ix, "length", json_integer((json_int_t)ilen));
  json_object_set_new(rec, "format", json_integer(1));
  json_object_set_new(rec, "root", json_string(ks->root_sha256));
  json_object_set_new(rec, "snapshot", s);
  json_object_set_new(rec, "index", ix);
  json_object_set_new(rec, "targets", json_deep_copy(targets_meta));
  if (record_check(rec, check, err) < 0) {
    pl_json_decref(rec);
    return NULL;
  }
  json_object_set_new(rec, "check", json_string(check));
  return rec;
}

void tuf_ks_write(struct pl_tuf *t, int statefd) {
  const struct md *m = &t->md[PL_TUF_SNAPSHOT];
  if (m->doc == NULL || m->raw == NULL || t->ks.root_sha256[0] == '\0') return;
  const json_t *meta = json_object_get(m->body, "meta");
  const json_t *tm = json_object_get(meta, "targets.json");
  if (!json_is_object(meta) || !json_is_object(tm)) return;
  size_t ilen = 0;
  cleanup_free char *index = build_index(meta, &ilen);
  if (index == NULL) return;
  /* The kept file, written before the record: its bytes are m's (else,
   * their hash will tell when they are used). */
  char id[96];
  file_id(statefd, "snapshot.json", id);
  pl_error_t e = NULL;
  cleanup_json json_t *rec = build_record(&t->ks, m, id, tm, index, ilen, &e);
  cleanup_free char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  /* The index first: a record never names an index not yet written. */
  if (text == NULL || strlen(text) > RECORD_MAX ||
      pl_write_file_atomic_at(statefd, INDEX_FILE, index, ilen, 0644, &e) < 0 ||
      pl_write_file_atomic_at(statefd, RECORD_FILE, text, strlen(text), 0644, &e) < 0)
    unlinkat(statefd, RECORD_FILE, 0);
  pl_error_free(&e);
}

/* Read the kept index when it is the one the record names, and note where
 * each line starts; lines must be "NAME\tJSON" sorted by name. */
static int index_load(struct pl_tuf *t) {
  struct tuf_kept_snapshot *ks = &t->ks;
  if (t->state_dir == NULL || ks->index_length > INDEX_MAX) return -1;
  cleanup_close int dfd = open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  char *raw = NULL;
  size_t len;
  pl_error_t e = NULL;
  if (dfd < 0 || pl_read_file_at(dfd, INDEX_FILE, (size_t)ks->index_length, &raw, &len, &e) < 0) {
    pl_error_free(&e);
    return -1;
  }
  char got[PL_SHA256_HEX];
  size_t n = 0, cap = 0, *lines = NULL;
  bool ok = len == ks->index_length && pl_sha256_hex(raw, len, got, &e) == 0 &&
            strcmp(got, ks->index_sha256) == 0 && (len == 0 || raw[len - 1] == '\n');
  for (size_t off = 0; ok && off < len; n++) {
    char *nl = memchr(raw + off, '\n', len - off);
    char *tab = memchr(raw + off, '\t', (size_t)(nl - (raw + off)));
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 1024, *nlines = reallocarray(lines, ncap, sizeof *lines);
      if ((ok = nlines != NULL) == false) break;
      lines = nlines;
      cap = ncap;
    }
    ok = tab != NULL && tab > raw + off;
    if (!ok) break;
    lines[n] = off;
    *nl = '\0';
    *tab = '\0';
    ok = n == 0 || strcmp(raw + lines[n - 1], raw + off) < 0;
    off = (size_t)(nl - raw) + 1;
  }
  pl_error_free(&e);
  if (!ok) {
    free(raw);
    free(lines);
    return -1;
  }
  ks->index = raw;
  ks->lines = lines;
  ks->nlines = n;
  return 0;
}

/* The kept snapshot's body, when an index cannot answer: the kept bytes
 * when they still are those the record names (verified again), else the
 * version the timestamp names fetched, as an update fetches it. */
static int load_body(struct pl_tuf *t, pl_error_t *err) {
  struct tuf_kept_snapshot *ks = &t->ks;
  cleanup_close int dfd =
      t->state_dir ? open(t->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  struct md m;
  char *raw = NULL;
  size_t len;
  pl_error_t e = NULL;
  bool kept = dfd >= 0 && file_is(dfd, "snapshot.json", ks->sha256, ks->length) &&
              pl_read_file_at(dfd, "snapshot.json", (size_t)ks->length, &raw, &len, &e) == 0 &&
              tuf_md_parse(raw, len, "snapshot.json", "snapshot", &m, &e) == 0;
  if (kept && (tuf_verify_role(t->md[PL_TUF_ROOT].body, "snapshot", &m, "snapshot.json", &e) < 0 ||
               m.version != ks->version)) {
    tuf_md_clear(&m);
    kept = false;
  }
  pl_error_free(&e);
  if (!kept) {
    if (t->f == NULL)
      return pl_fail_hint(err, ENOENT, "update with the network: pylock sync",
                          "the kept snapshot.json is not the one verified last");
    char file[48];
    if (tuf_fetch_listed_role(t, PL_TUF_TIMESTAMP, "snapshot", PL_TUF_SNAPSHOT_MAX, &m, file, err) <
        0)
      return -1;
    /* The update trusted the snapshot the record names: one signed again
     * at its version (a timestamp listing no hashes cannot tell) would mix
     * two publications in one session. */
    char got[PL_SHA256_HEX];
    if (pl_sha256_hex(m.raw, m.rawlen, got, err) < 0 ||
        (strcmp(got, ks->sha256) != 0 && pl_fail(err, 0,
                                                 "%s: not the snapshot.json version %" PRId64
                                                 " this update trusted: the registry signed two",
                                                 file, ks->version) < 0) ||
        tuf_check_expiry(&m, file, t->now, err) < 0) {
      tuf_md_clear(&m);
      return -1;
    }
  }
  m.kept = kept;
  tuf_md_clear(&t->md[PL_TUF_SNAPSHOT]);
  t->md[PL_TUF_SNAPSHOT] = m;
  ks->lazy = false;
  /* Once the update has passed, repair what was found damaged; during it,
   * the update's end keeps what it verified. */
  if (t->keep_roles_now && dfd >= 0) {
    if (!kept && pl_write_file_atomic_at(dfd, "snapshot.json", m.raw, m.rawlen, 0644, &e) < 0) {
      pl_error_free(&e);
      return 0;
    }
    tuf_ks_write(t, dfd);
  }
  return 0;
}

/* The line of the loaded index for name, or -1. */
static long index_find(const struct tuf_kept_snapshot *ks, const char *name) {
  size_t lo = 0, hi = ks->nlines;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, ks->index + ks->lines[mid]);
    if (c == 0) return (long)mid;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return -1;
}

int tuf_snapshot_meta(struct pl_tuf *t, const char *file, json_t **entry, pl_error_t *err) {
  struct tuf_kept_snapshot *ks = &t->ks;
  *entry = NULL;
  if (!ks->lazy) {
    json_t *e = json_object_get(json_object_get(t->md[PL_TUF_SNAPSHOT].body, "meta"), file);
    if (e) *entry = json_incref(e);
    return 0;
  }
  if (strcmp(file, "targets.json") == 0) {
    *entry = json_incref(ks->targets_meta);
    return 0;
  }
  if (ks->index == NULL && index_load(t) < 0) {
    if (load_body(t, err) < 0) return -1;
    return tuf_snapshot_meta(t, file, entry, err);
  }
  long i = index_find(ks, file);
  if (i < 0) return 0;
  const char *name = ks->index + ks->lines[i];
  const char *json = name + strlen(name) + 1;
  return pl_json_parse(json, strlen(json), INDEX_FILE, entry, err);
}
