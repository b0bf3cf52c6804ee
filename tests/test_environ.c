/* Unit tests: lib/environ.c — pl_execvp's search, errors and /bin/sh fallback. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "environ.h"

static char dir[] = "/tmp/pl-execvp-XXXXXX";

static void put(const char *name, const char *text, mode_t mode) {
  char p[256];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  chmod(p, mode);
}

/* Run pl_execvp(file) with PATH in a child; its output in out; returns the
 * exit status, or 200 + errno when pl_execvp returned. */
static int child(const char *path, const char *file, char *out, size_t cap) {
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(p[1], 1);
    close(p[0]);
    if (path)
      setenv("PATH", path, 1);
    else
      unsetenv("PATH");
    char *argv[] = {(char *)file, (char *)"arg1", NULL};
    pl_execvp(file, argv);
    _exit(200 + errno);
  }
  close(p[1]);
  ssize_t n = read(p[0], out, cap - 1);
  out[n > 0 ? n : 0] = '\0';
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state) {
  assert_non_null(mkdtemp(dir));
  char sub[300];
  snprintf(sub, sizeof sub, "%s/a", dir);
  mkdir(sub, 0755);
  snprintf(sub, sizeof sub, "%s/b", dir);
  mkdir(sub, 0755);
  put("a/denied", "#!/bin/sh\necho a-denied\n", 0644);        /* not executable */
  put("b/denied", "#!/bin/sh\necho b-denied \"$1\"\n", 0755); /* the next one is */
  put("b/noshebang", "echo via-sh \"$0\" \"$1\"\n", 0755);    /* ENOEXEC: /bin/sh */
  put("a/onlydenied", "#!/bin/sh\necho no\n", 0644);
  return 0;
}

static int teardown(void **state) {
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_execvp_searches_path_past_a_file_it_may_not_run(void **state) {
  char path[300], out[256];
  snprintf(path, sizeof path, "%s/a:%s/b", dir, dir);
  assert_int_equal(child(path, "denied", out, sizeof out), 0);
  assert_string_equal(out, "b-denied arg1\n");
}

static void test_execvp_runs_a_script_without_shebang_through_sh(void **state) {
  char path[300], out[256], want[400];
  snprintf(path, sizeof path, "%s/b", dir);
  assert_int_equal(child(path, "noshebang", out, sizeof out), 0);
  snprintf(want, sizeof want, "via-sh %s/b/noshebang arg1\n", dir);
  assert_string_equal(out, want);
}

static void test_execvp_says_eacces_when_only_unrunnable_files_match_else_enoent(void **state) {
  char path[300], out[256];
  snprintf(path, sizeof path, "%s/a:%s/b", dir, dir);
  assert_int_equal(child(path, "onlydenied", out, sizeof out), 200 + EACCES);
  assert_int_equal(child(path, "no-such-program", out, sizeof out), 200 + ENOENT);
  assert_int_equal(child(path, "", out, sizeof out), 200 + ENOENT);
  /* A path with a slash is not searched. */
  snprintf(path, sizeof path, "%s/a/denied", dir);
  assert_int_equal(child("/usr/bin:/bin", path, out, sizeof out), 200 + EACCES);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_execvp_searches_path_past_a_file_it_may_not_run),
      cmocka_unit_test(test_execvp_runs_a_script_without_shebang_through_sh),
      cmocka_unit_test(test_execvp_says_eacces_when_only_unrunnable_files_match_else_enoent),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
