/* Unit tests: lib/keyplace.c — what a key argument names, and where a key
 * may not lie. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
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

#include "keyplace.h"

static void resolves_to(const char *arg, const char *want) {
  pl_error_t err = NULL;
  char *got = NULL;
  assert_int_equal(pl_key_resolve(arg, &got, &err), 0);
  assert_string_equal(got, want);
  free(got);
}

static void test_keyplace_a_bare_name_is_in_the_keys_directory(void **state) {
  setenv("XDG_CONFIG_HOME", "/cfg", 1);
  resolves_to("release", "/cfg/pylock/keys/release.key");
  resolves_to("release.key", "/cfg/pylock/keys/release.key");
  resolves_to("release.key.pub", "/cfg/pylock/keys/release.key.pub");
  resolves_to("-", "-");
  resolves_to("/abs/k.key", "/abs/k.key");
  char cwd[PATH_MAX], want[PATH_MAX + 16];
  assert_non_null(getcwd(cwd, sizeof cwd));
  snprintf(want, sizeof want, "%s/k.key", cwd);
  resolves_to("./k.key", want);
  resolves_to(".//./k.key", want);
  snprintf(want, sizeof want, "%s/sub/k.key", cwd);
  resolves_to("sub/k.key", want);
  pl_error_t err = NULL;
  char *got = NULL;
  assert_int_equal(pl_key_resolve("..", &got, &err), -1);
  pl_error_free(&err);
  assert_int_equal(pl_key_resolve("", &got, &err), -1);
  pl_error_free(&err);
}

/* /tmp is written by every sandbox. */
static void test_keyplace_refuses_a_key_in_tmp(void **state) {
  pl_error_t err = NULL;
  char dir[] = "/tmp/pl-test-keyplace-XXXXXX", path[256];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/k.key", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fclose(f);
  chmod(path, 0600);
  assert_int_equal(pl_key_check_place(path, false, &err), -1);
  assert_int_equal(err->errnum, PL_REFUSED);
  assert_non_null(strstr(err->msg, "pylock sandboxes can write"));
  assert_non_null(err->hint);
  pl_error_free(&err);
  assert_int_equal(pl_key_check_place(path, true, &err), -1);
  assert_non_null(strstr(err->msg, "private key directory"));
  pl_error_free(&err);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keyplace_a_bare_name_is_in_the_keys_directory),
      cmocka_unit_test(test_keyplace_refuses_a_key_in_tmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
