/* Unit tests: lib/pep508.c — requirements and markers, by hand and against
 * the tables tests/pep508_cases.py generates from packaging and pip
 * (tests/data/pep508); what pylock hands pip is read back by pip itself.
 * SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "pep508.h"
#include "tsv.h"

#define DATA "tests/data/pep508/"
#define GENERATOR "tests/pep508_cases.py"

/* The requirement's error message, or NULL if it parses. */
static char *req_error(const char *s, unsigned flags) {
  struct pl_requirement r;
  pl_error_t err = NULL;
  if (pl_requirement_parse(s, flags, &r, &err) == 0) {
    pl_requirement_free(&r);
    return NULL;
  }
  assert_non_null(err);
  char *msg = strdup(err->msg);
  pl_error_free(&err);
  return msg;
}

static void assert_refused(const char *s, const char *want) {
  char *msg = req_error(s, 0);
  if (msg == NULL) fail_msg("\"%s\" accepted", s);
  if (strstr(msg, want) == NULL) fail_msg("\"%s\": %s (wanted %s)", s, msg, want);
  free(msg);
}

static void test_requirement_fields_are_normalized(void **state) {
  struct pl_requirement r;
  pl_error_t err = NULL;
  assert_int_equal(pl_requirement_parse(" Zope.Interface [Security,TESTS, security] (>=4.0, "
                                        "!=4.1.*) ; python_version >= '3' and (os_name=='nt' or "
                                        "extra == \"x\") ",
                                        0, &r, &err),
                   0);
  assert_string_equal(r.name, "zope-interface");
  assert_int_equal(r.nextras, 2);
  assert_string_equal(r.extras[0], "security");
  assert_string_equal(r.extras[1], "tests");
  assert_string_equal(r.extras_written[1], "TESTS");
  assert_int_equal(r.nspecs, 2);
  assert_int_equal(r.specs[0].op, PL_SPEC_GE);
  assert_string_equal(r.specs[1].text, "4.1.*");
  assert_true(r.specs[1].wildcard);
  assert_null(r.url);
  assert_non_null(r.marker);
  char *m = pl_marker_format(r.marker);
  assert_string_equal(m, "python_version >= \"3\" and (os_name == \"nt\" or extra == \"x\")");
  free(m);
  char *f = pl_requirement_format(&r);
  assert_string_equal(f, "zope-interface[Security,TESTS]>=4.0,!=4.1.* ; python_version >= \"3\" "
                         "and (os_name == \"nt\" or extra == \"x\")");
  free(f);
  pl_requirement_free(&r);
}

/* The normal form puts parentheses only where precedence needs them (an
 * "or" inside an "and"), so that a marker near the length limit (found by
 * fuzz_pep508) still parses once normalized. */
static void test_marker_normal_form_has_only_the_parentheses_it_needs(void **state) {
  (void)state;
  struct pl_marker *m;
  pl_error_t err = NULL;
  assert_int_equal(pl_marker_parse("os_name == 'posix' or (os_name=='nt' and (extra=='x' or "
                                   "extra=='y')) or (extra=='z')",
                                   PL_PEP508_LOCK_MARKERS, &m, &err),
                   0);
  char *f = pl_marker_format(m);
  assert_string_equal(f, "os_name == \"posix\" or os_name == \"nt\" and (extra == \"x\" or "
                         "extra == \"y\") or extra == \"z\"");
  free(f);
  pl_marker_free(m);
}

static void test_direct_references_are_refused_wherever_they_hide(void **state) {
  static const char *const direct[] = {"evil @ file:///tmp/evil",
                                       "evil@https://example.org/evil.whl",
                                       "evil [x] @ git+https://x/y",
                                       "file:///tmp/evil",
                                       "git+https://example.org/x",
                                       "git+file:///tmp/repo",
                                       "hg+https://x/y",
                                       "https://example.org/evil-1.0-py3-none-any.whl",
                                       "./evil",
                                       "../evil",
                                       "/tmp/evil",
                                       "/tmp/evil-1.0.tar.gz",
                                       "~/evil",
                                       "evil/",
                                       "dir/evil",
                                       "evil.tar.gz",
                                       "evil.zip",
                                       "Evil-1.0-py3-none-any.WHL",
                                       "evil==1.0+b.tar.gz",
                                       "evil===1.whl",
                                       "C:\\evil",
                                       "c:evil",
                                       "evil:x",
                                       "  file:evil"};
  for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
    assert_refused(direct[i], "a direct reference (URL, path or VCS) is not allowed: pylock "
                              "installs only signed wheels from the registry");
  static const char *const options[] = {"-e .", "--index-url=https://evil", "-r reqs.txt",
                                        "--extra-index-url", " -i x"};
  for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
    assert_refused(options[i], "is a pip option, not a requirement");
  /* The message is one line and quotes the requirement. */
  char *msg = req_error("evil @ file:///tmp/x\n", 0);
  assert_non_null(strstr(msg, "requirement \"evil @ file:///tmp/x\\n\""));
  assert_null(strchr(msg, '\n'));
  free(msg);
}

static void test_a_url_is_kept_only_when_the_caller_allows_it(void **state) {
  struct pl_requirement r;
  pl_error_t err = NULL;
  assert_int_equal(pl_requirement_parse("foo[a] @ https://x/y.whl ; os_name == 'nt'",
                                        PL_PEP508_ALLOW_URL, &r, &err),
                   0);
  assert_string_equal(r.url, "https://x/y.whl");
  assert_non_null(r.marker);
  /* Never handed on: the formatted requirement has no URL. */
  char *f = pl_requirement_format(&r);
  assert_null(strstr(f, "https"));
  free(f);
  pl_requirement_free(&r);
  assert_refused("foo @ https://x/y.whl;os_name=='nt'", "direct reference");
}

static void test_errors_quote_the_requirement_and_point_at_the_column(void **state) {
  static const struct {
    const char *req, *want;
  } cases[] = {
      {"foo >= ", "expected a version after \">=\" (column 8)"},
      {"foo bar", "expected '[', a version specifier, '@', ';' or the end (column 5)"},
      {"foo>=1.0 bar", "expected ',', ';' or the end (column 10)"},
      {"foo==1.0.x", "\"1.0.x\" is not a valid version for \"==\": expected a PEP 440 version "
                     "(column 6)"},
      {"foo>=1.*", "a \".*\" prefix match only with == or != (column 6)"},
      {"foo~=1", "at least two release numbers after ~= (column 6)"},
      {"foo[bar", "expected ',' or ']' in the extras of column 4 (column 8)"},
      {"foo (>=1", "expected ',' or ')' closing the '(' of column 5 (column 9)"},
      {"foo ()", "empty parentheses (column 5)"},
      {"foo; os_nam == 'x'", "unknown marker variable 'os_nam' (column 6)"},
      {"foo; os_name = 'x'", "expected a marker operator"},
      {"foo; os_name == 'x", "unterminated string (column 17)"},
      {"foo; os_name == 'a\\b'", "a marker string cannot hold this character (column 19)"},
      {"foo; (os_name == 'x'", "expected ')' closing the '(' of column 6 (column 21)"},
      {"foo; os_name == 'x' nand", "expected 'and', 'or' or the end of the marker (column 21)"},
      {"foo; 'x' == 'y'", "a comparison needs one marker variable and one quoted string"},
      {"foo;", "expected a marker (column 5)"},
      {"foo; os_name in'x'", "expected a blank after 'in'"},
      {"foo; 'x' in extras", "'extras' is a marker variable of lock files only"},
      {"", "expected a project name (column 1)"},
      {"-", "is a pip option"},
      {"a_", "expected '[', a version specifier, '@', ';' or the end (column 2)"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *msg = req_error(cases[i].req, 0);
    if (msg == NULL) fail_msg("\"%s\" accepted", cases[i].req);
    if (strstr(msg, cases[i].want) == NULL)
      fail_msg("\"%s\": got \"%s\", wanted \"%s\"", cases[i].req, msg, cases[i].want);
    if (strncmp(msg, "requirement \"", 13) != 0) fail_msg("\"%s\": %s", cases[i].req, msg);
    free(msg);
  }
}

/* A string of n copies of unit, between head and tail. */
static char *repeat(const char *head, const char *unit, size_t n, const char *tail) {
  size_t len = strlen(head) + strlen(unit) * n + strlen(tail) + 1;
  char *s = malloc(len);
  assert_non_null(s);
  strcpy(s, head); /* lint: allow (sized above) */
  for (size_t i = 0; i < n; i++)
    strcat(s, unit); /* lint: allow (sized above) */
  strcat(s, tail);   /* lint: allow (sized above) */
  return s;
}

static void test_every_dimension_is_bounded(void **state) {
  char *s = repeat("a", "a", PL_REQ_MAX_BYTES, "");
  assert_refused(s, "longer than 4096 bytes");
  free(s);
  s = repeat("foo; ", "(", PL_MARKER_MAX_DEPTH + 1, "os_name == 'x'");
  assert_refused(s, "parentheses nested more than 32 deep");
  free(s);
  s = repeat("foo; ", "(", PL_MARKER_MAX_DEPTH, "os_name == 'x'");
  char *t = repeat(s, ")", PL_MARKER_MAX_DEPTH, "");
  assert_null(req_error(t, 0));
  free(s), free(t);
  s = repeat("foo; os_name<'x'", " or os_name<'x'", PL_MARKER_MAX_CLAUSES, "");
  assert_true(strlen(s) < PL_REQ_MAX_BYTES);
  assert_refused(s, "more than 256 comparisons");
  free(s);
  s = repeat("foo; os_name<'x'", " or os_name<'x'", PL_MARKER_MAX_CLAUSES - 1, "");
  assert_null(req_error(s, 0));
  free(s);
  s = repeat("foo>=1", ",>=1", PL_REQ_MAX_SPECS, "");
  assert_refused(s, "more than 64 version specifiers");
  free(s);
  char buf[2048] = "foo[e0";
  for (int i = 1; i <= PL_REQ_MAX_EXTRAS; i++)
    snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ",e%d", i);
  strcat(buf, "]"); /* lint: allow (fits) */
  assert_refused(buf, "more than 64 extras");
  s = repeat("", "a", PL_DISTNAME_MAX + 1, "");
  assert_refused(s, "a project name is longer than 200 bytes");
  free(s);
}

static const struct pl_marker_env LINUX = {.value = {
                                               [PL_MV_IMPLEMENTATION_NAME] = "cpython",
                                               [PL_MV_IMPLEMENTATION_VERSION] = "3.12.1",
                                               [PL_MV_OS_NAME] = "posix",
                                               [PL_MV_PLATFORM_MACHINE] = "x86_64",
                                               [PL_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython",
                                               [PL_MV_PLATFORM_RELEASE] = "6.1.0-18-amd64",
                                               [PL_MV_PLATFORM_SYSTEM] = "Linux",
                                               [PL_MV_PLATFORM_VERSION] = "#1 SMP Debian",
                                               [PL_MV_PYTHON_FULL_VERSION] = "3.12.1",
                                               [PL_MV_PYTHON_VERSION] = "3.12",
                                               [PL_MV_SYS_PLATFORM] = "linux",
                                           }};

/* 1 true, 0 false, -1 an evaluation error. */
static int eval(const char *marker, unsigned flags, const struct pl_marker_query *q) {
  struct pl_marker *m;
  pl_error_t err = NULL;
  if (pl_marker_parse(marker, flags, &m, &err) < 0) fail_msg("%s: %s", marker, err->msg);
  bool out = false;
  int r = pl_marker_eval(m, &LINUX, q, &out, &err);
  pl_marker_free(m);
  pl_error_free(&err);
  return r < 0 ? -1 : out;
}

static void test_markers_evaluate_as_pep508_says(void **state) {
  assert_int_equal(eval("python_version >= '3.8' and python_version < '4'", 0, NULL), 1);
  assert_int_equal(eval("python_version == '3.*'", 0, NULL), 1);
  assert_int_equal(eval("python_full_version < '3.12.1'", 0, NULL), 0);
  assert_int_equal(eval("'3.8' < python_version", 0, NULL), 1);
  assert_int_equal(eval("'linux' in sys_platform or os_name == 'nt'", 0, NULL), 1);
  assert_int_equal(eval("'lin' not in sys_platform", 0, NULL), 0);
  /* Not versions: Python's string order ("6.1.0-18-amd64" >= "6"). */
  assert_int_equal(eval("platform_release >= '6'", 0, NULL), 1);
  assert_int_equal(eval("platform_release ~= '6.1'", 0, NULL), -1);
  assert_int_equal(eval("os_name === 'posix'", 0, NULL), -1);
  /* `< "=3"` is not `<=3`: "=3" is no version, so it compares as a string. */
  assert_int_equal(eval("python_version < '=3.12'", 0, NULL), 1);
  /* and binds tighter than or. */
  assert_int_equal(eval("os_name == 'nt' and os_name == 'nt' or os_name == 'posix'", 0, NULL), 1);
  assert_int_equal(eval("os_name == 'nt' and (os_name == 'nt' or os_name == 'posix')", 0, NULL), 0);
  /* extra: PEP 685 normalization on both sides; NULL is "". */
  struct pl_marker_query q = {.extra = "Foo_Bar"};
  assert_int_equal(eval("extra == 'foo.bar'", 0, &q), 1);
  assert_int_equal(eval("extra == 'foo.bar'", 0, NULL), 0);
  assert_int_equal(eval("extra == ''", 0, NULL), 1);
  /* Lock files' sets. */
  const char *extras[] = {"Test_Extra"}, *groups[] = {"dev"};
  struct pl_marker_query lock = {.extras = extras, .nextras = 1, .groups = groups, .ngroups = 1};
  assert_int_equal(
      eval("'test-extra' in extras and 'dev' in dependency_groups", PL_PEP508_LOCK_MARKERS, &lock),
      1);
  assert_int_equal(eval("'docs' not in dependency_groups", PL_PEP508_LOCK_MARKERS, &lock), 1);
  assert_int_equal(eval("'dev' in dependency_groups", PL_PEP508_LOCK_MARKERS, NULL), 0);
  struct pl_marker *m;
  pl_error_t err = NULL;
  assert_int_equal(pl_marker_parse("extras == 'a'", PL_PEP508_LOCK_MARKERS, &m, &err), -1);
  assert_non_null(strstr(err->msg, "'extras' is a set"));
  pl_error_free(&err);
  /* A variable the caller does not know is an error, not false. */
  struct pl_marker_env none = {0};
  assert_int_equal(pl_marker_parse("os_name == 'posix'", 0, &m, &err), 0);
  bool out;
  assert_int_equal(pl_marker_eval(m, &none, NULL, &out, &err), -1);
  assert_non_null(strstr(err->msg, "os_name is not known"));
  pl_error_free(&err);
  pl_marker_free(m);
}

static void test_requires_dist_of_metadata_is_checked(void **state) {
  static const char good[] = "Metadata-Version: 2.1\nName: x\nVersion: 1\n"
                             "Requires-Dist: idna (>=2.5) ; python_version >= \"3\"\n"
                             "requires-dist: six\n\nRequires-Dist: evil @ file:///body\n";
  pl_error_t err = NULL;
  assert_int_equal(pl_requires_dist_check(good, sizeof good - 1, "x-1.whl", &err), 0);
  static const char bad[] = "Metadata-Version: 2.1\nName: x\nVersion: 1\n"
                            "Requires-Dist: six\nRequires-Dist: evil @ file:///tmp/evil\n";
  assert_int_equal(pl_requires_dist_check(bad, sizeof bad - 1, "x-1.whl", &err), -1);
  assert_string_equal(err->msg, "x-1.whl: Requires-Dist: requirement \"evil @ file:///tmp/evil\": "
                                "a direct reference (URL, path or VCS) is not allowed: pylock "
                                "installs only signed wheels from the registry");
  pl_error_free(&err);
  /* Python's email parser ends a line at a lone CR: pip would read a second header. */
  static const char cr[] = "Metadata-Version: 2.1\nName: x\nVersion: 1\n"
                           "Summary: x\rRequires-Dist: evil @ file:///tmp/evil\r\n";
  assert_int_equal(pl_requires_dist_check(cr, sizeof cr - 1, "x-1.whl", &err), -1);
  assert_string_equal(err->msg,
                      "x-1.whl: header Summary: a carriage return that does not end a line");
  pl_error_free(&err);
  static const char crlf[] = "Metadata-Version: 2.1\r\nName: x\r\nVersion: 1\r\n"
                             "Summary: a\r\n  folded line\r\nRequires-Dist: six\r\n\r\nbody\r";
  assert_int_equal(pl_requires_dist_check(crlf, sizeof crlf - 1, "x-1.whl", &err), 0);
  static const char junk[] = "Requires-Dist: evil >= \n";
  assert_int_equal(pl_requires_dist_check(junk, sizeof junk - 1, "x.metadata", &err), -1);
  assert_non_null(strstr(err->msg, "x.metadata: Requires-Dist: requirement \"evil >=\""));
  pl_error_free(&err);
}

/* ------------------------------------------------------------ the tables */

#define NENVS 8
static struct pl_marker_env envs[NENVS];
static size_t nenvs;
static const char *const EXTRAS[] = {"", "test", "Foo.Bar"};

static void load_envs(void) {
  struct tsv t;
  static char names[NENVS][32];
  static char values[NENVS][PL_MV_COUNT][128];
  if (nenvs) return;
  assert_int_equal(tsv_open(&t, DATA "envs.tsv"), 0);
  while (tsv_next(&t)) {
    size_t e = 0;
    while (e < nenvs && strcmp(names[e], t.field[0]) != 0)
      e++;
    if (e == nenvs) {
      assert_true(nenvs < NENVS);
      snprintf(names[nenvs++], sizeof names[0], "%s", t.field[0]);
    }
    for (int v = 1; v < PL_MV_COUNT; v++)
      if (strcmp(pl_marker_var_name((enum pl_marker_var)v), t.field[1]) == 0) {
        snprintf(values[e][v], sizeof values[0][0], "%s", t.field[2]);
        envs[e].value[v] = values[e][v];
      }
  }
  tsv_close(&t);
  assert_int_equal(nenvs, 4);
}

/* T, F or E for each (env, extra), as the tables write them. */
static void marker_results(const struct pl_marker *m, char *out) {
  size_t k = 0;
  for (size_t e = 0; e < nenvs; e++)
    for (size_t x = 0; x < 3; x++) {
      struct pl_marker_query q = {.extra = EXTRAS[x]};
      pl_error_t err = NULL;
      bool v;
      out[k++] = pl_marker_eval(m, &envs[e], &q, &v, &err) < 0 ? 'E' : v ? 'T' : 'F';
      pl_error_free(&err);
    }
  out[k] = '\0';
}

static void test_markers_parse_and_evaluate_as_the_tables_say(void **state) {
  struct tsv t;
  unsigned long n = 0, bad = 0;
  load_envs();
  assert_int_equal(tsv_open(&t, DATA "markers.tsv"), 0);
  while (tsv_next(&t)) {
    struct pl_marker *m = NULL;
    pl_error_t err = NULL;
    int r = pl_marker_parse(t.field[0], 0, &m, &err);
    char got[64] = "!";
    if (r == 0) marker_results(m, got);
    n++;
    if (strcmp(got, t.field[1]) != 0) {
      print_error("markers.tsv:%lu: %s: %s, not %s%s%s\n", t.lineno, t.field[0], got, t.field[1],
                  err ? ": " : "", err ? err->msg : "");
      bad++;
    }
    pl_error_free(&err);
    pl_marker_free(m);
  }
  tsv_close(&t);
  assert_true(n > 1000);
  assert_int_equal(bad, 0);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "a,b" of the sorted strings. */
static void join_sorted(char **v, size_t n, char *out, size_t cap) {
  qsort(v, n, sizeof *v, cmp_str);
  out[0] = '\0';
  for (size_t i = 0; i < n; i++)
    snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", v[i]);
}

/* A field as the tables escape it. */
static void escape(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '\\': fputs("\\\\", f); break;
    case '\t': fputs("\\t", f); break;
    case '\n': fputs("\\n", f); break;
    case '\r': fputs("\\r", f); break;
    default: fputc(*s, f);
    }
  }
}

/* Why a parsed requirement differs from its table row, or NULL. */
static const char *req_mismatch(const struct pl_requirement *r, struct tsv *t) {
  static char got[4096];
  char *v[PL_REQ_MAX_SPECS + PL_REQ_MAX_EXTRAS];
  if (strcmp(r->name, t->field[2]) != 0) return "name";
  for (size_t i = 0; i < r->nextras; i++)
    v[i] = r->extras[i];
  join_sorted(v, r->nextras, got, sizeof got);
  if (strcmp(got, t->field[3]) != 0) return "extras";
  char specs[PL_REQ_MAX_SPECS][PL_VERSION_MAX + 8];
  for (size_t i = 0; i < r->nspecs; i++) {
    pl_spec_format(&r->specs[i], specs[i], sizeof specs[i]);
    v[i] = specs[i];
  }
  join_sorted(v, r->nspecs, got, sizeof got);
  if (strcmp(got, t->field[4]) != 0) return "specifiers";
  got[0] = '\0';
  if (r->marker) marker_results(r->marker, got);
  if (strcmp(got, t->nfields > 5 ? t->field[5] : "") != 0) return "marker";
  return NULL;
}

/* Run the table generator's check-pip on FILE with the interpreter at py,
 * if it is there; 0 if pip agrees (or there is no such interpreter). */
static int check_pip(const char *py, const char *file) {
  if (access(py, X_OK) != 0) return 0;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "%s -c 'import pip' 2>/dev/null && %s " GENERATOR " check-pip %s", py,
           py, file);
  if (system(cmd) == 0) return 0; /* lint: allow (a test runs python) */
  snprintf(cmd, sizeof cmd, "%s -c 'import pip' 2>/dev/null", py);
  return system(cmd) == 0 ? -1 : 0; /* no pip there: nothing to ask */
}

static void test_requirements_parse_as_packaging_and_pip_read_them(void **state) {
  struct tsv t;
  unsigned long n = 0, ok = 0, bad = 0;
  char formatted_path[] = "/tmp/pylock-pep508-XXXXXX";
  int fd = mkstemp(formatted_path);
  assert_true(fd >= 0);
  FILE *formatted = fdopen(fd, "w");
  load_envs();
  assert_int_equal(tsv_open(&t, DATA "requirements.tsv"), 0);
  while (tsv_next(&t)) {
    struct pl_requirement r;
    pl_error_t err = NULL;
    const char *status = t.field[1], *why = NULL;
    int rc = memchr(t.field[0], '\0', t.len[0]) ? (pl_fail(&err, 0, "NUL"), -1)
                                                : pl_requirement_parse(t.field[0], 0, &r, &err);
    n++;
    if (strcmp(status, "ok") == 0) {
      if (rc < 0)
        why = err->msg;
      else
        why = req_mismatch(&r, &t);
    } else if (rc == 0) {
      why = "accepted";
    } else if (strcmp(status, "direct") == 0 && !strstr(err->msg, "direct reference")) {
      why = err->msg;
    } else if (strcmp(status, "option") == 0 && !strstr(err->msg, "pip option")) {
      why = err->msg;
    } else if (strcmp(status, "invalid") == 0 &&
               (strstr(err->msg, "direct reference") || strstr(err->msg, "pip option"))) {
      why = err->msg;
    }
    if (why) {
      print_error("requirements.tsv:%lu: \"%s\" (%s): %s\n", t.lineno, t.field[0], status, why);
      bad++;
    }
    if (rc == 0) {
      /* What pip will be given parses back to the same requirement. */
      char *f = pl_requirement_format(&r);
      struct pl_requirement again;
      pl_error_t e2 = NULL;
      assert_non_null(f);
      if (pl_requirement_parse(f, 0, &again, &e2) < 0 || req_mismatch(&again, &t))
        fail_msg("\"%s\" formats as \"%s\", which reads otherwise", t.field[0], f);
      pl_requirement_free(&again);
      escape(formatted, t.field[0]);
      fputc('\t', formatted);
      escape(formatted, f);
      fputc('\n', formatted);
      free(f);
      pl_requirement_free(&r);
      ok++;
    }
    pl_error_free(&err);
  }
  tsv_close(&t);
  fclose(formatted);
  assert_true(n > 150 && ok > 50);
  assert_int_equal(bad, 0);
  assert_int_equal(check_pip("/usr/bin/python3", formatted_path), 0);
  assert_int_equal(check_pip("/opt/python3.12/bin/python3", formatted_path), 0);
  unlink(formatted_path);
}

/* The committed tables are what the committed generator writes today (with
 * the packaging and pip they were made with: source.txt; else skipped). */
static void test_tables_are_those_the_generator_writes(void **state) {
  if (system("/usr/bin/python3 -c 'import packaging.version, pip' 2>/dev/null") != 0) {
    skip(); /* lint: allow (no python3-packaging here) */
  }
  char dir[] = "/tmp/pylock-pep508-tables-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "cp " DATA "requires-dist.txt %s && /usr/bin/python3 " GENERATOR
           " generate %s >/dev/null && ( if cmp -s %s/source.txt " DATA "source.txt; then diff -r "
           "%s " DATA " >&2; else exit 77; fi ); r=$?; rm -rf %s; exit $r",
           dir, dir, dir, dir, dir);
  int r = system(cmd); /* lint: allow */
  if (WIFEXITED(r) && WEXITSTATUS(r) == 77) {
    skip(); /* lint: allow (another packaging or pip than the tables') */
  }
  assert_int_equal(r, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_requirement_fields_are_normalized),
      cmocka_unit_test(test_marker_normal_form_has_only_the_parentheses_it_needs),
      cmocka_unit_test(test_direct_references_are_refused_wherever_they_hide),
      cmocka_unit_test(test_a_url_is_kept_only_when_the_caller_allows_it),
      cmocka_unit_test(test_errors_quote_the_requirement_and_point_at_the_column),
      cmocka_unit_test(test_every_dimension_is_bounded),
      cmocka_unit_test(test_markers_evaluate_as_pep508_says),
      cmocka_unit_test(test_requires_dist_of_metadata_is_checked),
      cmocka_unit_test(test_markers_parse_and_evaluate_as_the_tables_say),
      cmocka_unit_test(test_requirements_parse_as_packaging_and_pip_read_them),
      cmocka_unit_test(test_tables_are_those_the_generator_writes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
