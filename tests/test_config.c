/* Unit tests: lib/config.c — configuration files, their precedence and their errors. */
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

#include "config.h"
#include "keepalive.h"
#include "paths.h"
#include "state.h"
#include "truststore.h"

struct fx {
  char dir[64], sys[96], user[96];
  pl_error_t err;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-config-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->sys, sizeof f->sys, "%s/etc", f->dir);
  snprintf(f->user, sizeof f->user, "%s/xdg", f->dir);
  char p[160];
  snprintf(p, sizeof p, "%s/pylock", f->user);
  assert_int_equal(mkdir(f->sys, 0755), 0);
  assert_int_equal(mkdir(f->user, 0755), 0);
  assert_int_equal(mkdir(p, 0755), 0);
  setenv("PYLOCK_SYSCONFDIR", f->sys, 1);
  setenv("XDG_CONFIG_HOME", f->user, 1);
  unsetenv("PYLOCK_KEEPALIVE");
  unsetenv("PYLOCK_CACHE_DIR");
  unsetenv("PYLOCK_CA_BUNDLE");
  pl_config_reset();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  assert_int_equal(system(cmd), 0);
  pl_error_free(&f->err);
  pl_config_reset();
  free(f);
  return 0;
}

static void write_text(const char *path, const char *text) {
  FILE *fp = fopen(path, "w");
  assert_non_null(fp);
  fputs(text, fp);
  assert_int_equal(fclose(fp), 0);
}

static void write_system(struct fx *f, const char *text) {
  char p[160];
  snprintf(p, sizeof p, "%s/config.toml", f->sys);
  write_text(p, text);
}

static void write_user(struct fx *f, const char *text) {
  char p[160];
  snprintf(p, sizeof p, "%s/pylock/config.toml", f->user);
  write_text(p, text);
}

static const char *message(struct fx *f) {
  assert_non_null(f->err);
  return f->err->msg;
}

static void test_config_without_files_sets_nothing(void **state) {
  struct fx *f = *state;
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), 0);
  assert_int_equal(c.keepalive, -1);
  assert_int_equal(c.strict, -1);
  assert_null(c.state_dir);
  assert_null(c.ca_bundle);
  assert_int_equal(c.nallow_write, 0);
  assert_int_equal(c.nsafe_dirs, 0);
  pl_config_free(&c);
}

static void test_config_user_file_overrides_system_file_key_by_key(void **state) {
  struct fx *f = *state;
  write_system(f, "# the administrator's\nkeepalive = 10\nstate-dir = \"/srv/sys-state\"\n"
                  "ca-bundle = \"/etc/ssl/corp.pem\"\nstrict = true\n");
  write_user(f, "keepalive = 0\nstate-dir = \"/home/u/state\"\nstrict = false\n");
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), 0);
  assert_int_equal(c.keepalive, 0);
  assert_string_equal(c.state_dir, "/home/u/state");
  assert_string_equal(c.ca_bundle, "/etc/ssl/corp.pem"); /* from the system file */
  assert_int_equal(c.strict, 0);
  pl_config_free(&c);
}

static void test_config_lists_of_both_files_add_up(void **state) {
  struct fx *f = *state;
  write_system(f, "allow-write = [\"/srv/data\"]\nsafe-directories = [\"/srv/shared\"]\n");
  write_user(f, "allow-write = [\"/home/u/work\", \"/mnt/scratch\"]\n");
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), 0);
  assert_int_equal(c.nallow_write, 3);
  assert_string_equal(c.allow_write[0], "/srv/data");
  assert_string_equal(c.allow_write[1], "/home/u/work");
  assert_string_equal(c.allow_write[2], "/mnt/scratch");
  assert_int_equal(c.nsafe_dirs, 1);
  assert_string_equal(c.safe_dirs[0], "/srv/shared");
  pl_config_free(&c);
}

static void test_config_list_entries_must_be_absolute(void **state) {
  struct fx *f = *state;
  struct pl_config c;
  pl_config_init(&c);
  const char *t1 = "allow-write = [\"rel\"]\n";
  assert_int_equal(pl_config_parse(t1, strlen(t1), "F", &c, &f->err), -1);
  assert_non_null(strstr(message(f), "F, line 1: allow-write: entry 1 must be an absolute path"));
  const char *t2 = "allow-write = [\"*\"]\n";
  assert_int_equal(pl_config_parse(t2, strlen(t2), "F", &c, &f->err), -1);
  const char *t3 = "safe-directories = [\"*\"]\n"; /* git's "every directory" */
  assert_int_equal(pl_config_parse(t3, strlen(t3), "F", &c, &f->err), 0);
  const char *t4 = "allow-write = \"/x\"\n";
  assert_int_equal(pl_config_parse(t4, strlen(t4), "F", &c, &f->err), -1);
  assert_non_null(strstr(message(f), "must be a list of absolute paths"));
  pl_config_free(&c);
}

static void test_config_cache_dir_is_refused_with_its_new_name(void **state) {
  struct fx *f = *state;
  struct pl_config c;
  pl_config_init(&c);
  const char *t = "cache-dir = \"/x\"\n";
  assert_int_equal(pl_config_parse(t, strlen(t), "F", &c, &f->err), -1);
  assert_non_null(strstr(message(f), "cache-dir is no longer a setting"));
  assert_non_null(strstr(f->err->hint, "state-dir"));
}

static void test_config_unknown_key_is_refused_naming_file_line_and_known_keys(void **state) {
  struct fx *f = *state;
  write_user(f, "keepalive = 5\n\nstate_dir = \"/x\"\n");
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), -1);
  char want[200];
  snprintf(want, sizeof want, "%s/pylock/config.toml, line 3: unknown key 'state_dir'", f->user);
  assert_non_null(strstr(message(f), want));
  assert_non_null(strstr(message(f), PL_CONFIG_KEYS));
  assert_null(c.state_dir); /* nothing half-loaded */
}

static void test_config_table_is_an_unknown_key(void **state) {
  struct fx *f = *state;
  write_system(f, "keepalive = 5\n[proxy]\nurl = \"http://p\"\n");
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), -1);
  assert_non_null(strstr(message(f), "config.toml, line 2: unknown key 'proxy'"));
}

static void test_config_wrong_type_names_the_line(void **state) {
  struct fx *f = *state;
  write_user(f, "keepalive = \"30\"\n");
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), -1);
  assert_non_null(strstr(message(f), "line 1: keepalive must be a whole number of seconds"));
}

static void test_config_keepalive_out_of_range_is_refused(void **state) {
  struct fx *f = *state;
  struct pl_config c;
  pl_config_init(&c);
  assert_int_equal(pl_config_parse("keepalive = -1\n", 15, "F", &c, &f->err), -1);
  assert_int_equal(pl_config_parse("keepalive = 86401\n", 18, "F", &c, &f->err), -1);
  assert_int_equal(pl_config_parse("keepalive = 86400\n", 18, "F", &c, &f->err), 0);
  assert_int_equal(c.keepalive, 86400);
}

static void test_config_relative_paths_are_refused(void **state) {
  struct fx *f = *state;
  struct pl_config c;
  pl_config_init(&c);
  const char *t1 = "state-dir = \"state\"\n";
  assert_int_equal(pl_config_parse(t1, strlen(t1), "F", &c, &f->err), -1);
  assert_non_null(strstr(message(f), "F, line 1: state-dir must be an absolute path"));
  const char *t2 = "ca-bundle = \"\"\n";
  assert_int_equal(pl_config_parse(t2, strlen(t2), "F", &c, &f->err), -1);
  const char *t3 = "\"ca-bundle\" = 3\n";
  assert_int_equal(pl_config_parse(t3, strlen(t3), "F", &c, &f->err), -1);
  assert_non_null(strstr(message(f), "F, line 1: ca-bundle must be a string"));
}

static void test_config_syntax_error_names_file_line_and_column(void **state) {
  struct fx *f = *state;
  write_system(f, "keepalive = 5\nkeepalive =\n");
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), -1);
  char want[200];
  snprintf(want, sizeof want, "%s/config.toml: TOML line 2, column", f->sys);
  assert_non_null(strstr(message(f), want));
}

static void test_config_error_leaves_the_configuration_unchanged(void **state) {
  struct fx *f = *state;
  struct pl_config c;
  pl_config_init(&c);
  const char *good = "keepalive = 7\nstate-dir = \"/a\"\nallow-write = [\"/w\"]\n";
  assert_int_equal(pl_config_parse(good, strlen(good), "F", &c, &f->err), 0);
  const char *bad = "keepalive = 9\nstate-dir = \"/b\"\nallow-write = [\"/v\"]\ntypo = 1\n";
  assert_int_equal(pl_config_parse(bad, strlen(bad), "F", &c, &f->err), -1);
  assert_int_equal(c.keepalive, 7);
  assert_string_equal(c.state_dir, "/a");
  assert_int_equal(c.nallow_write, 1);
  pl_config_free(&c);
}

static void test_config_oversized_file_is_refused(void **state) {
  struct fx *f = *state;
  size_t n = PL_CONFIG_MAX_BYTES + 2;
  char *big = malloc(n + 1);
  assert_non_null(big);
  memset(big, '#', n);
  big[n - 1] = '\n';
  big[n] = '\0';
  write_user(f, big);
  free(big);
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), -1);
  assert_int_equal(f->err->errnum, EFBIG);
}

static void test_sysconf_dir_follows_pylock_sysconfdir(void **state) {
  struct fx *f = *state;
  assert_string_equal(pl_path_system_config(), f->sys);
  char *trust = pl_trust_system_dir();
  char want[160];
  snprintf(want, sizeof want, "%s/trust.d", f->sys);
  assert_string_equal(trust, want);
  free(trust);
  unsetenv("PYLOCK_SYSCONFDIR");
  assert_string_equal(pl_path_system_config(), "/etc/pylock");
}

static void test_state_dir_environment_over_configuration_over_xdg(void **state) {
  struct fx *f = *state;
  write_user(f, "state-dir = \"/from/config\"\n");
  setenv("XDG_STATE_HOME", "/from/xdg", 1);
  char *p = NULL;
  assert_int_equal(pl_state_location(&p, &f->err), 0);
  assert_string_equal(p, "/from/config");
  free(p);
  setenv("PYLOCK_STATE_DIR", "/from/env", 1);
  assert_int_equal(pl_state_location(&p, &f->err), 0);
  assert_string_equal(p, "/from/env");
  free(p);
  setenv("PYLOCK_STATE_DIR", "relative", 1);
  assert_int_equal(pl_state_location(&p, &f->err), -1);
  unsetenv("PYLOCK_STATE_DIR");
  pl_config_reset();
  write_user(f, "keepalive = 1\n");
  assert_int_equal(pl_state_location(&p, &f->err), 0);
  assert_string_equal(p, "/from/xdg/pylock");
  free(p);
  unsetenv("XDG_STATE_HOME");
}

static void test_state_dir_reports_a_broken_configuration(void **state) {
  struct fx *f = *state;
  write_user(f, "statedir = \"/x\"\n");
  char *p = NULL;
  assert_int_equal(pl_state_location(&p, &f->err), -1);
  assert_non_null(strstr(message(f), "unknown key 'statedir'"));
}

static void test_keepalive_environment_over_configuration_over_default(void **state) {
  struct fx *f = *state;
  assert_int_equal(pl_keepalive_ttl(&f->err), PL_KEEPALIVE_DEFAULT_TTL);
  pl_config_reset();
  write_system(f, "keepalive = 12\n");
  assert_int_equal(pl_keepalive_ttl(&f->err), 12);
  pl_config_reset();
  write_user(f, "keepalive = 0\n");
  assert_int_equal(pl_keepalive_ttl(&f->err), 0);
  setenv("PYLOCK_KEEPALIVE", "45", 1);
  assert_int_equal(pl_keepalive_ttl(&f->err), 45);
  unsetenv("PYLOCK_KEEPALIVE");
}

static void test_keepalive_set_in_environment_reads_no_configuration(void **state) {
  struct fx *f = *state;
  write_user(f, "this is not toml\n");
  setenv("PYLOCK_KEEPALIVE", "3", 1);
  assert_int_equal(pl_keepalive_ttl(&f->err), 3);
  unsetenv("PYLOCK_KEEPALIVE");
  assert_int_equal(pl_keepalive_ttl(&f->err), -1);
  assert_non_null(strstr(message(f), "config.toml: TOML line 1"));
}

static void test_config_get_loads_once_until_reset(void **state) {
  struct fx *f = *state;
  write_user(f, "keepalive = 4\n");
  const struct pl_config *c = pl_config_get(&f->err);
  assert_non_null(c);
  assert_int_equal(c->keepalive, 4);
  write_user(f, "keepalive = 8\n");
  assert_int_equal(pl_config_get(&f->err)->keepalive, 4);
  pl_config_reset();
  assert_int_equal(pl_config_get(&f->err)->keepalive, 8);
}

static void test_config_unreadable_file_is_an_error(void **state) {
  struct fx *f = *state;
  char p[160];
  snprintf(p, sizeof p, "%s/pylock/config.toml", f->user);
  assert_int_equal(mkdir(p, 0755), 0); /* a directory, not a file */
  struct pl_config c;
  assert_int_equal(pl_config_load(&c, &f->err), -1);
  assert_non_null(strstr(message(f), "configuration: "));
  assert_non_null(strstr(message(f), "config.toml is not a regular file"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_config_without_files_sets_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_user_file_overrides_system_file_key_by_key, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_config_unknown_key_is_refused_naming_file_line_and_known_keys, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_table_is_an_unknown_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_lists_of_both_files_add_up, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_list_entries_must_be_absolute, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_cache_dir_is_refused_with_its_new_name, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_config_wrong_type_names_the_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_keepalive_out_of_range_is_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_config_relative_paths_are_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_syntax_error_names_file_line_and_column, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_config_error_leaves_the_configuration_unchanged, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_config_oversized_file_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sysconf_dir_follows_pylock_sysconfdir, setup, teardown),
      cmocka_unit_test_setup_teardown(test_state_dir_environment_over_configuration_over_xdg, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_state_dir_reports_a_broken_configuration, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_keepalive_environment_over_configuration_over_default,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_keepalive_set_in_environment_reads_no_configuration,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_get_loads_once_until_reset, setup, teardown),
      cmocka_unit_test_setup_teardown(test_config_unreadable_file_is_an_error, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
