/* Unit tests: lib/lockfile.c — PEP 751 pylock.toml, read and written. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cleanup.h"
#include "file.h"
#include "lockfile.h"

#define SHA_A "c66895ae851ba58bcb7ec59c9afb5c02f799917f2bfdff4bfed28d28b032a13a"
#define SHA_B "2684acd1da3ea630cc4bbfceb6af86aa6937749369fdaed518050c30fc56e2e9"

/* A lock as pylock writes it (header included), with another tool's table. */
static const char OWN[] =
    "# Managed by pylock: change packages with 'pylock install' and 'pylock remove'.\n"
    "lock-version = \"1.0\"\n"
    "created-by = \"pylock\"\n"
    "requires-python = \"==3.12.*\"\n"
    "\n"
    "[[packages]]\n"
    "name = \"idna\"\n"
    "version = \"3.3\"\n"
    "requires-python = \">=3.5\"\n"
    "index = \"https://wheels.example.org/reg\"\n"
    "\n"
    "[[packages.wheels]]\n"
    "name = \"idna-3.3-py3-none-any.whl\"\n"
    "url = \"https://wheels.example.org/reg/targets/idna-3.3-py3-none-any.whl\"\n"
    "size = 65344\n"
    "hashes = {sha256 = \"" SHA_B "\"}\n"
    "\n"
    "[[packages]]\n"
    "name = \"requests\"\n"
    "version = \"2.28.1\"\n"
    "index = \"https://wheels.example.org/reg\"\n"
    "\n"
    "[[packages.wheels]]\n"
    "name = \"requests-2.28.1-py3-none-any.whl\"\n"
    "url = \"https://wheels.example.org/reg/targets/requests-2.28.1-py3-none-any.whl\"\n"
    "size = 59077\n"
    "hashes = {sha256 = \"" SHA_A "\"}\n"
    "\n"
    "[packages.tool.pylock]\n"
    "requested = true\n"
    "\n"
    "[tool.pylock]\n"
    "requested = [\"requests>=2\"]\n"
    "python = \"/opt/python3.12/bin/python3.12\"\n"
    "python-version = \"3.12.1\"\n"
    "python-prefix = \"/opt/python3.12\"\n"
    "registry = \"https://wheels.example.org/reg\"\n"
    "root-keyids = [\"88f522ca\"]\n"
    "\n"
    "[tool.other]\n"
    "answer = 42\n";

static void parse_ok(const char *text, size_t len, struct pl_lockfile *lf) {
  pl_error_t err = NULL;
  int r = pl_lockfile_parse(text, len, "test.toml", lf, &err);
  if (r < 0) fail_msg("%s", err->msg);
}

static char *read_data(const char *name, size_t *len) {
  char path[256];
  snprintf(path, sizeof path, "tests/data/lock/%s", name);
  char *buf = NULL;
  pl_error_t err = NULL;
  if (pl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, len, &err) < 0) fail_msg("%s", err->msg);
  return buf;
}

static void test_lockfile_own_format_round_trips_byte_identical(void **state) {
  struct pl_lockfile lf;
  parse_ok(OWN, strlen(OWN), &lf);
  assert_int_equal(lf.npackages, 2);
  assert_true(lf.packages[1].requested);
  assert_false(lf.packages[0].requested);
  assert_string_equal(lf.registry, "https://wheels.example.org/reg");
  char *out = NULL;
  size_t len = 0;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_write(&lf, &out, &len, &err), 0);
  assert_string_equal(out, OWN);
  assert_int_equal(len, strlen(OWN));
  free(out);
  pl_lockfile_free(&lf);
}

static void test_lockfile_write_is_deterministic_whatever_the_input_order(void **state) {
  /* The same content, packages, requested and key ids shuffled and repeated. */
  static const char shuffled[] =
      "lock-version = \"1.0\"\ncreated-by = \"pylock\"\nrequires-python = \"==3.12.*\"\n"
      "[tool.other]\nanswer = 42\n"
      "[tool.pylock]\nrequested = [\"requests>=2\", \"requests>=2\"]\n"
      "python = \"/opt/python3.12/bin/python3.12\"\npython-version = \"3.12.1\"\n"
      "python-prefix = \"/opt/python3.12\"\nregistry = \"https://wheels.example.org/reg\"\n"
      "root-keyids = [\"88f522ca\", \"88f522ca\"]\n"
      "[[packages]]\nname = \"Requests\"\nversion = \"2.28.1\"\n"
      "index = \"https://wheels.example.org/reg\"\n"
      "wheels = [{size = 59077, hashes = {sha256 = \"" SHA_A "\"}, "
      "url = \"https://wheels.example.org/reg/targets/requests-2.28.1-py3-none-any.whl\"}]\n"
      "tool.pylock.requested = true\n"
      "[[packages]]\nname = \"idna\"\nversion = \"3.3\"\nrequires-python = \">=3.5\"\n"
      "index = \"https://wheels.example.org/reg\"\n"
      "[[packages.wheels]]\nname = \"idna-3.3-py3-none-any.whl\"\n"
      "url = \"https://wheels.example.org/reg/targets/idna-3.3-py3-none-any.whl\"\n"
      "size = 65344\nhashes = {sha256 = \"" SHA_B "\"}\n";
  struct pl_lockfile a, b;
  parse_ok(shuffled, strlen(shuffled), &a);
  parse_ok(OWN, strlen(OWN), &b);
  char *out_a = NULL, *out_b = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_write(&a, &out_a, NULL, &err), 0);
  assert_int_equal(pl_lockfile_write(&b, &out_b, NULL, &err), 0);
  /* Only the name's spelling differs: "Requests" is kept as written. */
  char *p = strstr(out_a, "name = \"Requests\"");
  assert_non_null(p);
  memcpy(p + 8, "r", 1);
  assert_string_equal(out_a, out_b);
  /* And writing twice gives the same bytes. */
  char *again = NULL;
  assert_int_equal(pl_lockfile_write(&b, &again, NULL, &err), 0);
  assert_string_equal(again, out_b);
  free(out_a), free(out_b), free(again);
  pl_lockfile_free(&a);
  pl_lockfile_free(&b);
}

static void test_lockfile_keeps_other_tools_tables(void **state) {
  struct pl_lockfile lf;
  parse_ok(OWN, strlen(OWN), &lf);
  char *out = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_write(&lf, &out, NULL, &err), 0);
  assert_non_null(strstr(out, "[tool.other]\nanswer = 42\n"));
  free(out);
  pl_lockfile_free(&lf);
}

static void test_lockfile_keeps_auto_sync_when_rewritten(void **state) {
  (void)state;
  const char *text = "lock-version = \"1.0\"\ncreated-by = \"pylock\"\n\n[tool.pylock]\n"
                     "requested = []\nauto-sync = true\n";
  struct pl_lockfile lf;
  parse_ok(text, strlen(text), &lf);
  assert_true(lf.auto_sync);
  char *out = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_write(&lf, &out, NULL, &err), 0);
  assert_non_null(strstr(out, "auto-sync = true\n"));
  free(out);
  pl_lockfile_free(&lf);
}

static void test_lockfile_refuses_a_package_listed_twice_naming_each_pair(void **state) {
  (void)state;
  const char *pkg = "[[packages]]\nname = \"%s\"\nversion = \"1.0\"\n%s"
                    "[[packages.wheels]]\nname = \"%s-1.0-py3-none-any.whl\"\n"
                    "url = \"https://r.example/x.whl\"\nhashes = {sha256 = \"%064d\"}\n\n";
  char text[4096];
  int n = snprintf(text, sizeof text, "lock-version = \"1.0\"\n\n");
  n += snprintf(text + n, sizeof text - n, pkg, "six", "", "six", 1);
  n += snprintf(text + n, sizeof text - n, pkg, "Six", "", "six", 2);
  n +=
      snprintf(text + n, sizeof text - n, pkg, "idna", "marker = \"os_name == 'nt'\"\n", "idna", 3);
  n +=
      snprintf(text + n, sizeof text - n, pkg, "idna", "marker = \"os_name != 'nt'\"\n", "idna", 4);
  struct pl_lockfile lf;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_parse(text, (size_t)n, "pylock.toml", &lf, &err), -1);
  assert_non_null(strstr(err->msg, "six (packages[0] and [1])"));
  assert_null(strstr(err->msg, "idna")); /* told apart by their markers */
  pl_error_free(&err);
  pl_lockfile_free(&lf);
}

/* A pull request's lock naming one package 5,000 times: refused, its
 * message bounded (pairs were once compared and printed pairwise). */
static void test_lockfile_many_duplicates_are_refused_with_a_bounded_message(void **state) {
  (void)state;
  const char *pkg = "[[packages]]\nname = \"six\"\nversion = \"1.0\"\n"
                    "[[packages.wheels]]\nname = \"six-1.0-py3-none-any.whl\"\n"
                    "url = \"https://r.example/x.whl\"\nhashes = {sha256 = \"%064d\"}\n\n";
  size_t cap = 5000 * 256, n = 0;
  cleanup_free char *text = malloc(cap);
  assert_non_null(text);
  n += (size_t)snprintf(text, cap, "lock-version = \"1.0\"\n\n");
  for (int i = 0; i < 5000; i++)
    n += (size_t)snprintf(text + n, cap - n, pkg, i);
  struct pl_lockfile lf;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_parse(text, n, "pylock.toml", &lf, &err), -1);
  assert_non_null(strstr(err->msg, "six (packages["));
  assert_non_null(strstr(err->msg, "and 4983 more"));
  assert_true(strlen(err->msg) < 2048);
  pl_error_free(&err);
  pl_lockfile_free(&lf);
}

static void test_lockfile_reads_pip_lock_output(void **state) {
  size_t len;
  char *text = read_data("pip-lock.toml", &len);
  struct pl_lockfile lf;
  parse_ok(text, len, &lf);
  assert_string_equal(lf.created_by, "pip");
  assert_int_equal(lf.npackages, 2);
  const struct pl_lock_package *r = pl_lockfile_find(&lf, "requests");
  assert_non_null(r);
  assert_string_equal(r->version, "2.32.3");
  assert_int_equal(r->nwheels, 1);
  assert_false(r->wheels[0].has_size); /* pip lock writes no size */
  assert_string_equal(r->wheels[0].sha256,
                      "70761cfe03c773ceb22aa2f671b4757976145175cdfca038c02654d061d6dcc6");
  pl_lockfile_free(&lf);
  free(text);
}

static void test_lockfile_reads_uv_export_and_keeps_markers(void **state) {
  size_t len;
  char *text = read_data("uv-export.toml", &len);
  struct pl_lockfile lf;
  parse_ok(text, len, &lf);
  assert_string_equal(lf.created_by, "uv");
  assert_string_equal(lf.requires_python, ">=3.12");
  const struct pl_lock_package *c = pl_lockfile_find(&lf, "colorama");
  assert_non_null(c);
  assert_string_equal(c->marker, "sys_platform == 'win32'");
  assert_string_equal(c->index, "https://pypi.org/simple");
  /* uv writes no wheel name: it comes from the url. */
  assert_string_equal(c->wheels[0].name, "colorama-0.4.6-py2.py3-none-any.whl");
  assert_int_equal(c->wheels[0].size, 25335);
  pl_lockfile_free(&lf);
  free(text);
}

static void test_lockfile_reads_pdm_export_and_keeps_its_tool_table(void **state) {
  size_t len;
  char *text = read_data("pdm-export.toml", &len);
  struct pl_lockfile lf;
  parse_ok(text, len, &lf);
  assert_string_equal(lf.created_by, "pdm");
  assert_int_equal(lf.npackages, 2);
  assert_string_equal(pl_lockfile_find(&lf, "urllib3")->marker, "python_version >= \"3.9\"");
  char *out = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_write(&lf, &out, NULL, &err), 0);
  assert_non_null(strstr(out, "[tool.pdm]"));
  assert_non_null(strstr(out, "\"inherit_metadata\",\n    \"static_urls\",\n]"));
  assert_non_null(strstr(out, "[tool.pdm.hashes]\nsha256 = "));
  /* What pylock wrote reads back to the same bytes. */
  struct pl_lockfile again;
  parse_ok(out, strlen(out), &again);
  char *out2 = NULL;
  assert_int_equal(pl_lockfile_write(&again, &out2, NULL, &err), 0);
  assert_string_equal(out, out2);
  free(out), free(out2);
  pl_lockfile_free(&again);
  pl_lockfile_free(&lf);
  free(text);
}

static void expect_refused(const char *pkg_body, const char *message) {
  char text[2048];
  snprintf(text, sizeof text, "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\n%s",
           pkg_body);
  struct pl_lockfile lf;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_parse(text, strlen(text), "pylock.toml", &lf, &err), -1);
  if (strstr(err->msg, message) == NULL) fail_msg("'%s' lacks '%s'", err->msg, message);
  pl_error_free(&err);
}

static void test_lockfile_refuses_packages_that_are_not_wheels(void **state) {
  expect_refused("name = \"foo\"\nversion = \"1.0\"\n"
                 "sdist = {name = \"foo-1.0.tar.gz\", url = \"https://x/foo-1.0.tar.gz\", "
                 "hashes = {sha256 = \"" SHA_A "\"}}\n",
                 "pylock installs wheels only; foo is locked as an sdist");
  expect_refused("name = \"bar\"\nvcs = {type = \"git\", url = \"https://x/bar.git\", "
                 "commit-id = \"0123456789abcdef0123456789abcdef01234567\"}\n",
                 "pylock installs wheels only; bar is locked as a vcs");
  expect_refused("name = \"demo\"\ndirectory = {path = \".\", editable = true}\n",
                 "pylock installs wheels only; demo is locked as a directory");
  expect_refused("name = \"baz\"\nversion = \"1.0\"\narchive = {url = \"https://x/baz.zip\", "
                 "hashes = {sha256 = \"" SHA_A "\"}}\n",
                 "pylock installs wheels only; baz is locked as an archive");
}

static void test_lockfile_refuses_wheels_without_sha256_or_of_another_project(void **state) {
  expect_refused("name = \"foo\"\nversion = \"1.0\"\n"
                 "wheels = [{url = \"https://x/foo-1.0-py3-none-any.whl\", "
                 "hashes = {md5 = \"00\"}}]\n",
                 "no sha256 hash");
  expect_refused("name = \"foo\"\nversion = \"1.0\"\n"
                 "wheels = [{url = \"https://x/bar-1.0-py3-none-any.whl\", "
                 "hashes = {sha256 = \"" SHA_A "\"}}]\n",
                 "another project's");
}

/* Found by fuzz_lockfile (tests/fuzz/seeds/fuzz_lockfile/crash-no-packages): writing a lock
 * without packages sorted a NULL array (undefined behaviour; UBSan stops the SANITIZE=1 build). */
static void test_lockfile_without_packages_writes_and_reads_back(void **state) {
  static const char none[] = "lock-version = \"1.0\"\ncreated-by = \"pylock\"\n";
  struct pl_lockfile lf, again;
  parse_ok(none, strlen(none), &lf);
  assert_int_equal(lf.npackages, 0);
  char *out = NULL;
  size_t len = 0;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_write(&lf, &out, &len, &err), 0);
  parse_ok(out, len, &again);
  assert_int_equal(again.npackages, 0);
  assert_string_equal(again.created_by, "pylock");
  free(out);
  pl_lockfile_free(&lf);
  pl_lockfile_free(&again);
}

static void test_lockfile_rejects_invalid_toml_with_line_and_column(void **state) {
  static const char bad[] = "lock-version = \"1.0\"\n[[packages]]\nname = \n";
  struct pl_lockfile lf;
  pl_error_t err = NULL;
  assert_int_equal(pl_lockfile_parse(bad, strlen(bad), "pylock.toml", &lf, &err), -1);
  assert_non_null(strstr(err->msg, "pylock.toml"));
  assert_non_null(strstr(err->msg, "line 3, column"));
  pl_error_free(&err);
  static const char nover[] = "[[packages]]\nname = \"x\"\n";
  assert_int_equal(pl_lockfile_parse(nover, strlen(nover), "pylock.toml", &lf, &err), -1);
  assert_non_null(strstr(err->msg, "lock-version"));
  pl_error_free(&err);
  static const char v2[] = "lock-version = \"2.0\"\n";
  assert_int_equal(pl_lockfile_parse(v2, strlen(v2), "pylock.toml", &lf, &err), -1);
  assert_non_null(strstr(err->msg, "not supported"));
  pl_error_free(&err);
}

static void test_lockfile_refuses_requested_direct_references_naming_them(void **state) {
  static const char *const bad[] = {"evil @ file:///tmp/evil", "git+https://example.org/evil",
                                    "./evil", "--index-url=https://evil", "evil==1.0 junk"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char text[512];
    snprintf(text, sizeof text,
             "lock-version = \"1.0\"\n[tool.pylock]\nrequested = [\"idna\", \"%s\"]\n", bad[i]);
    struct pl_lockfile lf;
    pl_error_t err = NULL;
    assert_int_equal(pl_lockfile_parse(text, strlen(text), "pylock.toml", &lf, &err), -1);
    assert_non_null(strstr(err->msg, "pylock.toml: tool.pylock.requested[1]: requirement \""));
    assert_non_null(strstr(err->msg, bad[i]));
    pl_error_free(&err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lockfile_own_format_round_trips_byte_identical),
      cmocka_unit_test(test_lockfile_write_is_deterministic_whatever_the_input_order),
      cmocka_unit_test(test_lockfile_keeps_other_tools_tables),
      cmocka_unit_test(test_lockfile_keeps_auto_sync_when_rewritten),
      cmocka_unit_test(test_lockfile_refuses_a_package_listed_twice_naming_each_pair),
      cmocka_unit_test(test_lockfile_many_duplicates_are_refused_with_a_bounded_message),
      cmocka_unit_test(test_lockfile_reads_pip_lock_output),
      cmocka_unit_test(test_lockfile_reads_uv_export_and_keeps_markers),
      cmocka_unit_test(test_lockfile_reads_pdm_export_and_keeps_its_tool_table),
      cmocka_unit_test(test_lockfile_refuses_packages_that_are_not_wheels),
      cmocka_unit_test(test_lockfile_refuses_wheels_without_sha256_or_of_another_project),
      cmocka_unit_test(test_lockfile_without_packages_writes_and_reads_back),
      cmocka_unit_test(test_lockfile_rejects_invalid_toml_with_line_and_column),
      cmocka_unit_test(test_lockfile_refuses_requested_direct_references_naming_them),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
