/* Unit tests: lib/install.c, lib/cache.c, lib/envgen.c — a wheel installed by
 * pylock is what pip installs from it. */
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
    if (pl_envgen_link_tree(gfd, t.fd, NULL, &err) < 0) fail_msg("%s", pl_error_string(err));
    if (pl_envgen_write_requested(gfd, t.dist_info, &err) < 0) fail_msg("%s", pl_error_string(err));
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
  assert_int_equal(pl_verify_generation(gfd, &in, NULL, &rep, &err), 0);
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
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
