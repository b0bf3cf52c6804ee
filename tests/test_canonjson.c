/* Unit tests: lib/canonjson.c — canonical JSON as securesystemslib emits it. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "canonjson.h"

/* Parse `in`, emit canonical form, compare with `want` (bytes from
 * securesystemslib.formats.encode_canonical). */
static void assert_canonical(const char *in, const char *want) {
  pl_error_t err = NULL;
  json_t *v = NULL;
  assert_int_equal(pl_json_parse(in, strlen(in), "test", &v, &err), 0);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(pl_json_canonical(v, &out, &len, &err), 0);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(out, want, len);
  free(out);
  pl_json_decref(v);
}

static void test_canonjson_sorts_keys_and_drops_whitespace(void **state) {
  assert_canonical("{ \"b\" : 1, \"a\": [true, false, null], \"c\": {\"z\": \"x\", \"y\": -5} }",
                   "{\"a\":[true,false,null],\"b\":1,\"c\":{\"y\":-5,\"z\":\"x\"}}");
}

static void test_canonjson_escapes_only_quote_and_backslash(void **state) {
  assert_canonical(
      "{\"s\":\"quote\\\" back\\\\ nl\\n tab\\t uni\\u00e9\\u4e2d\\ud83d\\ude00 ctl\\u0001 "
      "slash\\/\"}",
      "{\"s\":\"quote\\\" back\\\\ nl\n tab\t uni\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80 ctl\x01 "
      "slash/\"}");
}

static void test_canonjson_sorts_unicode_keys_by_utf8_bytes(void **state) {
  assert_canonical("{\"\\u00e9\":1,\"z\":2,\"a\":3,\"\\u4e2d\":4,\"Z\":5,\"\\ud83d\\ude00\":6,"
                   "\"\\uffff\":7}",
                   "{\"Z\":5,\"a\":3,\"z\":2,\"\xc3\xa9\":1,\"\xe4\xb8\xad\":4,\"\xef\xbf\xbf\":7,"
                   "\"\xf0\x9f\x98\x80\":6}");
}

static void test_canonjson_nested_empty_and_large_integers(void **state) {
  assert_canonical("[]", "[]");
  assert_canonical("{}", "{}");
  assert_canonical("{\"n\":[0,-1,9007199254740993],\"o\":{\"p\":{\"q\":[[],{}]}}}",
                   "{\"n\":[0,-1,9007199254740993],\"o\":{\"p\":{\"q\":[[],{}]}}}");
}

static void test_canonjson_rejects_floats(void **state) {
  pl_error_t err = NULL;
  json_t *v = NULL;
  assert_int_equal(pl_json_parse("{\"x\":1.5}", 9, "test", &v, &err), 0);
  char *out = NULL;
  size_t len;
  assert_int_equal(pl_json_canonical(v, &out, &len, &err), -1);
  assert_non_null(strstr(err->msg, "floating-point"));
  assert_null(out);
  pl_error_free(&err);
  pl_json_decref(v);
}

static void test_canonjson_parse_rejects_duplicate_keys(void **state) {
  pl_error_t err = NULL;
  json_t *v = NULL;
  const char *doc = "{\"a\":1,\"a\":2}";
  assert_int_equal(pl_json_parse(doc, strlen(doc), "dup.json", &v, &err), -1);
  assert_null(v);
  assert_non_null(strstr(err->msg, "dup.json"));
  pl_error_free(&err);
}

static void test_canonjson_parse_rejects_trailing_garbage_and_nul(void **state) {
  pl_error_t err = NULL;
  json_t *v = NULL;
  assert_int_equal(pl_json_parse("{} x", 4, "t", &v, &err), -1);
  pl_error_free(&err);
  assert_int_equal(pl_json_parse("{\"a\":\"\\u0000\"}", 13, "t", &v, &err), -1);
  pl_error_free(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_canonjson_sorts_keys_and_drops_whitespace),
      cmocka_unit_test(test_canonjson_escapes_only_quote_and_backslash),
      cmocka_unit_test(test_canonjson_sorts_unicode_keys_by_utf8_bytes),
      cmocka_unit_test(test_canonjson_nested_empty_and_large_integers),
      cmocka_unit_test(test_canonjson_rejects_floats),
      cmocka_unit_test(test_canonjson_parse_rejects_duplicate_keys),
      cmocka_unit_test(test_canonjson_parse_rejects_trailing_garbage_and_nul),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
