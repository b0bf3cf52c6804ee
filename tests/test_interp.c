/* Unit tests: lib/interp.c's check of the path an interpreter is named by —
 * what is checked must be what runs, whoever else is on the machine.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "interp.h"
#include "sandbox.h"

#define NOBODY 65534

struct fx {
  char dir[PATH_MAX], proj[PATH_MAX + 16], py[PATH_MAX + 16];
  pl_error_t err;
};

/* fx->dir/py (0755, a regular file), fx->dir/proj (a project).  Not in a
 * place every sandbox writes (/tmp, /var/tmp, ~/.cache...), where an
 * interpreter is refused: the tree's build/ when the tree is not in one
 * (a clone in /tmp is), else the home. */
static bool in_shared_place(const char *dir) {
  char **places = NULL;
  size_t n = 0;
  pl_error_t err = NULL;
  char *real = realpath(dir, NULL);
  bool in = real == NULL;
  if (pl_sandbox_shared_places(&places, &n, &err) < 0) {
    pl_error_free(&err);
    in = true;
  }
  for (size_t i = 0; !in && i < n; i++) {
    size_t l = strlen(places[i]);
    in = strcmp(places[i], "/") == 0 ||
         (strncmp(real, places[i], l) == 0 && (real[l] == '/' || real[l] == '\0'));
  }
  if (places) pl_sandbox_places_free(places, n);
  free(real);
  return in;
}

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  char cwd[PATH_MAX];
  assert_non_null(getcwd(cwd, sizeof cwd));
  const char *home = getenv("HOME");
  int n = snprintf(f->dir, sizeof f->dir, "%s/build/pl-test-interp-XXXXXX", cwd);
  assert_true(n > 0 && (size_t)n < sizeof f->dir);
  if (in_shared_place(cwd) || mkdtemp(f->dir) == NULL) {
    assert_non_null(home);
    n = snprintf(f->dir, sizeof f->dir, "%s/.pl-test-interp-XXXXXX", home);
    assert_true(n > 0 && (size_t)n < sizeof f->dir);
    assert_false(in_shared_place(home));
    assert_non_null(mkdtemp(f->dir));
  }
  chmod(f->dir, 0755);
  snprintf(f->proj, sizeof f->proj, "%s/proj", f->dir);
  snprintf(f->py, sizeof f->py, "%s/py", f->dir);
  assert_int_equal(mkdir(f->proj, 0755), 0);
  int fd = open(f->py, O_WRONLY | O_CREAT | O_EXCL, 0755);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(chmod(f->py, 0755), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  pl_error_free(&f->err);
  free(f);
  return 0;
}

/* fx->dir/NAME */
static const char *at(const struct fx *f, const char *name) {
  static char buf[4][PATH_MAX + 64];
  static int i;
  i = (i + 1) % 4;
  snprintf(buf[i], sizeof buf[i], "%s/%s", f->dir, name);
  return buf[i];
}

static void test_interp_path_of_ones_own_links_and_dotdot_is_accepted(void **state) {
  struct fx *f = *state;
  assert_int_equal(mkdir(at(f, "bin"), 0755), 0);
  assert_int_equal(symlink("../py", at(f, "bin/python3")), 0);
  assert_int_equal(symlink("bin", at(f, "bin-link")), 0);
  assert_int_equal(pl_interp_check_path(f->py, f->proj, &f->err), 0);
  assert_int_equal(pl_interp_check_path(at(f, "bin/python3"), f->proj, &f->err), 0);
  assert_int_equal(pl_interp_check_path(at(f, "bin-link/./../bin-link/python3"), f->proj, &f->err),
                   0);
}

static void test_interp_path_through_a_directory_others_can_write_is_refused(void **state) {
  struct fx *f = *state;
  assert_int_equal(mkdir(at(f, "open"), 0777), 0);
  assert_int_equal(chmod(at(f, "open"), 0777), 0);
  assert_int_equal(symlink(f->dir, at(f, "open/link")), 0);
  assert_int_equal(pl_interp_check_path(at(f, "open/link/py"), NULL, &f->err), -1);
  assert_int_equal(f->err->errnum, PL_REFUSED);
  assert_non_null(strstr(f->err->msg, "mode 0777"));
  assert_non_null(strstr(f->err->msg, "someone else could replace it"));
  /* The same target, named directly, is fine: the link was the problem. */
  assert_int_equal(pl_interp_check_path(f->py, NULL, &f->err), 0);
}

static void test_interp_path_through_a_sticky_directory_depends_on_the_links_owner(void **state) {
  struct fx *f = *state;
  assert_int_equal(mkdir(at(f, "sticky"), 01777), 0);
  assert_int_equal(chmod(at(f, "sticky"), 01777), 0);
  assert_int_equal(symlink(f->py, at(f, "sticky/mine")), 0);
  assert_int_equal(pl_interp_check_path(at(f, "sticky/mine"), NULL, &f->err), 0);
  if (getuid() != 0) skip(); /* a link someone else owns */
  assert_int_equal(symlink(f->py, at(f, "sticky/theirs")), 0);
  assert_int_equal(lchown(at(f, "sticky/theirs"), NOBODY, NOBODY), 0);
  assert_int_equal(pl_interp_check_path(at(f, "sticky/theirs"), NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "mode 1777"));
}

static void test_interp_path_into_or_through_the_project_is_refused(void **state) {
  struct fx *f = *state;
  /* A link in the project to an interpreter outside it: code in the
   * project's sandbox can repoint it. */
  assert_int_equal(symlink(f->py, at(f, "proj/py")), 0);
  assert_int_equal(pl_interp_check_path(at(f, "proj/py"), f->proj, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "reached through the project"));
  /* A link outside that goes through the project on its way. */
  assert_int_equal(symlink("proj/../py", at(f, "via")), 0);
  assert_int_equal(pl_interp_check_path(at(f, "via"), f->proj, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "reached through the project"));
  assert_int_equal(pl_interp_check_path(at(f, "via"), NULL, &f->err), 0);
}

static void test_interp_path_to_a_file_others_can_write_or_no_file_is_refused(void **state) {
  struct fx *f = *state;
  assert_int_equal(chmod(f->py, 0775), 0);
  assert_int_equal(pl_interp_check_path(f->py, NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "mode 0775"));
  assert_int_equal(pl_interp_check_path(f->proj, NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "not a regular file"));
  assert_int_equal(pl_interp_check_path("bin/python3", NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "not an absolute path"));
  assert_int_equal(symlink("loop", at(f, "loop")), 0);
  assert_int_equal(pl_interp_check_path(at(f, "loop"), NULL, &f->err), -1);
  assert_int_equal(f->err->errnum, ELOOP);
}

static void test_interp_path_or_prefix_where_every_sandbox_writes_is_refused(void **state) {
  struct fx *f = *state;
  /* /tmp: a link of one's own there, to an interpreter out of it. */
  char tmp[] = "/tmp/pl-test-interp-link-XXXXXX", link[64];
  assert_non_null(mkdtemp(tmp));
  snprintf(link, sizeof link, "%s/python3", tmp);
  assert_int_equal(symlink(f->py, link), 0);
  assert_int_equal(pl_interp_check_path(link, NULL, &f->err), -1);
  assert_int_equal(f->err->errnum, PL_REFUSED);
  assert_non_null(strstr(f->err->msg, "reached through /tmp"));
  assert_int_equal(pl_interp_check_prefix(f->py, tmp, NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "reached through /tmp"));
  unlink(link);
  rmdir(tmp);
  /* The cache directory, as XDG_CACHE_HOME names it (through a link). */
  assert_int_equal(mkdir(at(f, "cache"), 0700), 0);
  assert_int_equal(mkdir(at(f, "cache/py"), 0700), 0);
  assert_int_equal(symlink(f->py, at(f, "cache/py/python3")), 0);
  assert_int_equal(symlink("cache", at(f, "cache-link")), 0);
  char *old = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
  setenv("XDG_CACHE_HOME", at(f, "cache-link"), 1);
  assert_int_equal(pl_interp_check_path(at(f, "cache/py/python3"), NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, at(f, "cache")));
  assert_int_equal(pl_interp_check_prefix(f->py, at(f, "cache-link/py"), NULL, &f->err), -1);
  assert_int_equal(pl_interp_check_path(f->py, NULL, &f->err), 0);
  assert_int_equal(pl_interp_check_prefix(f->py, f->dir, NULL, &f->err), 0);
  if (old)
    setenv("XDG_CACHE_HOME", old, 1);
  else
    unsetenv("XDG_CACHE_HOME");
  free(old);
}

static void test_interp_path_or_prefix_in_any_project_is_refused(void **state) {
  struct fx *f = *state;
  /* Another project than the one asking: a pylock.toml in a directory on
   * the way. */
  assert_int_equal(mkdir(at(f, "other"), 0755), 0);
  assert_int_equal(mkdir(at(f, "other/bin"), 0755), 0);
  assert_int_equal(symlink(f->py, at(f, "other/bin/python3")), 0);
  assert_int_equal(pl_interp_check_path(at(f, "other/bin/python3"), f->proj, &f->err), 0);
  int fd = open(at(f, "other/pylock.toml"), O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(pl_interp_check_path(at(f, "other/bin/python3"), f->proj, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "reached through the project"));
  assert_int_equal(pl_interp_check_prefix(f->py, at(f, "other/bin"), NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "reached through the project"));
  assert_int_equal(pl_interp_check_prefix(f->py, f->proj, f->proj, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "lies in the project"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_interp_path_of_ones_own_links_and_dotdot_is_accepted,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_interp_path_through_a_directory_others_can_write_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_interp_path_through_a_sticky_directory_depends_on_the_links_owner, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interp_path_into_or_through_the_project_is_refused,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_interp_path_to_a_file_others_can_write_or_no_file_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_interp_path_or_prefix_where_every_sandbox_writes_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_interp_path_or_prefix_in_any_project_is_refused, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
