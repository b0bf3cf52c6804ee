/* Unit tests: lib/projwalk.c — the upward search for pylock.toml, pylock's and pylock-shim's. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "projwalk.h"

struct fixture {
  char dir[64]; /* a private directory in TMPDIR: /tmp/pl-projwalk-XXXXXX */
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  if (f == NULL) return -1;
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-projwalk-XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  if (chdir("/") < 0) return -1;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int r = system(cmd);
  free(f);
  return r == 0 ? 0 : -1;
}

/* path = f->dir + "/" + rel (made as directories, 0755, when mkdirs). */
static void at(const struct fixture *f, const char *rel, char *path, size_t cap, bool mkdirs) {
  snprintf(path, cap, "%s/%s", f->dir, rel);
  if (!mkdirs) return;
  for (char *p = path + strlen(f->dir) + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0755);
      *p = '/';
    }
  mkdir(path, 0755);
}

static void touch(const char *dir, const char *name) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  close(fd);
}

/* pl_project_walk_up from cwd, made the working directory first (when it
 * exists), as pylock and the front end call it. */
static int walk(char *cwd, bool (*listed_safe)(const char *dir), bool *passed, struct stat *st) {
  if (chdir(cwd) < 0) assert_int_equal(chdir("/"), 0);
  return pl_project_walk_up(cwd, listed_safe, passed, st);
}

static const char *asked; /* the directory listed_safe was last asked about */
static char asked_buf[PATH_MAX];
static bool trust_none(const char *dir) {
  snprintf(asked_buf, sizeof asked_buf, "%s", dir);
  asked = asked_buf;
  return false;
}
static bool trust_all(const char *dir) {
  (void)dir;
  return true;
}

static void test_walk_finds_pylock_toml_in_the_working_directory(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX], want[PATH_MAX];
  at(f, "p", cwd, sizeof cwd, true);
  touch(cwd, "pylock.toml");
  snprintf(want, sizeof want, "%s", cwd);
  struct stat st;
  bool passed = false;
  assert_int_equal(walk(cwd, NULL, &passed, &st), 1);
  assert_string_equal(cwd, want);
  assert_true(S_ISDIR(st.st_mode));
  assert_false(passed);
}

static void test_walk_finds_the_nearest_pylock_toml_above(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX], near[PATH_MAX], far[PATH_MAX];
  at(f, "far/near/a/b", cwd, sizeof cwd, true);
  at(f, "far/near", near, sizeof near, false);
  at(f, "far", far, sizeof far, false);
  touch(near, "pylock.toml");
  touch(far, "pylock.toml");
  struct stat st;
  bool passed = false;
  assert_int_equal(walk(cwd, NULL, &passed, &st), 1);
  assert_string_equal(cwd, near);
}

static void test_walk_counts_a_link_named_pylock_toml_without_following_it(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX], link[PATH_MAX], want[PATH_MAX];
  at(f, "l/sub", cwd, sizeof cwd, true);
  at(f, "l/pylock.toml", link, sizeof link, false);
  at(f, "l", want, sizeof want, false);
  assert_int_equal(symlink("/nonexistent/dangling", link), 0);
  struct stat st;
  bool passed = false;
  assert_int_equal(walk(cwd, NULL, &passed, &st), 1);
  assert_string_equal(cwd, want);
}

/* Without configuration (the front end's walk) the search goes on past a
 * directory others can write, and says so; pylock then walks again. */
static void test_walk_without_configuration_crosses_open_directories_and_says_so(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX], open_dir[PATH_MAX], top[PATH_MAX];
  at(f, "top/open/in", cwd, sizeof cwd, true);
  at(f, "top/open", open_dir, sizeof open_dir, false);
  at(f, "top", top, sizeof top, false);
  assert_int_equal(chmod(open_dir, 0777), 0);
  touch(top, "pylock.toml");
  struct stat st;
  bool passed = false;
  char again[PATH_MAX];
  snprintf(again, sizeof again, "%s", cwd);
  assert_int_equal(walk(cwd, NULL, &passed, &st), 1);
  assert_string_equal(cwd, top);
  assert_true(passed);
  /* With the configuration, it stops there unless the user trusts it. */
  snprintf(cwd, sizeof cwd, "%s", again);
  asked = NULL;
  assert_int_equal(walk(cwd, trust_none, NULL, &st), 0);
  assert_non_null(asked);
  assert_string_equal(asked, open_dir);
  snprintf(cwd, sizeof cwd, "%s", again);
  assert_int_equal(walk(cwd, trust_all, NULL, &st), 1);
  assert_string_equal(cwd, top);
}

/* The working directory is where the user chose to be: its own mode is not
 * held against it. */
static void test_walk_does_not_judge_the_working_directory_itself(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX];
  at(f, "mine", cwd, sizeof cwd, true);
  assert_int_equal(chmod(cwd, 0777), 0);
  touch(cwd, "pylock.toml");
  struct stat st;
  bool passed = false;
  asked = NULL;
  assert_int_equal(walk(cwd, trust_none, NULL, &st), 1);
  assert_null(asked);
  assert_int_equal(walk(cwd, NULL, &passed, &st), 1);
  assert_false(passed);
}

static void test_walk_without_a_lock_file_reports_none(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX];
  at(f, "none/a", cwd, sizeof cwd, true);
  struct stat st;
  /* /tmp is open to everyone: with the configuration the walk stops there. */
  asked = NULL;
  assert_int_equal(walk(cwd, trust_none, NULL, &st), 0);
  assert_non_null(asked);
  assert_string_equal(asked, "/tmp");
}

static void test_walk_reports_a_directory_it_cannot_stat(void **state) {
  struct fixture *f = *state;
  char cwd[PATH_MAX];
  at(f, "missing/x", cwd, sizeof cwd, false);
  struct stat st;
  bool passed = false;
  assert_int_equal(walk(cwd, NULL, &passed, &st), -1);
}

static void test_writable_by_others_is_group_or_world_write(void **state) {
  struct stat st = {.st_mode = S_IFDIR | 0755};
  assert_false(pl_project_writable_by_others(&st));
  st.st_mode = S_IFDIR | 0775;
  assert_true(pl_project_writable_by_others(&st));
  st.st_mode = S_IFDIR | 01777;
  assert_true(pl_project_writable_by_others(&st));
  st.st_mode = S_IFREG | 0600;
  assert_false(pl_project_writable_by_others(&st));
}

/* Whether a pylock.toml is there is yes, no (ENOENT) or doubt: a lookup
 * that fails otherwise must never read as "no project here". */
static void test_lock_file_lookup_that_fails_is_doubt_not_absence(void **state) {
  struct fixture *f = *state;
  char dir[PATH_MAX], file[PATH_MAX + 8];
  at(f, "d", dir, sizeof dir, true);
  assert_int_equal(pl_project_has_lock_file(dir), 0);
  touch(dir, "pylock.toml");
  assert_int_equal(pl_project_has_lock_file(dir), 1);
  touch(dir, "plain");
  snprintf(file, sizeof file, "%s/plain", dir);
  errno = 0;
  assert_int_equal(pl_project_has_lock_file(file), -1);
  assert_int_equal(errno, ENOTDIR);
}

/* A path that names another directory than the working directory (one
 * renamed, another put in its place) is doubt, never a verdict on it. */
static void test_walk_whose_path_names_another_directory_is_doubt(void **state) {
  struct fixture *f = *state;
  char proj[PATH_MAX], sub[PATH_MAX], decoy[PATH_MAX], moved[PATH_MAX];
  at(f, "proj/sub", sub, sizeof sub, true);
  at(f, "proj", proj, sizeof proj, false);
  touch(proj, "pylock.toml");
  at(f, "decoy/sub", decoy, sizeof decoy, true);
  at(f, "moved", moved, sizeof moved, false);
  assert_int_equal(chdir(sub), 0);
  /* Swapped after getcwd: the path now names the decoy's sub. */
  assert_int_equal(rename(proj, moved), 0);
  at(f, "decoy", decoy, sizeof decoy, false);
  assert_int_equal(rename(decoy, proj), 0);
  struct stat st;
  bool passed = false;
  errno = 0;
  assert_int_equal(pl_project_walk_up(sub, NULL, &passed, &st), -1);
  assert_int_equal(errno, ESTALE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_walk_finds_pylock_toml_in_the_working_directory, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_walk_finds_the_nearest_pylock_toml_above, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_walk_counts_a_link_named_pylock_toml_without_following_it, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_walk_without_configuration_crosses_open_directories_and_says_so, setup, teardown),
      cmocka_unit_test_setup_teardown(test_walk_does_not_judge_the_working_directory_itself, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_walk_without_a_lock_file_reports_none, setup, teardown),
      cmocka_unit_test_setup_teardown(test_walk_reports_a_directory_it_cannot_stat, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_lock_file_lookup_that_fails_is_doubt_not_absence, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_walk_whose_path_names_another_directory_is_doubt, setup,
                                      teardown),
      cmocka_unit_test(test_writable_by_others_is_group_or_world_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
