/* Unit tests: lib/pyproject.c — pyproject.toml read, and its dependencies edited in place. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pyproject.h"
#include "reqfile.h"

static const char PROJ[] = "# The app.\n"
                           "[project]\n"
                           "name = \"app\"\n"
                           "version = \"0.1\"\n"
                           "requires-python = \">=3.9\"\n"
                           "dependencies = [\n"
                           "  \"requests>=2\",  # HTTP\n"
                           "  # markup\n"
                           "  'jinja2; python_version >= \"3\"',\n"
                           "]\n"
                           "\n"
                           "[project.optional-dependencies]\n"
                           "yaml = [\"pyyaml\"]\n"
                           "all = [\"app[yaml]\"]\n"
                           "\n"
                           "[dependency-groups]\n"
                           "test = [\"pytest\", {include-group = \"lint\"}]\n"
                           "Lint = [\"flake8\"]\n"
                           "\n"
                           "[tool.black]\n"
                           "line-length = 100 # keep\n";

static char *edit(const char *text, const char *add, const char *del) {
  char *out = NULL;
  pl_error_t err = NULL;
  const char *a[] = {add}, *d[] = {del};
  int r = pl_pyproject_edit(text, strlen(text), a, add ? 1 : 0, d, del ? 1 : 0, &out, NULL, &err);
  if (r < 0) {
    fprintf(stderr, "edit: %s\n", err->msg);
    pl_error_free(&err);
    return NULL;
  }
  return out;
}

static void test_pyproject_requested_set_is_dependencies_extras_and_groups(void **state) {
  (void)state;
  struct pl_pyproject p;
  pl_error_t err = NULL;
  assert_int_equal(pl_pyproject_parse(PROJ, strlen(PROJ), &p, &err), 0);
  assert_true(p.declares);
  assert_string_equal(p.requires_python, ">=3.9");
  assert_int_equal(p.ndependencies, 2);
  /* The project itself ("app[yaml]") is left out; include-group expanded. */
  assert_int_equal(p.nrequested, 5);
  assert_string_equal(p.requested[0], "requests>=2");
  assert_string_equal(p.requested[2], "pyyaml");
  assert_string_equal(p.origins[2], "[project.optional-dependencies] yaml");
  assert_string_equal(p.requested[3], "pytest");
  assert_string_equal(p.requested[4], "flake8");
  assert_string_equal(p.origins[4], "[dependency-groups] Lint");
  pl_pyproject_free(&p);
}

static void expect_refused(const char *text, const char *needle) {
  struct pl_pyproject p;
  pl_error_t err = NULL;
  assert_int_equal(pl_pyproject_parse(text, strlen(text), &p, &err), -1);
  if (strstr(err->msg, needle) == NULL) fail_msg("'%s' lacks '%s'", err->msg, needle);
  pl_error_free(&err);
}

static void test_pyproject_refuses_direct_references_cycles_and_dynamic(void **state) {
  (void)state;
  expect_refused("[project]\nname = \"a\"\ndependencies = [\"evil @ https://x.invalid/e.whl\"]\n",
                 "direct reference");
  expect_refused("[dependency-groups]\ndev = [\"evil @ file:///tmp/e\"]\n", "direct reference");
  expect_refused("[project]\nname = \"a\"\n[project.optional-dependencies]\nx = [\"-e .\"]\n",
                 "dependencies] x[0]");
  expect_refused("[dependency-groups]\na = [{include-group = \"b\"}]\nb = [{include-group = "
                 "\"a\"}]\n",
                 "includes itself");
  expect_refused("[dependency-groups]\na = [{include-group = \"nope\"}]\n", "no group 'nope'");
  expect_refused("[project]\nname = \"a\"\ndynamic = [\"dependencies\"]\n", "build backend");
}

static void test_pyproject_include_group_chains_expand_each_group_once(void **state) {
  (void)state;
  /* 200 groups, each including the next twice: 2^200 paths, 200 groups. */
  size_t cap = 200 * 80 + 64, w = 0;
  char *t = malloc(cap);
  assert_non_null(t);
  w += (size_t)snprintf(t + w, cap - w, "[dependency-groups]\n");
  for (int i = 0; i < 199; i++)
    w += (size_t)snprintf(t + w, cap - w,
                          "g%d = [{include-group = \"g%d\"}, {include-group = \"g%d\"}]\n", i,
                          i + 1, i + 1);
  w += (size_t)snprintf(t + w, cap - w, "g199 = [\"six\"]\n");
  struct pl_pyproject p;
  pl_error_t err = NULL;
  assert_int_equal(pl_pyproject_parse(t, w, &p, &err), 0);
  assert_int_equal(p.nrequested, 1);
  assert_string_equal(p.requested[0], "six");
  pl_pyproject_free(&p);
  free(t);
}

static void test_pyproject_without_project_or_groups_declares_nothing(void **state) {
  (void)state;
  struct pl_pyproject p;
  pl_error_t err = NULL;
  const char *t = "[tool.poetry.dependencies]\nrequests = \"^2\"\n";
  assert_int_equal(pl_pyproject_parse(t, strlen(t), &p, &err), 0);
  assert_false(p.declares);
  pl_pyproject_free(&p);
}

static void test_pyproject_add_appends_in_the_arrays_layout_keeping_comments(void **state) {
  (void)state;
  char *out = edit(PROJ, "six>=1", NULL);
  assert_non_null(out);
  assert_non_null(strstr(out, "  \"requests>=2\",  # HTTP\n"
                              "  # markup\n"
                              "  'jinja2; python_version >= \"3\"',\n"
                              "  \"six>=1\",\n"
                              "]\n"));
  assert_non_null(strstr(out, "line-length = 100 # keep\n"));
  /* Everything else byte for byte. */
  assert_int_equal(strlen(out), strlen(PROJ) + strlen("  \"six>=1\",\n"));
  free(out);
}

static void test_pyproject_add_replaces_the_same_name_in_place(void **state) {
  (void)state;
  char *out = edit(PROJ, "Requests[socks]<3", NULL);
  assert_non_null(out);
  assert_non_null(strstr(out, "  \"Requests[socks]<3\",  # HTTP\n"));
  assert_null(strstr(out, "requests>=2"));
  free(out);
}

static void test_pyproject_remove_takes_its_line_and_comment(void **state) {
  (void)state;
  char *out = edit(PROJ, NULL, "REQUESTS");
  assert_non_null(out);
  assert_non_null(strstr(out, "dependencies = [\n  # markup\n  'jinja2"));
  assert_null(strstr(out, "HTTP"));
  free(out);
  out = edit(PROJ, NULL, "pytest");
  assert_null(out); /* only in a group: not in [project] dependencies */
}

static void test_pyproject_single_line_and_empty_arrays(void **state) {
  (void)state;
  char *out =
      edit("[project]\nname = \"a\"\ndependencies = [\"idna\", \"six\"] # two\n", "certifi", NULL);
  assert_string_equal(out, "[project]\nname = \"a\"\ndependencies = [\"idna\", \"six\", "
                           "\"certifi\"] # two\n");
  free(out);
  out = edit("[project]\nname = \"a\"\ndependencies = [\"idna\", \"six\"]\n", NULL, "six");
  assert_string_equal(out, "[project]\nname = \"a\"\ndependencies = [\"idna\"]\n");
  free(out);
  out = edit("[project]\nname = \"a\"\ndependencies = [\"idna\", \"six\"]\n", NULL, "idna");
  assert_string_equal(out, "[project]\nname = \"a\"\ndependencies = [\"six\"]\n");
  free(out);
  out = edit("[project]\nname = \"a\"\ndependencies = []\n", "six", NULL);
  assert_string_equal(out, "[project]\nname = \"a\"\ndependencies = [\"six\"]\n");
  free(out);
  out = edit("[project]\nname = \"a\"\ndependencies = [\"six\"]\n", NULL, "six");
  assert_string_equal(out, "[project]\nname = \"a\"\ndependencies = []\n");
  free(out);
}

static void test_pyproject_add_creates_the_key_in_project(void **state) {
  (void)state;
  char *out = edit("[project]\nname = \"a\" # n\n\n[tool.x]\ny = 1\n", "six", NULL);
  assert_string_equal(
      out, "[project]\nname = \"a\" # n\ndependencies = [\n    \"six\",\n]\n\n[tool.x]\ny = 1\n");
  free(out);
}

static void test_pyproject_strings_and_comments_do_not_fool_the_editor(void **state) {
  (void)state;
  /* A multi-line string holding what looks like a header and a key. */
  const char *t = "[project]\nname = \"a\"\ndescription = \"\"\"\n[project]\ndependencies = "
                  "[\"x\"]\n\"\"\"\ndependencies = [ # a ] comment\n  \"idna\",\n]\n";
  char *out = edit(t, "six", NULL);
  assert_non_null(out);
  assert_non_null(strstr(out, "dependencies = [ # a ] comment\n  \"idna\",\n  \"six\",\n]\n"));
  assert_non_null(strstr(out, "\"\"\"\n[project]\ndependencies = [\"x\"]\n\"\"\""));
  free(out);
  /* Written where the editor does not look: refused, not mangled. */
  assert_null(edit("project.name = \"a\"\nproject.dependencies = [\"idna\"]\n", "six", NULL));
  assert_null(edit("[tool.x]\ny = 1\n", "six", NULL));
}

static void test_requires_python_is_checked_as_a_specifier_set(void **state) {
  (void)state;
  bool ok = false;
  pl_error_t err = NULL;
  assert_int_equal(pl_requires_python_ok(">=3.9, <4", "3.12.1", &ok, &err), 0);
  assert_true(ok);
  assert_int_equal(pl_requires_python_ok(">=3.13", "3.12.1", &ok, &err), 0);
  assert_false(ok);
  assert_int_equal(pl_requires_python_ok("==3.11.*", "3.11.2", &ok, &err), 0);
  assert_true(ok);
  assert_int_equal(pl_requires_python_ok(">=3.9; os_name == 'nt'", "3.11.2", &ok, &err), 0);
  assert_false(ok);
  assert_int_equal(pl_requires_python_ok("banana", "3.11.2", &ok, &err), -1);
  pl_error_free(&err);
}

#define H1 "c66895ae851ba58bcb7ec59c9afb5c02f799917f2bfdff4bfed28d28b032a13a"
#define H2 "2684ACD1DA3EA630CC4BBFCEB6AF86AA6937749369FDAED518050C30FC56E2E9"

static void test_reqfile_reads_requirements_hashes_continuations_and_comments(void **state) {
  (void)state;
  const char *t = "# pinned\n"
                  "idna==3.3 \\\n"
                  "    --hash=sha256:" H1 " \\\n"
                  "    --hash sha256:" H2 "\n"
                  "\n"
                  "requests[socks] >= 2 ; python_version >= \"3.8\"  # http\n";
  struct pl_reqfile rf;
  pl_error_t err = NULL;
  int r = pl_reqfile_parse(t, strlen(t), "req.txt", &rf, &err);
  if (r < 0) fail_msg("%s", err->msg);
  assert_int_equal(rf.n, 2);
  assert_true(rf.hashes);
  assert_string_equal(rf.entries[0].requirement, "idna==3.3");
  assert_string_equal(rf.entries[0].name, "idna");
  assert_int_equal(rf.entries[0].nsha256, 2);
  assert_string_equal(rf.entries[0].sha256[1],
                      "2684acd1da3ea630cc4bbfceb6af86aa6937749369fdaed518050c30fc56e2e9");
  assert_string_equal(rf.entries[1].requirement,
                      "requests[socks] >= 2 ; python_version >= \"3.8\"");
  pl_reqfile_free(&rf);
}

static void expect_reqfile_refused(const char *t, const char *needle) {
  struct pl_reqfile rf;
  pl_error_t err = NULL;
  assert_int_equal(pl_reqfile_parse(t, strlen(t), "req.txt", &rf, &err), -1);
  if (strstr(err->msg, needle) == NULL) fail_msg("'%s' lacks '%s'", err->msg, needle);
  pl_error_free(&err);
}

static void test_reqfile_refuses_pip_options_direct_references_and_other_hashes(void **state) {
  (void)state;
  expect_reqfile_refused("idna\n-e .\n", "line 2: pip option '-e'");
  expect_reqfile_refused("--index-url http://evil.invalid/simple\n", "'--index-url'");
  expect_reqfile_refused("idna --extra-index-url http://evil.invalid\n", "'--extra-index-url'");
  expect_reqfile_refused("-r other.txt\n", "'-r'");
  expect_reqfile_refused("six @ https://evil.invalid/six.whl\n", "direct reference");
  expect_reqfile_refused("./local/pkg\n", "line 1");
  expect_reqfile_refused("idna --hash=md5:0123\n", "not sha256");
  expect_reqfile_refused("idna --hash=sha256:abc\n", "64 hex digits");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pyproject_requested_set_is_dependencies_extras_and_groups),
      cmocka_unit_test(test_pyproject_refuses_direct_references_cycles_and_dynamic),
      cmocka_unit_test(test_pyproject_include_group_chains_expand_each_group_once),
      cmocka_unit_test(test_pyproject_without_project_or_groups_declares_nothing),
      cmocka_unit_test(test_pyproject_add_appends_in_the_arrays_layout_keeping_comments),
      cmocka_unit_test(test_pyproject_add_replaces_the_same_name_in_place),
      cmocka_unit_test(test_pyproject_remove_takes_its_line_and_comment),
      cmocka_unit_test(test_pyproject_single_line_and_empty_arrays),
      cmocka_unit_test(test_pyproject_add_creates_the_key_in_project),
      cmocka_unit_test(test_pyproject_strings_and_comments_do_not_fool_the_editor),
      cmocka_unit_test(test_requires_python_is_checked_as_a_specifier_set),
      cmocka_unit_test(test_reqfile_reads_requirements_hashes_continuations_and_comments),
      cmocka_unit_test(test_reqfile_refuses_pip_options_direct_references_and_other_hashes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
