/* Unit tests: lib/fetch.c — paths a registry may name, and deadlines. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "fetch.h"

static void test_deadline_is_the_floor_plus_the_length_at_the_documented_rate(void **state) {
  assert_int_equal(pl_fetch_deadline_ms(0, 30), 30000);
  assert_int_equal(pl_fetch_deadline_ms(64 * 1024, 30), 31000);
  assert_int_equal(pl_fetch_deadline_ms(32 * 1024, 30), 30500);
  /* A 32 MiB targets.json: 9 minutes, not the days 100 bytes/s allow. */
  assert_int_equal(pl_fetch_deadline_ms(32u << 20, 30), 30000 + 512000);
  /* A 4 GiB wheel, the largest a registry takes, and no overflow past it. */
  assert_int_equal(pl_fetch_deadline_ms(4ull << 30, 30), 30000 + 65536000ull);
  assert_true(pl_fetch_deadline_ms(UINT64_MAX, 30) >= pl_fetch_deadline_ms(4ull << 40, 30));
}

static void test_deadline_floor_knob_can_only_shorten(void **state) {
  unsetenv(PL_FETCH_DEADLINE_FLOOR_ENV);
  assert_int_equal(pl_fetch_deadline_floor(), PL_FETCH_DEADLINE_FLOOR);
  static const struct {
    const char *v;
    unsigned want;
  } cases[] = {{"2", 2},   {"30", 30}, {"31", 30}, {"100000", 30}, {"0", 30},
               {"-5", 30}, {"2s", 30}, {"", 30},   {" 2", 30},     {"99999999999999999999", 30}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    setenv(PL_FETCH_DEADLINE_FLOOR_ENV, cases[i].v, 1);
    assert_int_equal(pl_fetch_deadline_floor(), cases[i].want);
  }
  unsetenv(PL_FETCH_DEADLINE_FLOOR_ENV);
}

static void test_registry_paths_stay_inside_the_registry(void **state) {
  assert_true(pl_fetch_path_ok("targets/a-1.0-py3-none-any.whl"));
  assert_false(pl_fetch_path_ok("../x"));
  assert_false(pl_fetch_path_ok("/etc/passwd"));
  assert_false(pl_fetch_path_ok("a//b"));
  assert_false(pl_fetch_path_ok("a/./b"));
  assert_false(pl_fetch_path_ok("a\\b"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deadline_is_the_floor_plus_the_length_at_the_documented_rate),
      cmocka_unit_test(test_deadline_floor_knob_can_only_shorten),
      cmocka_unit_test(test_registry_paths_stay_inside_the_registry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
