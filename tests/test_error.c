/* Unit tests: lib/error.c — the error convention. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dynlib.h"
#include "error.h"

static void test_error_fail_returns_negative_and_keeps_context(void **state) {
  pl_error_t err = NULL;
  assert_int_equal(pl_fail(&err, ENOENT, "open %s", "/x"), -1);
  char *s = pl_error_string(err);
  assert_string_equal(s, "open /x: No such file or directory");
  free(s);
  pl_error_free(&err);
  assert_null(err);
}

static void test_error_wrap_prefixes_and_hint_survives(void **state) {
  pl_error_t err = NULL;
  pl_fail_hint(&err, 0, "do this", "inner");
  assert_int_equal(pl_error_wrap(&err, "outer %d", 2), -1);
  assert_string_equal(err->msg, "outer 2: inner");
  assert_string_equal(err->hint, "do this");
  pl_error_free(&err);
}

static void test_error_second_fail_replaces_first(void **state) {
  pl_error_t err = NULL;
  pl_fail(&err, EPERM, "first");
  pl_fail(&err, 0, "second");
  assert_string_equal(err->msg, "second");
  assert_int_equal(err->errnum, 0);
  pl_error_free(&err);
}

static void test_dynlib_loads_libcrypto_on_demand(void **state) {
  pl_error_t err = NULL;
  assert_int_equal(pl_dynlib_load(PL_LIB_CRYPTO, &err), 0);
  assert_null(err);
  assert_int_equal(pl_dynlib_load(PL_LIB_CRYPTO, &err), 0); /* idempotent */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_fail_returns_negative_and_keeps_context),
      cmocka_unit_test(test_error_wrap_prefixes_and_hint_survives),
      cmocka_unit_test(test_error_second_fail_replaces_first),
      cmocka_unit_test(test_dynlib_loads_libcrypto_on_demand),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
