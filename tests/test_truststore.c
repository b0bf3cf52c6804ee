/* Unit tests: lib/truststore.c — which roots a user may trust, and where they live. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "ed25519.h"
#include "file.h"
#include "registry.h"
#include "truststore.h"

struct fx {
  char dir[64], reg[96], root[128], sys[96];
  pl_error_t err;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-trust-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->reg, sizeof f->reg, "%s/reg", f->dir);
  snprintf(f->root, sizeof f->root, "%s/reg/1.root.json", f->dir);
  snprintf(f->sys, sizeof f->sys, "%s/etc", f->dir);
  char cfg[96];
  snprintf(cfg, sizeof cfg, "%s/cfg", f->dir);
  setenv("XDG_CONFIG_HOME", cfg, 1);
  setenv("PYLOCK_SYSCONFDIR", f->sys, 1);
  /* registry init keeps what it signed in the state root: the test's own. */
  char st[96];
  snprintf(st, sizeof st, "%s/state", f->dir);
  setenv("PYLOCK_STATE_DIR", st, 1);
  struct pl_key k;
  assert_int_equal(pl_key_generate(&k, &f->err), 0);
  struct pl_registry_opts o = {.keys = &k, .nkeys = 1};
  assert_int_equal(pl_registry_init(f->reg, &o, &f->err), 0);
  pl_key_wipe(&k);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  pl_error_free(&f->err);
  free(f);
  return 0;
}

static void test_trust_add_keeps_self_signed_root_and_list_shows_it(void **state) {
  struct fx *f = *state;
  char *name = NULL;
  assert_int_equal(pl_trust_add(f->root, "corp", &name, &f->err), 0);
  assert_string_equal(name, "corp");
  free(name);
  char *path = NULL;
  assert_int_equal(pl_trust_find("corp", &path, &f->err), 0);
  assert_non_null(strstr(path, "/cfg/pylock/trust.d/corp.json"));
  free(path);
  assert_int_equal(pl_trust_add(f->root, "corp", NULL, &f->err), -1); /* no silent replace */
  assert_int_equal(f->err->errnum, EEXIST);
  struct pl_trust_entry *list;
  size_t n;
  assert_int_equal(pl_trust_list(&list, &n, &f->err), 0);
  assert_int_equal(n, 1);
  assert_true(list[0].valid);
  assert_false(list[0].system);
  assert_int_equal(list[0].version, 1);
  pl_trust_list_free(list, n);
  assert_int_equal(pl_trust_remove("corp", &f->err), 0);
  assert_int_equal(pl_trust_find("corp", &path, &f->err), -1);
}

static void test_trust_add_refuses_what_is_not_a_self_signed_root(void **state) {
  struct fx *f = *state;
  char ts[128];
  snprintf(ts, sizeof ts, "%s/timestamp.json", f->reg);
  assert_int_equal(pl_trust_add(ts, "x", NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "wrong _type"));
  /* A root whose signature does not verify (one byte of `signed` changed). */
  char *raw;
  size_t len;
  assert_int_equal(pl_read_file_at(AT_FDCWD, f->root, 1 << 20, &raw, &len, &f->err), 0);
  char *v = strstr(raw, "\"threshold\": 1");
  assert_non_null(v);
  v[13] = '2';
  char bad[128];
  snprintf(bad, sizeof bad, "%s/bad.json", f->dir);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, bad, raw, len, 0644, &f->err), 0);
  free(raw);
  assert_int_equal(pl_trust_add(bad, "x", NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "signature threshold not met"));
  assert_int_equal(pl_trust_add(f->root, "../evil", NULL, &f->err), -1);
}

static void test_trust_system_roots_are_found_but_never_removed(void **state) {
  struct fx *f = *state;
  char sysd[128], dst[160];
  snprintf(sysd, sizeof sysd, "%s/trust.d", f->sys);
  assert_int_equal(pl_mkdir_p(sysd, 0755, &f->err), 0);
  char *raw;
  size_t len;
  assert_int_equal(pl_read_file_at(AT_FDCWD, f->root, 1 << 20, &raw, &len, &f->err), 0);
  snprintf(dst, sizeof dst, "%s/site.json", sysd);
  assert_int_equal(pl_write_file_atomic_at(AT_FDCWD, dst, raw, len, 0644, &f->err), 0);
  free(raw);
  char *path = NULL;
  assert_int_equal(pl_trust_find("site", &path, &f->err), 0);
  assert_string_equal(path, dst);
  free(path);
  assert_int_equal(pl_trust_remove("site", &f->err), -1);
  assert_non_null(strstr(f->err->msg, "system root"));
  assert_int_equal(access(dst, F_OK), 0);
  /* A user root of the same name shadows it. */
  assert_int_equal(pl_trust_add(f->root, "site", NULL, &f->err), 0);
  struct pl_trust_entry *list;
  size_t n;
  assert_int_equal(pl_trust_list(&list, &n, &f->err), 0);
  assert_int_equal(n, 2);
  assert_false(list[0].system);
  assert_true(list[1].system && list[1].shadowed);
  pl_trust_list_free(list, n);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_trust_add_keeps_self_signed_root_and_list_shows_it),
      T(test_trust_add_refuses_what_is_not_a_self_signed_root),
      T(test_trust_system_roots_are_found_but_never_removed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
