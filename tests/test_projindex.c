/* Unit tests: lib/projindex.c — the PEP 691 page a registry signs per project
 * round-trips, and a page naming another project, a file of another project,
 * a file twice, a bad hash or too many files is refused; only a page at a
 * project's normalized name is a page (no traversal, no other spelling);
 * the Requires-Python a page carries is the METADATA's first, printable.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "dynlib.h"
#include "projindex.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int setup(void **state) {
  (void)state;
  pl_error_t e = NULL;
  return pl_dynlib_load(PL_LIB_JANSSON, &e);
}

static void assert_parse_fails(const char *json, const char *project, const char *msg) {
  struct pl_projindex ix;
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_parse(json, strlen(json), project, &ix, &e), -1);
  assert_non_null(e);
  if (strstr(e->msg, msg) == NULL) fail_msg("\"%s\" lacks \"%s\"", e->msg, msg);
  pl_error_free(&e);
}

static void test_target_path_is_the_normalized_name(void **state) {
  (void)state;
  char out[PL_PROJINDEX_TARGET_MAX];
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_target("Foo_Bar.baz", out, sizeof out, &e), 0);
  assert_string_equal(out, "simple/foo-bar-baz/index.json");
  assert_int_equal(pl_projindex_target("../etc", out, sizeof out, &e), -1);
  pl_error_free(&e);
  assert_int_equal(pl_projindex_target("a/b", out, sizeof out, &e), -1);
  pl_error_free(&e);
}

static void test_render_then_parse_round_trips(void **state) {
  (void)state;
  struct pl_projindex ix, back;
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_init(&ix, "foo-bar", &e), 0);
  struct pl_projindex_file f2 = {.filename = "Foo_Bar-2.0-py3-none-any.whl",
                                 .sha256 = SHA_B,
                                 .size = 42,
                                 .requires_python = ">=3.8",
                                 .metadata = true,
                                 .metadata_sha256 = SHA_A};
  struct pl_projindex_file f1 = {.filename = "foo_bar-1.0-py3-none-any.whl", .sha256 = SHA_A};
  assert_int_equal(pl_projindex_add(&ix, &f2, &e), 0);
  assert_int_equal(pl_projindex_add(&ix, &f1, &e), 0);
  assert_int_equal(pl_projindex_add(&ix, &f1, &e), 0); /* the same name replaces */
  assert_int_equal(ix.n, 2);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(pl_projindex_render(&ix, false, &out, &len, &e), 0);
  assert_non_null(strstr(out, "\"api-version\":\"1.1\""));
  assert_non_null(strstr(out, "\"versions\":[\"1.0\",\"2.0\"]"));
  assert_non_null(strstr(out, "\"url\":\"../../foo_bar-1.0-py3-none-any.whl\""));
  assert_non_null(strstr(out, "\"core-metadata\":{\"sha256\":\"" SHA_A "\"}"));
  assert_int_equal(pl_projindex_parse(out, len, "foo-bar", &back, &e), 0);
  assert_int_equal(back.n, 2);
  const struct pl_projindex_file *g = pl_projindex_find(&back, "Foo_Bar-2.0-py3-none-any.whl");
  assert_non_null(g);
  assert_string_equal(g->sha256, SHA_B);
  assert_int_equal(g->size, 42);
  assert_string_equal(g->requires_python, ">=3.8");
  assert_true(g->metadata);
  assert_string_equal(g->metadata_sha256, SHA_A);
  g = pl_projindex_find(&back, "foo_bar-1.0-py3-none-any.whl");
  assert_non_null(g);
  assert_false(g->metadata);
  assert_null(g->requires_python);
  assert_null(pl_projindex_find(&back, "foo_bar-3.0-py3-none-any.whl"));
  free(out);
  pl_projindex_free(&ix);
  pl_projindex_free(&back);
}

static void test_remove_drops_only_the_named_file_keeping_order(void **state) {
  (void)state;
  struct pl_projindex ix;
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_init(&ix, "foo", &e), 0);
  const char *names[] = {"foo-1.0-py3-none-any.whl", "foo-2.0-py3-none-any.whl",
                         "foo-3.0-py3-none-any.whl"};
  for (size_t i = 0; i < 3; i++) {
    struct pl_projindex_file f = {.filename = (char *)names[i], .sha256 = SHA_A};
    assert_int_equal(pl_projindex_add(&ix, &f, &e), 0);
  }
  assert_true(pl_projindex_remove(&ix, "foo-2.0-py3-none-any.whl"));
  assert_false(pl_projindex_remove(&ix, "foo-2.0-py3-none-any.whl"));
  assert_int_equal(ix.n, 2);
  assert_string_equal(ix.files[0].filename, names[0]);
  assert_string_equal(ix.files[1].filename, names[2]);
  assert_true(pl_projindex_remove(&ix, names[0]));
  assert_true(pl_projindex_remove(&ix, names[2]));
  assert_int_equal(ix.n, 0);
  pl_projindex_free(&ix);
}

static void test_add_refuses_a_file_of_another_project(void **state) {
  (void)state;
  struct pl_projindex ix;
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_init(&ix, "foo", &e), 0);
  struct pl_projindex_file f = {.filename = "foobar-1.0-py3-none-any.whl", .sha256 = SHA_A};
  assert_int_equal(pl_projindex_add(&ix, &f, &e), -1);
  assert_non_null(strstr(e->msg, "a file of another project"));
  pl_error_free(&e);
  struct pl_projindex_file bad = {.filename = "foo-1.0-py3-none-any.whl", .sha256 = "abc"};
  assert_int_equal(pl_projindex_add(&ix, &bad, &e), -1);
  pl_error_free(&e);
  assert_int_equal(ix.n, 0);
  assert_int_equal(pl_projindex_init(&ix, "Foo", &e), -1); /* not normalized */
  pl_error_free(&e);
}

#define PAGE(name, files)                                                                          \
  "{\"meta\":{\"api-version\":\"1.1\"},\"name\":\"" name "\",\"files\":[" files "]}"
#define FILE_A(fn) "{\"filename\":\"" fn "\",\"hashes\":{\"sha256\":\"" SHA_A "\"}}"

static void test_parse_refuses_hostile_pages(void **state) {
  (void)state;
  assert_parse_fails(PAGE("bar", FILE_A("foo-1.0-py3-none-any.whl")), "foo",
                     "names the project \"bar\"");
  assert_parse_fails(PAGE("foo", FILE_A("bar-1.0-py3-none-any.whl")), "foo",
                     "a file of another project");
  assert_parse_fails(
      PAGE("foo", FILE_A("foo-1.0-py3-none-any.whl") "," FILE_A("foo-1.0-py3-none-any.whl")), "foo",
      "twice");
  assert_parse_fails(PAGE("foo", FILE_A("../foo-1.0-py3-none-any.whl")), "foo",
                     "not a wheel file name");
  assert_parse_fails(PAGE("foo", FILE_A("sub/foo-1.0-py3-none-any.whl")), "foo",
                     "not a wheel file name");
  assert_parse_fails(PAGE("foo", "{\"filename\":\"foo-1.0-py3-none-any.whl\",\"hashes\":{}}"),
                     "foo", "malformed entry");
  assert_parse_fails(PAGE("foo",
                          "{\"filename\":\"foo-1.0-py3-none-any.whl\",\"hashes\":{\"sha256\":"
                          "\"" SHA_A "\"},\"requires-python\":\"\\u0001\"}"),
                     "foo", "malformed entry");
  assert_parse_fails("{\"meta\":{\"api-version\":\"2.0\"},\"name\":\"foo\",\"files\":[]}", "foo",
                     "not a PEP 691 1.x project page");
  assert_parse_fails("[1,2]", "foo", "not a PEP 691");
  assert_parse_fails("{", "foo", "index of foo");
}

static void test_parse_bounds_files_and_bytes(void **state) {
  (void)state;
  size_t n = PL_PROJINDEX_FILES_MAX + 1, cap = n * 200 + 256, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  len += (size_t)snprintf(buf, cap,
                          "{\"meta\":{\"api-version\":\"1.1\"},\"name\":\"foo\",\"files\":[");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s" FILE_A("foo-%zu-py3-none-any.whl"),
                            i ? "," : "", i);
  len += (size_t)snprintf(buf + len, cap - len, "]}");
  assert_parse_fails(buf, "foo", "more than 20000 files");
  free(buf);
  struct pl_projindex ix;
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_parse("{}", PL_PROJINDEX_MAX + 1, "foo", &ix, &e), -1);
  assert_int_equal(e->errnum, EFBIG);
  pl_error_free(&e);
}

static void test_only_a_page_at_a_normalized_name_is_a_page(void **state) {
  (void)state;
  char p[PL_DISTNAME_MAX + 1];
  assert_int_equal(pl_projindex_target_project("simple/foo-bar/index.json", p, sizeof p), 1);
  assert_string_equal(p, "foo-bar");
  assert_int_equal(pl_projindex_target_project(PL_PROJINDEX_MARKER, p, sizeof p), 0);
  assert_int_equal(pl_projindex_target_project("six-1.0-py3-none-any.whl", p, sizeof p), 0);
  /* Other spellings of a project (PEP 503), traversal, nesting, empty. */
  static const char *const bad[] = {
      "simple/Foo-Bar/index.json", "simple/foo_bar/index.json", "simple/foo.bar/index.json",
      "simple/../index.json",      "simple/./index.json",       "simple/a/b/index.json",
      "simple//index.json",        "simple/index.json",         "simple/foo/index.html",
      "simple/-foo/index.json",    "simple/foo-/index.json",    "simple/foo--bar/index.json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (pl_projindex_target_project(bad[i], p, sizeof p) != -1) fail_msg("%s taken", bad[i]);
}

/* Attacks on page names and the files a page lists (attack-b): names
 * that PEP 503 folds onto another project, unicode look-alikes, names
 * too long for a distribution, files of a project spelled otherwise or
 * named with escapes, none of them taken for a page or a page's file. */
static void test_look_alike_and_overlong_names_are_neither_pages_nor_files(void **state) {
  (void)state;
  char p[PL_DISTNAME_MAX + 1], target[PL_PROJINDEX_TARGET_MAX];
  static const char *const bad[] = {
      "simple/six_/index.json",           "simple/six./index.json",
      "simple/s\xc5\xbfx/index.json",     /* U+017F LATIN SMALL LETTER LONG S */
      "simple/\xef\xbd\x93ix/index.json", /* U+FF53 FULLWIDTH s */
      "simple/six%2F../index.json",       "simple/six\\..\\/index.json",
      "simple/six/index.json/",           "simple/six/index.json\n",
      "simple/ six/index.json",           "/simple/six/index.json",
      "simple/six/../six/index.json",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (pl_projindex_target_project(bad[i], p, sizeof p) == 1) fail_msg("%s taken", bad[i]);
  char longname[PL_DISTNAME_MAX + 64] = "simple/";
  memset(longname + 7, 'a', PL_DISTNAME_MAX + 1);
  memcpy(longname + 7 + PL_DISTNAME_MAX + 1, "/index.json", sizeof "/index.json");
  assert_int_equal(pl_projindex_target_project(longname, p, sizeof p), -1);
  pl_error_t e = NULL;
  assert_int_equal(pl_projindex_target("s\xc5\xbfx", target, sizeof target, &e), -1);
  pl_error_free(&e);
  assert_int_equal(pl_projindex_target(longname + 7, target, sizeof target, &e), -1);
  pl_error_free(&e);
  assert_parse_fails(PAGE("six", FILE_A("s\xc5\xbfx-1.0-py3-none-any.whl")), "six", "index of six");
  assert_parse_fails(PAGE("six", FILE_A("six%2D1.0-py3-none-any.whl")), "six", "index of six");
  assert_parse_fails(PAGE("six", FILE_A("six-1.0-py3-none-any.whl?x=1")), "six", "index of six");
  assert_parse_fails(PAGE("six", FILE_A("six-1.0-py3-none-any.whl#sha256=" SHA_B)), "six",
                     "index of six");
  assert_parse_fails(PAGE("six", FILE_A("..\\/six-1.0-py3-none-any.whl")), "six", "index of six");
  assert_parse_fails(PAGE("six", FILE_A("six_x-1.0-py3-none-any.whl")), "six",
                     "a file of another project");
  assert_parse_fails(PAGE("Six", FILE_A("six-1.0-py3-none-any.whl")), "six",
                     "names the project \"Six\"");
}

static void test_requires_python_is_the_first_printable_header(void **state) {
  (void)state;
  char *rp = NULL;
  pl_error_t e = NULL;
  const char md[] = "Metadata-Version: 2.1\nName: foo\nrequires-python: >=3.8, <4\n"
                    "Requires-Python: >=2.7\n\nbody";
  assert_int_equal(pl_projindex_requires_python(md, strlen(md), &rp, &e), 0);
  assert_string_equal(rp, ">=3.8, <4");
  free(rp);
  const char none[] = "Metadata-Version: 2.1\nName: foo\n\nRequires-Python: >=3\n";
  assert_int_equal(pl_projindex_requires_python(none, strlen(none), &rp, &e), 0);
  assert_null(rp);
  const char ctl[] = "Metadata-Version: 2.1\nName: foo\nRequires-Python: >=3\x7f\n\n";
  assert_int_equal(pl_projindex_requires_python(ctl, strlen(ctl), &rp, &e), 0);
  assert_null(rp); /* not for a page: pip reads it from .metadata */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_target_path_is_the_normalized_name),
      cmocka_unit_test(test_render_then_parse_round_trips),
      cmocka_unit_test(test_remove_drops_only_the_named_file_keeping_order),
      cmocka_unit_test(test_add_refuses_a_file_of_another_project),
      cmocka_unit_test(test_parse_refuses_hostile_pages),
      cmocka_unit_test(test_parse_bounds_files_and_bytes),
      cmocka_unit_test(test_only_a_page_at_a_normalized_name_is_a_page),
      cmocka_unit_test(test_look_alike_and_overlong_names_are_neither_pages_nor_files),
      cmocka_unit_test(test_requires_python_is_the_first_printable_header),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
