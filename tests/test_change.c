/* Unit tests: lib/change.c — generation records, which generation readers
 * see while a change is recorded, and how the next command finishes or
 * undoes it.
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "change.h"
#include "cleanup.h"
#include "file.h"
#include "generations.h"
#include "project.h"
#include "sha.h"

#define SHA64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct fixture {
  char dir[64];
  int state_fd, root_fd;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pylock-change-XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  int top = open(f->dir, O_RDONLY | O_DIRECTORY);
  pl_error_t err = NULL;
  if (pl_mkdir_p_at(top, "state/generations/1", 0755, &err) < 0 ||
      pl_mkdir_p_at(top, "state/generations/2", 0755, &err) < 0 ||
      pl_mkdir_p_at(top, "project", 0755, &err) < 0)
    return -1;
  f->state_fd = openat(top, "state", O_RDONLY | O_DIRECTORY);
  f->root_fd = openat(top, "project", O_RDONLY | O_DIRECTORY);
  close(top);
  if (pl_write_file_atomic_at(f->root_fd, PL_LOCK_FILE, "old\n", 4, 0644, &err) < 0 ||
      pl_gen_switch(f->state_fd, 1, &err) < 0)
    return -1;
  struct pl_gen_meta m = {.packages = 1};
  if (pl_meta_set_lock(&m, f->root_fd, PL_LOCK_FILE, "old\n", 4, NULL, &err) < 0 ||
      pl_meta_write(f->state_fd, 1, &m, &err) < 0)
    return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) return -1;
  close(f->state_fd);
  close(f->root_fd);
  free(f);
  return 0;
}

/* Steps 1-3 of a change to generation 2: the new lock staged under a
 * temporary name, its generation recorded against it, the record written.
 * Returns the temporary name (caller frees). */
static char *stage_change(struct fixture *f) {
  pl_error_t err = NULL;
  char *tmp = NULL;
  int fd = pl_tmpfile_open_at(f->root_fd, PL_LOCK_FILE, 0644, &tmp, &err);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "new lock\n", 9), 9);
  close(fd);
  struct pl_gen_meta m = {.packages = 2};
  bool same = false;
  assert_int_equal(pl_meta_set_lock(&m, f->root_fd, tmp, "new lock\n", 9, &same, &err), 0);
  assert_true(same);
  assert_int_equal(pl_meta_write(f->state_fd, 2, &m, &err), 0);
  struct pl_change c = {.gen = 2, .prev = 1};
  snprintf(c.tmp, sizeof c.tmp, "%s", tmp);
  assert_int_equal(pl_change_record(f->state_fd, &c, &err), 0);
  return tmp;
}

static void test_meta_round_trips_and_matches_only_the_same_file(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  struct pl_gen_meta w = {.packages = 7, .strict = true}, r;
  memcpy(w.stat, "0123456789abcdef0123456789abcdef", PL_STAT_DIGEST_LEN + 1);
  assert_int_equal(pl_meta_set_lock(&w, f->root_fd, PL_LOCK_FILE, "old\n", 4, NULL, &err), 0);
  assert_int_equal(pl_meta_write(f->state_fd, 2, &w, &err), 0);
  assert_int_equal(pl_meta_read(f->state_fd, 2, &r, &err), 0);
  assert_string_equal(r.lock_sha256, w.lock_sha256);
  assert_string_equal(r.stat, w.stat);
  assert_int_equal(r.packages, 7);
  assert_true(r.strict);
  assert_false(r.no_network);
  struct stat st;
  assert_int_equal(fstatat(f->root_fd, PL_LOCK_FILE, &st, 0), 0);
  assert_true(pl_meta_matches(&r, &st));
  /* Another file with the same bytes (a checkout rewrote it): not the same. */
  assert_int_equal(pl_write_file_atomic_at(f->root_fd, PL_LOCK_FILE, "old\n", 4, 0644, &err), 0);
  assert_int_equal(fstatat(f->root_fd, PL_LOCK_FILE, &st, 0), 0);
  assert_false(pl_meta_matches(&r, &st));
}

static void test_meta_says_bytecode_no_only_for_a_source_generation(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  struct pl_gen_meta w = {.packages = 2, .no_bytecode = true}, r;
  assert_int_equal(pl_meta_set_lock(&w, f->root_fd, PL_LOCK_FILE, "old\n", 4, NULL, &err), 0);
  assert_int_equal(pl_meta_write(f->state_fd, 2, &w, &err), 0);
  assert_int_equal(pl_meta_read(f->state_fd, 2, &r, &err), 0);
  assert_true(r.no_bytecode);
  w.no_bytecode = false;
  assert_int_equal(pl_meta_write(f->state_fd, 3, &w, &err), 0);
  assert_int_equal(pl_meta_read(f->state_fd, 3, &r, &err), 0);
  assert_false(r.no_bytecode);
  /* A record an older pylock wrote says nothing: its generation was compiled. */
  static const char old[] = "lock-sha256=" SHA64 "\npackages=1\n";
  assert_int_equal(
      pl_write_file_atomic_at(f->state_fd, "generations/4.meta", old, sizeof old - 1, 0600, &err),
      0);
  assert_int_equal(pl_meta_read(f->state_fd, 4, &r, &err), 0);
  assert_false(r.no_bytecode);
}

/* What verify and info say of a generation's byte-code: compiled by its
 * record (an older pylock's too); a source generation pending, or compiling
 * while a pylock holds the compile lock; no record, an error. */
static void test_bytecode_is_pending_until_a_compile_holds_the_lock(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  enum pl_bytecode b;
  pid_t holder = -1;
  assert_int_equal(pl_meta_bytecode(f->state_fd, 1, &b, &holder, &err), 0);
  assert_int_equal(b, PL_BYTECODE_COMPILED);
  assert_string_equal(pl_bytecode_name(b), "compiled");
  struct pl_gen_meta w = {.packages = 2, .no_bytecode = true};
  assert_int_equal(pl_meta_set_lock(&w, f->root_fd, PL_LOCK_FILE, "old\n", 4, NULL, &err), 0);
  assert_int_equal(pl_meta_write(f->state_fd, 2, &w, &err), 0);
  assert_int_equal(pl_meta_bytecode(f->state_fd, 2, &b, &holder, &err), 0);
  assert_int_equal(b, PL_BYTECODE_PENDING);
  assert_string_equal(pl_bytecode_name(b), "pending");
  int lock = pl_gen_compile_lock(f->state_fd, &err);
  assert_true(lock >= 0);
  assert_int_equal(pl_meta_bytecode(f->state_fd, 2, &b, &holder, &err), 0);
  assert_int_equal(b, PL_BYTECODE_COMPILING);
  assert_string_equal(pl_bytecode_name(b), "compiling");
  assert_int_equal(holder, getpid());
  /* The lock says nothing of a compiled generation. */
  assert_int_equal(pl_meta_bytecode(f->state_fd, 1, &b, &holder, &err), 0);
  assert_int_equal(b, PL_BYTECODE_COMPILED);
  close(lock);
  assert_int_equal(pl_meta_bytecode(f->state_fd, 2, &b, &holder, &err), 0);
  assert_int_equal(b, PL_BYTECODE_PENDING);
  assert_int_equal(pl_meta_bytecode(f->state_fd, 9, &b, &holder, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  pl_error_free(&err);
}

static void test_meta_read_refuses_a_record_without_a_lock_hash(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  struct pl_gen_meta m;
  assert_int_equal(
      pl_write_file_atomic_at(f->state_fd, "generations/2.meta", "packages=1\n", 11, 0600, &err),
      0);
  assert_int_equal(pl_meta_read(f->state_fd, 2, &m, &err), -1);
  pl_error_free(&err);
  assert_int_equal(pl_meta_read(f->state_fd, 9, &m, &err), -1);
  assert_int_equal(err->errnum, ENOENT);
  pl_error_free(&err);
}

static void test_without_a_record_readers_see_current(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  unsigned n = 99;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 1);
}

static void test_an_uncommitted_change_is_invisible_and_undone(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  cleanup_free char *tmp = stage_change(f);
  unsigned n = 0;
  /* pylock.toml is still the old file: readers keep generation 1. */
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 1);
  enum pl_change_outcome out;
  assert_int_equal(pl_change_recover(f->root_fd, f->state_fd, &out, &n, &err), 0);
  assert_int_equal(out, PL_CHANGE_UNDONE);
  assert_int_equal(n, 1);
  /* The staged lock, the record and the new generation are gone; the old lock stays. */
  assert_int_equal(faccessat(f->root_fd, tmp, F_OK, AT_SYMLINK_NOFOLLOW), -1);
  assert_int_equal(faccessat(f->state_fd, PL_CHANGE_FILE, F_OK, AT_SYMLINK_NOFOLLOW), -1);
  assert_int_equal(faccessat(f->state_fd, "generations/2", F_OK, AT_SYMLINK_NOFOLLOW), -1);
  cleanup_free char *text = NULL;
  assert_int_equal(pl_read_file_at(f->root_fd, PL_LOCK_FILE, 64, &text, NULL, &err), 0);
  assert_string_equal(text, "old\n");
}

static void test_a_committed_change_is_seen_whole_and_finished(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  cleanup_free char *tmp = stage_change(f);
  /* Step 4, the commit point; killed before current moved. */
  assert_int_equal(renameat(f->root_fd, tmp, f->root_fd, PL_LOCK_FILE), 0);
  unsigned n = 0, cur = 0;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 2); /* the new lock goes with the new generation, already */
  assert_int_equal(pl_gen_current(f->state_fd, &cur, &err), 0);
  assert_int_equal(cur, 1);
  enum pl_change_outcome out;
  assert_int_equal(pl_change_recover(f->root_fd, f->state_fd, &out, &n, &err), 0);
  assert_int_equal(out, PL_CHANGE_FINISHED);
  assert_int_equal(n, 2);
  unsigned prev = 0;
  assert_int_equal(pl_gen_previous(f->state_fd, &prev, &err), 0);
  assert_int_equal(prev, 1);
  assert_int_equal(faccessat(f->state_fd, PL_CHANGE_FILE, F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

static void test_a_lock_rewritten_after_the_record_undoes_the_change(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  cleanup_free char *tmp = stage_change(f);
  /* Someone else wrote pylock.toml, other bytes than generation 2's. */
  assert_int_equal(
      pl_write_file_atomic_at(f->root_fd, PL_LOCK_FILE, "their lock\n", 11, 0644, &err), 0);
  unsigned n = 0;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 1);
  enum pl_change_outcome out;
  assert_int_equal(pl_change_recover(f->root_fd, f->state_fd, &out, &n, &err), 0);
  assert_int_equal(out, PL_CHANGE_UNDONE);
}

/* What decides is the bytes, not the file: pylock.toml rewritten with
 * exactly the staged lock (a copy, a checkout) goes with generation 2. */
static void test_the_staged_bytes_in_another_file_commit_the_change(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  cleanup_free char *tmp = stage_change(f);
  assert_int_equal(pl_write_file_atomic_at(f->root_fd, PL_LOCK_FILE, "new lock\n", 9, 0644, &err),
                   0);
  unsigned n = 0;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 2);
}

/* A copy of the staged file keeping its size and times (utimensat), other
 * bytes: a record of stat alone would take it for the new lock. */
static void test_a_forged_stat_with_other_bytes_is_not_a_commit(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  cleanup_free char *tmp = stage_change(f);
  struct stat st;
  assert_int_equal(fstatat(f->root_fd, tmp, &st, 0), 0);
  int fd = openat(f->root_fd, tmp, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, "NEW", 3, 0), 3);
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  assert_int_equal(futimens(fd, times), 0);
  close(fd);
  assert_int_equal(renameat(f->root_fd, tmp, f->root_fd, PL_LOCK_FILE), 0);
  unsigned n = 0;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 1);
}

/* current moves to the new generation only after the commit: once it has,
 * the change is finished, whatever was written to pylock.toml since. */
static void test_a_switched_change_is_finished_whatever_the_lock_holds(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  cleanup_free char *tmp = stage_change(f);
  assert_int_equal(renameat(f->root_fd, tmp, f->root_fd, PL_LOCK_FILE), 0);
  assert_int_equal(pl_gen_switch(f->state_fd, 2, &err), 0);
  assert_int_equal(
      pl_write_file_atomic_at(f->root_fd, PL_LOCK_FILE, "their lock\n", 11, 0644, &err), 0);
  unsigned n = 0;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 2);
  enum pl_change_outcome out;
  assert_int_equal(pl_change_recover(f->root_fd, f->state_fd, &out, &n, &err), 0);
  assert_int_equal(out, PL_CHANGE_FINISHED);
  assert_int_equal(n, 2);
  assert_int_equal(faccessat(f->state_fd, "generations/2", F_OK, AT_SYMLINK_NOFOLLOW), 0);
}

/* A record names the bytes its generation was built from; a file that no
 * longer holds them (written meanwhile) gets a stat no reader matches. */
static void test_meta_of_a_lock_written_meanwhile_is_stale(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  struct pl_gen_meta m, want;
  bool same = true;
  assert_int_equal(pl_meta_set_lock(&m, f->root_fd, PL_LOCK_FILE, "built\n", 6, &same, &err), 0);
  assert_false(same);
  assert_int_equal(pl_sha256_hex("built\n", 6, want.lock_sha256, &err), 0);
  assert_string_equal(m.lock_sha256, want.lock_sha256);
  struct stat st;
  assert_int_equal(fstatat(f->root_fd, PL_LOCK_FILE, &st, 0), 0);
  assert_false(pl_meta_matches(&m, &st));
  /* Nor is a link, or a FIFO, read (or waited on) in its place. */
  assert_int_equal(symlinkat(PL_LOCK_FILE, f->root_fd, "link"), 0);
  assert_int_equal(pl_meta_set_lock(&m, f->root_fd, "link", "old\n", 4, &same, &err), 0);
  assert_false(same);
  assert_int_equal(mkfifoat(f->root_fd, "fifo", 0644), 0);
  assert_int_equal(pl_meta_set_lock(&m, f->root_fd, "fifo", "old\n", 4, &same, &err), 0);
  assert_false(same);
  assert_int_equal(pl_meta_set_lock(&m, f->root_fd, PL_LOCK_FILE, "old\n", 4, &same, &err), 0);
  assert_true(same);
}

static void test_recover_sweeps_only_pylock_s_temporary_names(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  const char *ours[] = {".pylock.toml.tmp0123456789abcdef"};
  const char *theirs[] = {".pylock.toml.tmp0123", "notes.tmp0123456789abcdef",
                          ".other.tmp0123456789abcdef", ".pylock.toml.tmp0123456789abcdeg"};
  for (size_t i = 0; i < 1; i++)
    assert_int_equal(pl_write_file_atomic_at(f->root_fd, ours[i], "x", 1, 0644, &err), 0);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(pl_write_file_atomic_at(f->root_fd, theirs[i], "x", 1, 0644, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(f->state_fd, "generations/.3.meta.tmp00000000deadbeef",
                                           "x", 1, 0600, &err),
                   0);
  enum pl_change_outcome out;
  unsigned n;
  assert_int_equal(pl_change_recover(f->root_fd, f->state_fd, &out, &n, &err), 0);
  assert_int_equal(out, PL_CHANGE_NONE);
  assert_int_equal(faccessat(f->root_fd, ours[0], F_OK, AT_SYMLINK_NOFOLLOW), -1);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(faccessat(f->root_fd, theirs[i], F_OK, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal(
      faccessat(f->state_fd, "generations/.3.meta.tmp00000000deadbeef", F_OK, AT_SYMLINK_NOFOLLOW),
      -1);
}

static void test_a_malformed_record_is_never_followed_as_a_path(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  const char *bad = "generation=2\nprevious=1\nlock=../../etc/passwd\n";
  assert_int_equal(
      pl_write_file_atomic_at(f->state_fd, PL_CHANGE_FILE, bad, strlen(bad), 0600, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(f->root_fd, "victim", "keep", 4, 0644, &err), 0);
  unsigned n;
  assert_int_equal(pl_change_effective(f->root_fd, f->state_fd, &n, &err), 0);
  assert_int_equal(n, 1); /* current stands */
  enum pl_change_outcome out;
  assert_int_equal(pl_change_recover(f->root_fd, f->state_fd, &out, &n, &err), 0);
  assert_int_equal(out, PL_CHANGE_UNDONE);
  assert_int_equal(n, 1);
  assert_int_equal(faccessat(f->state_fd, PL_CHANGE_FILE, F_OK, AT_SYMLINK_NOFOLLOW), -1);
  assert_int_equal(faccessat(f->root_fd, "victim", F_OK, AT_SYMLINK_NOFOLLOW), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_meta_round_trips_and_matches_only_the_same_file, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_meta_says_bytecode_no_only_for_a_source_generation,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_bytecode_is_pending_until_a_compile_holds_the_lock,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_meta_read_refuses_a_record_without_a_lock_hash, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_without_a_record_readers_see_current, setup, teardown),
      cmocka_unit_test_setup_teardown(test_an_uncommitted_change_is_invisible_and_undone, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_committed_change_is_seen_whole_and_finished, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_lock_rewritten_after_the_record_undoes_the_change,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_the_staged_bytes_in_another_file_commit_the_change,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_forged_stat_with_other_bytes_is_not_a_commit, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_switched_change_is_finished_whatever_the_lock_holds,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_meta_of_a_lock_written_meanwhile_is_stale, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_recover_sweeps_only_pylock_s_temporary_names, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_a_malformed_record_is_never_followed_as_a_path, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
