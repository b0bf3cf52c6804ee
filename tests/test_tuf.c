/* Unit tests: lib/tuf.c — every check of the TUF client workflow, each with
 * the metadata that passes it and the metadata that must fail it.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "canonjson.h"
#include "cleanup.h"
#include "sha.h"
#include "ed25519.h"
#include "file.h"
#include "tuf.h"
#include "tuf_meta.h"

#define NOW ((time_t)1800000000) /* 2027-01-15 */
#define DAY 86400
static const char WHEEL[] = "pretend this is a wheel";

struct fx {
  char dir[64], repo[96], state[96], anchor[128];
  int repofd;
  struct pl_key root_key, ts_key, snap_key, tg_key, other_key;
  json_t *root, *timestamp, *snapshot, *targets;
  char *snapshot_bytes;
  size_t snapshot_len;
  pl_error_t err;
};

static void write_file(struct fx *f, const char *name, const char *data, size_t len) {
  pl_error_t err = NULL;
  assert_int_equal(pl_write_file_atomic_at(f->repofd, name, data, len, 0644, &err), 0);
}

/* Sign body with the given keys and publish it as `name` in the registry. */
static void publish(struct fx *f, const char *name, json_t *body, const struct pl_key *k1,
                    const struct pl_key *k2) {
  const struct pl_key *keys[2] = {k1, k2};
  char *out = NULL;
  size_t len;
  pl_error_t err = NULL;
  assert_int_equal(pl_tuf_sign(body, keys, k2 ? 2 : 1, &out, &len, &err), 0);
  write_file(f, name, out, len);
  if (strcmp(name, "snapshot.json") == 0) {
    free(f->snapshot_bytes);
    f->snapshot_bytes = out;
    f->snapshot_len = len;
  } else {
    free(out);
  }
}

/* Re-publish the timestamp over the snapshot last published. */
static void republish_timestamp(struct fx *f) {
  json_t *ts = pl_tuf_new_timestamp(pl_tuf_get_version(f->timestamp), NOW + 7 * DAY,
                                    pl_tuf_get_version(f->snapshot), f->snapshot_bytes,
                                    f->snapshot_len, NULL);
  json_object_set_new(ts, "expires", json_deep_copy(json_object_get(f->timestamp, "expires")));
  pl_json_decref(f->timestamp);
  f->timestamp = ts;
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
}

/* Re-publish targets, snapshot and timestamp as they stand in the fixture. */
static void publish_tail(struct fx *f) {
  publish(f, "targets.json", f->targets, &f->tg_key, NULL);
  publish(f, "snapshot.json", f->snapshot, &f->snap_key, NULL);
  republish_timestamp(f);
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  pl_error_t err = NULL;
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-tuf-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->repo, sizeof f->repo, "%s/repo", f->dir);
  snprintf(f->state, sizeof f->state, "%s/state", f->dir);
  snprintf(f->anchor, sizeof f->anchor, "%s/anchor.json", f->dir);
  assert_int_equal(mkdir(f->repo, 0755), 0);
  f->repofd = open(f->repo, O_RDONLY | O_DIRECTORY);
  assert_int_equal(mkdirat(f->repofd, "targets", 0755), 0);
  assert_int_equal(pl_key_generate(&f->root_key, &err), 0);
  assert_int_equal(pl_key_generate(&f->ts_key, &err), 0);
  assert_int_equal(pl_key_generate(&f->snap_key, &err), 0);
  assert_int_equal(pl_key_generate(&f->tg_key, &err), 0);
  assert_int_equal(pl_key_generate(&f->other_key, &err), 0);

  f->root = pl_tuf_new_root(1, NOW + 365 * DAY);
  assert_int_equal(pl_tuf_root_add_key(f->root, "root", &f->root_key, &err), 0);
  assert_int_equal(pl_tuf_root_add_key(f->root, "timestamp", &f->ts_key, &err), 0);
  assert_int_equal(pl_tuf_root_add_key(f->root, "snapshot", &f->snap_key, &err), 0);
  assert_int_equal(pl_tuf_root_add_key(f->root, "targets", &f->tg_key, &err), 0);
  publish(f, "1.root.json", f->root, &f->root_key, NULL);
  publish(f, "root.json", f->root, &f->root_key, NULL);
  char *raw;
  size_t len;
  assert_int_equal(pl_read_file_at(f->repofd, "1.root.json", 1 << 20, &raw, &len, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, f->anchor, raw, len, 0644, &err), 0);
  free(raw);

  char sha[PL_SHA256_HEX];
  assert_int_equal(pl_sha256_hex(WHEEL, strlen(WHEEL), sha, &err), 0);
  write_file(f, "targets/a-1.0-py3-none-any.whl", WHEEL, strlen(WHEEL));
  f->targets = pl_tuf_new_targets(1, NOW + 30 * DAY);
  assert_int_equal(
      pl_tuf_targets_add(f->targets, "a-1.0-py3-none-any.whl", strlen(WHEEL), sha, &err), 0);
  f->snapshot = pl_tuf_new_snapshot(1, NOW + 30 * DAY, 1, NULL, 0, &err);
  f->timestamp = pl_tuf_new_timestamp(1, NOW + 7 * DAY, 1, NULL, 0, &err);
  publish_tail(f);
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
  pl_json_decref(f->timestamp);
  pl_json_decref(f->snapshot);
  pl_json_decref(f->targets);
  free(f->snapshot_bytes);
  pl_error_free(&f->err);
  free(f);
  return 0;
}

static int update_at(struct fx *f, time_t now, struct pl_tuf **out) {
  struct pl_tuf_options o = {
      .url = f->repo, .root_path = f->anchor, .state_dir = f->state, .now = now};
  pl_error_free(&f->err);
  return pl_tuf_update(&o, out, &f->err);
}

/* Update must pass; free the result. */
static void assert_update_ok(struct fx *f) {
  struct pl_tuf *t = NULL;
  int r = update_at(f, NOW, &t);
  if (r < 0) fail_msg("update failed: %s", f->err->msg);
  pl_tuf_free(t);
}

/* Update must fail with a message containing each of the given words. */
static void assert_update_fails(struct fx *f, const char *w1, const char *w2) {
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), -1);
  assert_null(t);
  assert_non_null(f->err);
  if (!strstr(f->err->msg, w1) || (w2 && !strstr(f->err->msg, w2)))
    fail_msg("error \"%s\" lacks \"%s\"/\"%s\"", f->err->msg, w1, w2 ? w2 : "");
}

static void bump(json_t *body) {
  pl_tuf_set_version(body, pl_tuf_get_version(body) + 1);
}

/* ---- the happy path, and targets ---- */

static void test_tuf_accepts_signed_registry_and_returns_verified_target(void **state) {
  struct fx *f = *state;
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), 0);
  int64_t v;
  pl_tuf_role_info(t, PL_TUF_TARGETS, &v, NULL);
  assert_int_equal(v, 1);
  assert_int_equal(pl_tuf_target_count(t), 1);
  char *buf = NULL;
  size_t len;
  assert_int_equal(pl_tuf_fetch_target_mem(t, "a-1.0-py3-none-any.whl", &buf, &len, &f->err), 0);
  assert_int_equal(len, strlen(WHEEL));
  assert_memory_equal(buf, WHEEL, len);
  free(buf);
  pl_tuf_free(t);
  struct stat st;
  assert_int_equal(stat(f->state, &st), 0); /* state written on success */
}

static void test_tuf_rejects_target_length_mismatch(void **state) {
  struct fx *f = *state;
  write_file(f, "targets/a-1.0-py3-none-any.whl", "pretend this is a wheel!", 24);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), 0);
  char path[160];
  snprintf(path, sizeof path, "%s/out", f->dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  assert_int_equal(pl_tuf_fetch_target(t, "a-1.0-py3-none-any.whl", fd, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "length mismatch: expected 23 bytes"));
  struct stat st;
  fstat(fd, &st);
  assert_int_equal(st.st_size, 0); /* nothing unverified left behind */
  close(fd);
  pl_tuf_free(t);
}

/* Two fresh output files under the fixture's directory. */
static void open_outs(struct fx *f, int fds[2]) {
  for (int i = 0; i < 2; i++) {
    char path[160];
    snprintf(path, sizeof path, "%s/out%d", f->dir, i);
    unlink(path);
    fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fds[i] >= 0);
  }
}

static off_t size_of(int fd) {
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  return st.st_size;
}

static void test_tuf_fetch_targets_checks_each_and_keeps_nothing_when_one_fails(void **state) {
  struct fx *f = *state;
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), 0);
  const char *both[] = {"a-1.0-py3-none-any.whl", "a-1.0-py3-none-any.whl"};
  int fds[2];
  size_t failed = 9;
  open_outs(f, fds);
  assert_int_equal(pl_tuf_fetch_targets(t, both, fds, 2, &failed, &f->err), 0);
  for (int i = 0; i < 2; i++) {
    char buf[64] = "";
    assert_int_equal(pread(fds[i], buf, sizeof buf, 0), (ssize_t)strlen(WHEEL));
    assert_string_equal(buf, WHEEL);
    close(fds[i]);
  }
  /* One name the registry does not sign: none of the files keeps a byte. */
  const char *one_unsigned[] = {"a-1.0-py3-none-any.whl", "unsigned.whl"};
  open_outs(f, fds);
  assert_int_equal(pl_tuf_fetch_targets(t, one_unsigned, fds, 2, &failed, &f->err), -1);
  assert_int_equal(failed, 1);
  assert_int_equal(size_of(fds[0]) + size_of(fds[1]), 0);
  pl_error_free(&f->err);
  close(fds[0]), close(fds[1]);
  /* Other bytes than the signed ones: refused, and the other file emptied. */
  write_file(f, "targets/a-1.0-py3-none-any.whl", "pretend this is a whee!", 23);
  open_outs(f, fds);
  assert_int_equal(pl_tuf_fetch_targets(t, both, fds, 2, &failed, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "sha256 mismatch"));
  assert_int_equal(size_of(fds[0]) + size_of(fds[1]), 0);
  close(fds[0]), close(fds[1]);
  pl_tuf_free(t);
}

static void test_tuf_rejects_target_hash_mismatch(void **state) {
  struct fx *f = *state;
  write_file(f, "targets/a-1.0-py3-none-any.whl", "pretend this is a whee!", 23);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), 0);
  char *buf = NULL;
  size_t len;
  assert_int_equal(pl_tuf_fetch_target_mem(t, "a-1.0-py3-none-any.whl", &buf, &len, &f->err), -1);
  assert_null(buf);
  assert_non_null(strstr(f->err->msg, "sha256 mismatch"));
  pl_error_free(&f->err);
  assert_int_equal(pl_tuf_fetch_target_mem(t, "unsigned.whl", &buf, &len, &f->err), -1);
  assert_int_equal(f->err->errnum, ENOENT);
  pl_tuf_free(t);
}

static void test_tuf_verifies_local_copy_of_target(void **state) {
  struct fx *f = *state;
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), 0);
  int fd = openat(f->repofd, "targets/a-1.0-py3-none-any.whl", O_RDONLY);
  assert_int_equal(pl_tuf_verify_target_fd(t, "a-1.0-py3-none-any.whl", fd, &f->err), 0);
  close(fd);
  write_file(f, "targets/a-1.0-py3-none-any.whl", "tampered", 8);
  fd = openat(f->repofd, "targets/a-1.0-py3-none-any.whl", O_RDONLY);
  assert_int_equal(pl_tuf_verify_target_fd(t, "a-1.0-py3-none-any.whl", fd, &f->err), -1);
  close(fd);
  pl_tuf_free(t);
}

/* ---- signatures ---- */

static void test_tuf_rejects_bad_signature(void **state) {
  struct fx *f = *state;
  /* Signed by another key that claims the trusted timestamp keyid. */
  struct pl_key forged = f->other_key;
  memcpy(forged.keyid, f->ts_key.keyid, sizeof forged.keyid);
  publish(f, "timestamp.json", f->timestamp, &forged, NULL);
  assert_update_fails(f, "timestamp.json: signature threshold not met", "1 invalid");
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
}

static void test_tuf_rejects_untrusted_key(void **state) {
  struct fx *f = *state;
  publish(f, "snapshot.json", f->snapshot, &f->other_key, NULL);
  republish_timestamp(f);
  assert_update_fails(f, "snapshot.json: signature threshold not met", "1 by keys not trusted");
  /* The root key is trusted, but not for targets. */
  publish(f, "snapshot.json", f->snapshot, &f->snap_key, NULL);
  republish_timestamp(f);
  publish(f, "targets.json", f->targets, &f->root_key, NULL);
  assert_update_fails(f, "targets.json: signature threshold not met", NULL);
}

static void test_tuf_rejects_threshold_not_met(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  /* Root 2 asks for 2 timestamp signatures. */
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  assert_int_equal(pl_tuf_root_add_key(r2, "timestamp", &f->other_key, &err), 0);
  pl_tuf_root_set_threshold(r2, "timestamp", 2);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "timestamp.json: signature threshold not met: expected 2", "got 1");
  /* The same key twice still counts once. */
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, &f->ts_key);
  assert_update_fails(f, "expected 2", "got 1");
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, &f->other_key);
  assert_update_ok(f);
  pl_json_decref(r2);
}

static void test_tuf_counts_one_key_listed_under_two_keyids_once(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  struct pl_key alias = f->ts_key;
  memset(alias.keyid, 'b', 64);
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  assert_int_equal(pl_tuf_root_add_key(r2, "timestamp", &alias, &err), 0);
  pl_tuf_root_set_threshold(r2, "timestamp", 2);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, &alias);
  assert_update_fails(f, "timestamp.json: signature threshold not met: expected 2", "got 1");
  pl_json_decref(r2);
}

/* A mirror repeating a trusted keyid with garbage: only the first
 * signature of a keyid is checked (python-tuf refuses a keyid twice), so
 * 5,000 copies cost one ed25519 check, not 5,000 (203 ms, now 46 ms for
 * the whole update), and a valid signature after them does not count. */
static void test_tuf_checks_one_signature_per_keyid(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  char *raw = NULL;
  size_t len;
  assert_int_equal(pl_read_file_at(f->repofd, "targets.json", 1 << 20, &raw, &len, &err), 0);
  json_error_t je;
  json_t *doc = json_loadb(raw, len, 0, &je);
  free(raw);
  assert_non_null(doc);
  json_t *sigs = json_object_get(doc, "signatures"), *padded = json_array();
  char junk[129];
  memset(junk, 'a', 128);
  junk[128] = '\0';
  for (int i = 0; i < 5000; i++) {
    json_t *one = json_object();
    json_object_set_new(one, "keyid", json_string(f->tg_key.keyid));
    json_object_set_new(one, "sig", json_string(junk));
    json_array_append_new(padded, one);
  }
  json_array_append_new(padded, json_deep_copy(json_array_get(sigs, 0))); /* valid, last */
  json_object_set_new(doc, "signatures", padded);
  char *out = json_dumps(doc, JSON_COMPACT);
  pl_json_decref(doc);
  assert_non_null(out);
  write_file(f, "targets.json", out, strlen(out));
  free(out);
  assert_update_fails(f, "targets.json: signature threshold not met", "5001 invalid");
  publish(f, "targets.json", f->targets, &f->tg_key, NULL);
  assert_update_ok(f);
}

static void test_tuf_rejects_wrong_type(void **state) {
  struct fx *f = *state;
  json_t *ts = json_deep_copy(f->timestamp);
  json_object_set_new(ts, "_type", json_string("snapshot"));
  publish(f, "timestamp.json", ts, &f->ts_key, NULL);
  assert_update_fails(f, "timestamp.json: wrong _type: expected \"timestamp\", got \"snapshot\"",
                      NULL);
  pl_json_decref(ts);
}

static void test_tuf_rejects_unsupported_spec_version(void **state) {
  struct fx *f = *state;
  json_object_set_new(f->timestamp, "spec_version", json_string("2.0.0"));
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "unsupported spec_version", "2.0.0");
  json_object_set_new(f->timestamp, "spec_version", json_string("1.0.0"));
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
}

/* ---- expiry ---- */

static void test_tuf_rejects_expired_root(void **state) {
  struct fx *f = *state;
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW + 366 * DAY, &t), -1);
  assert_non_null(strstr(f->err->msg, "root.json: expired"));
  /* A newer root with a later expiry rescues an expired anchor. */
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  pl_tuf_set_expires(r2, NOW + 400 * DAY);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  pl_tuf_set_expires(f->timestamp, NOW + 400 * DAY);
  pl_tuf_set_expires(f->snapshot, NOW + 400 * DAY);
  pl_tuf_set_expires(f->targets, NOW + 400 * DAY);
  publish_tail(f);
  assert_int_equal(update_at(f, NOW + 366 * DAY, &t), 0);
  pl_tuf_free(t);
  pl_json_decref(r2);
}

static void test_tuf_rejects_expired_timestamp(void **state) {
  struct fx *f = *state;
  pl_tuf_set_expires(f->timestamp, NOW);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "timestamp.json: expired", NULL);
  pl_tuf_set_expires(f->timestamp, NOW + 1);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
}

static void test_tuf_rejects_expired_snapshot(void **state) {
  struct fx *f = *state;
  pl_tuf_set_expires(f->snapshot, NOW - 1);
  publish_tail(f);
  assert_update_fails(f, "snapshot.json: expired", NULL);
}

static void test_tuf_rejects_expired_targets(void **state) {
  struct fx *f = *state;
  pl_tuf_set_expires(f->targets, NOW - DAY);
  publish_tail(f);
  assert_update_fails(f, "targets.json: expired", NULL);
}

/* ---- rollback ---- */

static void test_tuf_rejects_timestamp_rollback(void **state) {
  struct fx *f = *state;
  pl_tuf_set_version(f->timestamp, 5);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
  pl_tuf_set_version(f->timestamp, 4);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "timestamp.json: version rollback: trusted version 5, got 4", NULL);
  pl_tuf_set_version(f->timestamp, 5);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f); /* the same version again is no rollback */
}

static void test_tuf_rejects_snapshot_rollback(void **state) {
  struct fx *f = *state;
  pl_tuf_set_version(f->snapshot, 3);
  bump(f->timestamp);
  publish_tail(f);
  assert_update_ok(f);
  /* A newer timestamp pointing at an older snapshot. */
  pl_tuf_set_version(f->snapshot, 2);
  bump(f->timestamp);
  publish_tail(f);
  assert_update_fails(f, "timestamp.json: snapshot.json version rollback: trusted version 3, got 2",
                      NULL);
}

static void test_tuf_rejects_targets_rollback(void **state) {
  struct fx *f = *state;
  pl_tuf_set_version(f->targets, 3);
  json_object_set_new(json_object_get(json_object_get(f->snapshot, "meta"), "targets.json"),
                      "version", json_integer(3));
  publish_tail(f);
  assert_update_ok(f);
  /* A newer snapshot listing older targets. */
  pl_tuf_set_version(f->targets, 2);
  json_object_set_new(json_object_get(json_object_get(f->snapshot, "meta"), "targets.json"),
                      "version", json_integer(2));
  bump(f->snapshot);
  bump(f->timestamp);
  publish_tail(f);
  assert_update_fails(f, "snapshot.json: targets.json version rollback: trusted version 3, got 2",
                      NULL);
  /* Without a trusted snapshot, the trusted targets still refuse it. */
  char snap[128];
  snprintf(snap, sizeof snap, "%s/snapshot.json", f->state);
  assert_int_equal(unlink(snap), 0);
  assert_update_fails(f, "targets.json: version rollback: trusted version 3, got 2", NULL);
}

static void test_tuf_rejects_root_rollback_kept_in_state(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  /* Root 2 moves the timestamp role to other_key; the state keeps it. */
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  pl_tuf_root_remove_key(r2, "timestamp", f->ts_key.keyid);
  assert_int_equal(pl_tuf_root_add_key(r2, "timestamp", &f->other_key, &err), 0);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  publish(f, "timestamp.json", f->timestamp, &f->other_key, NULL);
  assert_update_ok(f);
  /* The registry goes back to root 1 and the old timestamp key. */
  assert_int_equal(unlinkat(f->repofd, "2.root.json", 0), 0);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "timestamp.json: signature threshold not met", NULL);
  pl_json_decref(r2);
}

/* ---- root rotation ---- */

static void test_tuf_follows_root_rotation_signed_by_old_and_new_keys(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  pl_tuf_root_remove_key(r2, "root", f->root_key.keyid);
  assert_int_equal(pl_tuf_root_add_key(r2, "root", &f->other_key, &err), 0);
  publish(f, "2.root.json", r2, &f->root_key, &f->other_key);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), 0);
  int64_t v;
  pl_tuf_role_info(t, PL_TUF_ROOT, &v, NULL);
  assert_int_equal(v, 2);
  pl_tuf_free(t);
  pl_json_decref(r2);
}

static void test_tuf_rejects_rotation_not_signed_by_old_keys(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  pl_tuf_root_remove_key(r2, "root", f->root_key.keyid);
  assert_int_equal(pl_tuf_root_add_key(r2, "root", &f->other_key, &err), 0);
  publish(f, "2.root.json", r2, &f->other_key, NULL);
  assert_update_fails(f, "root rotation to version 2", "2.root.json: signature threshold not met");
  /* Nor only by the old ones: the new keys must prove themselves. */
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  assert_update_fails(f, "root rotation to version 2", "by root keys");
  pl_json_decref(r2);
}

static void test_tuf_rejects_rotation_skipping_a_version(void **state) {
  struct fx *f = *state;
  json_t *r3 = json_deep_copy(f->root);
  pl_tuf_set_version(r3, 3);
  publish(f, "2.root.json", r3, &f->root_key, NULL);
  assert_update_fails(f, "2.root.json: version mismatch: expected 2, got 3", NULL);
  pl_json_decref(r3);
}

static void test_tuf_recovers_from_fast_forward_after_timestamp_key_rotation(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  /* An attacker with the timestamp key pushed version 1000 to clients. */
  pl_tuf_set_version(f->timestamp, 1000);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
  /* Without a key rotation, version 1 is (rightly) a rollback... */
  pl_tuf_set_version(f->timestamp, 1);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "version rollback", NULL);
  /* ...after the registry rotates the timestamp key, it is the new start. */
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  pl_tuf_root_remove_key(r2, "timestamp", f->ts_key.keyid);
  assert_int_equal(pl_tuf_root_add_key(r2, "timestamp", &f->other_key, &err), 0);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  publish(f, "timestamp.json", f->timestamp, &f->other_key, NULL);
  assert_update_ok(f);
  pl_json_decref(r2);
}

/* ---- lengths and hashes from the referring role ---- */

static void test_tuf_rejects_snapshot_hash_mismatch(void **state) {
  struct fx *f = *state;
  json_t *e = json_object_get(json_object_get(f->timestamp, "meta"), "snapshot.json");
  json_object_set_new(
      json_object_get(e, "hashes"), "sha256",
      json_string("0000000000000000000000000000000000000000000000000000000000000000"));
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "snapshot.json: sha256 mismatch: expected 0000", "(timestamp.json), got");
}

static void test_tuf_rejects_snapshot_length_mismatch(void **state) {
  struct fx *f = *state;
  json_t *e = json_object_get(json_object_get(f->timestamp, "meta"), "snapshot.json");
  json_object_set_new(e, "length", json_integer((json_int_t)f->snapshot_len - 1));
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "snapshot.json: length mismatch: expected", NULL);
  json_object_set_new(e, "length", json_integer((json_int_t)f->snapshot_len + 1));
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "snapshot.json: length mismatch: expected", NULL);
}

static void test_tuf_rejects_snapshot_version_other_than_timestamp_lists(void **state) {
  struct fx *f = *state;
  bump(f->snapshot);
  publish(f, "snapshot.json", f->snapshot, &f->snap_key, NULL);
  /* timestamp still says version 1 (and its hash): use a timestamp without hashes. */
  json_t *ts = pl_tuf_new_timestamp(2, NOW + DAY, 1, NULL, 0, &f->err);
  publish(f, "timestamp.json", ts, &f->ts_key, NULL);
  assert_update_fails(f, "snapshot.json: version mismatch: expected 1 (timestamp.json), got 2",
                      NULL);
  pl_json_decref(ts);
}

/* Publish targets, then a snapshot listing its length and sha256, then a
 * timestamp over that snapshot: what pylock registries publish. */
static void publish_tail_with_lengths(struct fx *f) {
  const struct pl_key *keys[1] = {&f->tg_key};
  char *tg = NULL;
  size_t tglen;
  assert_int_equal(pl_tuf_sign(f->targets, keys, 1, &tg, &tglen, &f->err), 0);
  write_file(f, "targets.json", tg, tglen);
  json_t *snap = pl_tuf_new_snapshot(pl_tuf_get_version(f->snapshot), NOW + 30 * DAY,
                                     pl_tuf_get_version(f->targets), tg, tglen, &f->err);
  assert_non_null(snap);
  free(tg);
  pl_json_decref(f->snapshot);
  f->snapshot = snap;
  publish(f, "snapshot.json", f->snapshot, &f->snap_key, NULL);
  republish_timestamp(f);
}

/* Unsigned bytes that are not JSON: an error naming a parse would mean they
 * were parsed before being checked. */
static void write_junk(struct fx *f, const char *name, size_t len) {
  char *junk = malloc(len);
  assert_non_null(junk);
  memset(junk, '[', len);
  write_file(f, name, junk, len);
  free(junk);
}

/* Drop what the state kept: the next update fetches every role. */
static void forget_state(struct fx *f) {
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->state);
  assert_int_equal(system(cmd), 0);
}

static void test_tuf_checks_listed_targets_length_and_hash_before_parsing(void **state) {
  struct fx *f = *state;
  publish_tail_with_lengths(f);
  assert_update_ok(f);
  forget_state(f); /* else the kept targets.json, the version listed, is used */
  const json_t *e = json_object_get(json_object_get(f->snapshot, "meta"), "targets.json");
  size_t len = (size_t)json_integer_value(json_object_get(e, "length"));
  write_junk(f, "targets.json", len);
  assert_update_fails(f, "targets.json: sha256 mismatch: expected", "(snapshot.json), got");
  write_junk(f, "targets.json", len + 1);
  assert_update_fails(f, "targets.json: length mismatch: expected", "(snapshot.json), got more");
  /* A listed length beyond the cap is refused before any read. */
  json_object_set_new((json_t *)e, "length", json_integer((json_int_t)PL_TUF_TARGETS_MAX + 1));
  publish(f, "snapshot.json", f->snapshot, &f->snap_key, NULL);
  republish_timestamp(f);
  assert_update_fails(f, "targets.json: snapshot.json lists a length of", "more than the");
}

static void test_tuf_caps_unlisted_targets_before_parsing(void **state) {
  struct fx *f = *state;
  /* The fixture's snapshot lists no length (older pylock, tuf-js): it
   * verifies, within the cap. */
  assert_update_ok(f);
  forget_state(f);
  write_junk(f, "targets.json", PL_TUF_UNLISTED_MAX + 1);
  assert_update_fails(f, "targets.json: larger than the 2097152 bytes allowed",
                      "whose length snapshot.json does not list (refused before parsing)");
  write_junk(f, "targets.json", PL_TUF_UNLISTED_MAX);
  assert_update_fails(f, "targets.json: invalid JSON", NULL); /* under the cap: parsed */
}

static void test_tuf_caps_timestamp_before_parsing(void **state) {
  struct fx *f = *state;
  write_junk(f, "timestamp.json", PL_TUF_TIMESTAMP_MAX + 1);
  assert_update_fails(f, "timestamp.json: larger than the 65536 bytes allowed",
                      "(refused before parsing)");
}

/* ---- state ---- */

static void test_tuf_writes_nothing_to_state_on_rejection(void **state) {
  struct fx *f = *state;
  pl_tuf_set_expires(f->targets, NOW - 1);
  publish_tail(f);
  assert_update_fails(f, "expired", NULL);
  struct stat st;
  assert_int_equal(stat(f->state, &st), -1); /* not even created */
  pl_tuf_set_expires(f->targets, NOW + DAY);
  publish_tail(f);
  assert_update_ok(f);
  char *before = NULL, *after = NULL;
  size_t lb, la;
  pl_error_t err = NULL;
  char p[160];
  snprintf(p, sizeof p, "%s/timestamp.json", f->state);
  assert_int_equal(pl_read_file_at(AT_FDCWD, p, 1 << 20, &before, &lb, &err), 0);
  bump(f->timestamp);
  bump(f->snapshot);
  bump(f->targets);
  json_object_set_new(json_object_get(json_object_get(f->snapshot, "meta"), "targets.json"),
                      "version", json_integer(2));
  pl_tuf_set_expires(f->targets, NOW - 1);
  publish_tail(f);
  assert_update_fails(f, "targets.json: expired", NULL);
  assert_int_equal(pl_read_file_at(AT_FDCWD, p, 1 << 20, &after, &la, &err), 0);
  assert_int_equal(la, lb);
  assert_memory_equal(before, after, la);
  free(before);
  free(after);
}

/* The inode of state file `name` (a rewrite renames a new file over it). */
static ino_t state_ino(struct fx *f, const char *name) {
  char p[256];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", f->state, name);
  assert_int_equal(stat(p, &st), 0);
  return st.st_ino;
}

/* Nothing published since: the state is neither checked twice nor written
 * again; what was published is written, and an expired copy is still
 * refused even when the registry serves the very same bytes. */
static void test_tuf_rewrites_only_what_was_published_since(void **state) {
  struct fx *f = *state;
  static const char *const names[] = {"anchor.sha256", "root.json", "timestamp.json",
                                      "snapshot.json", "targets.json"};
  enum { N = sizeof names / sizeof names[0] };
  ino_t before[N];
  assert_update_ok(f);
  for (int i = 0; i < N; i++)
    before[i] = state_ino(f, names[i]);
  assert_update_ok(f);
  for (int i = 0; i < N; i++)
    assert_int_equal(state_ino(f, names[i]), before[i]);
  bump(f->timestamp);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
  for (int i = 0; i < N; i++)
    if (strcmp(names[i], "timestamp.json") == 0)
      assert_int_not_equal(state_ino(f, names[i]), before[i]);
    else
      assert_int_equal(state_ino(f, names[i]), before[i]);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW + 8 * DAY, &t), -1);
  assert_non_null(strstr(f->err->msg, "timestamp.json"));
  assert_non_null(strstr(f->err->msg, "expired"));
}

/* The bytes of file name in dir (the state or the registry); *len. */
static char *bytes_of(const char *dir, const char *name, size_t *len) {
  char p[256];
  char *buf = NULL;
  pl_error_t err = NULL;
  snprintf(p, sizeof p, "%s/%s", dir, name);
  assert_int_equal(pl_read_file_at(AT_FDCWD, p, 1 << 20, &buf, len, &err), 0);
  return buf;
}

/* State file `name` must hold what the registry publishes as `as`. */
static void assert_state_holds(struct fx *f, const char *name, const char *as) {
  size_t ls, lr;
  cleanup_free char *s = bytes_of(f->state, name, &ls);
  cleanup_free char *r = bytes_of(f->repo, as, &lr);
  assert_int_equal(ls, lr);
  assert_memory_equal(s, r, ls);
}

/* A hostile registry replaying the bytes kept before (flipping back from
 * a newer version to the one the state held): the newer baseline was
 * written, so the replay is a rollback, and the state keeps the newer. */
static void test_tuf_refuses_kept_bytes_replayed_after_a_newer_version(void **state) {
  struct fx *f = *state;
  assert_update_ok(f);
  size_t l1;
  cleanup_free char *v1 = bytes_of(f->repo, "timestamp.json", &l1);
  bump(f->timestamp);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_ok(f);
  assert_state_holds(f, "timestamp.json", "timestamp.json");
  size_t l2;
  cleanup_free char *v2 = bytes_of(f->repo, "timestamp.json", &l2);
  write_file(f, "timestamp.json", v1, l1);
  assert_update_fails(f, "timestamp.json: version rollback: trusted version 2, got 1", NULL);
  write_file(f, "timestamp.json", v2, l2);
  assert_state_holds(f, "timestamp.json", "timestamp.json");
  assert_update_ok(f);
}

/* The snapshot the state kept, served again while a new timestamp names
 * the same version with other hashes: refused, not reused. */
static void test_tuf_refuses_kept_snapshot_bytes_the_timestamp_hashes_otherwise(void **state) {
  struct fx *f = *state;
  assert_update_ok(f);
  size_t lk;
  cleanup_free char *kept = bytes_of(f->state, "snapshot.json", &lk);
  bump(f->timestamp);
  json_t *e = json_object_get(json_object_get(f->timestamp, "meta"), "snapshot.json");
  json_object_set_new(
      json_object_get(e, "hashes"), "sha256",
      json_string("1111111111111111111111111111111111111111111111111111111111111111"));
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "snapshot.json: sha256 mismatch", NULL);
  size_t la;
  cleanup_free char *after = bytes_of(f->state, "snapshot.json", &la);
  assert_int_equal(la, lk);
  assert_memory_equal(after, kept, lk);
}

/* Kept snapshot and targets served again byte for byte under a fresh
 * timestamp: their own expiry still counts. */
static void test_tuf_refuses_kept_snapshot_bytes_once_expired(void **state) {
  struct fx *f = *state;
  assert_update_ok(f);
  bump(f->timestamp);
  pl_tuf_set_expires(f->timestamp, NOW + 60 * DAY);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW + 31 * DAY, &t), -1);
  assert_non_null(strstr(f->err->msg, "snapshot.json: expired"));
}

/* A state grown from another anchor: everything is written again, the
 * anchor's hash first, so no file of the other chain stays a baseline
 * that looks like this anchor's. */
static void test_tuf_rewrites_a_state_grown_from_another_anchor(void **state) {
  struct fx *f = *state;
  static const char *const names[] = {"anchor.sha256", "root.json", "timestamp.json",
                                      "snapshot.json", "targets.json"};
  enum { N = sizeof names / sizeof names[0] };
  ino_t before[N];
  assert_update_ok(f);
  for (int i = 0; i < N; i++)
    before[i] = state_ino(f, names[i]);
  /* The same root, other bytes (another expiry): another anchor. */
  json_t *r1 = json_deep_copy(f->root);
  pl_tuf_set_expires(r1, NOW + 300 * DAY);
  char *out = NULL;
  size_t len;
  const struct pl_key *keys[1] = {&f->root_key};
  assert_int_equal(pl_tuf_sign(r1, keys, 1, &out, &len, &f->err), 0);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, f->anchor, out, len, 0644, &f->err), 0);
  assert_update_ok(f);
  /* The anchor's hash and the root are written anew; the other roles were
   * verified against that root again and are left alone only where their
   * bytes are the very ones kept. */
  for (int i = 0; i < 2; i++)
    assert_int_not_equal(state_ino(f, names[i]), before[i]);
  size_t lr;
  cleanup_free char *root = bytes_of(f->state, "root.json", &lr);
  assert_int_equal(lr, len);
  assert_memory_equal(root, out, len);
  size_t la;
  cleanup_free char *a = bytes_of(f->state, "anchor.sha256", &la);
  char hex[PL_SHA256_HEX];
  assert_int_equal(pl_sha256_hex(out, len, hex, &f->err), 0);
  assert_memory_equal(a, hex, 64);
  free(out);
  pl_json_decref(r1);
}

/* A crash between two state files left the new timestamp beside the old
 * snapshot: the next update writes the snapshot the timestamp names. */
static void test_tuf_completes_a_state_a_crash_left_half_written(void **state) {
  struct fx *f = *state;
  assert_update_ok(f);
  size_t lo;
  cleanup_free char *old = bytes_of(f->state, "snapshot.json", &lo);
  bump(f->snapshot);
  bump(f->timestamp);
  publish_tail(f);
  assert_update_ok(f);
  char p[160];
  snprintf(p, sizeof p, "%s/snapshot.json", f->state);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, p, old, lo, 0644, &f->err), 0);
  assert_update_ok(f);
  assert_state_holds(f, "snapshot.json", "snapshot.json");
  assert_state_holds(f, "timestamp.json", "timestamp.json");
}

/* The record of the kept snapshot, edited (its expiry pushed on, without
 * its checksum) or cut short by a crash: not used.  The snapshot's own
 * expiry is judged from its verified bytes, and the record is written
 * again, whole. */
static void test_tuf_damaged_snapshot_record_is_not_trusted(void **state) {
  struct fx *f = *state;
  assert_update_ok(f);
  size_t lr;
  cleanup_free char *record = bytes_of(f->state, "snapshot.record", &lr);
  json_t *rec = NULL;
  assert_int_equal(pl_json_parse(record, lr, "record", &rec, &f->err), 0);
  json_object_set_new(json_object_get(rec, "snapshot"), "expires",
                      json_integer((json_int_t)NOW + 365 * DAY));
  cleanup_free char *edited = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
  pl_json_decref(rec);
  char p[160];
  snprintf(p, sizeof p, "%s/snapshot.record", f->state);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, p, edited, strlen(edited), 0644, &f->err), 0);
  bump(f->timestamp);
  pl_tuf_set_expires(f->timestamp, NOW + 60 * DAY);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW + 31 * DAY, &t), -1);
  assert_non_null(strstr(f->err->msg, "snapshot.json: expired"));
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, p, record, lr / 2, 0644, &f->err), 0);
  assert_update_ok(f);
  size_t la;
  cleanup_free char *again = bytes_of(f->state, "snapshot.record", &la);
  assert_int_equal(la, lr);
  assert_memory_equal(again, record, lr);
}

/* The registry rotates the snapshot key (the old one leaked) while the
 * state keeps a record of the snapshot the old key signed: a fresh
 * timestamp naming that very snapshot, hashes and all, does not make the
 * record usable; the old key's snapshot is refused under the new root and
 * the record is left as it was.  Signed by the new key, it passes. */
static void test_tuf_snapshot_signed_by_a_rotated_out_key_is_refused_though_recorded(void **state) {
  struct fx *f = *state;
  pl_error_t err = NULL;
  assert_update_ok(f);
  size_t lr;
  cleanup_free char *record = bytes_of(f->state, "snapshot.record", &lr);
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  pl_tuf_root_remove_key(r2, "snapshot", f->snap_key.keyid);
  assert_int_equal(pl_tuf_root_add_key(r2, "snapshot", &f->other_key, &err), 0);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  pl_json_decref(r2);
  bump(f->timestamp);
  publish(f, "timestamp.json", f->timestamp, &f->ts_key, NULL);
  assert_update_fails(f, "snapshot.json: signature threshold not met", NULL);
  size_t la;
  cleanup_free char *after = bytes_of(f->state, "snapshot.record", &la);
  assert_int_equal(la, lr);
  assert_memory_equal(after, record, lr);
  publish(f, "targets.json", f->targets, &f->tg_key, NULL);
  publish(f, "snapshot.json", f->snapshot, &f->other_key, NULL);
  republish_timestamp(f);
  assert_update_ok(f);
}

/* A snapshot recorded as verified under root 1 is verified again under
 * root 2 (its keys could have changed), and recorded under root 2. */
static void test_tuf_snapshot_record_is_bound_to_the_root_that_verified_it(void **state) {
  struct fx *f = *state;
  assert_update_ok(f);
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  pl_json_decref(r2);
  ino_t before = state_ino(f, "snapshot.record");
  assert_update_ok(f);
  assert_int_not_equal(state_ino(f, "snapshot.record"), before);
  size_t lr, l2;
  cleanup_free char *record = bytes_of(f->state, "snapshot.record", &lr);
  cleanup_free char *root2 = bytes_of(f->repo, "2.root.json", &l2);
  char hex[PL_SHA256_HEX], want[80];
  assert_int_equal(pl_sha256_hex(root2, l2, hex, &f->err), 0);
  snprintf(want, sizeof want, "\"root\":\"%s\"", hex);
  assert_non_null(strstr(record, want));
  before = state_ino(f, "snapshot.record");
  assert_update_ok(f); /* and then used, not written again */
  assert_int_equal(state_ino(f, "snapshot.record"), before);
}

static void test_tuf_consistent_snapshot_reads_versioned_and_hashed_names(void **state) {
  struct fx *f = *state;
  json_t *r2 = json_deep_copy(f->root);
  bump(r2);
  json_object_set_new(r2, "consistent_snapshot", json_true());
  publish(f, "2.root.json", r2, &f->root_key, NULL);
  publish_tail(f);
  struct pl_tuf *t = NULL;
  assert_int_equal(update_at(f, NOW, &t), -1); /* 1.snapshot.json is absent */
  assert_int_equal(f->err->errnum, ENOENT);
  publish(f, "1.snapshot.json", f->snapshot, &f->snap_key, NULL);
  publish(f, "1.targets.json", f->targets, &f->tg_key, NULL);
  publish_tail(f); /* timestamp must hash the same snapshot bytes */
  publish(f, "1.snapshot.json", f->snapshot, &f->snap_key, NULL);
  json_t *ts = pl_tuf_new_timestamp(1, NOW + DAY, 1, NULL, 0, &f->err);
  publish(f, "timestamp.json", ts, &f->ts_key, NULL);
  assert_int_equal(update_at(f, NOW, &t), 0);
  char sha[PL_SHA256_HEX], name[128];
  pl_sha256_hex(WHEEL, strlen(WHEEL), sha, &f->err);
  snprintf(name, sizeof name, "targets/%s.a-1.0-py3-none-any.whl", sha);
  write_file(f, name, WHEEL, strlen(WHEEL));
  assert_int_equal(unlinkat(f->repofd, "targets/a-1.0-py3-none-any.whl", 0), 0);
  char *buf = NULL;
  size_t len;
  assert_int_equal(pl_tuf_fetch_target_mem(t, "a-1.0-py3-none-any.whl", &buf, &len, &f->err), 0);
  free(buf);
  pl_tuf_free(t);
  pl_json_decref(ts);
  pl_json_decref(r2);
}

static void test_tuf_check_root_accepts_self_signed_and_rejects_other(void **state) {
  struct fx *f = *state;
  char *raw;
  size_t len;
  int64_t v;
  assert_int_equal(pl_read_file_at(AT_FDCWD, f->anchor, 1 << 20, &raw, &len, &f->err), 0);
  assert_int_equal(pl_tuf_check_root(raw, len, "root", &v, NULL, &f->err), 0);
  assert_int_equal(v, 1);
  free(raw);
  assert_int_equal(pl_read_file_at(f->repofd, "timestamp.json", 1 << 20, &raw, &len, &f->err), 0);
  assert_int_equal(pl_tuf_check_root(raw, len, "ts", &v, NULL, &f->err), -1);
  free(raw);
  publish(f, "bad.json", f->root, &f->other_key, NULL);
  assert_int_equal(pl_read_file_at(f->repofd, "bad.json", 1 << 20, &raw, &len, &f->err), 0);
  assert_int_equal(pl_tuf_check_root(raw, len, "bad", &v, NULL, &f->err), -1);
  free(raw);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_tuf_accepts_signed_registry_and_returns_verified_target),
      T(test_tuf_rejects_target_length_mismatch),
      T(test_tuf_rejects_target_hash_mismatch),
      T(test_tuf_fetch_targets_checks_each_and_keeps_nothing_when_one_fails),
      T(test_tuf_verifies_local_copy_of_target),
      T(test_tuf_rejects_bad_signature),
      T(test_tuf_rejects_untrusted_key),
      T(test_tuf_rejects_threshold_not_met),
      T(test_tuf_counts_one_key_listed_under_two_keyids_once),
      T(test_tuf_checks_one_signature_per_keyid),
      T(test_tuf_rejects_wrong_type),
      T(test_tuf_rejects_unsupported_spec_version),
      T(test_tuf_rejects_expired_root),
      T(test_tuf_rejects_expired_timestamp),
      T(test_tuf_rejects_expired_snapshot),
      T(test_tuf_rejects_expired_targets),
      T(test_tuf_rejects_timestamp_rollback),
      T(test_tuf_rejects_snapshot_rollback),
      T(test_tuf_rejects_targets_rollback),
      T(test_tuf_rejects_root_rollback_kept_in_state),
      T(test_tuf_follows_root_rotation_signed_by_old_and_new_keys),
      T(test_tuf_rejects_rotation_not_signed_by_old_keys),
      T(test_tuf_rejects_rotation_skipping_a_version),
      T(test_tuf_recovers_from_fast_forward_after_timestamp_key_rotation),
      T(test_tuf_rejects_snapshot_hash_mismatch),
      T(test_tuf_rejects_snapshot_length_mismatch),
      T(test_tuf_rejects_snapshot_version_other_than_timestamp_lists),
      T(test_tuf_checks_listed_targets_length_and_hash_before_parsing),
      T(test_tuf_caps_unlisted_targets_before_parsing),
      T(test_tuf_caps_timestamp_before_parsing),
      T(test_tuf_writes_nothing_to_state_on_rejection),
      T(test_tuf_rewrites_only_what_was_published_since),
      T(test_tuf_refuses_kept_bytes_replayed_after_a_newer_version),
      T(test_tuf_refuses_kept_snapshot_bytes_the_timestamp_hashes_otherwise),
      T(test_tuf_refuses_kept_snapshot_bytes_once_expired),
      T(test_tuf_rewrites_a_state_grown_from_another_anchor),
      T(test_tuf_completes_a_state_a_crash_left_half_written),
      T(test_tuf_damaged_snapshot_record_is_not_trusted),
      T(test_tuf_snapshot_record_is_bound_to_the_root_that_verified_it),
      T(test_tuf_snapshot_signed_by_a_rotated_out_key_is_refused_though_recorded),
      T(test_tuf_consistent_snapshot_reads_versioned_and_hashed_names),
      T(test_tuf_check_root_accepts_self_signed_and_rejects_other),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
