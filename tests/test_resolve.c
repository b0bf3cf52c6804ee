/* Unit tests: lib/resolve.c and lib/simpleindex.c — pip's report becomes the
 * lock only with the registry's signed sizes and hashes; pip's errors are
 * explained; index links are well-formed.
 * SPDX-License-Identifier: Apache-2.0 */
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

#include "file.h"
#include "indexserver.h"
#include "resolve.h"
#include "simpleindex.h"

#define REG "https://wheels.example.org/reg"

/* The registry's signed targets for the wheels of the captured reports
 * (tests/data/report: pip 23.2.1 and 23.0.1 resolving
 * 'requests[use_chardet_on_py3]>=2' and 'idna; python_version >= "3"' against
 * an index of integration/fixtures/make-wheels.py's wheels), sorted by name. */
static struct pl_tuf_target targets[] = {
    {"certifi-2022.9.24-py3-none-any.whl", 159306,
     "f314d4e219a534e78c8a9d6662ff9f8a027c31f12a4a5bcf431363b819bd72c1", ""},
    {"chardet-5.1.0-py3-none-any.whl", 189585,
     "75bfb7155f5b6ab7ea441f7aaf59019c2a563f51ea96425cb03ca16e9c0baa8c", ""},
    {"charset_normalizer-3.0.1-py3-none-any.whl", 44652,
     "249c8fe2902fcaf88a9d5a3ea2464a72f65cd350c8a60863dd4662886d68ae43", ""},
    {"idna-3.3-py3-none-any.whl", 65344,
     "2684acd1da3ea630cc4bbfceb6af86aa6937749369fdaed518050c30fc56e2e9", ""},
    {"requests-2.28.1-py3-none-any.whl", 59077,
     "c66895ae851ba58bcb7ec59c9afb5c02f799917f2bfdff4bfed28d28b032a13a", ""},
    {"urllib3-1.26.12-py3-none-any.whl", 131773,
     "d2f50ca1117c101b1792ee78cd566c9e1819d7e71896e7928e822965db30b179", ""},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static char *read_report(const char *name, size_t *len) {
  char path[256], *buf = NULL;
  pl_error_t err = NULL;
  snprintf(path, sizeof path, "tests/data/report/%s", name);
  if (pl_read_file_at(AT_FDCWD, path, PL_REPORT_MAX, &buf, len, &err) < 0) fail_msg("%s", err->msg);
  return buf;
}

static void free_pkgs(struct pl_lock_package *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    pl_lock_package_free(&p[i]);
  free(p);
}

static const struct pl_lock_package *find(struct pl_lock_package *p, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(p[i].name, name) == 0) return &p[i];
  return NULL;
}

static void check_report(const char *file) {
  size_t len, n = 0;
  char *buf = read_report(file, &len);
  struct pl_lock_package *pkgs = NULL;
  pl_error_t err = NULL;
  if (pl_resolve_parse_report(buf, len, targets, NTARGETS, REG, &pkgs, &n, &err) < 0)
    fail_msg("%s", err->msg);
  assert_int_equal(n, 6);
  const struct pl_lock_package *r = find(pkgs, n, "requests");
  assert_non_null(r);
  assert_string_equal(r->version, "2.28.1");
  assert_true(r->requested);
  assert_string_equal(r->requires_python, ">=3.7, <4");
  assert_string_equal(r->index, REG);
  assert_int_equal(r->nwheels, 1);
  assert_string_equal(r->wheels[0].name, "requests-2.28.1-py3-none-any.whl");
  assert_string_equal(r->wheels[0].url, REG "/targets/requests-2.28.1-py3-none-any.whl");
  assert_int_equal(r->wheels[0].size, 59077);
  assert_string_equal(r->wheels[0].sha256, targets[4].sha256);
  assert_true(find(pkgs, n, "idna")->requested);
  assert_false(find(pkgs, n, "urllib3")->requested);
  assert_null(find(pkgs, n, "charset-normalizer")->requires_python);
  assert_non_null(find(pkgs, n, "chardet")); /* from the extra */
  free_pkgs(pkgs, n);
  free(buf);
}

static void test_report_of_pip_23_2_becomes_locked_packages_with_signed_sizes(void **state) {
  check_report("pip-23.2.1-requests.json");
}

static void test_report_of_pip_23_0_becomes_locked_packages_with_signed_sizes(void **state) {
  check_report("pip-23.0.1-requests.json");
}

static void test_report_hash_differing_from_the_signed_one_is_refused(void **state) {
  size_t len, n = 0;
  char *buf = read_report("pip-23.2.1-requests.json", &len);
  struct pl_tuf_target bad[NTARGETS];
  memcpy(bad, targets, sizeof bad);
  bad[3].sha256[0] = bad[3].sha256[0] == '0' ? '1' : '0'; /* idna */
  struct pl_lock_package *pkgs = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_resolve_parse_report(buf, len, bad, NTARGETS, REG, &pkgs, &n, &err), -1);
  assert_non_null(strstr(err->msg, "idna-3.3-py3-none-any.whl"));
  assert_non_null(strstr(err->msg, "differs from the registry's signed"));
  pl_error_free(&err);
  /* A wheel the registry does not sign at all. */
  assert_int_equal(pl_resolve_parse_report(buf, len, targets, 3, REG, &pkgs, &n, &err), -1);
  assert_non_null(strstr(err->msg, "is not a signed target"));
  pl_error_free(&err);
  free(buf);
}

static void test_report_of_another_format_or_shape_is_rejected(void **state) {
  static const char *bad[] = {"{\"version\": \"2\", \"install\": []}", "{\"version\": \"1\"}",
                              "[1]", "{\"version\": \"1\", \"install\": [{}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    struct pl_lock_package *pkgs = NULL;
    size_t n = 0;
    pl_error_t err = NULL;
    assert_int_equal(
        pl_resolve_parse_report(bad[i], strlen(bad[i]), targets, NTARGETS, REG, &pkgs, &n, &err),
        -1);
    assert_non_null(err);
    pl_error_free(&err);
  }
}

static void test_pip_errors_are_quoted_with_a_hint(void **state) {
  static const char out[] =
      "Processing ./files/requests-2.28.1-py3-none-any.whl\n"
      "ERROR: Could not find a version that satisfies the requirement nosuch (from versions: "
      "none)\n"
      "ERROR: No matching distribution found for nosuch\n";
  pl_error_t err = NULL;
  assert_int_equal(pl_resolve_pip_error(out, 1 << 8, &err), -1);
  assert_non_null(strstr(err->msg, "\"No matching distribution found for nosuch\""));
  assert_non_null(strstr(err->msg, "\"Could not find a version"));
  assert_non_null(err->hint);
  assert_non_null(strstr(err->hint, "registry"));
  pl_error_free(&err);
  static const char conflict[] =
      "ERROR: Cannot install a==1 and b==2 because these package versions have conflicting "
      "dependencies.\nERROR: ResolutionImpossible: for help visit https://pip.pypa.io/\n";
  assert_int_equal(pl_resolve_pip_error(conflict, 1 << 8, &err), -1);
  assert_non_null(strstr(err->msg, "conflicting dependencies"));
  assert_non_null(strstr(err->hint, "relax"));
  pl_error_free(&err);
}

static void test_target_urls_name_the_registry_targets(void **state) {
  char *u = pl_resolve_target_url("/srv/reg/", "foo-1.0-py3-none-any.whl");
  assert_string_equal(u, "file:///srv/reg/targets/foo-1.0-py3-none-any.whl");
  free(u);
  u = pl_resolve_target_url(REG, "foo-1.0-py3-none-any.whl");
  assert_string_equal(u, REG "/targets/foo-1.0-py3-none-any.whl");
  free(u);
}

static void test_index_requests_are_get_or_head_with_a_decoded_path(void **state) {
  (void)state;
  char path[64];
  bool head = true;
  pl_error_t err = NULL;
  static const char get[] = "GET /files/a%2Bb-1.0-py3-none-any.whl.metadata?x=1 HTTP/1.1\r\n"
                            "Host: 127.0.0.1\r\n\r\n";
  assert_int_equal(pl_indexserver_parse_request(get, strlen(get), &head, path, sizeof path, &err),
                   0);
  assert_false(head);
  assert_string_equal(path, "/files/a+b-1.0-py3-none-any.whl.metadata");
  static const char hd[] = "HEAD /simple/six/ HTTP/1.0\r\n\r\n";
  assert_int_equal(pl_indexserver_parse_request(hd, strlen(hd), &head, path, sizeof path, &err), 0);
  assert_true(head);
  assert_string_equal(path, "/simple/six/");
}

static void test_index_requests_that_are_not_http_are_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
      "POST /simple/ HTTP/1.1\r\n\r\n",
      "GET simple/ HTTP/1.1\r\n\r\n",
      "GET /simple/%00x HTTP/1.1\r\n\r\n",
      "GET /simple/%zz HTTP/1.1\r\n\r\n",
      "GET /simple/ SMTP/1.1\r\n\r\n",
      "GET /simple/\r\n\r\n",
      "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
      "HTTP/1.1\r\n\r\n",
      "GET /x%4 HTTP/1.1\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char path[64];
    bool head;
    pl_error_t err = NULL;
    assert_int_equal(
        pl_indexserver_parse_request(bad[i], strlen(bad[i]), &head, path, sizeof path, &err), -1);
    pl_error_free(&err);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_report_of_pip_23_2_becomes_locked_packages_with_signed_sizes),
      cmocka_unit_test(test_report_of_pip_23_0_becomes_locked_packages_with_signed_sizes),
      cmocka_unit_test(test_report_hash_differing_from_the_signed_one_is_refused),
      cmocka_unit_test(test_report_of_another_format_or_shape_is_rejected),
      cmocka_unit_test(test_pip_errors_are_quoted_with_a_hint),
      cmocka_unit_test(test_target_urls_name_the_registry_targets),
      cmocka_unit_test(test_index_requests_are_get_or_head_with_a_decoded_path),
      cmocka_unit_test(test_index_requests_that_are_not_http_are_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
