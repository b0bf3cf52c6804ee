/* Unit tests: lib/select.c and tag ranks (lib/tags.c) — what of a PEP 751 lock an
 * interpreter installs, against pypa/packaging's reference (tests/data/select).
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

#include "cleanup.h"
#include "file.h"
#include "select.h"

#define SHA "c66895ae851ba58bcb7ec59c9afb5c02f799917f2bfdff4bfed28d28b032a13a"

static const struct pl_wheel_interp cp312 = {.impl = "cp",
                                             .py_major = 3,
                                             .py_minor = 12,
                                             .abi = "cp312",
                                             .abi3 = true,
                                             .arch = "x86_64",
                                             .libc = PL_LIBC_GLIBC,
                                             .libc_major = 2,
                                             .libc_minor = 36};
static const struct pl_wheel_interp cp311_arm = {.impl = "cp",
                                                 .py_major = 3,
                                                 .py_minor = 11,
                                                 .abi = "cp311",
                                                 .abi3 = true,
                                                 .arch = "aarch64",
                                                 .libc = PL_LIBC_GLIBC,
                                                 .libc_major = 2,
                                                 .libc_minor = 31};
static const struct pl_wheel_interp cp313_musl = {.impl = "cp",
                                                  .py_major = 3,
                                                  .py_minor = 13,
                                                  .abi = "cp313",
                                                  .abi3 = true,
                                                  .arch = "x86_64",
                                                  .libc = PL_LIBC_MUSL,
                                                  .libc_major = 1,
                                                  .libc_minor = 2};

/* A tag list of tests/data/select (packaging's sys_tags), one per line. */
static char **read_tags(const char *name, size_t *n) {
  char path[256];
  cleanup_free char *buf = NULL;
  size_t len = 0;
  pl_error_t err = NULL;
  snprintf(path, sizeof path, "tests/data/select/%s", name);
  if (pl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &err) < 0) fail_msg("%s", err->msg);
  char **v = calloc(len + 1, sizeof *v);
  assert_non_null(v);
  *n = 0;
  for (char *line = buf; *line;) {
    char *eol = strchrnul(line, '\n');
    bool more = *eol == '\n';
    *eol = '\0';
    if (*line) v[(*n)++] = strdup(line);
    line = more ? eol + 1 : eol;
  }
  return v;
}

static void free_tags(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static long long rank_of(const struct pl_wheel_interp *in, const char *tag) {
  char t[128];
  snprintf(t, sizeof t, "%s", tag);
  char *a = strchr(t, '-'), *p = a ? strchr(a + 1, '-') : NULL;
  assert_non_null(p);
  *a++ = '\0';
  *p++ = '\0';
  return pl_tag_rank(in, t, a, p);
}

/* pl_tag_rank puts packaging's list in its order, and accepts exactly the
 * tags of that list among many candidates (the list's platforms and others,
 * every python and ABI form near the interpreter's). */
static void check_against_packaging(const struct pl_wheel_interp *in, const char *file) {
  size_t n = 0;
  char **tags = read_tags(file, &n);
  assert_true(n > 100);
  long long prev = -1;
  for (size_t i = 0; i < n; i++) {
    long long r = rank_of(in, tags[i]);
    if (r <= prev)
      fail_msg("%s: %s (line %zu) is not ranked after %s", file, tags[i], i + 1,
               i ? tags[i - 1] : "nothing");
    prev = r;
  }
  /* Candidates: each platform of the list, and some that are not. */
  char *plats[2048];
  size_t np = 0;
  for (size_t i = 0; i < n && np < 2000; i++) {
    const char *p = strchr(strchr(tags[i], '-') + 1, '-') + 1;
    bool seen = false;
    for (size_t k = 0; k < np && !seen; k++)
      seen = strcmp(plats[k], p) == 0;
    if (!seen) plats[np++] = (char *)p;
  }
  static const char *const others[] = {"win_amd64",
                                       "macosx_11_0_arm64",
                                       "manylinux_2_37_x86_64",
                                       "manylinux_2_4_x86_64",
                                       "manylinux_2_16_aarch64",
                                       "manylinux2010_aarch64",
                                       "musllinux_1_3_x86_64",
                                       "linux_i686",
                                       "manylinux_2_17_i686",
                                       "manylinux_3_0_x86_64"};
  for (size_t k = 0; k < sizeof others / sizeof others[0]; k++)
    plats[np++] = (char *)others[k];
  char py[32][16], abi[40][16];
  size_t npy = 0, nabi = 0;
  for (int m = 0; m <= 15; m++) {
    snprintf(py[npy++], 16, "cp3%d", m);
    snprintf(py[npy++], 16, "py3%d", m);
    snprintf(abi[nabi++], 16, "cp3%d", m);
  }
  snprintf(py[npy - 2], 16, "py3"), snprintf(py[npy - 1], 16, "py2"); /* in place of cp315, py315 */
  snprintf(abi[nabi++], 16, "abi3"), snprintf(abi[nabi++], 16, "none");
  snprintf(abi[nabi++], 16, "cp312d"), snprintf(abi[nabi++], 16, "pypy310_pp73");
  for (size_t a = 0; a < npy; a++)
    for (size_t b = 0; b < nabi; b++)
      for (size_t c = 0; c <= np; c++) {
        const char *plat = c < np ? plats[c] : "any";
        char tag[320];
        snprintf(tag, sizeof tag, "%.15s-%.15s-%.200s", py[a], abi[b], plat);
        bool listed = false;
        for (size_t i = 0; i < n && !listed; i++)
          listed = strcmp(tags[i], tag) == 0;
        if ((rank_of(in, tag) >= 0) != listed)
          fail_msg("%s: %s is %s by packaging but %s by pylock", file, tag,
                   listed ? "supported" : "not supported", listed ? "not" : "is");
      }
  free_tags(tags, n);
}

static void test_tag_ranks_follow_packaging_sys_tags_cp312_glibc(void **state) {
  (void)state;
  check_against_packaging(&cp312, "sys-tags-cp312-x86_64-glibc2.36.txt");
}

static void test_tag_ranks_follow_packaging_sys_tags_cp311_aarch64(void **state) {
  (void)state;
  check_against_packaging(&cp311_arm, "sys-tags-cp311-aarch64-glibc2.31.txt");
}

static void test_tag_ranks_follow_packaging_sys_tags_cp313_musl(void **state) {
  (void)state;
  check_against_packaging(&cp313_musl, "sys-tags-cp313-x86_64-musl1.2.txt");
}

/* ---- selection ---------------------------------------------------------- */

static const char *env_values[PL_MV_COUNT] = {
    [PL_MV_IMPLEMENTATION_NAME] = "cpython",
    [PL_MV_IMPLEMENTATION_VERSION] = "3.12.1",
    [PL_MV_OS_NAME] = "posix",
    [PL_MV_PLATFORM_MACHINE] = "x86_64",
    [PL_MV_PLATFORM_PYTHON_IMPLEMENTATION] = "CPython",
    [PL_MV_PLATFORM_RELEASE] = "6.1.0-28-amd64",
    [PL_MV_PLATFORM_SYSTEM] = "Linux",
    [PL_MV_PLATFORM_VERSION] = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1",
    [PL_MV_PYTHON_FULL_VERSION] = "3.12.1",
    [PL_MV_PYTHON_VERSION] = "3.12",
    [PL_MV_SYS_PLATFORM] = "linux",
};

static void target(struct pl_select_target *t) {
  memset(t, 0, sizeof *t);
  memcpy(t->env.value, env_values, sizeof env_values);
  snprintf(t->python_full_version, sizeof t->python_full_version, "3.12.1");
  snprintf(t->libc_text, sizeof t->libc_text, "glibc 2.36");
  t->env.value[PL_MV_PYTHON_FULL_VERSION] = t->python_full_version;
  t->tags = cp312;
}

/* Parse text, each line "W FILE" made a wheel entry of the package above. */
static void parse(const char *text, struct pl_lockfile *lf) {
  pl_error_t err = NULL;
  char *full = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&full, &len);
  assert_non_null(m);
  for (const char *line = text; *line;) {
    const char *eol = strchrnul(line, '\n');
    int n = (int)(eol - line);
    if (strncmp(line, "W ", 2) == 0)
      fprintf(m,
              "[[packages.wheels]]\nname = \"%.*s\"\nurl = \"https://r/%.*s\"\n"
              "hashes = {sha256 = \"" SHA "\"}\n",
              n - 2, line + 2, n - 2, line + 2);
    else
      fprintf(m, "%.*s\n", n, line);
    line = *eol ? eol + 1 : eol;
  }
  assert_int_equal(fclose(m), 0);
  if (pl_lockfile_parse(full, len, "pylock.toml", lf, &err) < 0) fail_msg("%s", err->msg);
  free(full);
}

/* Select with extras/groups (NULL groups: the defaults); -1 with *err on refusal. */
static int select_with(const char *text, const char *const *extras, size_t ne,
                       const char *const *groups, size_t ng, bool groups_given, char *out,
                       size_t cap, pl_error_t *err) {
  struct pl_lockfile lf;
  struct pl_select_target t;
  struct pl_selection s;
  struct pl_select_opts o = {extras, ne, groups, ng, groups_given, false};
  parse(text, &lf);
  target(&t);
  int r = pl_select(&lf, &t, &o, &s, err);
  if (r == 0) {
    size_t off = 0;
    out[0] = '\0';
    for (size_t i = 0; i < lf.npackages; i++)
      if (s.wheel[i] != PL_SELECT_NOT_SELECTED)
        off += (size_t)snprintf(out + off, cap - off, "%s%s", off ? " " : "",
                                lf.packages[i].wheels[s.wheel[i]].name);
    size_t count = 0;
    for (size_t i = 0; i < lf.npackages; i++)
      count += s.wheel[i] != PL_SELECT_NOT_SELECTED;
    assert_int_equal(s.nselected, count);
    snprintf(out + off, cap - off, " [%s]", s.key);
    pl_selection_free(&s);
  }
  pl_lockfile_free(&lf);
  return r;
}

/* PEP 751's example lists numpy's win_amd64 wheel first. */
static const char PEP_EXAMPLE[] =
    "lock-version = '1.0'\n"
    "environments = [\"sys_platform == 'win32'\", \"sys_platform == 'linux'\"]\n"
    "requires-python = '==3.12'\n"
    "created-by = 'mousebender'\n"
    "[[packages]]\n"
    "name = 'attrs'\n"
    "version = '25.1.0'\n"
    "requires-python = '>=3.8'\n"
    "W attrs-25.1.0-py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'cattrs'\n"
    "version = '24.2.0'\n"
    "requires-python = '>=3.8'\n"
    "W cattrs-24.2.0-py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'numpy'\n"
    "version = '2.2.3'\n"
    "requires-python = '>=3.10'\n"
    "W numpy-2.2.3-cp312-cp312-win_amd64.whl\n"
    "W numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl\n";

static void test_select_pep_example_takes_numpys_linux_wheel_not_the_first(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  /* ==3.12 does not admit 3.12.1: the PEP's example lock refuses this interpreter. */
  assert_int_equal(select_with(PEP_EXAMPLE, NULL, 0, NULL, 0, false, out, sizeof out, &err), -1);
  assert_non_null(strstr(err->msg, "the lock requires Python ==3.12"));
  pl_error_free(&err);
  char relaxed[sizeof PEP_EXAMPLE];
  snprintf(relaxed, sizeof relaxed, "%s", PEP_EXAMPLE);
  memcpy(strstr(relaxed, "'==3.12'"), "'>=3.12'", 8);
  assert_int_equal(select_with(relaxed, NULL, 0, NULL, 0, false, out, sizeof out, &err), 0);
  assert_string_equal(out, "attrs-25.1.0-py3-none-any.whl cattrs-24.2.0-py3-none-any.whl "
                           "numpy-2.2.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
                           " []");
}

static const char BEST[] = "lock-version = '1.0'\n"
                           "created-by = 'uv'\n"
                           "[[packages]]\n"
                           "name = 'six'\n"
                           "version = '1.16.0'\n"
                           "W six-1.16.0-py2.py3-none-any.whl\n"
                           "W six-1.16.0-cp311-abi3-manylinux_2_17_x86_64.whl\n"
                           "W six-1.16.0-cp312-none-any.whl\n"
                           "W six-1.16.0-py3-none-linux_x86_64.whl\n";

static void test_select_takes_the_wheel_whose_best_tag_pip_prefers(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  assert_int_equal(select_with(BEST, NULL, 0, NULL, 0, false, out, sizeof out, &err), 0);
  /* cp312-abi3 (block 3: older abi3) ranks before py3-none-linux and cp312-none-any. */
  assert_string_equal(out, "six-1.16.0-cp311-abi3-manylinux_2_17_x86_64.whl []");
}

static const char UNFIT[] = "lock-version = '1.0'\n"
                            "created-by = 'pip'\n"
                            "[[packages]]\n"
                            "name = 'numpy'\n"
                            "version = '2.2.3'\n"
                            "W numpy-2.2.3-cp312-cp312-win_amd64.whl\n"
                            "W numpy-2.2.3-cp313-cp313-manylinux_2_17_x86_64.whl\n"
                            "[[packages]]\n"
                            "name = 'idna'\n"
                            "version = '3.3'\n"
                            "W idna-3.3-py3-none-any.whl\n"
                            "[[packages]]\n"
                            "name = 'pywin32'\n"
                            "version = '308'\n"
                            "W pywin32-308-cp312-cp312-win_amd64.whl\n";

static void test_select_refusal_names_every_package_no_wheel_fits_with_its_tags(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  assert_int_equal(select_with(UNFIT, NULL, 0, NULL, 0, false, out, sizeof out, &err), -1);
  assert_int_equal(err->errnum, PL_REFUSED);
  assert_non_null(strstr(err->msg, "for 2 package(s)"));
  assert_non_null(
      strstr(err->msg, "numpy 2.2.3 (cp312-cp312-win_amd64, cp313-cp313-manylinux_2_17_x86_64)"));
  assert_non_null(strstr(err->msg, "pywin32 308 (cp312-cp312-win_amd64)"));
  assert_null(strstr(err->msg, "idna"));
  assert_non_null(strstr(err->msg, "cp312, abi cp312/abi3, glibc 2.36 x86_64"));
  pl_error_free(&err);
}

static const char MARKERS[] =
    "lock-version = '1.0'\n"
    "created-by = 'pdm'\n"
    "extras = ['tests', 'Socks']\n"
    "dependency-groups = ['dev', 'docs']\n"
    "default-groups = ['dev']\n"
    "[[packages]]\n"
    "name = 'idna'\n"
    "version = '3.3'\n"
    "W idna-3.3-py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'colorama'\n"
    "version = '0.4.6'\n"
    "marker = \"sys_platform == 'win32'\"\n"
    "W colorama-0.4.6-py2.py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'six'\n"
    "version = '1.16.0'\n"
    "marker = \"'tests' in extras\"\n"
    "W six-1.16.0-py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'pysocks'\n"
    "version = '1.7.1'\n"
    "marker = \"'socks' in extras\"\n"
    "W PySocks-1.7.1-py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'certifi'\n"
    "version = '2022.9.24'\n"
    "marker = \"'dev' in dependency_groups\"\n"
    "W certifi-2022.9.24-py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'toml'\n"
    "version = '0.10.2'\n"
    "marker = \"'docs' in dependency_groups and python_full_version >= '3.8'\"\n"
    "W toml-0.10.2-py2.py3-none-any.whl\n"
    "[[packages]]\n"
    "name = 'distro'\n"
    "version = '1.8.0'\n"
    "marker = \"platform_system == 'Linux' and implementation_name == 'cpython' and "
    "platform_machine == 'x86_64'\"\n"
    "W distro-1.8.0-py3-none-any.whl\n";

static void test_select_evaluates_markers_extras_and_groups_as_pep751_says(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  /* Default: no extras, the default groups. */
  assert_int_equal(select_with(MARKERS, NULL, 0, NULL, 0, false, out, sizeof out, &err), 0);
  assert_string_equal(out, "idna-3.3-py3-none-any.whl certifi-2022.9.24-py3-none-any.whl "
                           "distro-1.8.0-py3-none-any.whl [groups=dev]");
  /* Extras named as users type them (PEP 685 normalization on both sides). */
  const char *extras[] = {"Tests", "socks"};
  assert_int_equal(select_with(MARKERS, extras, 2, NULL, 0, false, out, sizeof out, &err), 0);
  assert_string_equal(out, "idna-3.3-py3-none-any.whl six-1.16.0-py3-none-any.whl "
                           "PySocks-1.7.1-py3-none-any.whl certifi-2022.9.24-py3-none-any.whl "
                           "distro-1.8.0-py3-none-any.whl [extras=socks,tests groups=dev]");
  /* --group replaces the default groups; none at all is possible. */
  const char *groups[] = {"docs"};
  assert_int_equal(select_with(MARKERS, NULL, 0, groups, 1, true, out, sizeof out, &err), 0);
  assert_string_equal(out, "idna-3.3-py3-none-any.whl toml-0.10.2-py2.py3-none-any.whl "
                           "distro-1.8.0-py3-none-any.whl [groups=docs]");
  assert_int_equal(select_with(MARKERS, NULL, 0, NULL, 0, true, out, sizeof out, &err), 0);
  assert_string_equal(out, "idna-3.3-py3-none-any.whl distro-1.8.0-py3-none-any.whl []");
}

static void test_select_refuses_extras_and_groups_the_lock_does_not_offer(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  const char *extras[] = {"test"};
  assert_int_equal(select_with(MARKERS, extras, 1, NULL, 0, false, out, sizeof out, &err), -1);
  assert_string_equal(err->msg, "the lock offers no extra \"test\" (its extras: tests, Socks)");
  pl_error_free(&err);
  const char *groups[] = {"lint"};
  assert_int_equal(select_with(MARKERS, NULL, 0, groups, 1, true, out, sizeof out, &err), -1);
  assert_non_null(
      strstr(err->msg, "no dependency group \"lint\" (its dependency-groups: dev, docs)"));
  pl_error_free(&err);
  const char *bad[] = {"a\nb"};
  assert_int_equal(select_with(MARKERS, bad, 1, NULL, 0, false, out, sizeof out, &err), -1);
  assert_non_null(strstr(err->msg, "is not a valid name"));
  pl_error_free(&err);
}

static void test_select_refuses_requires_python_and_environments_naming_each(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  static const char rp[] = "lock-version = '1.0'\n"
                           "created-by = 'uv'\n"
                           "[[packages]]\n"
                           "name = 'a'\n"
                           "version = '1'\n"
                           "requires-python = '>=3.13'\n"
                           "W a-1-py3-none-any.whl\n"
                           "[[packages]]\n"
                           "name = 'b'\n"
                           "version = '1'\n"
                           "requires-python = '<3'\n"
                           "W b-1-py3-none-any.whl\n"
                           "[[packages]]\n"
                           "name = 'c'\n"
                           "version = '1'\n"
                           "requires-python = '<3'\n"
                           "marker = \"os_name == 'nt'\"\n"
                           "W c-1-py3-none-any.whl\n";
  assert_int_equal(select_with(rp, NULL, 0, NULL, 0, false, out, sizeof out, &err), -1);
  assert_string_equal(err->msg, "the lock cannot be installed on Python 3.12.1: a 1 requires "
                                "Python >=3.13; b 1 requires Python <3");
  pl_error_free(&err);
  static const char envs[] = "lock-version = '1.0'\n"
                             "created-by = 'uv'\n"
                             "environments = [\"sys_platform == 'darwin'\", \"os_name == 'nt'\"]\n";
  assert_int_equal(select_with(envs, NULL, 0, NULL, 0, false, out, sizeof out, &err), -1);
  assert_non_null(strstr(err->msg, "none of its 2 environments markers holds"));
  pl_error_free(&err);
}

static void test_select_refuses_extra_in_a_lock_marker_and_a_name_selected_twice(void **state) {
  (void)state;
  char out[1024];
  pl_error_t err = NULL;
  static const char extra[] = "lock-version = '1.0'\n"
                              "created-by = 'x'\n"
                              "[[packages]]\n"
                              "name = 'a'\n"
                              "version = '1'\n"
                              "marker = \"extra == 'x'\"\n"
                              "W a-1-py3-none-any.whl\n";
  assert_int_equal(select_with(extra, NULL, 0, NULL, 0, false, out, sizeof out, &err), -1);
  assert_non_null(
      strstr(err->msg, "package a (packages[0]): marker \"extra == 'x'\" uses 'extra'"));
  pl_error_free(&err);
  /* Two entries told apart by markers that both hold here. */
  static const char twice[] = "lock-version = '1.0'\n"
                              "created-by = 'x'\n"
                              "[[packages]]\n"
                              "name = 'a'\n"
                              "version = '1'\n"
                              "marker = \"os_name == 'posix'\"\n"
                              "W a-1-py3-none-any.whl\n"
                              "[[packages]]\n"
                              "name = 'A'\n"
                              "version = '2'\n"
                              "marker = \"sys_platform == 'linux'\"\n"
                              "W a-2-py3-none-any.whl\n";
  assert_int_equal(select_with(twice, NULL, 0, NULL, 0, false, out, sizeof out, &err), -1);
  assert_non_null(strstr(err->msg, "A is selected twice (packages[0] and [1])"));
  pl_error_free(&err);
}

/* The same selections as packaging 26's Pylock.select() on the lock files
 * pip, uv and PDM wrote (tests/data/lock), for CPython 3.12 on Linux x86_64. */
static void test_select_agrees_with_packaging_on_pip_uv_and_pdm_locks(void **state) {
  (void)state;
  static const struct {
    const char *file, *want;
  } cases[] = {
      {"pdm-export.toml",
       "certifi-2025.1.31-py3-none-any.whl urllib3-2.3.0-py3-none-any.whl [groups=default]"},
      {"pip-lock.toml", "certifi-2025.1.31-py3-none-any.whl requests-2.32.3-py3-none-any.whl []"},
      {"uv-export.toml", "idna-3.10-py3-none-any.whl []"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[256], out[1024];
    cleanup_free char *buf = NULL;
    size_t len = 0;
    pl_error_t err = NULL;
    snprintf(path, sizeof path, "tests/data/lock/%s", cases[i].file);
    if (pl_read_file_at(AT_FDCWD, path, 1 << 20, &buf, &len, &err) < 0) fail_msg("%s", err->msg);
    if (select_with(buf, NULL, 0, NULL, 0, false, out, sizeof out, &err) < 0)
      fail_msg("%s: %s", cases[i].file, err->msg);
    assert_string_equal(out, cases[i].want);
  }
}

static void test_select_key_parses_back_into_the_same_selection(void **state) {
  (void)state;
  char key[] = "extras=socks,tests groups=dev";
  const char *extras[PL_SELECT_MAX_NAMES], *groups[PL_SELECT_MAX_NAMES];
  size_t ne, ng;
  struct pl_select_opts o;
  pl_error_t err = NULL;
  assert_int_equal(pl_select_key_parse(key, extras, &ne, groups, &ng, &o, &err), 0);
  assert_int_equal(ne, 2);
  assert_int_equal(ng, 1);
  assert_string_equal(o.extras[1], "tests");
  assert_string_equal(o.groups[0], "dev");
  assert_true(o.groups_given);
  char out[1024];
  assert_int_equal(
      select_with(MARKERS, o.extras, o.nextras, o.groups, o.ngroups, true, out, sizeof out, &err),
      0);
  assert_non_null(strstr(out, "[extras=socks,tests groups=dev]"));
  char bad[] = "extras=a\nstrict=0";
  assert_int_equal(pl_select_key_parse(bad, extras, &ne, groups, &ng, &o, &err), -1);
  pl_error_free(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tag_ranks_follow_packaging_sys_tags_cp312_glibc),
      cmocka_unit_test(test_tag_ranks_follow_packaging_sys_tags_cp311_aarch64),
      cmocka_unit_test(test_tag_ranks_follow_packaging_sys_tags_cp313_musl),
      cmocka_unit_test(test_select_pep_example_takes_numpys_linux_wheel_not_the_first),
      cmocka_unit_test(test_select_takes_the_wheel_whose_best_tag_pip_prefers),
      cmocka_unit_test(test_select_refusal_names_every_package_no_wheel_fits_with_its_tags),
      cmocka_unit_test(test_select_evaluates_markers_extras_and_groups_as_pep751_says),
      cmocka_unit_test(test_select_refuses_extras_and_groups_the_lock_does_not_offer),
      cmocka_unit_test(test_select_refuses_requires_python_and_environments_naming_each),
      cmocka_unit_test(test_select_refuses_extra_in_a_lock_marker_and_a_name_selected_twice),
      cmocka_unit_test(test_select_agrees_with_packaging_on_pip_uv_and_pdm_locks),
      cmocka_unit_test(test_select_key_parses_back_into_the_same_selection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
