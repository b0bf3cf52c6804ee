/* Unit tests: the pure parts of the run path — environment scrubbing, PATH
 * building, interpreter records, keep-alive records, overlay escaping,
 * project discovery, bounded file reads, the build-time seccomp filter.
 * SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "config.h"
#include "doctor.h"
#include "environ.h"
#include "file.h"
#include "interp.h"
#include "keepalive.h"
#include "project.h"
#include "sandbox.h"
#include "seccomp_bpf.h"
#include "seccomp_policy.h"

extern char **environ;

static void test_environ_flags_every_leak_and_nothing_else(void **state) {
  const char *leaks[] = {"PYTHONPATH=/x",  "PYTHONHOME=/x",   "PYTHONUSERBASE=/x",
                         "VIRTUAL_ENV=/x", "CONDA_PREFIX=/x", "PIP_INDEX_URL=http://x",
                         "PIP_=1"};
  for (size_t i = 0; i < sizeof leaks / sizeof leaks[0]; i++)
    assert_true(pl_environ_is_leak(leaks[i]));
  const char *keep[] = {"PATH=/bin", "PYTHONPATHX=1", "PYTHONSTARTUP=/x",         "PIPX_HOME=/x",
                        "HOME=/h",   "XPYTHONPATH=1", "PYTHONDONTWRITEBYTECODE=1"};
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    assert_false(pl_environ_is_leak(keep[i]));
}

static void test_environ_prepare_scrubs_and_sets_project(void **state) {
  setenv("PYTHONPATH", "/evil", 1);
  setenv("PIP_INDEX_URL", "http://evil", 1);
  setenv("VIRTUAL_ENV", "/venv", 1);
  setenv("KEEP_ME", "yes", 1);
  setenv("PATH", "/usr/bin:/bin", 1);
  const char *dirs[] = {"/opt/py/bin", NULL};
  pl_error_t err = NULL;
  assert_int_equal(pl_environ_prepare("/proj", dirs, &err), 0);
  assert_null(getenv("PYTHONPATH"));
  assert_null(getenv("PIP_INDEX_URL"));
  assert_null(getenv("VIRTUAL_ENV"));
  assert_string_equal(getenv("KEEP_ME"), "yes");
  assert_string_equal(getenv("PYLOCK_PROJECT"), "/proj");
  assert_string_equal(getenv("PYTHONNOUSERSITE"), "1");
  assert_string_equal(getenv("PATH"), "/opt/py/bin:/usr/bin:/bin");
}

static void test_path_prepend_keeps_order_and_drops_duplicates(void **state) {
  const char *dirs[] = {"/a", "/b", "/a", NULL};
  cleanup_free char *p = pl_environ_path_prepend("/c:/b:/d", dirs);
  assert_string_equal(p, "/a:/b:/c:/d");
  const char *none[] = {NULL};
  cleanup_free char *q = pl_environ_path_prepend("/c::/d", none);
  assert_string_equal(q, "/c::/d"); /* an empty entry (cwd) is the user's choice; kept */
  cleanup_free char *r = pl_environ_path_prepend(NULL, dirs);
  assert_non_null(strstr(r, "/a:/b:"));
}

static const char interp_text[] = "python=/opt/py/bin/python3.12\nversion=3.12.1\n"
                                  "prefix=/opt/py\npurelib=/opt/py/lib/python3.12/site-packages\n"
                                  "platlib=/opt/py/lib/python3.12/site-packages\n"
                                  "scripts=/opt/py/bin\ninclude=/opt/py/include/python3.12\n"
                                  "data=/opt/py\ncache_tag=cpython-312\nfuture=ignored\n";

static void test_interp_record_round_trips(void **state) {
  struct pl_interp in = {0}, again = {0};
  pl_error_t err = NULL;
  assert_int_equal(pl_interp_parse(interp_text, &in, &err), 0);
  assert_string_equal(in.short_version, "3.12");
  assert_string_equal(pl_interp_relative(&in, in.purelib), "lib/python3.12/site-packages");
  assert_string_equal(pl_interp_relative(&in, in.data), "");
  cleanup_free char *text = pl_interp_format(&in);
  assert_int_equal(pl_interp_parse(text, &again, &err), 0);
  assert_string_equal(again.purelib, in.purelib);
  assert_string_equal(again.cache_tag, "cpython-312");
  pl_interp_free(&in);
  pl_interp_free(&again);
}

static void test_interp_rejects_scheme_outside_prefix(void **state) {
  char text[sizeof interp_text + 64];
  snprintf(text, sizeof text, "%s", interp_text);
  char *p = strstr(text, "scripts=/opt/py/bin");
  memcpy(p, "scripts=/usr/xx/bi", 18);
  struct pl_interp in = {0};
  pl_error_t err = NULL;
  assert_int_equal(pl_interp_parse(text, &in, &err), -1);
  assert_non_null(strstr(err->msg, "outside the interpreter prefix"));
  pl_error_free(&err);
  pl_interp_free(&in);
}

static void test_interp_relative_refuses_lookalike_prefix(void **state) {
  struct pl_interp in = {.prefix = "/opt/py"};
  assert_null(pl_interp_relative(&in, "/opt/python/lib"));
  assert_null(pl_interp_relative(&in, "/opt/py/../etc"));
  /* Dot components anywhere, the last one too, and empty ones. */
  assert_null(pl_interp_relative(&in, "/opt/py/lib/.."));
  assert_null(pl_interp_relative(&in, "/opt/py/.."));
  assert_null(pl_interp_relative(&in, "/opt/py/lib/."));
  assert_null(pl_interp_relative(&in, "/opt/py/lib//x"));
  assert_string_equal(pl_interp_relative(&in, "/opt/py/lib/..x"), "lib/..x");
  assert_string_equal(pl_interp_relative(&in, "/opt/py/lib"), "lib");
}

static void test_interp_rejects_incomplete_record(void **state) {
  struct pl_interp in = {0};
  pl_error_t err = NULL;
  assert_int_equal(pl_interp_parse("python=/x\nversion=3.12.1\n", &in, &err), -1);
  pl_error_free(&err);
  pl_interp_free(&in);
}

static void test_keepalive_record_round_trips(void **state) {
  struct pl_keepalive_record r = {.pid = 4242,
                                  .start = 123456789ULL,
                                  .userns_ino = 4026531837ULL,
                                  .mntns_ino = 4026531841ULL,
                                  .digest = 0x0123456789abcdefULL},
                             back;
  snprintf(r.gen, sizeof r.gen, "generations/7");
  char buf[256];
  assert_true(pl_keepalive_format(&r, buf, sizeof buf) > 0);
  assert_int_equal(pl_keepalive_parse(buf, &back), 0);
  assert_int_equal(back.pid, 4242);
  assert_true(back.start == 123456789ULL);
  assert_true(back.mntns_ino == r.mntns_ino && back.userns_ino == r.userns_ino);
  assert_true(back.digest == r.digest);
  assert_string_equal(back.gen, "generations/7");
}

static void test_keepalive_parse_rejects_malformed_records(void **state) {
  struct pl_keepalive_record r;
  const char *bad[] = {"", "pylock-keepalive 1 10 1 2 00 generations/1\n", /* older formats */
                       "pylock-keepalive 2 10 1 2 00 generations/1\n",     /* (no start time) */
                       /* (joined without a check of the folds: a holder of 3 may
                        * come from a pylock that did not check them) */
                       "pylock-keepalive 3 10 7 1 2 00 generations/1\n",
                       "pylock-keepalive 5 10 7 1 2 00 generations/1\n",
                       "pylock-keepalive 4 10 1 2 00 generations/1\n",   /* no start time */
                       "pylock-keepalive 4 10 0 1 2 00 generations/1\n", /* start time 0 */
                       "pylock-keepalive 4 1 7 1 2 00 generations/1\n",  /* pid 1 */
                       "pylock-keepalive 4 10 7 1 2 00 generations/1",   /* no newline */
                       "pylock-keepalive 4 10 7 1 2 00 generations/1\nextra",
                       "pylock-keepalive 4 -5 7 1 2 00 generations/1\n"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pl_keepalive_parse(bad[i], &r), -1);
}

static void test_keepalive_digest_changes_with_any_field(void **state) {
  struct pl_sandbox a = {.project = "/p",
                         .state_root = "/h/.local/state/pylock",
                         .config_dir = "/h/.config/pylock",
                         .prefix = "/usr",
                         .layer = "/h/.local/state/pylock/projects/p-1/generations/1",
                         .user_site = "/h/.local/lib/python3.11"};
  uint64_t base = pl_keepalive_digest(&a, "generations/1");
  assert_true(base == pl_keepalive_digest(&a, "generations/1"));
  assert_true(base != pl_keepalive_digest(&a, "generations/2"));
  struct pl_sandbox b = a;
  b.user_site = "/other/.local/lib/python3.11";
  assert_true(base != pl_keepalive_digest(&b, "generations/1"));
  b = a;
  b.user_site = NULL;
  assert_true(base != pl_keepalive_digest(&b, "generations/1"));
  b = a;
  b.prefix = "/us";
  b.project = "r/p"; /* same concatenation, different fields */
  assert_true(base != pl_keepalive_digest(&b, "generations/1"));
  b = a;
  b.strict = true; /* --strict runs get a holder of their own */
  assert_true(base != pl_keepalive_digest(&b, "generations/1"));
  b = a;
  b.config_dir = "/h/.config/other";
  assert_true(base != pl_keepalive_digest(&b, "generations/1"));
}

static void test_overlay_escape_quotes_separators_and_refuses_commas(void **state) {
  cleanup_free char *a = pl_overlay_escape("/a:b\\c");
  assert_string_equal(a, "/a\\:b\\\\c");
  assert_null(pl_overlay_escape("/a,b"));
}

static void test_project_find_walks_up_and_honours_dir(void **state) {
  char tmpl[] = "/tmp/pylock-unit-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  char sub[PATH_MAX], lock[PATH_MAX];
  snprintf(sub, sizeof sub, "%s/a/b", tmpl);
  snprintf(lock, sizeof lock, "%s/pylock.toml", tmpl);
  pl_error_t err = NULL;
  assert_int_equal(pl_mkdir_p_at(AT_FDCWD, sub, 0755, &err), 0);
  close(open(lock, O_CREAT | O_WRONLY, 0644));
  cleanup_free char *cwd = getcwd(NULL, 0);
  assert_int_equal(chdir(sub), 0);
  cleanup_free char *root = NULL;
  assert_int_equal(pl_project_find(NULL, &root, &err), 0);
  assert_string_equal(root, tmpl);
  cleanup_free char *root2 = NULL;
  assert_int_equal(pl_project_find(sub, &root2, &err), -1); /* -C must hold the file */
  assert_non_null(strstr(err->msg, "no pylock.toml"));
  pl_error_free(&err);
  assert_int_equal(chdir(cwd), 0);
  unlink(lock);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
  assert_int_equal(system(cmd), 0);
}

/* Above the working directory, a directory others can write ends the
 * search unless safe-directories lists it, whichever pass finds the file. */
static void test_project_find_stops_at_a_directory_others_can_write(void **state) {
  char tmpl[] = "/tmp/pylock-unit-XXXXXX";
  assert_non_null(mkdtemp(tmpl));
  assert_int_equal(chmod(tmpl, 0755), 0);
  char w[PATH_MAX], sub[PATH_MAX], lock[PATH_MAX], cfgdir[PATH_MAX], cfg[PATH_MAX + 16];
  snprintf(w, sizeof w, "%s/w", tmpl);
  snprintf(sub, sizeof sub, "%s/w/c", tmpl);
  snprintf(lock, sizeof lock, "%s/pylock.toml", tmpl);
  snprintf(cfgdir, sizeof cfgdir, "%s/cfg/pylock", tmpl);
  snprintf(cfg, sizeof cfg, "%s/config.toml", cfgdir);
  pl_error_t err = NULL;
  assert_int_equal(pl_mkdir_p_at(AT_FDCWD, sub, 0755, &err), 0);
  assert_int_equal(pl_mkdir_p_at(AT_FDCWD, cfgdir, 0700, &err), 0);
  assert_int_equal(chmod(w, 0777), 0);
  close(open(lock, O_CREAT | O_WRONLY, 0644));
  cleanup_free char *cwd = getcwd(NULL, 0);
  cleanup_free char *old_xdg = getenv("XDG_CONFIG_HOME") ? strdup(getenv("XDG_CONFIG_HOME")) : NULL;
  char xdg[PATH_MAX];
  snprintf(xdg, sizeof xdg, "%s/cfg", tmpl);
  setenv("XDG_CONFIG_HOME", xdg, 1);
  pl_config_reset();
  assert_int_equal(chdir(sub), 0);
  cleanup_free char *root = NULL;
  assert_int_equal(pl_project_find(NULL, &root, &err), -1);
  assert_non_null(strstr(err->msg, "not inside a pylock project"));
  pl_error_free(&err);
  /* Listed: the search goes on through it. */
  FILE *f = fopen(cfg, "w");
  assert_non_null(f);
  fprintf(f, "safe-directories = [\"%s\"]\n", w);
  fclose(f);
  pl_config_reset();
  assert_int_equal(pl_project_find(NULL, &root, &err), 0);
  assert_string_equal(root, tmpl);
  /* The writable directory itself as the working directory: where the user chose to be. */
  unlink(cfg);
  pl_config_reset();
  free(root);
  root = NULL;
  assert_int_equal(chdir(w), 0);
  close(open("pylock.toml", O_CREAT | O_WRONLY, 0644));
  chmod("pylock.toml", 0644);
  assert_int_equal(pl_project_find(NULL, &root, &err), -1); /* w is others': refused */
  assert_int_equal(err->errnum, PL_REFUSED);
  pl_error_free(&err);
  assert_int_equal(chdir(cwd), 0);
  if (old_xdg)
    setenv("XDG_CONFIG_HOME", old_xdg, 1);
  else
    unsetenv("XDG_CONFIG_HOME");
  pl_config_reset();
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
  assert_int_equal(system(cmd), 0);
}

static void test_read_file_is_bounded_and_reads_proc(void **state) {
  char *buf = NULL;
  size_t len = 0;
  pl_error_t err = NULL;
  assert_int_equal(pl_read_file_at(AT_FDCWD, "/proc/self/status", 1 << 20, &buf, &len, &err), 0);
  assert_true(len > 0 && strstr(buf, "Seccomp:"));
  free(buf);
  buf = NULL;
  assert_int_equal(pl_read_file_at(AT_FDCWD, "/proc/self/status", 16, &buf, &len, &err), -1);
  assert_int_equal(err->errnum, EFBIG);
  pl_error_free(&err);
  char path[] = "/tmp/pylock-unit-file-XXXXXX";
  int fd = mkstemp(path);
  assert_true(write(fd, "0123456789", 10) == 10);
  close(fd);
  assert_int_equal(pl_read_file_at(AT_FDCWD, path, 9, &buf, &len, &err), -1);
  pl_error_free(&err);
  assert_int_equal(pl_read_file_at(AT_FDCWD, path, 10, &buf, &len, &err), 0);
  assert_int_equal(len, 10);
  free(buf);
  unlink(path);
}

static void test_atomic_write_replaces_whole_file(void **state) {
  char dir[] = "/tmp/pylock-unit-dir-XXXXXX";
  assert_non_null(mkdtemp(dir));
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  pl_error_t err = NULL;
  assert_int_equal(pl_write_file_atomic_at(dfd, "f", "old", 3, 0644, &err), 0);
  assert_int_equal(pl_write_file_atomic_at(dfd, "f", "newer", 5, 0600, &err), 0);
  char *buf = NULL;
  assert_int_equal(pl_read_file_at(dfd, "f", 100, &buf, NULL, &err), 0);
  assert_string_equal(buf, "newer");
  free(buf);
  struct stat st;
  assert_int_equal(fstatat(dfd, "f", &st, 0), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(pl_write_file_atomic_at(dfd, "a/b", "x", 1, 0644, &err), -1);
  pl_error_free(&err);
  unlinkat(dfd, "f", 0);
  close(dfd);
  rmdir(dir);
}

/* The filter compiled into pylock must be what the policy builds now: a
 * stale build/gen/seccomp_bpf.h would silently enforce an old policy. */
static void test_seccomp_filter_matches_policy(void **state) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  assert_non_null(ctx);
#if defined(__x86_64__)
  assert_int_equal(seccomp_arch_add(ctx, SCMP_ARCH_X86), 0);
  assert_int_equal(seccomp_arch_add(ctx, SCMP_ARCH_X32), 0);
#endif
  assert_int_equal(seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2), 0);
  assert_int_equal(pl_seccomp_policy(ctx, 0), 0);
  char path[] = "/tmp/pylock-unit-bpf-XXXXXX";
  int fd = mkstemp(path);
  assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
  seccomp_release(ctx);
  off_t size = lseek(fd, 0, SEEK_END);
  assert_int_equal((size_t)size, sizeof pl_seccomp_bpf);
  cleanup_free char *buf = malloc((size_t)size);
  assert_int_equal(pread(fd, buf, (size_t)size, 0), size);
  assert_memory_equal(buf, pl_seccomp_bpf, (size_t)size);
  close(fd);
  unlink(path);
}

/* The marker and tag lines of a probe's answer (interp.h). */
#define FAKE_ENV                                                                                   \
  "implementation_name=cpython\nimplementation_version=3.99.1\nos_name=posix\n"                    \
  "platform_machine=x86_64\nplatform_python_implementation=CPython\nplatform_release=6\n"          \
  "platform_system=Linux\nplatform_version=1\npython_full_version=3.99.1\nsys_platform=linux\n"    \
  "tag_impl=cp\ntag_abi=cp399\ntag_abi3=1\ntag_platform=linux_x86_64\nlibc=glibc 2.36\n"

/* A fake interpreter that answers the probe, and tries to leave a mark. */
static void write_fake_python(const char *path, const char *mark, const char *version) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fprintf(f,
          "#!/bin/sh\necho x >> %s 2>/dev/null\n"
          "printf 'version=%s\\nprefix=/opt/fk\\npurelib=/opt/fk/lib/site\\n"
          "platlib=/opt/fk/lib/site\\nscripts=/opt/fk/bin\\ninclude=/opt/fk/include\\n"
          "data=/opt/fk\\ncache_tag=x\\n'\ncat <<'EOF'\n" FAKE_ENV "EOF\n",
          mark, version);
  fclose(f);
  chmod(path, 0755);
}

static void test_interp_probe_is_cached_until_the_interpreter_changes(void **state) {
  char dir[] = "/tmp/pylock-unit-probe-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char py[PATH_MAX], mark[PATH_MAX], cache[PATH_MAX];
  snprintf(py, sizeof py, "%s/python3", dir);
  snprintf(mark, sizeof mark, "%s/mark", dir);
  snprintf(cache, sizeof cache, "%s/cache", dir);
  assert_int_equal(mkdir(cache, 0700), 0);
  int cfd = open(cache, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  write_fake_python(py, mark, "3.99.1");
  pl_error_t err = NULL;
  struct pl_interp a = {0}, b = {0}, c = {0};
  assert_int_equal(pl_interp_probe(py, cfd, &a, &err), 0);
  assert_string_equal(a.version, "3.99.1");
  /* The answer is in the cache: change it there, and the next probe says so. */
  DIR *d = fdopendir(dup(cfd));
  struct dirent *e;
  char cached[NAME_MAX + 1] = "";
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.') snprintf(cached, sizeof cached, "%s", e->d_name);
  closedir(d);
  assert_true(cached[0]);
  const char *text = "version=3.99.7\nprefix=/opt/fk\npurelib=/opt/fk/lib/site\n"
                     "platlib=/opt/fk/lib/site\nscripts=/opt/fk/bin\ninclude=/opt/fk/include\n"
                     "data=/opt/fk\ncache_tag=x\n" FAKE_ENV;
  assert_int_equal(pl_write_file_atomic_at(cfd, cached, text, strlen(text), 0600, &err), 0);
  assert_int_equal(pl_interp_probe(py, cfd, &b, &err), 0);
  assert_string_equal(b.version, "3.99.7"); /* from the cache */
  assert_string_equal(b.python, py);
  /* A cached answer someone else could have written is not used. */
  assert_int_equal(fchmodat(cfd, cached, 0622, 0), 0);
  struct pl_interp d2 = {0};
  assert_int_equal(pl_interp_probe(py, cfd, &d2, &err), 0);
  assert_string_equal(d2.version, "3.99.1");
  pl_interp_free(&d2);
  /* An answer cached before markers and tags were probed: probed again. */
  const char *older = "version=3.99.7\nprefix=/opt/fk\npurelib=/opt/fk/lib/site\n"
                      "platlib=/opt/fk/lib/site\nscripts=/opt/fk/bin\ninclude=/opt/fk/include\n"
                      "data=/opt/fk\ncache_tag=x\n";
  assert_int_equal(pl_write_file_atomic_at(cfd, cached, older, strlen(older), 0600, &err), 0);
  assert_int_equal(pl_interp_probe(py, cfd, &d2, &err), 0);
  assert_string_equal(d2.version, "3.99.1");
  assert_true(pl_interp_has_env(&d2));
  assert_string_equal(d2.tag_abi, "cp399");
  pl_interp_free(&d2);
  sleep(1); /* a new mtime, even on coarse clocks */
  write_fake_python(py, mark, "3.99.2");
  assert_int_equal(pl_interp_probe(py, cfd, &c, &err), 0);
  assert_string_equal(c.version, "3.99.2"); /* upgraded: probed afresh */
  pl_interp_free(&a);
  pl_interp_free(&b);
  pl_interp_free(&c);
  close(cfd);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_interp_probe_runs_where_it_can_write_nothing(void **state) {
  char dir[] = "/tmp/pylock-unit-probe-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char py[PATH_MAX], mark[PATH_MAX];
  snprintf(py, sizeof py, "%s/python3", dir);
  snprintf(mark, sizeof mark, "%s/mark", dir);
  write_fake_python(py, mark, "3.99.1");
  pl_error_t err = NULL;
  struct pl_interp a = {0};
  if (pl_interp_probe(py, -1, &a, &err) < 0) fail_msg("%s", pl_error_string(err));
  assert_string_equal(a.version, "3.99.1");
  assert_int_equal(access(mark, F_OK), -1); /* the interpreter's write failed */
  pl_interp_free(&a);
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_describe_filesystem_names_type_and_mount_point(void **state) {
  cleanup_free char *d = pl_describe_filesystem("/proc/self");
  assert_non_null(d);
  assert_non_null(strstr(d, "proc on /proc"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_environ_flags_every_leak_and_nothing_else),
      cmocka_unit_test(test_environ_prepare_scrubs_and_sets_project),
      cmocka_unit_test(test_path_prepend_keeps_order_and_drops_duplicates),
      cmocka_unit_test(test_interp_record_round_trips),
      cmocka_unit_test(test_interp_rejects_scheme_outside_prefix),
      cmocka_unit_test(test_interp_relative_refuses_lookalike_prefix),
      cmocka_unit_test(test_interp_rejects_incomplete_record),
      cmocka_unit_test(test_keepalive_record_round_trips),
      cmocka_unit_test(test_keepalive_parse_rejects_malformed_records),
      cmocka_unit_test(test_keepalive_digest_changes_with_any_field),
      cmocka_unit_test(test_overlay_escape_quotes_separators_and_refuses_commas),
      cmocka_unit_test(test_project_find_walks_up_and_honours_dir),
      cmocka_unit_test(test_project_find_stops_at_a_directory_others_can_write),
      cmocka_unit_test(test_read_file_is_bounded_and_reads_proc),
      cmocka_unit_test(test_atomic_write_replaces_whole_file),
      cmocka_unit_test(test_seccomp_filter_matches_policy),
      cmocka_unit_test(test_describe_filesystem_names_type_and_mount_point),
      cmocka_unit_test(test_interp_probe_is_cached_until_the_interpreter_changes),
      cmocka_unit_test(test_interp_probe_runs_where_it_can_write_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
