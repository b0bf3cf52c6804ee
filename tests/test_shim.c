/* Unit tests: lib/shim.c — shim names and the manifest. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim.h"

static void test_shim_names_are_exactly_pythons_and_pips(void **state) {
  bool pip;
  const char *yes_py[] = {"python", "python3", "python3.12", "python3.9"};
  for (size_t i = 0; i < sizeof yes_py / sizeof yes_py[0]; i++) {
    assert_true(pl_shim_name(yes_py[i], &pip));
    assert_false(pip);
  }
  const char *yes_pip[] = {"pip", "pip3", "pip3.11"};
  for (size_t i = 0; i < sizeof yes_pip / sizeof yes_pip[0]; i++) {
    assert_true(pl_shim_name(yes_pip[i], &pip));
    assert_true(pip);
  }
  const char *no[] = {"pylock",         "python2",   "python3.", "python3.x", "pipx",
                      "python3-config", "pip3.1234", "ipython",  ""};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    assert_false(pl_shim_name(no[i], &pip));
}

static void test_shim_manifest_round_trips(void **state) {
  struct pl_shim_entry e[2] = {{.name = "python3", .real = "/usr/bin/python3.11"},
                               {.name = "pip", .real = "/usr/bin/python3.11", .module_pip = true}};
  char *text = pl_shim_manifest_format(e, 2);
  struct pl_shim_entry back[PL_SHIM_MAX];
  assert_int_equal(pl_shim_manifest_parse(text, back, PL_SHIM_MAX), 2);
  assert_string_equal(back[0].name, "python3");
  assert_string_equal(back[0].real, "/usr/bin/python3.11");
  assert_false(back[0].module_pip);
  assert_true(back[1].module_pip);
  free(text);
}

static void test_shim_manifest_rejects_what_it_did_not_write(void **state) {
  struct pl_shim_entry out[PL_SHIM_MAX];
  const char *bad[] = {
      "python3\trelative/python\n",       /* the real program must be absolute */
      "ls\t/bin/ls\n",                    /* not a shim name */
      "python3 /usr/bin/python3\n",       /* no tab */
      "pip\t/usr/bin/python3\t-m evil\n", /* only -m pip */
      "../python3\t/usr/bin/python3\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pl_shim_manifest_parse(bad[i], out, PL_SHIM_MAX), -1);
  assert_int_equal(pl_shim_manifest_parse("# only a comment\n", out, PL_SHIM_MAX), 0);
}

static void test_program_paths_follow_the_installed_layout_whatever_the_environment(void **state) {
  char self[PATH_MAX], got[PATH_MAX], want[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  *strrchr(self, '/') = '\0';
  setenv("PATH", "/tmp/evil", 1);
  /* A program outside PREFIX/lib/pylock is a front end: the others are
   * beside it, the full one in ../lib/pylock. */
  snprintf(want, sizeof want, "%s/../lib/pylock/pylock", self);
  assert_int_equal(pl_program_path(PL_PROGRAM_FULL, got, sizeof got), 0);
  assert_string_equal(got, want);
  snprintf(want, sizeof want, "%s/pylock-shim", self);
  assert_int_equal(pl_program_path(PL_PROGRAM_SHIM, got, sizeof got), 0);
  assert_string_equal(got, want);
  snprintf(want, sizeof want, "%s/pylock", self);
  assert_int_equal(pl_program_path(PL_PROGRAM_CMD, got, sizeof got), 0);
  assert_string_equal(got, want);
  assert_int_equal(pl_program_path(PL_PROGRAM_FULL, got, 4), -1); /* never cut short */
}

static void test_shim_is_pylock_knows_this_binary_through_links_and_nothing_else(void **state) {
  char link[] = "/tmp/pl-shim-self-XXXXXX";
  int fd = mkstemp(link);
  assert_true(fd >= 0);
  close(fd);
  unlink(link);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  assert_int_equal(symlink(self, link), 0);
  assert_true(pl_shim_is_pylock(self));
  assert_true(pl_shim_is_pylock(link));
  assert_false(pl_shim_is_pylock("/bin/sh"));
  assert_false(pl_shim_is_pylock("/nonexistent/python3"));
  unlink(link);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shim_names_are_exactly_pythons_and_pips),
      cmocka_unit_test(test_shim_manifest_round_trips),
      cmocka_unit_test(test_shim_manifest_rejects_what_it_did_not_write),
      cmocka_unit_test(test_program_paths_follow_the_installed_layout_whatever_the_environment),
      cmocka_unit_test(test_shim_is_pylock_knows_this_binary_through_links_and_nothing_else),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
