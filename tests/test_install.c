/* Unit tests: lib/install.c, lib/cache.c, lib/envgen.c — a wheel installed by
 * pylock is what pip installs from it.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "cache.h"
#include "cleanup.h"
#include "envgen.h"
#include "file.h"
#include "install.h"
#include "sha.h"
#include "verify.h"

#include "install_fixtures.h"

static char *tmp, *wheels;

static int setup(void **state) {
  tmp = fx_mkdtemp();
  assert_true(asprintf(&wheels, "%s/wheels", tmp) > 0);
  assert_int_equal(mkdir(wheels, 0755), 0);
  fx_make_wheels(wheels);
  return 0;
}

static int teardown(void **state) {
  fx_sh("rm -rf %s", tmp);
  return 0;
}

static void sha_of(const char *path, char hex[PL_SHA256_HEX]) {
  cleanup_free char *buf = NULL;
  size_t len;
  pl_error_t err = NULL;
  assert_int_equal(pl_read_file_at(AT_FDCWD, path, 64u << 20, &buf, &len, &err), 0);
  assert_int_equal(pl_sha256_hex(buf, len, hex, &err), 0);
}

/* Install `names` with pylock (cache tree, linked into a generation,
 * REQUESTED written: pip marks command-line wheels as requested) and with pip
 * (`python -m pip install --prefix`), then compare the two.  pylock goes
 * first: the prefix is its base, which must not have the wheels' files. */
static void check_against_pip(const char *python, const char *tag, const char *const *names) {
  char pip_prefix[512], gen[512], cache_dir[512], list[8192] = "";
  snprintf(pip_prefix, sizeof pip_prefix, "%s/pip-%s", tmp, tag);
  snprintf(gen, sizeof gen, "%s/gen-%s", tmp, tag);
  snprintf(cache_dir, sizeof cache_dir, "%s/cache-%s", tmp, tag);
  for (const char *const *n = names; *n; n++) {
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, " %s/%s", wheels, *n);
  }
  assert_int_equal(mkdir(pip_prefix, 0755), 0);
  struct pl_interp in;
  fx_interp(python, pip_prefix, &in);
  struct pl_cache cache;
  pl_error_t err = NULL;
  assert_int_equal(pl_cache_open(&cache, cache_dir, &err), 0);
  assert_int_equal(mkdir(gen, 0755), 0);
  cleanup_close int gfd = open(gen, O_RDONLY | O_DIRECTORY);
  assert_true(gfd >= 0);
  for (const char *const *n = names; *n; n++) {
    char path[1024], hex[PL_SHA256_HEX];
    snprintf(path, sizeof path, "%s/%s", wheels, *n);
    sha_of(path, hex);
    cleanup_close int wfd = open(path, O_RDONLY);
    struct pl_cache_tree t;
    if (pl_cache_tree_get_or_build(&cache, hex, wfd, *n, &in, &t, &err) < 0)
      fail_msg("%s", pl_error_string(err));
    assert_true(t.built);
    if (pl_envgen_link_tree(gfd, t.fd, NULL, NULL, NULL, &err) < 0)
      fail_msg("%s", pl_error_string(err));
    if (pl_envgen_mark_requested(gfd, -1, t.dist_info, &err) < 0)
      fail_msg("%s", pl_error_string(err));
    pl_cache_tree_release(&t);
  }
  assert_int_equal(fx_sh("env -i PATH=/usr/bin:/bin %s -m pip install -q --no-index --no-deps "
                         "--ignore-installed --disable-pip-version-check "
                         "--no-warn-script-location --prefix %s %s >/dev/null 2>&1",
                         python, pip_prefix, list),
                   0);
  assert_int_equal(fx_sh("python3 tests/compare-install.py %s %s", pip_prefix, gen), 0);

  /* And what pylock installed verifies against its own RECORDs. */
  struct pl_verify_report rep;
  assert_int_equal(pl_verify_generation(gfd, &in, NULL, -1, NULL, &rep, &err), 0);
  for (size_t i = 0; i < rep.nissues; i++)
    print_message("%s %s: %s\n", pl_verify_kind_name(rep.issues[i].kind), rep.issues[i].path,
                  rep.issues[i].detail);
  assert_int_equal(rep.nissues, 0);
  assert_true(rep.checked > 0);
  pl_verify_report_free(&rep);
  pl_cache_close(&cache);
  pl_interp_free(&in);
}

static void test_install_matches_pip_of_python312(void **state) {
  static const char *const names[] = {"pip-23.0.1-py3-none-any.whl",
                                      "wheel-0.38.4-py3-none-any.whl",
                                      "six-1.16.0-py3-none-any.whl",
                                      "requests-2.28.1-py3-none-any.whl",
                                      "chardet-5.1.0-py3-none-any.whl",
                                      "charset_normalizer-3.0.1-py3-none-any.whl",
                                      "click-8.1.3-py3-none-any.whl",
                                      "data_pkg-1.0-py3-none-any.whl",
                                      NULL};
  if (access(PY312, X_OK) != 0) skip();
  check_against_pip(PY312, "312", names);
}

static void test_install_matches_debian_pip(void **state) {
  static const char *const names[] = {
      "setuptools-66.1.1-py3-none-any.whl", "six-1.16.0-py3-none-any.whl",
      "docutils-0.19-py3-none-any.whl", "data_pkg-1.0-py3-none-any.whl", NULL};
  if (access(PYDEB, X_OK) != 0 || fx_sh("%s -m pip --version >/dev/null 2>&1", PYDEB) != 0) skip();
  check_against_pip(PYDEB, "deb", names);
}

/* pl_install_wheel of wheels/`name` into a new tree for `in`, without
 * byte-code; returns its result, the error message in *msg (caller frees). */
static int install_into(const struct pl_interp *in, const char *name, const char *tree,
                        char **msg) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", wheels, name);
  cleanup_close int wfd = open(path, O_RDONLY | O_CLOEXEC);
  assert_true(wfd >= 0);
  assert_int_equal(mkdir(tree, 0755), 0);
  cleanup_close int tfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(tfd >= 0);
  struct pl_install_result res = {0};
  pl_error_t err = NULL;
  int r = pl_install_wheel(tfd, tree, wfd, name, in, false, &res, &err);
  *msg = r < 0 ? pl_error_string(err) : NULL;
  pl_error_free(&err);
  pl_install_result_free(&res);
  return r;
}

static void expect_refused(const struct pl_interp *in, const char *name, const char *tree,
                           const char *needle) {
  char *msg = NULL;
  assert_int_equal(install_into(in, name, tree, &msg), -1);
  if (strstr(msg, needle) == NULL) print_error("message \"%s\" lacks \"%s\"\n", msg, needle);
  assert_non_null(strstr(msg, needle));
  free(msg);
  /* Refused before a byte of it was written. */
  assert_int_equal(fx_sh("test -z \"$(find %s -mindepth 1 -not -type d)\"", tree), 0);
}

static void test_install_refuses_a_file_the_base_interpreter_has(void **state) {
  if (access(PY312, X_OK) != 0) skip();
  char prefix[512], want[1024], tree[600];
  snprintf(prefix, sizeof prefix, "%s/base-file", tmp);
  struct pl_interp in;
  assert_int_equal(fx_sh("mkdir -p %s/lib/python3.12/site-packages && echo >%s/%s", prefix, prefix,
                         "lib/python3.12/site-packages/six.py"),
                   0);
  fx_interp(PY312, prefix, &in);
  snprintf(tree, sizeof tree, "%s/tree-1", tmp);
  snprintf(want, sizeof want,
           "wheel six-1.16.0-py3-none-any.whl: entry \"six.py\" would install "
           "lib/python3.12/site-packages/six.py, which shadows the base interpreter's file "
           "%s/lib/python3.12/site-packages/six.py",
           prefix);
  expect_refused(&in, "six-1.16.0-py3-none-any.whl", tree, want);
  /* A symlink where the wheel needs a directory: the overlay would hide it. */
  assert_int_equal(fx_sh("mkdir %s/elsewhere && ln -s elsewhere %s/share", prefix, prefix), 0);
  snprintf(tree, sizeof tree, "%s/tree-2", tmp);
  snprintf(want, sizeof want,
           "entry \"data_pkg-1.0.data/data/share/data_pkg/notes.txt\" would install "
           "share/data_pkg/notes.txt, which would hide the base interpreter's symbolic link "
           "%s/share",
           prefix);
  expect_refused(&in, "data_pkg-1.0-py3-none-any.whl", tree, want);
  /* A program of the base by an entry point's name. */
  assert_int_equal(
      fx_sh("rm %s/share && mkdir -p %s/bin && : >%s/bin/dp-gui", prefix, prefix, prefix), 0);
  snprintf(tree, sizeof tree, "%s/tree-3", tmp);
  char *msg = NULL;
  assert_int_equal(install_into(&in, "data_pkg-1.0-py3-none-any.whl", tree, &msg), -1);
  snprintf(want, sizeof want,
           "entry point dp-gui would install bin/dp-gui, which shadows the "
           "base interpreter's file %s/bin/dp-gui",
           prefix);
  if (strstr(msg, want) == NULL) print_error("message \"%s\" lacks \"%s\"\n", msg, want);
  assert_non_null(strstr(msg, want));
  free(msg);
  /* Directories the base has are where wheels go: not a collision. */
  assert_int_equal(fx_sh("rm %s/bin/dp-gui", prefix), 0);
  snprintf(tree, sizeof tree, "%s/tree-4", tmp);
  assert_int_equal(install_into(&in, "data_pkg-1.0-py3-none-any.whl", tree, &msg), 0);
  pl_interp_free(&in);
}

/* The real /opt/python3.12 ships pip: its files may not be shadowed, and
 * the lookups stay cheap on Debian's /usr (one fstatat per file and per
 * new directory). */
static void test_install_against_real_bases(void **state) {
  char tree[600], *msg = NULL;
  if (access(PY312, X_OK) == 0) {
    struct pl_interp in;
    fx_interp(PY312, NULL, &in);
    snprintf(tree, sizeof tree, "%s/real-312-pip", tmp);
    expect_refused(&in, "pip-23.0.1-py3-none-any.whl", tree,
                   "which shadows the base interpreter's file "
                   "/opt/python3.12/lib/python3.12/site-packages/pip/");
    snprintf(tree, sizeof tree, "%s/real-312-six", tmp);
    assert_int_equal(install_into(&in, "six-1.16.0-py3-none-any.whl", tree, &msg), 0);
    pl_interp_free(&in);
  }
  if (access(PYDEB, X_OK) == 0) {
    struct pl_interp in;
    fx_interp(PYDEB, NULL, &in);
    static const char *const names[] = {"docutils-0.19-py3-none-any.whl",
                                        "setuptools-66.1.1-py3-none-any.whl",
                                        "data_pkg-1.0-py3-none-any.whl"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
      struct timespec a, b;
      snprintf(tree, sizeof tree, "%s/real-deb-%zu", tmp, i);
      clock_gettime(CLOCK_MONOTONIC, &a);
      int r = install_into(&in, names[i], tree, &msg);
      clock_gettime(CLOCK_MONOTONIC, &b);
      if (r != 0) print_error("%s: %s\n", names[i], msg);
      assert_int_equal(r, 0);
      print_message("# %s on %s: %.1f ms\n", names[i], in.prefix, fx_ms(&a, &b));
    }
    pl_interp_free(&in);
  }
}

/* The tree of `name` (its wheel in cache c) from its source tree (a
 * source-only batch, then a batch completing it), or straight from its
 * wheel; *key its key. */
static void build_tree(struct pl_cache *c, const struct pl_interp *in, const char *name,
                       bool from_source, char *key, size_t cap) {
  char path[1024], hex[PL_SHA256_HEX];
  pl_error_t err = NULL;
  snprintf(path, sizeof path, "%s/%s", wheels, name);
  sha_of(path, hex);
  struct pl_cache_tree t, src;
  struct pl_cache_batch b;
  pl_cache_batch_init(&b, c, in);
  if (from_source) {
    b.source_only = true;
    if (pl_cache_batch_add(&b, hex, -1, name, &err) < 0 || pl_cache_batch_finish(&b, &err) < 0 ||
        pl_cache_batch_tree(&b, hex, &src, &err) < 0)
      fail_msg("%s", pl_error_string(err));
    pl_cache_batch_release(&b);
    assert_true(src.source);
    b.source_only = false;
    if (pl_cache_batch_add_source(&b, &src, &err) < 0 || pl_cache_batch_finish(&b, &err) < 0 ||
        pl_cache_batch_tree(&b, hex, &t, &err) < 0)
      fail_msg("%s", pl_error_string(err));
    pl_cache_tree_release(&src);
  } else if (pl_cache_tree_get_or_build(c, hex, -1, name, in, &t, &err) < 0) {
    fail_msg("%s", pl_error_string(err));
  }
  pl_cache_batch_release(&b);
  assert_false(t.source);
  snprintf(key, cap, "%s", t.key);
  pl_cache_tree_release(&t);
}

/* A tree completed from its source tree (compiled after the switch) is the
 * tree built from its wheel: the same files, byte-code for the same sources
 * (not for the launchers pylock writes), the same RECORD; its sources are
 * the source tree's very inodes, and the source tree has no byte-code. */
static void
test_a_tree_completed_from_its_source_tree_is_the_one_built_from_its_wheel(void **state) {
  if (access(PY312, X_OK) != 0) skip();
  static const char *const names[] = {"data_pkg-1.0-py3-none-any.whl",
                                      "six-1.16.0-py3-none-any.whl", "idna-3.3-py3-none-any.whl"};
  char base[512], ca[512], cb[512];
  snprintf(base, sizeof base, "%s/src-base", tmp);
  snprintf(ca, sizeof ca, "%s/src-cache-a", tmp);
  snprintf(cb, sizeof cb, "%s/src-cache-b", tmp);
  assert_int_equal(mkdir(base, 0755), 0);
  struct pl_interp in;
  fx_interp(PY312, base, &in);
  struct pl_cache a, b;
  pl_error_t err = NULL;
  assert_int_equal(pl_cache_open(&a, ca, &err), 0);
  assert_int_equal(pl_cache_open(&b, cb, &err), 0);
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char path[1024], hex[PL_SHA256_HEX], ka[PL_CACHE_TREE_KEY_MAX], kb[PL_CACHE_TREE_KEY_MAX];
    snprintf(path, sizeof path, "%s/%s", wheels, names[i]);
    sha_of(path, hex);
    cleanup_close int wa = open(path, O_RDONLY | O_CLOEXEC), wb = open(path, O_RDONLY | O_CLOEXEC);
    assert_int_equal(pl_cache_wheel_store(&a, wa, hex, &err), 0);
    assert_int_equal(pl_cache_wheel_store(&b, wb, hex, &err), 0);
    build_tree(&a, &in, names[i], false, ka, sizeof ka);
    build_tree(&b, &in, names[i], true, kb, sizeof kb);
    assert_string_equal(ka, kb);
    assert_int_equal(fx_sh("cd %s/trees/%s && find . ! -name .complete ! -name .manifest | sort "
                           ">%s/list-a && cd %s/trees/%s && find . ! -name .complete ! -name "
                           ".manifest | sort >%s/list-b && cmp %s/list-a %s/list-b",
                           a.path, ka, tmp, b.path, kb, tmp, tmp, tmp),
                     0);
    assert_int_equal(fx_sh("cd %s/trees/%s && find . -name '*.pyc' | grep -q . && "
                           "for f in $(find . -name RECORD); do cmp $f %s/trees/%s/$f || exit 1; "
                           "done",
                           a.path, ka, b.path, kb),
                     0);
    /* Not one byte-code file in the source tree; every file but RECORD linked from it. */
    assert_int_equal(fx_sh("cd %s/trees/%s.src && test -z \"$(find . -name '*.pyc')\" && "
                           "for f in $(find . -type f ! -name RECORD ! -name .complete ! -name "
                           ".manifest); do test %s/trees/%s/$f -ef $f || exit 1; done",
                           b.path, kb, b.path, kb),
                     0);
  }
  pl_cache_close(&a);
  pl_cache_close(&b);
  pl_interp_free(&in);
}

static void test_launcher_is_pips_script_text(void **state) {
  cleanup_free char *t = pl_install_script_text("/usr/bin/python3", "pkg.mod", "Cls.run");
  assert_string_equal(t, "#!/usr/bin/python3\n"
                         "# -*- coding: utf-8 -*-\n"
                         "import re\n"
                         "import sys\n"
                         "from pkg.mod import Cls\n"
                         "if __name__ == '__main__':\n"
                         "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
                         "    sys.exit(Cls.run())\n");
  /* distlib: a path with a space, or a shebang over 127 bytes, runs via /bin/sh. */
  cleanup_free char *sp = pl_install_script_text("/opt/my python/bin/python3", "m", "f");
  const char *want = "#!/bin/sh\n'''exec' \"/opt/my python/bin/python3\" \"$0\" \"$@\"\n' '''\n"
                     "# -*- coding";
  assert_true(strncmp(sp, want, strlen(want)) == 0);
  char longpath[200];
  memset(longpath, 'p', sizeof longpath);
  longpath[0] = '/';
  longpath[sizeof longpath - 1] = '\0';
  cleanup_free char *lp = pl_install_script_text(longpath, "m", "f");
  assert_true(strncmp(lp, "#!/bin/sh\n'''exec' /ppp", 23) == 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_launcher_is_pips_script_text),
      cmocka_unit_test(test_install_matches_pip_of_python312),
      cmocka_unit_test(test_install_matches_debian_pip),
      cmocka_unit_test(test_install_refuses_a_file_the_base_interpreter_has),
      cmocka_unit_test(test_install_against_real_bases),
      cmocka_unit_test(test_a_tree_completed_from_its_source_tree_is_the_one_built_from_its_wheel),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
