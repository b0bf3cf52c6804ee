/* Unit tests: lib/fetch.c — paths a registry may name, deadlines, many files at once. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

struct got {
  char buf[64];
  size_t len;
};

static int collect(void *ctx, const void *data, size_t n, pl_error_t *err) {
  struct got *g = ctx;
  (void)err;
  assert_true(g->len + n < sizeof g->buf);
  memcpy(g->buf + g->len, data, n);
  g->len += n;
  return 0;
}

static void test_fetch_many_brings_each_file_and_names_the_one_that_failed(void **state) {
  char dir[] = "/tmp/pylock-test-fetch-XXXXXX", path[96];
  assert_non_null(mkdtemp(dir));
  static const char *const names[] = {"a", "b"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(names[i][0] == 'a' ? "first" : "second", fp);
    fclose(fp);
  }
  struct pl_fetcher *f = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_fetcher_open(dir, NULL, &f, &err), 0);
  struct got g[2] = {0};
  struct pl_fetch_job jobs[2] = {{"a", 64, collect, &g[0]}, {"b", 64, collect, &g[1]}};
  size_t failed = 9;
  assert_int_equal(pl_fetch_many(f, jobs, 2, &failed, &err), 0);
  assert_memory_equal(g[0].buf, "first", 5);
  assert_memory_equal(g[1].buf, "second", 6);
  /* An unsafe path is refused before anything is read. */
  memset(g, 0, sizeof g);
  jobs[1].relpath = "../b";
  assert_int_equal(pl_fetch_many(f, jobs, 2, &failed, &err), -1);
  assert_int_equal(failed, 1);
  assert_int_equal(g[0].len, 0);
  pl_error_free(&err);
  /* A missing file: ENOENT, and its index. */
  jobs[1].relpath = "c";
  assert_int_equal(pl_fetch_many(f, jobs, 2, &failed, &err), -1);
  assert_int_equal(failed, 1);
  assert_int_equal(err->errnum, ENOENT);
  pl_error_free(&err);
  /* Longer than its bound: EFBIG. */
  jobs[1].relpath = "b";
  jobs[1].max = 3;
  assert_int_equal(pl_fetch_many(f, jobs, 2, &failed, &err), -1);
  assert_int_equal(failed, 1);
  assert_int_equal(err->errnum, EFBIG);
  pl_error_free(&err);
  pl_fetcher_free(f);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    unlink(path);
  }
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_deadline_is_the_floor_plus_the_length_at_the_documented_rate),
      cmocka_unit_test(test_deadline_floor_knob_can_only_shorten),
      cmocka_unit_test(test_registry_paths_stay_inside_the_registry),
      cmocka_unit_test(test_fetch_many_brings_each_file_and_names_the_one_that_failed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
