/* Unit tests: lib/apparmor.c — the userns restriction seen through a /proc of the test's own. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "apparmor.h"

struct fake {
  char root[64];
  char proc[128], profile[128], exe[128], helper[160];
  struct pl_apparmor_paths paths;
};

static void put(const char *path, const char *text) {
  char dir[256];
  snprintf(dir, sizeof dir, "%s", path);
  for (char *s = strchr(dir + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = '\0';
    mkdir(dir, 0755);
    *s = '/';
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* A /proc with the sysctl at value (NULL: absent) and the label; no profile installed. */
static void make_fake(struct fake *f, const char *sysctl, const char *label) {
  snprintf(f->root, sizeof f->root, "/tmp/pylock-test-apparmor.XXXXXX");
  assert_non_null(mkdtemp(f->root));
  snprintf(f->proc, sizeof f->proc, "%s/proc", f->root);
  snprintf(f->profile, sizeof f->profile, "%s/etc/apparmor.d/pylock", f->root);
  snprintf(f->exe, sizeof f->exe, "%s/prefix/lib/pylock/pylock", f->root);
  snprintf(f->helper, sizeof f->helper, "%s/prefix/lib/pylock/apparmor-profile", f->root);
  char path[256];
  if (sysctl) {
    snprintf(path, sizeof path, "%s/sys/kernel/apparmor_restrict_unprivileged_userns", f->proc);
    put(path, sysctl);
  }
  snprintf(path, sizeof path, "%s/self/attr/apparmor/current", f->proc);
  put(path, label);
  f->paths = (struct pl_apparmor_paths){.proc = f->proc, .profile = f->profile, .exe = f->exe};
}

static void drop_fake(struct fake *f) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->root);
  assert_int_equal(system(cmd), 0);
}

static void test_apparmor_no_sysctl_or_zero_is_unrestricted(void **state) {
  struct fake f;
  make_fake(&f, NULL, "unconfined\n");
  assert_int_equal(pl_apparmor_state(&f.paths, NULL, 0), PL_AA_UNRESTRICTED);
  drop_fake(&f);
  make_fake(&f, "0\n", "unconfined\n");
  char *detail = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), 0);
  assert_non_null(strstr(detail, "no restriction"));
  free(detail);
  drop_fake(&f);
}

static void test_apparmor_restricted_without_profile_names_the_profile_and_the_fix(void **state) {
  struct fake f;
  make_fake(&f, "1\n", "unconfined\n");
  assert_int_equal(pl_apparmor_state(&f.paths, NULL, 0), PL_AA_MISSING);
  char *detail = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), -1);
  assert_null(detail);
  assert_non_null(strstr(err->msg, "kernel.apparmor_restrict_unprivileged_userns=1"));
  assert_non_null(strstr(err->msg, f.profile));
  assert_non_null(strstr(err->msg, "missing"));
  assert_non_null(strstr(err->hint, "sysctl kernel.apparmor_restrict_unprivileged_userns=0"));
  /* No helper beside the executable: the hint says where the profile comes from. */
  assert_non_null(strstr(err->hint, "packaging/apparmor/pylock"));
  pl_error_free(&err);
  drop_fake(&f);
}

/* Security: a helper someone other than root could have written is never
 * what the hint tells root to run. */
static void test_apparmor_hint_names_the_helper_only_when_only_root_can_write_it(void **state) {
  struct fake f;
  make_fake(&f, "1\n", "unconfined\n");
  put(f.helper, "#!/bin/sh\n");
  chmod(f.helper, 0755);
  char dir[160];
  snprintf(dir, sizeof dir, "%s/prefix/lib/pylock", f.root);
  chmod(dir, 0755);
  char *detail = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), -1);
  if (geteuid() == 0) {
    assert_non_null(strstr(err->hint, f.helper));
    pl_error_free(&err);
    chmod(f.helper, 0777); /* writable by anyone: not named */
    assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), -1);
    assert_null(strstr(err->hint, f.helper));
    pl_error_free(&err);
    chmod(f.helper, 0755);
    chmod(dir, 0777); /* its directory writable by anyone: not named */
    assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), -1);
  }
  assert_null(strstr(err->hint, f.helper)); /* not root's: never named */
  assert_non_null(strstr(err->hint, "packaging/apparmor/pylock"));
  pl_error_free(&err);
  drop_fake(&f);
}

static void test_apparmor_profile_present_but_not_applied_says_load_it(void **state) {
  struct fake f;
  make_fake(&f, "1\n", "unconfined\n");
  put(f.profile, "profile pylock /usr/bin/pylock {}\n");
  char label[64];
  assert_int_equal(pl_apparmor_state(&f.paths, label, sizeof label), PL_AA_NOT_APPLIED);
  assert_string_equal(label, "unconfined");
  char *detail = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), -1);
  assert_non_null(strstr(err->msg, "does not apply"));
  assert_non_null(strstr(err->hint, "apparmor_parser -r"));
  assert_non_null(strstr(err->hint, f.profile));
  pl_error_free(&err);
  drop_fake(&f);
}

static void test_apparmor_running_under_the_profile_passes(void **state) {
  struct fake f;
  make_fake(&f, "1\n", "pylock (enforce)\n");
  assert_int_equal(pl_apparmor_state(&f.paths, NULL, 0), PL_AA_CONFINED);
  char *detail = NULL;
  pl_error_t err = NULL;
  assert_int_equal(pl_apparmor_check(&f.paths, &detail, &err), 0);
  assert_non_null(strstr(detail, "pylock (enforce)"));
  free(detail);
  drop_fake(&f);
  /* Another profile whose name starts with "pylock", or the stack children get: not it. */
  const char *others[] = {"pylockx (enforce)\n", "unpriv_pylock (enforce)\n",
                          "pylock//&unpriv_pylock (enforce)\n"};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    make_fake(&f, "1\n", others[i]);
    assert_int_equal(pl_apparmor_state(&f.paths, NULL, 0), PL_AA_MISSING);
    drop_fake(&f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_apparmor_no_sysctl_or_zero_is_unrestricted),
      cmocka_unit_test(test_apparmor_restricted_without_profile_names_the_profile_and_the_fix),
      cmocka_unit_test(test_apparmor_hint_names_the_helper_only_when_only_root_can_write_it),
      cmocka_unit_test(test_apparmor_profile_present_but_not_applied_says_load_it),
      cmocka_unit_test(test_apparmor_running_under_the_profile_passes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
