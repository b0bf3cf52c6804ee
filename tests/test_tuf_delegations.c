/* Unit tests: lib/tuf_delegation.c — delegated targets roles, hashed bins
 * (explicit and TAP 15 succinct), and every attack on them the client must
 * refuse.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>

#include "canonjson.h"
#include "ed25519.h"
#include "file.h"
#include "sha.h"
#include "tuf.h"
#include "tuf_meta.h"
#include "tuf_private.h"

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define DAY 86400
#define NBITS 3 /* 8 bins */

struct fx {
  char dir[64], repo[96], state[96], anchor[128];
  int repofd;
  struct pl_key root_key, ts_key, snap_key, tg_key, bins_key, other_key;
  json_t *root, *targets, *snapshot;
  int64_t ts_version;
  bool consistent;
  pl_error_t err;
};

static void write_file(struct fx *f, const char *name, const char *data, size_t len) {
  pl_error_t err = NULL;
  assert_int_equal(pl_write_file_atomic_at(f->repofd, name, data, len, 0644, &err), 0);
}

static char *sign(const json_t *body, const struct pl_key *k, size_t *len) {
  const struct pl_key *keys[1] = {k};
  char *out = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_tuf_sign(body, keys, 1, &out, len, &err), 0);
  return out;
}

/* Sign body with k and write it to the registry as file. */
static void sign_to(struct fx *f, const char *file, const json_t *body, const struct pl_key *k) {
  size_t len;
  char *bytes = sign(body, k, &len);
  write_file(f, file, bytes, len);
  free(bytes);
}

/* Sign a targets role `name` and publish it as snapshot will name it; list
 * it (version, length, sha256) in the next snapshot. */
static void put_role(struct fx *f, const char *name, const json_t *body, const struct pl_key *k) {
  size_t len;
  char *bytes = sign(body, k, &len);
  char file[256];
  if (f->consistent)
    snprintf(file, sizeof file, "%lld.%s.json", (long long)pl_tuf_get_version(body), name);
  else
    snprintf(file, sizeof file, "%s.json", name);
  write_file(f, file, bytes, len);
  snprintf(file, sizeof file, "%s.json", name);
  assert_int_equal(
      pl_tuf_meta_set(f->snapshot, file, pl_tuf_get_version(body), bytes, len, &f->err), 0);
  free(bytes);
}

/* A new snapshot (version + 1) over what put_role listed, and a timestamp
 * over it. */
static void release(struct fx *f) {
  pl_tuf_set_version(f->snapshot, pl_tuf_get_version(f->snapshot) + 1);
  size_t len;
  char *bytes = sign(f->snapshot, &f->snap_key, &len);
  char file[64];
  snprintf(file, sizeof file, "%lld.snapshot.json", (long long)pl_tuf_get_version(f->snapshot));
  write_file(f, f->consistent ? file : "snapshot.json", bytes, len);
  json_t *ts = pl_tuf_new_timestamp(++f->ts_version, NOW + 7 * DAY, pl_tuf_get_version(f->snapshot),
                                    bytes, len, &f->err);
  free(bytes);
  sign_to(f, "timestamp.json", ts, &f->ts_key);
  pl_json_decref(ts);
}

/* A target `name` with content `data`, listed in role and written where the
 * registry's layout puts it. */
static void add_target(struct fx *f, json_t *role, const char *name, const char *data) {
  char sha[PL_SHA256_HEX], file[256];
  assert_int_equal(pl_sha256_hex(data, strlen(data), sha, &f->err), 0);
  assert_int_equal(pl_tuf_targets_add(role, name, strlen(data), sha, &f->err), 0);
  if (f->consistent)
    snprintf(file, sizeof file, "targets/%s.%s", sha, name);
  else
    snprintf(file, sizeof file, "targets/%s", name);
  write_file(f, file, data, strlen(data));
}

static json_t *new_role(int64_t version) {
  return pl_tuf_new_targets(version, NOW + 30 * DAY);
}

static void new_root(struct fx *f) {
  pl_error_t err = NULL;
  f->root = pl_tuf_new_root(1, NOW + 365 * DAY);
  json_object_set_new(f->root, "consistent_snapshot", json_boolean(f->consistent));
  assert_int_equal(pl_tuf_root_add_key(f->root, "root", &f->root_key, &err), 0);
  assert_int_equal(pl_tuf_root_add_key(f->root, "timestamp", &f->ts_key, &err), 0);
  assert_int_equal(pl_tuf_root_add_key(f->root, "snapshot", &f->snap_key, &err), 0);
  assert_int_equal(pl_tuf_root_add_key(f->root, "targets", &f->tg_key, &err), 0);
  size_t len;
  char *bytes = sign(f->root, &f->root_key, &len);
  write_file(f, "1.root.json", bytes, len);
  write_file(f, "root.json", bytes, len);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, f->anchor, bytes, len, 0644, &err), 0);
  free(bytes);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  pl_error_t err = NULL;
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-tufdel-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
  snprintf(f->state, sizeof f->state, "%s/state", f->dir);
  snprintf(f->anchor, sizeof f->anchor, "%s/anchor.json", f->dir);
  assert_int_equal(mkdir(f->repo, 0755), 0);
  f->repofd = open(f->repo, O_RDONLY | O_DIRECTORY);
  assert_int_equal(mkdirat(f->repofd, "targets", 0755), 0);
  struct pl_key *keys[] = {&f->root_key, &f->ts_key,   &f->snap_key,
                           &f->tg_key,   &f->bins_key, &f->other_key};
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
    assert_int_equal(pl_key_generate(keys[i], &err), 0);
  f->targets = new_role(1);
  f->snapshot = pl_tuf_new_snapshot(0, NOW + 30 * DAY, 1, NULL, 0, &err);
  json_object_set_new(f->snapshot, "meta", json_object());
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  close(f->repofd);
  pl_json_decref(f->root);
  pl_json_decref(f->targets);
  pl_json_decref(f->snapshot);
  pl_error_free(&f->err);
  free(f);
  return 0;
}

static int update(struct fx *f, bool lazy, bool offline, struct pl_tuf **out) {
  struct pl_tuf_options o = {.url = f->repo,
                             .root_path = f->anchor,
                             .state_dir = f->state,
                             .now = NOW,
                             .lazy_delegations = lazy,
                             .offline = offline};
  pl_error_free(&f->err);
  *out = NULL;
  return pl_tuf_update(&o, out, &f->err);
}

static struct pl_tuf *update_ok(struct fx *f, bool lazy) {
  struct pl_tuf *t = NULL;
  if (update(f, lazy, false, &t) < 0) fail_msg("update failed: %s", f->err->msg);
  return t;
}

static void assert_err(struct fx *f, const char *word) {
  assert_non_null(f->err);
  if (strstr(f->err->msg, word) == NULL) fail_msg("error \"%s\" lacks \"%s\"", f->err->msg, word);
}

/* Look name up (lazily) and fetch it; its content must be data. */
static void assert_target(struct fx *f, struct pl_tuf *t, const char *name, const char *data) {
  char *buf = NULL;
  size_t len;
  pl_error_free(&f->err);
  if (pl_tuf_fetch_target_mem(t, name, &buf, &len, &f->err) < 0)
    fail_msg("%s: %s", name, f->err->msg);
  assert_int_equal(len, strlen(data));
  assert_memory_equal(buf, data, len);
  free(buf);
}

static void assert_lookup_fails(struct fx *f, struct pl_tuf *t, const char *name, int errnum,
                                const char *word) {
  const struct pl_tuf_target *e = NULL;
  pl_error_free(&f->err);
  assert_int_equal(pl_tuf_find_target(t, name, &e, &f->err), -1);
  if (errnum >= 0) assert_int_equal(f->err->errnum, errnum);
  assert_err(f, word);
}

static void name_of(const char *path, char *out, size_t cap) {
  pl_error_t err = NULL;
  pl_tuf_succinct_name("bins", NBITS, pl_tuf_succinct_bin(path, NBITS, &err), out, cap);
}

/* A registry whose targets delegate by TAP 15 succinct hash bins (8 bins,
 * held by bins_key), with the targets names[] (content: their names). */
static void make_succinct(struct fx *f, const char *const *names, size_t n) {
  new_root(f);
  const struct pl_key *bk[1] = {&f->bins_key};
  assert_int_equal(pl_tuf_delegate_succinct(f->targets, bk, 1, 1, NBITS, "bins", &f->err), 0);
  put_role(f, "targets", f->targets, &f->tg_key);
  for (uint32_t b = 0; b < (1u << NBITS); b++) {
    char bin[32], who[32];
    pl_tuf_succinct_name("bins", NBITS, b, bin, sizeof bin);
    json_t *role = new_role(1);
    for (size_t i = 0; i < n; i++) {
      name_of(names[i], who, sizeof who);
      if (strcmp(who, bin) == 0) add_target(f, role, names[i], names[i]);
    }
    put_role(f, bin, role, &f->bins_key);
    pl_json_decref(role);
  }
  release(f);
}

static const char *const NAMES[] = {"a-1.0-py3-none-any.whl", "b-2.0-py3-none-any.whl",
                                    "c-3.0-py3-none-any.whl", "d-4.0-py3-none-any.whl",
                                    "e-5.0-py3-none-any.whl", "f-6.0-py3-none-any.whl"};
#define NNAMES (sizeof NAMES / sizeof *NAMES)

/* The bin role of name, as published (version 1 unless bumped). */
static json_t *bin_with(struct fx *f, const char *bin, const char *const *names, size_t n) {
  char who[32];
  json_t *role = new_role(1);
  for (size_t i = 0; i < n; i++) {
    name_of(names[i], who, sizeof who);
    if (strcmp(who, bin) == 0) add_target(f, role, names[i], names[i]);
  }
  return role;
}

/* ---- the happy paths ---- */

static void test_deleg_succinct_bins_find_every_target(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  struct pl_tuf *t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), NNAMES);
  for (size_t i = 0; i < NNAMES; i++)
    assert_target(f, t, NAMES[i], NAMES[i]);
  assert_lookup_fails(f, t, "zz-1.0-py3-none-any.whl", ENOENT, "not a signed target");
  pl_tuf_free(t);
}

static void test_deleg_lazy_lookup_fetches_only_the_bin_it_needs(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  /* Every other bin is gone: a lookup that read them would fail. */
  for (uint32_t b = 0; b < (1u << NBITS); b++) {
    char bin[32], file[64];
    pl_tuf_succinct_name("bins", NBITS, b, bin, sizeof bin);
    snprintf(file, sizeof file, "%s.json", bin);
    if (strcmp(bin, mine) != 0) assert_int_equal(unlinkat(f->repofd, file, 0), 0);
  }
  struct pl_tuf *t = update_ok(f, true);
  assert_int_equal(pl_tuf_target_count(t), 0); /* top-level lists none */
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  char kept[256];
  snprintf(kept, sizeof kept, "%s/delegated/%s.json", f->state, mine);
  assert_int_equal(access(kept, F_OK), 0);
}

static void test_deleg_kept_bin_is_not_fetched_again_until_snapshot_changes(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32], file[64];
  name_of(NAMES[0], mine, sizeof mine);
  snprintf(file, sizeof file, "%s.json", mine);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  /* The bin is gone from the registry; the kept copy answers. */
  assert_int_equal(unlinkat(f->repofd, file, 0), 0);
  t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  /* A new version of the bin, with a new target: fetched, found. */
  static const char *const more[] = {"a-1.0-py3-none-any.whl", "a-1.1-py3-none-any.whl",
                                     "a-1.2-py3-none-any.whl", "a-1.3-py3-none-any.whl"};
  json_t *role = bin_with(f, mine, more, 4);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  t = update_ok(f, true);
  for (size_t i = 0; i < 4; i++) {
    char who[32];
    name_of(more[i], who, sizeof who);
    if (strcmp(who, mine) == 0) assert_target(f, t, more[i], more[i]);
  }
  pl_tuf_free(t);
}

static void test_deleg_offline_uses_kept_bins_and_refuses_missing_ones(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  assert_int_equal(update(f, true, true, &t), 0);
  const struct pl_tuf_target *e;
  assert_int_equal(pl_tuf_find_target(t, NAMES[0], &e, &f->err), 0);
  char a[32], b[32];
  name_of(NAMES[0], a, sizeof a);
  size_t other = 1;
  while (other < NNAMES && (name_of(NAMES[other], b, sizeof b), strcmp(a, b) == 0))
    other++;
  assert_true(other < NNAMES);
  assert_lookup_fails(f, t, NAMES[other], ENOENT, "kept");
  pl_tuf_free(t);
}

/* PEP 458's layout: targets -> "bins" (paths "*") -> bin roles by
 * path_hash_prefixes; and consistent snapshots. */
static void test_deleg_pep458_bins_with_consistent_snapshots(void **state) {
  struct fx *f = *state;
  f->consistent = true;
  new_root(f);
  const struct pl_key *tk[1] = {&f->tg_key}, *bk[1] = {&f->bins_key};
  static const char *const all[] = {"*"};
  assert_int_equal(pl_tuf_delegate(f->targets, "bins", tk, 1, 1, false, "paths", all, 1, &f->err),
                   0);
  put_role(f, "targets", f->targets, &f->tg_key);
  json_t *bins = new_role(1);
  for (int b = 0; b < 16; b++) {
    char name[16], prefix[4];
    snprintf(name, sizeof name, "bin-%x", b);
    snprintf(prefix, sizeof prefix, "%x", b);
    const char *prefixes[1] = {prefix};
    assert_int_equal(
        pl_tuf_delegate(bins, name, bk, 1, 1, false, "path_hash_prefixes", prefixes, 1, &f->err),
        0);
    json_t *role = new_role(1);
    for (size_t i = 0; i < NNAMES; i++) {
      char sha[PL_SHA256_HEX];
      pl_sha256_hex(NAMES[i], strlen(NAMES[i]), sha, &f->err);
      if (sha[0] == prefix[0]) add_target(f, role, NAMES[i], NAMES[i]);
    }
    put_role(f, name, role, &f->bins_key);
    pl_json_decref(role);
  }
  put_role(f, "bins", bins, &f->tg_key);
  pl_json_decref(bins);
  release(f);
  assert_int_equal(access(f->repo, F_OK), 0);
  assert_int_equal(faccessat(f->repofd, "1.bins.json", F_OK, 0), 0);
  struct pl_tuf *t = update_ok(f, true);
  for (size_t i = 0; i < NNAMES; i++)
    assert_target(f, t, NAMES[i], NAMES[i]);
  pl_tuf_free(t);
  t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), NNAMES);
  pl_tuf_free(t);
  /* Nothing published since: VERSION.ROLE.json never change, the kept
   * snapshot, targets and bins answer without a fetch. */
  char file[64];
  snprintf(file, sizeof file, "%lld.snapshot.json", (long long)pl_tuf_get_version(f->snapshot));
  assert_int_equal(unlinkat(f->repofd, file, 0), 0);
  assert_int_equal(unlinkat(f->repofd, "1.targets.json", 0), 0);
  assert_int_equal(unlinkat(f->repofd, "1.bins.json", 0), 0);
  t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), NNAMES);
  pl_tuf_free(t);
}

/* ---- attacks ---- */

static void test_deleg_bin_cannot_sign_a_target_outside_its_prefixes(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, 1);
  char mine[32], evil_bin[32];
  name_of(NAMES[0], mine, sizeof mine);
  /* A target that hashes to another bin, listed by mine (with the bin
   * key, which signs every bin: only the delegation's paths stop it). */
  const char *evil = NULL;
  static char buf[64];
  for (int i = 0; evil == NULL && i < 1000; i++) {
    snprintf(buf, sizeof buf, "evil-%d-py3-none-any.whl", i);
    name_of(buf, evil_bin, sizeof evil_bin);
    if (strcmp(evil_bin, mine) != 0) evil = buf;
  }
  json_t *role = bin_with(f, mine, NAMES, 1);
  add_target(f, role, evil, "malware");
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, evil, ENOENT, "not a signed target");
  pl_tuf_free(t);
  t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), 1); /* NAMES[0] only */
  assert_string_equal(pl_tuf_target_at(t, 0)->name, NAMES[0]);
  pl_tuf_free(t);
}

static void test_deleg_rejects_bin_signed_by_key_not_in_delegation(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->other_key); /* the top-level targets key would fail the same */
  release(f);
  pl_json_decref(role);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, NAMES[0], -1, "threshold not met");
  pl_tuf_free(t);
  /* The whole-registry load refuses it too, and keeps nothing of it. */
  assert_int_equal(update(f, false, false, &t), -1);
  assert_err(f, "threshold not met");
  char kept[256];
  snprintf(kept, sizeof kept, "%s/delegated/%s.json", f->state, mine);
  assert_int_equal(access(kept, F_OK), -1);
  /* Nor any other bin: a refused update keeps nothing of what it verified. */
  snprintf(kept, sizeof kept, "%s/delegated", f->state);
  assert_int_equal(access(kept, F_OK), -1);
}

static void test_deleg_rejects_bin_rolled_back_in_snapshot(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  json_t *saved_snapshot = json_deep_copy(f->snapshot);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  /* A newer snapshot listing the bin's old version 1 again. */
  pl_tuf_set_version(saved_snapshot, pl_tuf_get_version(f->snapshot));
  pl_json_decref(f->snapshot);
  f->snapshot = saved_snapshot;
  pl_tuf_set_version(role, 1);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  assert_int_equal(update(f, true, false, &t), -1);
  assert_err(f, "rollback");
}

static void test_deleg_rejects_bin_older_than_kept_even_without_kept_snapshot(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32], file[64];
  name_of(NAMES[0], mine, sizeof mine);
  snprintf(file, sizeof file, "%s.json", mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  json_t *old_snapshot = json_deep_copy(f->snapshot);
  char *old_bin;
  size_t old_len;
  assert_int_equal(pl_read_file_at(f->repofd, file, 1 << 20, &old_bin, &old_len, &f->err), 0);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  /* The state lost its snapshot (as after a snapshot key rotation); the
   * registry serves the old bin under a snapshot naming version 1. */
  char path[128];
  snprintf(path, sizeof path, "%s/snapshot.json", f->state);
  assert_int_equal(unlink(path), 0);
  snprintf(path, sizeof path, "%s/timestamp.json", f->state);
  assert_int_equal(unlink(path), 0);
  pl_tuf_set_version(old_snapshot, pl_tuf_get_version(f->snapshot));
  pl_json_decref(f->snapshot);
  f->snapshot = old_snapshot;
  write_file(f, file, old_bin, old_len);
  free(old_bin);
  release(f);
  assert_int_equal(update(f, true, false, &t), 0);
  assert_lookup_fails(f, t, NAMES[0], -1, "version rollback");
  pl_tuf_free(t);
}

/* ---- the kept snapshot: its record and index (tuf_snapshot.c) ---- */

/* The bytes of file name in dir (the state or the registry); *len. */
static char *bytes_in(const char *dir, const char *name, size_t *len) {
  char p[256];
  char *buf = NULL;
  pl_error_t err = NULL;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  if (pl_read_file_at(AT_FDCWD, p, 4 << 20, &buf, len, &err) < 0) fail_msg("%s", err->msg);
  return buf;
}

static void put_bytes(const char *dir, const char *name, const char *data, size_t len) {
  char p[256];
  pl_error_t err = NULL;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, p, data, len, 0644, &err), 0);
}

/* dir/name holds exactly data. */
static void assert_holds(const char *dir, const char *name, const char *data, size_t len) {
  size_t have_len;
  char *have = bytes_in(dir, name, &have_len);
  assert_int_equal(have_len, len);
  assert_memory_equal(have, data, len);
  free(have);
}

/* The state's snapshot.record names the bytes of its snapshot.json. */
static void assert_record_names_kept_snapshot(struct fx *f) {
  size_t lr, ls;
  char *record = bytes_in(f->state, "snapshot.record", &lr);
  char *snap = bytes_in(f->state, "snapshot.json", &ls);
  char sha[PL_SHA256_HEX], want[80];
  assert_int_equal(pl_sha256_hex(snap, ls, sha, &f->err), 0);
  snprintf(want, sizeof want, "\"sha256\":\"%s\"", sha);
  assert_non_null(strstr(record, want));
  free(record);
  free(snap);
}

/* Remove from the registry every metadata file but the timestamp and the
 * roots: an update that fetched any of them would fail. */
static void remove_all_but_timestamp(struct fx *f) {
  DIR *d = opendir(f->repo);
  assert_non_null(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n > 5 && strcmp(e->d_name + n - 5, ".json") == 0 &&
        strcmp(e->d_name, "timestamp.json") != 0 && strstr(e->d_name, "root.json") == NULL)
      assert_int_equal(unlinkat(f->repofd, e->d_name, 0), 0);
  }
  closedir(d);
}

/* Nothing published since: the update fetches the timestamp alone, with
 * or without consistent snapshots, and a lookup answers from what was
 * kept. */
static void warm_update_fetches_only_the_timestamp(struct fx *f) {
  make_succinct(f, NAMES, NNAMES);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  remove_all_but_timestamp(f);
  t = update_ok(f, true);
  const struct pl_tuf_target *e;
  if (pl_tuf_find_target(t, NAMES[0], &e, &f->err) < 0) fail_msg("%s", f->err->msg);
  pl_tuf_free(t);
}

static void test_deleg_warm_update_fetches_only_the_timestamp(void **state) {
  warm_update_fetches_only_the_timestamp(*state);
}

static void test_deleg_warm_update_fetches_only_the_timestamp_consistent(void **state) {
  struct fx *f = *state;
  f->consistent = true;
  warm_update_fetches_only_the_timestamp(f);
}

/* A mirror serving another snapshot (signed, same version, a newer bin
 * with more targets) under the timestamp it served before: the timestamp
 * names the kept snapshot's bytes, so the other one is neither fetched nor
 * trusted, and the state is left as it was. */
static void test_deleg_snapshot_swapped_under_unchanged_timestamp_is_not_used(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  size_t lr, ls;
  char *record = bytes_in(f->state, "snapshot.record", &lr);
  char *snap = bytes_in(f->state, "snapshot.json", &ls);
  static const char *const more[] = {"a-1.0-py3-none-any.whl", "a-1.1-py3-none-any.whl",
                                     "a-1.2-py3-none-any.whl", "a-1.3-py3-none-any.whl",
                                     "a-1.4-py3-none-any.whl", "a-1.5-py3-none-any.whl"};
  json_t *role = bin_with(f, mine, more, 6);
  size_t added = json_object_size(json_object_get(role, "targets"));
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  pl_json_decref(role);
  sign_to(f, "snapshot.json", f->snapshot, &f->snap_key); /* same version, timestamp untouched */
  t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  size_t refused = 0;
  for (size_t i = 1; i < 6; i++) {
    char who[32];
    name_of(more[i], who, sizeof who);
    if (strcmp(who, mine) != 0) continue;
    assert_lookup_fails(f, t, more[i], ENOENT, "not a signed target");
    refused++;
  }
  assert_int_equal(refused + 1, added); /* the new bin's every other target */
  pl_tuf_free(t);
  assert_holds(f->state, "snapshot.record", record, lr);
  assert_holds(f->state, "snapshot.json", snap, ls);
  free(record);
  free(snap);
}

/* A mirror replaying the timestamp and snapshot of an older publication:
 * refused as a rollback, and nothing kept changes. */
static void test_deleg_replayed_timestamp_and_snapshot_are_refused(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  size_t lt, lsn;
  char *old_ts = bytes_in(f->repo, "timestamp.json", &lt);
  char *old_snap = bytes_in(f->repo, "snapshot.json", &lsn);
  struct pl_tuf *t = update_ok(f, true);
  pl_tuf_free(t);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  pl_json_decref(role);
  release(f);
  t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  static const char *const kept[] = {"timestamp.json", "snapshot.json", "snapshot.record",
                                     "snapshot.index"};
  char *before[4];
  size_t blen[4];
  for (int i = 0; i < 4; i++)
    before[i] = bytes_in(f->state, kept[i], &blen[i]);
  write_file(f, "timestamp.json", old_ts, lt);
  write_file(f, "snapshot.json", old_snap, lsn);
  assert_int_equal(update(f, true, false, &t), -1);
  assert_err(f, "timestamp.json: version rollback");
  for (int i = 0; i < 4; i++) {
    assert_holds(f->state, kept[i], before[i], blen[i]);
    free(before[i]);
  }
  free(old_ts);
  free(old_snap);
}

/* The kept index damaged (edited to name another version of the bin a
 * lookup needs, or cut short by a crash): its hash no longer matches the
 * record, so it is not read; the lookup verifies the kept snapshot again,
 * answers from it, and writes the index again. */
static void test_deleg_damaged_index_is_not_trusted(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  struct pl_tuf *t = update_ok(f, true);
  pl_tuf_free(t);
  char mine[32], line[48];
  name_of(NAMES[0], mine, sizeof mine);
  snprintf(line, sizeof line, "%s.json\t", mine);
  size_t li;
  char *index = bytes_in(f->state, "snapshot.index", &li);
  char *entry = strstr(index, line);
  assert_non_null(entry);
  char *v = strstr(entry, "\"version\":1}");
  assert_non_null(v);
  char *bad = malloc(li);
  memcpy(bad, index, li);
  bad[v - index + 10] = '7'; /* the bin at version 7, which would be fetched */
  for (int round = 0; round < 2; round++) {
    put_bytes(f->state, "snapshot.index", bad, round == 0 ? li : li / 2);
    t = update_ok(f, true);
    assert_target(f, t, NAMES[0], NAMES[0]);
    pl_tuf_free(t);
    assert_holds(f->state, "snapshot.index", index, li);
  }
  free(bad);
  free(index);
}

/* The kept snapshot changed under the record (by a disk, or another of
 * the user's processes; replaced, or written in place): not used; the
 * update fetches and verifies the snapshot again, and keeps it.  Damaged after the update, with the
 * index too: the lookup fetches it.  Offline, with nothing verified to fall back on: refused. */
static void test_deleg_damaged_kept_snapshot_is_fetched_again(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  struct pl_tuf *t = update_ok(f, true);
  pl_tuf_free(t);
  size_t ls, li;
  char *snap = bytes_in(f->repo, "snapshot.json", &ls);
  char *index = bytes_in(f->state, "snapshot.index", &li);
  char *bad = malloc(ls);
  memcpy(bad, snap, ls);
  bad[ls / 2] ^= 1;
  put_bytes(f->state, "snapshot.json", bad, ls);
  t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  assert_holds(f->state, "snapshot.json", snap, ls);
  assert_record_names_kept_snapshot(f);

  t = update_ok(f, true);
  put_bytes(f->state, "snapshot.json", bad, ls);
  put_bytes(f->state, "snapshot.index", index, li / 2);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  assert_holds(f->state, "snapshot.json", snap, ls);
  assert_holds(f->state, "snapshot.index", index, li);
  assert_record_names_kept_snapshot(f);

  /* Changed in place (same inode and size): its change time tells. */
  char p[160];
  snprintf(p, sizeof p, "%s/snapshot.json", f->state);
  int fd = open(p, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, bad + ls / 2, 1, (off_t)(ls / 2)), 1);
  close(fd);
  t = update_ok(f, true);
  pl_tuf_free(t);
  assert_holds(f->state, "snapshot.json", snap, ls);
  assert_record_names_kept_snapshot(f);

  put_bytes(f->state, "snapshot.json", bad, ls);
  assert_int_equal(update(f, true, true, &t), -1);
  assert_err(f, "snapshot.json");
  free(bad);
  free(snap);
  free(index);
}

/* The registry signs a second snapshot at the version the timestamp names
 * (a newer bin, more targets; the timestamp lists the version alone, so
 * cannot tell), while a warm update trusts the first one by its record;
 * then the kept snapshot and index are damaged, so a lookup fetches the
 * snapshot: the second one is refused, not mixed into the session, and
 * nothing kept is replaced by it. */
static void test_deleg_lookup_refuses_a_second_snapshot_at_the_trusted_version(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  json_t *ts = pl_tuf_new_timestamp(++f->ts_version, NOW + 7 * DAY, pl_tuf_get_version(f->snapshot),
                                    NULL, 0, &f->err);
  sign_to(f, "timestamp.json", ts, &f->ts_key);
  pl_json_decref(ts);
  struct pl_tuf *t = update_ok(f, true);
  assert_target(f, t, NAMES[0], NAMES[0]);
  pl_tuf_free(t);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  static const char *const more[] = {"a-1.0-py3-none-any.whl", "a-1.1-py3-none-any.whl",
                                     "a-1.2-py3-none-any.whl", "a-1.3-py3-none-any.whl",
                                     "a-1.4-py3-none-any.whl", "a-1.5-py3-none-any.whl"};
  json_t *role = bin_with(f, mine, more, 6);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  pl_json_decref(role);
  sign_to(f, "snapshot.json", f->snapshot, &f->snap_key); /* same version, timestamp untouched */
  t = update_ok(f, true);
  size_t lr, ls, li;
  char *record = bytes_in(f->state, "snapshot.record", &lr);
  char *snap = bytes_in(f->state, "snapshot.json", &ls);
  char *index = bytes_in(f->state, "snapshot.index", &li);
  char *bad = malloc(ls);
  memcpy(bad, snap, ls);
  bad[ls / 2] ^= 1;
  put_bytes(f->state, "snapshot.json", bad, ls);
  put_bytes(f->state, "snapshot.index", index, li / 2);
  assert_lookup_fails(f, t, NAMES[0], -1, "this update trusted");
  for (size_t i = 1; i < 6; i++) {
    char who[32];
    name_of(more[i], who, sizeof who);
    if (strcmp(who, mine) == 0) assert_lookup_fails(f, t, more[i], -1, "this update trusted");
  }
  pl_tuf_free(t);
  assert_holds(f->state, "snapshot.record", record, lr);
  assert_holds(f->state, "snapshot.json", bad, ls);
  free(record);
  free(snap);
  free(index);
  free(bad);
}

/* ---- prefetch: the bins lookups will need, fetched at once ---- */

/* Prefetched bins are verified as lookups verify them and kept: the
 * lookups then need no request (the registry's bins are gone). */
static void test_deleg_prefetch_fetches_each_bin_lookups_need_once(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  struct pl_tuf *t = update_ok(f, true);
  assert_int_equal(pl_tuf_prefetch(t, NAMES, NNAMES, &f->err), 0);
  remove_all_but_timestamp(f);
  for (size_t i = 0; i < NNAMES; i++)
    assert_target(f, t, NAMES[i], NAMES[i]);
  pl_tuf_free(t);
  for (size_t i = 0; i < NNAMES; i++) {
    char bin[32], kept[256];
    name_of(NAMES[i], bin, sizeof bin);
    snprintf(kept, sizeof kept, "%s/delegated/%s.json", f->state, bin);
    assert_int_equal(access(kept, F_OK), 0);
  }
}

/* A bin the registry serves tampered (other bytes than snapshot lists),
 * or signed by a key its delegation does not list: the prefetch trusts
 * and keeps neither; each lookup fetches it again and says why. */
static void test_deleg_prefetch_trusts_no_tampered_or_missigned_bin(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char bad[32], file[64], other[32];
  name_of(NAMES[0], bad, sizeof bad);
  snprintf(file, sizeof file, "%s.json", bad);
  size_t len;
  char *bytes = bytes_in(f->repo, file, &len);
  bytes[len / 2] ^= 1;
  write_file(f, file, bytes, len);
  free(bytes);
  size_t o = 1;
  while (o < NNAMES && (name_of(NAMES[o], other, sizeof other), strcmp(other, bad) == 0))
    o++;
  assert_true(o < NNAMES);
  json_t *role = bin_with(f, other, NAMES, NNAMES);
  pl_tuf_set_version(role, 2);
  put_role(f, other, role, &f->other_key); /* listed by snapshot, wrong key */
  pl_json_decref(role);
  release(f);
  struct pl_tuf *t = update_ok(f, true);
  assert_int_equal(pl_tuf_prefetch(t, NAMES, NNAMES, &f->err), 0);
  char kept[256];
  snprintf(kept, sizeof kept, "%s/delegated/%s.json", f->state, bad);
  assert_int_equal(access(kept, F_OK), -1);
  snprintf(kept, sizeof kept, "%s/delegated/%s.json", f->state, other);
  assert_int_equal(access(kept, F_OK), -1);
  assert_lookup_fails(f, t, NAMES[0], -1, "mismatch");
  assert_lookup_fails(f, t, NAMES[o], -1, "signature threshold not met");
  pl_tuf_free(t);
}

/* Roles r0..r(n-1), each delegating "*" to the next (the last to `last`,
 * when not NULL); top-level targets delegate to r0. */
static void make_chain(struct fx *f, int n, const char *last) {
  new_root(f);
  const struct pl_key *bk[1] = {&f->bins_key};
  static const char *const all[] = {"*"};
  assert_int_equal(pl_tuf_delegate(f->targets, "r0", bk, 1, 1, false, "paths", all, 1, &f->err), 0);
  put_role(f, "targets", f->targets, &f->tg_key);
  for (int i = 0; i < n; i++) {
    char name[16], next[16];
    snprintf(name, sizeof name, "r%d", i);
    snprintf(next, sizeof next, "r%d", i + 1);
    json_t *role = new_role(1);
    if (i + 1 < n || last)
      assert_int_equal(
          pl_tuf_delegate(role, i + 1 < n ? next : last, bk, 1, 1, false, "paths", all, 1, &f->err),
          0);
    put_role(f, name, role, &f->bins_key);
    pl_json_decref(role);
  }
  release(f);
}

static void test_deleg_rejects_a_loop_of_delegations(void **state) {
  struct fx *f = *state;
  make_chain(f, 3, "r0"); /* r0 -> r1 -> r2 -> r0 */
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, "x-1.0-py3-none-any.whl", -1, "loop");
  pl_tuf_free(t);
  assert_int_equal(update(f, false, false, &t), 0); /* no target, nothing to decide */
  assert_int_equal(pl_tuf_target_count(t), 0);
  pl_tuf_free(t);
}

static void test_deleg_rejects_an_endless_delegation_tree(void **state) {
  struct fx *f = *state;
  make_chain(f, PL_TUF_MAX_ROLES_VISITED + 8, NULL);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, "x-1.0-py3-none-any.whl", -1, "more than 32 delegated roles");
  pl_tuf_free(t);
}

static void test_deleg_terminating_role_hides_later_delegations(void **state) {
  struct fx *f = *state;
  new_root(f);
  const struct pl_key *bk[1] = {&f->bins_key};
  static const char *const all[] = {"*"};
  json_t *first = new_role(1), *second = new_role(1);
  add_target(f, second, NAMES[0], "from the second role");
  assert_int_equal(pl_tuf_delegate(f->targets, "first", bk, 1, 1, true, "paths", all, 1, &f->err),
                   0);
  assert_int_equal(pl_tuf_delegate(f->targets, "second", bk, 1, 1, false, "paths", all, 1, &f->err),
                   0);
  put_role(f, "targets", f->targets, &f->tg_key);
  put_role(f, "first", first, &f->bins_key);
  put_role(f, "second", second, &f->bins_key);
  release(f);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, NAMES[0], ENOENT, "not a signed target");
  pl_tuf_free(t);
  t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), 0);
  pl_tuf_free(t);
  /* Not terminating: the search goes on to the second role. */
  json_object_set_new(
      json_array_get(json_object_get(json_object_get(f->targets, "delegations"), "roles"), 0),
      "terminating", json_false());
  pl_tuf_set_version(f->targets, 2);
  put_role(f, "targets", f->targets, &f->tg_key);
  release(f);
  t = update_ok(f, true);
  assert_target(f, t, NAMES[0], "from the second role");
  pl_tuf_free(t);
  pl_json_decref(first);
  pl_json_decref(second);
}

static void test_deleg_first_role_in_order_wins(void **state) {
  struct fx *f = *state;
  new_root(f);
  const struct pl_key *bk[1] = {&f->bins_key};
  static const char *const all[] = {"*"};
  json_t *first = new_role(1), *second = new_role(1);
  assert_int_equal(mkdirat(f->repofd, "targets/x", 0755), 0);
  add_target(f, first, "x/one.whl", "first");
  add_target(f, second, "x/one.whl", "second!");
  assert_int_equal(pl_tuf_delegate(f->targets, "first", bk, 1, 1, false, "paths", all, 1, &f->err),
                   0);
  static const char *const sub[] = {"x/*.whl"};
  assert_int_equal(pl_tuf_delegate(f->targets, "second", bk, 1, 1, false, "paths", sub, 1, &f->err),
                   0);
  put_role(f, "targets", f->targets, &f->tg_key);
  put_role(f, "first", first, &f->bins_key);
  put_role(f, "second", second, &f->bins_key);
  release(f);
  struct pl_tuf *t = update_ok(f, true);
  /* "*" does not cross '/': first is not trusted for x/one.whl. */
  assert_target(f, t, "x/one.whl", "second!");
  pl_tuf_free(t);
  t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), 1);
  assert_int_equal(pl_tuf_target_at(t, 0)->length, strlen("second!"));
  pl_tuf_free(t);
  pl_json_decref(first);
  pl_json_decref(second);
}

static void test_deleg_rejects_expired_bin(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  pl_tuf_set_version(role, 2);
  pl_tuf_set_expires(role, NOW - 1);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, NAMES[0], -1, "expired");
  pl_tuf_free(t);
}

static void test_deleg_rejects_role_names_that_are_paths(void **state) {
  struct fx *f = *state;
  new_root(f);
  const struct pl_key *bk[1] = {&f->bins_key};
  static const char *const all[] = {"*"};
  assert_int_equal(
      pl_tuf_delegate(f->targets, "../root", bk, 1, 1, false, "paths", all, 1, &f->err), 0);
  put_role(f, "targets", f->targets, &f->tg_key);
  release(f);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, NAMES[0], -1, "unsafe or reserved name");
  pl_tuf_free(t);
}

static void test_deleg_rejects_bin_snapshot_does_not_list(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32], listed[64];
  name_of(NAMES[0], mine, sizeof mine);
  snprintf(listed, sizeof listed, "%s.json", mine);
  json_object_del(json_object_get(f->snapshot, "meta"), listed);
  release(f);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, NAMES[0], -1, "no valid entry for");
  pl_tuf_free(t);
}

static void test_deleg_rejects_bin_whose_bytes_differ_from_snapshot(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32], file[64];
  name_of(NAMES[0], mine, sizeof mine);
  snprintf(file, sizeof file, "%s.json", mine);
  /* Same version, same key, different bytes (another target added). */
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  add_target(f, role, "sneaky.whl", "x");
  sign_to(f, file, role, &f->bins_key);
  pl_json_decref(role);
  struct pl_tuf *t = update_ok(f, true);
  assert_lookup_fails(f, t, NAMES[0], -1, "mismatch");
  pl_tuf_free(t);
}

/* 1,024 hash-prefix bins (PEP 458: path_hash_prefixes of 3 hex digits)
 * of 16 targets each; when irregular, bin 0 also takes the 2-digit prefix
 * "ff", so that one path may fall in two bins and listing order counts. */
static void make_prefix_bins(struct fx *f, bool irregular) {
  enum { R = 1024, PER = 16 };
  new_root(f);
  const struct pl_key *bk[1] = {&f->bins_key};
  json_t *roles[R];
  for (int i = 0; i < R; i++) {
    char name[32], prefix[8];
    snprintf(name, sizeof name, "bin-%03x", i);
    snprintf(prefix, sizeof prefix, "%03x", i);
    const char *pats[2] = {prefix, "ff"};
    assert_int_equal(pl_tuf_delegate(f->targets, name, bk, 1, 1, false, "path_hash_prefixes", pats,
                                     irregular && i == 0 ? 2 : 1, &f->err),
                     0);
    roles[i] = new_role(1);
  }
  /* Names whose sha256 falls in one of the 1,024 bins (3 hex digits). */
  for (long n = 0, filled = 0; filled < R * PER; n++) {
    char nm[64], sha[PL_SHA256_HEX];
    unsigned bin = 0;
    snprintf(nm, sizeof nm, "p%ld-1.0-py3-none-any.whl", n);
    assert_int_equal(pl_sha256_hex(nm, strlen(nm), sha, &f->err), 0);
    if (sscanf(sha, "%3x", &bin) != 1 || bin >= R ||
        json_object_size(json_object_get(roles[bin], "targets")) >= PER)
      continue;
    assert_int_equal(pl_tuf_targets_add(roles[bin], nm, 1, sha, &f->err), 0);
    filled++;
  }
  for (int i = 0; i < R; i++) {
    char name[32];
    snprintf(name, sizeof name, "bin-%03x", i);
    put_role(f, name, roles[i], &f->bins_key);
    pl_json_decref(roles[i]);
  }
  put_role(f, "targets", f->targets, &f->tg_key);
  release(f);
}

/* PEP 458 bins as python-tuf and tuf-js write them: reading 1,024 entries
 * per lookup made loading 16,384 targets cost 16M entry checks (9 s; a
 * 16,384-bin registry of a million targets was refused).  Indexed by
 * prefix, every target loads, each found in its bin. */
static void test_deleg_pep458_prefix_bins_are_searched_in_one_step(void **state) {
  struct fx *f = *state;
  make_prefix_bins(f, false);
  struct pl_tuf *t = update_ok(f, false);
  assert_int_equal(pl_tuf_target_count(t), 1024 * 16);
  /* Delegation entries looked at, not seconds: entry by entry, 16M. */
  assert_true(t->search_steps <= (size_t)4 * 1024 * 16);
  const struct pl_tuf_target *e = NULL;
  assert_int_equal(pl_tuf_find_target(t, pl_tuf_target_at(t, 77)->name, &e, &f->err), 0);
  pl_tuf_free(t);
  /* Lazily, one lookup fetches the one bin it needs. */
  t = update_ok(f, true);
  assert_int_equal(pl_tuf_find_target(t, "p0-1.0-py3-none-any.whl", &e, &f->err) == 0 ||
                       f->err->errnum == ENOENT,
                   1);
  pl_tuf_free(t);
}

/* A hostile registry whose 1,024 delegations overlap (one bin takes a
 * shorter prefix too): searched entry by entry, the budget refuses it,
 * naming the cause, after PL_TUF_MAX_SEARCH_STEPS entries. */
static void test_deleg_too_costly_irregular_delegations_are_refused_quickly(void **state) {
  struct fx *f = *state;
  make_prefix_bins(f, true);
  struct pl_tuf *t = NULL;
  assert_int_equal(update(f, false, false, &t), -1);
  assert_null(t);
  assert_err(f, "too costly to search");
  assert_err(f, "irregular hash prefixes");
  /* Looking up one target stays cheap. */
  t = update_ok(f, true);
  const struct pl_tuf_target *e = NULL;
  pl_error_free(&f->err);
  assert_int_equal(pl_tuf_find_target(t, "p0-1.0-py3-none-any.whl", &e, &f->err) == 0 ||
                       f->err->errnum == ENOENT,
                   1);
  pl_tuf_free(t);
}

/* ---- pl_tuf_walk: every role, one at a time ---- */

/* What a walk showed: roles in order, trusted and untrusted entries, and
 * the most roles held at once. */
struct seen_walk {
  char roles[64][32];
  size_t nroles, trusted, untrusted, most_held;
  char untrusted_role[32], untrusted_by[32];
};

static void walk_role_cb(void *ctx, const char *role, size_t index, size_t hint) {
  struct seen_walk *w = ctx;
  (void)index;
  (void)hint;
  if (w->nroles < 64) snprintf(w->roles[w->nroles++], sizeof w->roles[0], "%s", role);
}

static int walk_target_cb(void *ctx, struct pl_tuf *t, const char *role,
                          const struct pl_tuf_target *e, bool trusted, const char *by,
                          pl_error_t *err) {
  struct seen_walk *w = ctx;
  (void)e;
  (void)err;
  if (t->nroles > w->most_held) w->most_held = t->nroles;
  if (trusted) {
    w->trusted++;
    /* Lookups work during the walk, through the role being walked. */
    const struct pl_tuf_target *found;
    assert_int_equal(pl_tuf_find_target(t, e->name, &found, err), 0);
    assert_ptr_equal(found, e);
    return 0;
  }
  w->untrusted++;
  snprintf(w->untrusted_role, sizeof w->untrusted_role, "%s", role);
  snprintf(w->untrusted_by, sizeof w->untrusted_by, "%s", by);
  return 0;
}

static int walk(struct fx *f, struct seen_walk *w) {
  memset(w, 0, sizeof *w);
  struct pl_tuf_visitor v = {.role = walk_role_cb, .target = walk_target_cb, .ctx = w};
  struct pl_tuf_options o = {
      .url = f->repo, .root_path = f->anchor, .state_dir = f->state, .now = NOW, .walk = &v};
  struct pl_tuf *t = NULL;
  pl_error_free(&f->err);
  int r = pl_tuf_update(&o, &t, &f->err);
  pl_tuf_free(t);
  return r;
}

static void test_walk_visits_every_bin_once_holding_one_at_a_time(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  struct seen_walk w;
  assert_int_equal(walk(f, &w), 0);
  assert_int_equal(w.nroles, 1 + (1u << NBITS)); /* targets, then each bin in order */
  assert_string_equal(w.roles[0], "targets");
  assert_string_equal(w.roles[1], "bins-0");
  assert_string_equal(w.roles[8], "bins-7");
  assert_int_equal(w.trusted, NNAMES);
  assert_int_equal(w.untrusted, 0);
  assert_true(w.most_held <= 1);
  /* The update passed: each bin kept (moved from where the walk staged it). */
  char kept[256], bin[32];
  for (uint32_t b = 0; b < (1u << NBITS); b++) {
    pl_tuf_succinct_name("bins", NBITS, b, bin, sizeof bin);
    snprintf(kept, sizeof kept, "%s/delegated/%s.json", f->state, bin);
    assert_int_equal(access(kept, F_OK), 0);
  }
  snprintf(kept, sizeof kept, "%s/delegated.walk", f->state);
  assert_int_equal(access(kept, F_OK), -1);
}

static void test_walk_names_a_target_outside_its_bin_untrusted(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, 1);
  char mine[32], evil_bin[32];
  name_of(NAMES[0], mine, sizeof mine);
  static char evil[64];
  for (int i = 0; i < 1000; i++) {
    snprintf(evil, sizeof evil, "evil-%d-py3-none-any.whl", i);
    name_of(evil, evil_bin, sizeof evil_bin);
    if (strcmp(evil_bin, mine) != 0) break;
  }
  json_t *role = bin_with(f, mine, NAMES, 1);
  add_target(f, role, evil, "malware");
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  struct seen_walk w;
  assert_int_equal(walk(f, &w), 0);
  assert_int_equal(w.trusted, 1);
  assert_int_equal(w.untrusted, 1);
  assert_string_equal(w.untrusted_role, mine);
  assert_string_equal(w.untrusted_by, ""); /* no role is trusted for it */
}

static void test_walk_refuses_bin_signed_by_key_not_in_delegation(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  pl_tuf_set_version(role, 2);
  put_role(f, mine, role, &f->other_key);
  release(f);
  pl_json_decref(role);
  struct seen_walk w;
  assert_int_equal(walk(f, &w), -1);
  assert_err(f, "threshold not met");
  assert_err(f, mine);
  /* A refused walk keeps nothing, staged or not. */
  char kept[256];
  snprintf(kept, sizeof kept, "%s/delegated", f->state);
  assert_int_equal(access(kept, F_OK), -1);
  snprintf(kept, sizeof kept, "%s/delegated.walk", f->state);
  assert_int_equal(access(kept, F_OK), -1);
}

static void test_walk_refuses_expired_bin(void **state) {
  struct fx *f = *state;
  make_succinct(f, NAMES, NNAMES);
  char mine[32];
  name_of(NAMES[0], mine, sizeof mine);
  json_t *role = bin_with(f, mine, NAMES, NNAMES);
  pl_tuf_set_version(role, 2);
  pl_tuf_set_expires(role, NOW - DAY);
  put_role(f, mine, role, &f->bins_key);
  release(f);
  pl_json_decref(role);
  struct seen_walk w;
  assert_int_equal(walk(f, &w), -1);
  assert_err(f, "expired");
}

static void test_walk_ends_loops_and_refuses_endless_trees(void **state) {
  struct fx *f = *state;
  make_chain(f, 3, "r0"); /* r0 -> r1 -> r2 -> r0 */
  struct seen_walk w;
  assert_int_equal(walk(f, &w), 0);
  /* r0 once per delegation naming it (another delegator, other keys),
   * and r1 not again: the loop ends. */
  assert_int_equal(w.nroles, 5);
  assert_string_equal(w.roles[3], "r2");
  assert_string_equal(w.roles[4], "r0");
}

static void test_walk_refuses_roles_deeper_than_a_search_goes(void **state) {
  struct fx *f = *state;
  make_chain(f, PL_TUF_MAX_ROLES_VISITED + 8, NULL);
  struct seen_walk w;
  assert_int_equal(walk(f, &w), -1);
  assert_err(f, "more than 32 delegated roles");
  assert_true(w.nroles <= PL_TUF_MAX_ROLES_VISITED + 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_deleg_pep458_prefix_bins_are_searched_in_one_step),
      T(test_deleg_too_costly_irregular_delegations_are_refused_quickly),
      T(test_deleg_succinct_bins_find_every_target),
      T(test_deleg_lazy_lookup_fetches_only_the_bin_it_needs),
      T(test_deleg_kept_bin_is_not_fetched_again_until_snapshot_changes),
      T(test_deleg_offline_uses_kept_bins_and_refuses_missing_ones),
      T(test_deleg_pep458_bins_with_consistent_snapshots),
      T(test_deleg_bin_cannot_sign_a_target_outside_its_prefixes),
      T(test_deleg_rejects_bin_signed_by_key_not_in_delegation),
      T(test_deleg_rejects_bin_rolled_back_in_snapshot),
      T(test_deleg_rejects_bin_older_than_kept_even_without_kept_snapshot),
      T(test_deleg_warm_update_fetches_only_the_timestamp),
      T(test_deleg_warm_update_fetches_only_the_timestamp_consistent),
      T(test_deleg_snapshot_swapped_under_unchanged_timestamp_is_not_used),
      T(test_deleg_replayed_timestamp_and_snapshot_are_refused),
      T(test_deleg_damaged_index_is_not_trusted),
      T(test_deleg_damaged_kept_snapshot_is_fetched_again),
      T(test_deleg_lookup_refuses_a_second_snapshot_at_the_trusted_version),
      T(test_deleg_prefetch_fetches_each_bin_lookups_need_once),
      T(test_deleg_prefetch_trusts_no_tampered_or_missigned_bin),
      T(test_deleg_rejects_a_loop_of_delegations),
      T(test_deleg_rejects_an_endless_delegation_tree),
      T(test_deleg_terminating_role_hides_later_delegations),
      T(test_deleg_first_role_in_order_wins),
      T(test_deleg_rejects_expired_bin),
      T(test_deleg_rejects_role_names_that_are_paths),
      T(test_deleg_rejects_bin_snapshot_does_not_list),
      T(test_deleg_rejects_bin_whose_bytes_differ_from_snapshot),
      T(test_walk_visits_every_bin_once_holding_one_at_a_time),
      T(test_walk_names_a_target_outside_its_bin_untrusted),
      T(test_walk_refuses_bin_signed_by_key_not_in_delegation),
      T(test_walk_refuses_expired_bin),
      T(test_walk_ends_loops_and_refuses_endless_trees),
      T(test_walk_refuses_roles_deeper_than_a_search_goes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
