/* Unit tests: lib/version.c — PEP 440 versions and specifiers, against the
 * tables tests/pep508_cases.py generates from packaging (tests/data/pep508).
 * SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tsv.h"
#include "version.h"

#define DATA "tests/data/pep508/"

static void parse_ok(const char *s, struct pl_version *v) {
  if (pl_version_parse(s, strlen(s), v) < 0) fail_msg("\"%s\" does not parse", s);
}

static void assert_normal(const char *s, const char *want) {
  struct pl_version v;
  char out[PL_VERSION_FORMAT_MAX];
  parse_ok(s, &v);
  assert_true(pl_version_format(&v, out, sizeof out) >= 0);
  assert_string_equal(out, want);
}

static void test_version_normalizes_every_spelling_pep440_allows(void **state) {
  assert_normal("1.0", "1.0");
  assert_normal("v1.0", "1.0");
  assert_normal("V01.002", "1.2");
  assert_normal("0!1.0", "1.0");
  assert_normal("007!1", "7!1");
  assert_normal("1.0alpha", "1.0a0");
  assert_normal("1.0-Beta.3", "1.0b3");
  assert_normal("1.0c1", "1.0rc1");
  assert_normal("1.0preview_2", "1.0rc2");
  assert_normal("1.0-1", "1.0.post1");
  assert_normal("1.0r", "1.0.post0");
  assert_normal("1.0-rev.5", "1.0.post5");
  assert_normal("1.0DEV", "1.0.dev0");
  assert_normal("1.0+Ubuntu-1_007", "1.0+ubuntu.1.7");
  assert_normal("1.0a-1", "1.0a1"); /* the separator goes with the pre-release number */
  assert_normal("1.0a.", "1.0a0");
  assert_normal("12345678901234567890123.0", "12345678901234567890123.0");
}

static void test_version_refuses_what_pep440_does_not_spell(void **state) {
  static const char *const bad[] = {
      "",  "1.",    ".1",      "1..0", "1.0+",    "1.0+-a", "1!",           "!1",  "1.0 ", " 1.0",
      "a", "1.0.*", "1.0a1b1", "1_0",  "1.0+a+b", "1.0-",   "1.0.post.1.1", "1,0", "1.0\n"};
  struct pl_version v;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (pl_version_parse(bad[i], strlen(bad[i]), &v) == 0) fail_msg("\"%s\" parsed", bad[i]);
  char big[PL_VERSION_MAX + 2];
  memset(big, '1', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(pl_version_parse(big, strlen(big), &v), -1);
  big[PL_VERSION_MAX] = '\0';
  assert_int_equal(pl_version_parse(big, strlen(big), &v), 0);
}

static int cmp(const char *a, const char *b) {
  struct pl_version x, y;
  parse_ok(a, &x);
  parse_ok(b, &y);
  return pl_version_cmp(&x, &y);
}

static void test_version_order_follows_pep440(void **state) {
  const char *chain[] = {"1.0.dev0", "1.0a1.dev1", "1.0a1",  "1.0a1.post1.dev1", "1.0a1.post1",
                         "1.0b1",    "1.0rc1",     "1.0",    "1.0+abc",          "1.0+abc.5",
                         "1.0+1",    "1.0+2",      "1.0+10", "1.0.post1.dev1",   "1.0.post1",
                         "1.1.dev1", "1.1",        "1!0.1"};
  for (size_t i = 0; i + 1 < sizeof chain / sizeof chain[0]; i++)
    if (cmp(chain[i], chain[i + 1]) >= 0) fail_msg("%s < %s does not hold", chain[i], chain[i + 1]);
  assert_int_equal(cmp("1.0", "1.0.0.0"), 0);
  assert_int_equal(cmp("1.0.post0", "1.0-0"), 0);
  assert_int_equal(cmp("99999999999999999999999", "100000000000000000000000"), -1);
}

static struct pl_spec spec(const char *s) {
  struct pl_spec sp;
  enum pl_spec_op op;
  const char *why = NULL;
  size_t l = pl_spec_op_scan(s, strlen(s), &op);
  assert_true(l > 0);
  if (pl_spec_init(op, s + l, strlen(s + l), &sp, &why) < 0) fail_msg("%s: %s", s, why);
  return sp;
}

static bool contains(const char *s, const char *v) {
  struct pl_spec sp = spec(s);
  struct pl_version ver;
  parse_ok(v, &ver);
  return pl_spec_contains(&sp, &ver, true);
}

static void test_specifiers_match_as_pep440_says(void **state) {
  assert_true(contains("~=2.2", "2.3"));
  assert_false(contains("~=2.2", "3.0"));
  assert_true(contains("~=1.4.5a4", "1.4.6"));
  assert_false(contains("~=1.4.5a4", "1.5"));
  assert_true(contains("~=1.4.5.pre1", "1.4.9")); /* packaging 23.0 says no: a spelling bug */
  assert_true(contains("==1.2.*", "1.2.3rc1"));
  assert_true(contains("==1.2.*", "1.2"));
  assert_false(contains("==1.2.*", "1.20"));
  assert_true(contains("==1!2.0.*", "1!2")); /* packaging 23.0 says no: the epoch bug */
  assert_false(contains("==2.*", "1!2.0"));
  assert_true(contains("!=1.2.*", "1.3"));
  assert_true(contains("==1.0", "1.0+local"));
  assert_false(contains("==1.0+local", "1.0"));
  assert_false(contains("<3.1", "3.1.dev0"));
  assert_true(contains("<3.1", "3.0.dev0"));
  assert_false(contains(">3.1", "3.1.post1"));
  assert_false(contains(">3.1", "3.1+local"));
  assert_true(contains(">3.1.post1", "3.1.post2"));
  assert_true(contains("<=1.0", "1.0+local"));
  assert_true(contains("===1.0", "1.0"));
  assert_false(contains("===1.0", "1.0.0"));
  struct pl_spec sp = spec(">=1.0");
  struct pl_version v;
  parse_ok("2.0a1", &v);
  assert_true(pl_spec_contains(&sp, &v, true));
  assert_false(pl_spec_contains(&sp, &v, false));
}

static void test_specifier_versions_each_operator_allows(void **state) {
  static const char *const bad[] = {"~=1",       "~=1.*", ">=1.*",     "<1.0+l", ">=1.0+l",
                                    "==1.0a1.*", "==*",   "==1.0+l.*", "===",    "===a b",
                                    "===1;",     "==",    "<=1.0.*",   "~=1.0+l"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct pl_spec sp;
    enum pl_spec_op op;
    const char *why = NULL;
    size_t l = pl_spec_op_scan(bad[i], strlen(bad[i]), &op);
    if (pl_spec_init(op, bad[i] + l, strlen(bad[i] + l), &sp, &why) == 0)
      fail_msg("%s accepted", bad[i]);
    assert_non_null(why);
  }
}

/* ------------------------------------------------------------ the tables */

static void open_table(struct tsv *t, const char *name) {
  char path[256];
  snprintf(path, sizeof path, DATA "%s", name);
  if (tsv_open(t, path) < 0) fail_msg("cannot open %s (run from the source tree)", path);
}

static void test_versions_parse_and_normalize_as_packaging_does(void **state) {
  struct tsv t;
  unsigned long n = 0, bad = 0;
  open_table(&t, "versions.tsv");
  while (tsv_next(&t)) {
    struct pl_version v;
    char out[PL_VERSION_FORMAT_MAX];
    int r = pl_version_parse(t.field[0], t.len[0], &v);
    bool want_valid = strcmp(t.field[1], "!") != 0;
    n++;
    if ((r == 0) != want_valid) {
      print_error("versions.tsv:%lu: \"%s\" %s\n", t.lineno, t.field[0],
                  want_valid ? "refused" : "accepted");
      bad++;
    } else if (r == 0 &&
               (pl_version_format(&v, out, sizeof out) < 0 || strcmp(out, t.field[1]) != 0)) {
      print_error("versions.tsv:%lu: \"%s\" -> %s, not %s\n", t.lineno, t.field[0], out,
                  t.field[1]);
      bad++;
    }
  }
  tsv_close(&t);
  assert_true(n > 1000);
  assert_int_equal(bad, 0);
}

static void test_versions_order_as_packaging_orders_them(void **state) {
  struct tsv t;
  unsigned long n = 0, bad = 0;
  open_table(&t, "order.tsv");
  while (tsv_next(&t)) {
    int want = atoi(t.field[2]); /* lint: allow (a test table) */
    int got = cmp(t.field[0], t.field[1]);
    n++;
    if ((got > 0) - (got < 0) != want) {
      print_error("order.tsv:%lu: %s vs %s: %d, not %d\n", t.lineno, t.field[0], t.field[1], got,
                  want);
      bad++;
    }
  }
  tsv_close(&t);
  assert_true(n > 5000);
  assert_int_equal(bad, 0);
}

static void test_specifiers_parse_as_packaging_parses_them(void **state) {
  struct tsv t;
  unsigned long n = 0, bad = 0;
  open_table(&t, "specifiers.tsv");
  while (tsv_next(&t)) {
    struct pl_spec sp;
    enum pl_spec_op op;
    const char *why;
    size_t l = pl_spec_op_scan(t.field[0], t.len[0], &op);
    bool ok = l > 0 && pl_spec_init(op, t.field[0] + l, t.len[0] - l, &sp, &why) == 0;
    n++;
    if (ok != (t.field[1][0] == '1')) {
      print_error("specifiers.tsv:%lu: %s %s\n", t.lineno, t.field[0], ok ? "accepted" : "refused");
      bad++;
    }
  }
  tsv_close(&t);
  assert_true(n > 500);
  assert_int_equal(bad, 0);
}

static void test_specifiers_contain_what_pep440_says(void **state) {
  struct tsv t;
  unsigned long n = 0, bad = 0;
  open_table(&t, "contains.tsv");
  while (tsv_next(&t)) {
    struct pl_spec sp = spec(t.field[0]);
    struct pl_version v;
    parse_ok(t.field[1], &v);
    bool with = pl_spec_contains(&sp, &v, true), without = pl_spec_contains(&sp, &v, false);
    n++;
    if (with != (t.field[2][0] == '1') || without != (t.field[3][0] == '1')) {
      print_error("contains.tsv:%lu: %s contains %s: %d/%d, not %s/%s\n", t.lineno, t.field[0],
                  t.field[1], with, without, t.field[2], t.field[3]);
      bad++;
    }
  }
  tsv_close(&t);
  assert_true(n > 10000);
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_version_normalizes_every_spelling_pep440_allows),
      cmocka_unit_test(test_version_refuses_what_pep440_does_not_spell),
      cmocka_unit_test(test_version_order_follows_pep440),
      cmocka_unit_test(test_specifiers_match_as_pep440_says),
      cmocka_unit_test(test_specifier_versions_each_operator_allows),
      cmocka_unit_test(test_versions_parse_and_normalize_as_packaging_does),
      cmocka_unit_test(test_versions_order_as_packaging_orders_them),
      cmocka_unit_test(test_specifiers_parse_as_packaging_parses_them),
      cmocka_unit_test(test_specifiers_contain_what_pep440_says),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
