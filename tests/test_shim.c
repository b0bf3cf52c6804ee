/* Unit tests: lib/shim.c — shim names and the manifest. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "shim.h"

static void test_shim_names_are_exactly_pythons_and_pips(void **state) {
  bool pip;
  const char *yes_py[] = {"python", "python3", "python3.12", "python3.9"};
  for (size_t i = 0; i < sizeof yes_py / sizeof yes_py[0]; i++) {
    assert_true(pl_shim_name(yes_py[i], &pip));
    assert_false(pip);
  }
  const char *yes_pip[] = {"pip", "pip3", "pip3.11"};
  for (size_t i = 0; i < sizeof yes_pip / sizeof yes_pip[0]; i++) {
    assert_true(pl_shim_name(yes_pip[i], &pip));
    assert_true(pip);
  }
  const char *no[] = {"pylock",         "python2",   "python3.", "python3.x", "pipx",
                      "python3-config", "pip3.1234", "ipython",  ""};
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    assert_false(pl_shim_name(no[i], &pip));
}

static void test_shim_manifest_round_trips(void **state) {
  struct pl_shim_entry e[2] = {{.name = "python3", .real = "/usr/bin/python3.11"},
                               {.name = "pip", .real = "/usr/bin/python3.11", .module_pip = true}};
  char *text = pl_shim_manifest_format(e, 2);
  struct pl_shim_entry back[PL_SHIM_MAX];
  assert_int_equal(pl_shim_manifest_parse(text, strlen(text), back, PL_SHIM_MAX), 2);
  assert_string_equal(back[0].name, "python3");
  assert_string_equal(back[0].real, "/usr/bin/python3.11");
  assert_false(back[0].module_pip);
  assert_true(back[1].module_pip);
  free(text);
}

static void test_shim_manifest_rejects_what_it_did_not_write(void **state) {
  struct pl_shim_entry out[PL_SHIM_MAX];
  const char *bad[] = {
      "python3\trelative/python\n",       /* the real program must be absolute */
      "ls\t/bin/ls\n",                    /* not a shim name */
      "python3 /usr/bin/python3\n",       /* no tab */
      "pip\t/usr/bin/python3\t-m evil\n", /* only -m pip */
      "../python3\t/usr/bin/python3\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(pl_shim_manifest_parse(bad[i], strlen(bad[i]), out, PL_SHIM_MAX), -1);
  const char *comment = "# only a comment\n";
  assert_int_equal(pl_shim_manifest_parse(comment, strlen(comment), out, PL_SHIM_MAX), 0);
  /* A NUL ends a C string, not the manifest: the lines after it count. */
  const char nul[] = "python3\t/usr/bin/python3\n\0pip\t/usr/bin/python3\t-m evil\n";
  assert_int_equal(pl_shim_manifest_parse(nul, sizeof nul - 1, out, PL_SHIM_MAX), -1);
}

/* pl_shim_manifest_find on a C string. */
static int find_entry(const char *text, const char *name, struct pl_shim_entry *e) {
  return pl_shim_manifest_find(text, strlen(text), name, e);
}

/* The shim's lookup: only the named entry is copied, but the whole manifest
 * is checked, as pl_shim_manifest_parse checks it. */
static void test_shim_manifest_find_checks_every_line(void **state) {
  struct pl_shim_entry e;
  const char *text = "# pylock shims\npython3\t/usr/bin/python3.11\n"
                     "pip\t/usr/bin/python3.12\t-m pip\npip\t/usr/bin/other\n";
  assert_int_equal(find_entry(text, "pip", &e), 0);
  assert_string_equal(e.name, "pip");
  assert_string_equal(e.real, "/usr/bin/python3.12"); /* the first of two */
  assert_true(e.module_pip);
  assert_int_equal(find_entry(text, "python3", &e), 0);
  assert_string_equal(e.real, "/usr/bin/python3.11");
  assert_false(e.module_pip);
  assert_int_equal(find_entry(text, "python", &e), 1);
  /* A bad line after the wanted one still makes the manifest unusable, and
   * nothing of it reaches *entry (the old parse into a table of its own
   * left the caller's entry alone). */
  memset(&e, 'x', sizeof e);
  e.real[0] = '\0';
  assert_int_equal(
      find_entry("python3\t/usr/bin/python3\npip\t/usr/bin/python3\t-m evil\n", "python3", &e), -1);
  assert_string_equal(e.real, "");
  assert_int_equal(e.name[0], 'x');
  assert_int_equal(find_entry("python3\t/usr/bin/python3\n"
                              "python3\trelative\n",
                              "python3", &e),
                   -1);
  assert_string_equal(e.real, "");
  char many[1024];
  size_t len = 0;
  for (int i = 0; i <= PL_SHIM_MAX; i++)
    len += (size_t)snprintf(many + len, sizeof many - len, "python3\t/usr/bin/python3\n");
  assert_int_equal(find_entry(many, "python3", &e), -1);
}

static void test_program_paths_follow_the_installed_layout_whatever_the_environment(void **state) {
  char self[PATH_MAX], got[PATH_MAX], want[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  *strrchr(self, '/') = '\0';
  setenv("PATH", "/tmp/evil", 1);
  /* A program outside PREFIX/lib/pylock is a front end: the others are
   * beside it, the full one in ../lib/pylock. */
  snprintf(want, sizeof want, "%s/../lib/pylock/pylock", self);
  assert_int_equal(pl_program_path(PL_PROGRAM_FULL, got, sizeof got), 0);
  assert_string_equal(got, want);
  snprintf(want, sizeof want, "%s/pylock-shim", self);
  assert_int_equal(pl_program_path(PL_PROGRAM_SHIM, got, sizeof got), 0);
  assert_string_equal(got, want);
  snprintf(want, sizeof want, "%s/pylock", self);
  assert_int_equal(pl_program_path(PL_PROGRAM_CMD, got, sizeof got), 0);
  assert_string_equal(got, want);
  assert_int_equal(pl_program_path(PL_PROGRAM_FULL, got, 4), -1); /* never cut short */
}

static void test_shim_is_pylock_knows_this_binary_through_links_and_nothing_else(void **state) {
  char link[] = "/tmp/pl-shim-self-XXXXXX";
  int fd = mkstemp(link);
  assert_true(fd >= 0);
  close(fd);
  unlink(link);
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  assert_true(n > 0);
  self[n] = '\0';
  assert_int_equal(symlink(self, link), 0);
  assert_true(pl_shim_is_pylock(self));
  assert_true(pl_shim_is_pylock(link));
  assert_false(pl_shim_is_pylock("/bin/sh"));
  assert_false(pl_shim_is_pylock("/nonexistent/python3"));
  unlink(link);
}

/* A stat with this owner and mode (type bits included). */
static struct stat st_of(uid_t uid, mode_t mode) {
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_uid = uid;
  st.st_mode = mode;
  return st;
}

static void test_shim_manifest_trusted_only_from_the_caller_or_root_and_nobody_else(void **state) {
  const uid_t me = 1000, other = 1001;
  struct stat dir = st_of(me, S_IFDIR | 0755), file = st_of(me, S_IFREG | 0644);
  assert_int_equal(pl_shim_manifest_trust(&dir, &file, me), PL_SHIM_TRUSTED);
  struct stat rootdir = st_of(0, S_IFDIR | 0755), rootfile = st_of(0, S_IFREG | 0644);
  assert_int_equal(pl_shim_manifest_trust(&rootdir, &rootfile, me), PL_SHIM_TRUSTED);
  assert_int_equal(pl_shim_manifest_trust(&rootdir, &file, me), PL_SHIM_TRUSTED);
  struct stat ro = st_of(me, S_IFREG | 0400);
  assert_int_equal(pl_shim_manifest_trust(&dir, &ro, me), PL_SHIM_TRUSTED);

  const struct stat bad_files[] = {
      st_of(other, S_IFREG | 0644), /* another user's: they may rewrite it */
      st_of(me, S_IFREG | 0664),    /* group-writable */
      st_of(me, S_IFREG | 0646),    /* world-writable */
      st_of(0, S_IFREG | 0666),     /* root's, but anyone's to write */
      st_of(me, S_IFLNK | 0777),    /* a link */
      st_of(me, S_IFIFO | 0644),    /* not a regular file */
      st_of(me, S_IFDIR | 0755),
  };
  for (size_t i = 0; i < sizeof bad_files / sizeof bad_files[0]; i++)
    assert_int_equal(pl_shim_manifest_trust(&dir, &bad_files[i], me), PL_SHIM_BAD_FILE);

  const struct stat bad_dirs[] = {
      st_of(other, S_IFDIR | 0755), /* another user's directory */
      st_of(me, S_IFDIR | 0775),    /* group-writable */
      st_of(0, S_IFDIR | 01777),    /* /tmp: sticky keeps no one from adding the file */
      st_of(0, S_IFDIR | 0777),     st_of(other, S_IFDIR | 01777),
  };
  for (size_t i = 0; i < sizeof bad_dirs / sizeof bad_dirs[0]; i++) {
    assert_int_equal(pl_shim_manifest_trust(&bad_dirs[i], &file, me), PL_SHIM_BAD_DIR);
    assert_false(pl_shim_dir_trusted(&bad_dirs[i], me));
  }
  assert_true(pl_shim_dir_trusted(&dir, me));
  assert_true(pl_shim_dir_trusted(&rootdir, me));
}

/* A private directory holding a manifest that lists python3. */
static void make_shim_dir(char *dir, size_t cap) {
  snprintf(dir, cap, "%s", "/tmp/pl-shim-trust-XXXXXX");
  assert_non_null(mkdtemp(dir));
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" PL_SHIM_MANIFEST, dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs("python3\t/usr/bin/python3\n", f);
  fclose(f);
  assert_int_equal(chmod(path, 0644), 0);
}

/* pl_shim_locate for DIR/python3: its result, and *why when refused. */
static int locate_in(const char *dir, struct pl_shim_refusal *why) {
  char argv0[PATH_MAX], found[PATH_MAX];
  struct pl_shim_entry e;
  snprintf(argv0, sizeof argv0, "%s/python3", dir);
  memset(why, 0, sizeof *why);
  int r = pl_shim_locate(argv0, "python3", found, sizeof found, &e, why);
  if (r == 0) {
    assert_string_equal(found, dir);
    assert_string_equal(e.real, "/usr/bin/python3");
  }
  return r;
}

static void remove_shim_dir(const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" PL_SHIM_MANIFEST, dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/real-manifest", dir);
  unlink(path);
  rmdir(dir);
}

static void
test_shim_locate_refuses_a_writable_linked_or_odd_manifest_and_runs_nothing(void **state) {
  char dir[64], path[PATH_MAX], real[PATH_MAX];
  struct pl_shim_refusal why;
  make_shim_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/" PL_SHIM_MANIFEST, dir);
  assert_int_equal(locate_in(dir, &why), 0);

  const mode_t writable[] = {0664, 0646, 0666, 0620};
  for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
    assert_int_equal(chmod(path, writable[i]), 0);
    assert_int_equal(locate_in(dir, &why), -1);
    assert_string_equal(why.path, path);
    assert_false(why.is_dir);
    assert_int_equal(why.errnum, 0);
    assert_int_equal(why.st.st_mode & 07777, writable[i]);
    assert_int_equal(why.st.st_uid, getuid());
  }
  assert_int_equal(chmod(path, 0644), 0);

  /* The manifest as a symbolic link to a good one: refused, never followed. */
  snprintf(real, sizeof real, "%s/real-manifest", dir);
  assert_int_equal(rename(path, real), 0);
  assert_int_equal(symlink("real-manifest", path), 0);
  assert_int_equal(locate_in(dir, &why), -1);
  assert_true(why.is_link);
  assert_string_equal(why.path, path);
  unlink(path);

  /* A FIFO in its place: refused at once, the open does not wait for a writer. */
  assert_int_equal(mkfifo(path, 0644), 0);
  assert_int_equal(locate_in(dir, &why), -1);
  assert_true(S_ISFIFO(why.st.st_mode));
  unlink(path);
  assert_int_equal(rename(real, path), 0);
  assert_int_equal(locate_in(dir, &why), 0);
  remove_shim_dir(dir);
}

static void test_shim_locate_refuses_a_manifest_in_a_directory_others_can_write(void **state) {
  char dir[64];
  struct pl_shim_refusal why;
  make_shim_dir(dir, sizeof dir);
  const mode_t modes[] = {0777, 01777, 0775, 0757};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    assert_int_equal(chmod(dir, modes[i]), 0);
    assert_int_equal(locate_in(dir, &why), -1);
    assert_true(why.is_dir);
    assert_string_equal(why.path, dir);
    assert_int_equal(why.st.st_mode & 07777, modes[i]);
  }
  /* No manifest there at all: nothing claims the link (pylock then looks on PATH). */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/" PL_SHIM_MANIFEST, dir);
  unlink(path);
  assert_int_equal(locate_in(dir, &why), 1);
  assert_int_equal(chmod(dir, 0700), 0);
  remove_shim_dir(dir);
}

static void test_shim_locate_refuses_another_users_manifest_or_directory(void **state) {
  if (geteuid() != 0) skip(); /* needs chown */
  char dir[64], path[PATH_MAX];
  struct pl_shim_refusal why;
  make_shim_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/" PL_SHIM_MANIFEST, dir);
  assert_int_equal(chown(path, 4242, 4242), 0);
  assert_int_equal(locate_in(dir, &why), -1);
  assert_false(why.is_dir);
  assert_int_equal(why.st.st_uid, 4242);
  assert_int_equal(chown(path, 0, 0), 0);
  assert_int_equal(chown(dir, 4242, 4242), 0);
  assert_int_equal(locate_in(dir, &why), -1);
  assert_true(why.is_dir);
  assert_int_equal(why.st.st_uid, 4242);
  remove_shim_dir(dir);
}

/* The shim reads at most 8 KiB of a manifest: a longer one, whose last line
 * the read cut to a prefix of its real path (/usr/bin/python3 of
 * /usr/bin/python3.12), and one whose lines after a NUL no check sees,
 * claim nothing. */
static void test_shim_locate_takes_only_a_manifest_it_reads_whole(void **state) {
  char dir[64], path[PATH_MAX];
  struct pl_shim_refusal why;
  make_shim_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/" PL_SHIM_MANIFEST, dir);
  const char *line = "python3\t/usr/bin/python3.12\n";
  size_t cut = strlen("python3\t/usr/bin/python3"), pad = 8192 - cut;
  char *text = malloc(pad + strlen(line) + 1);
  assert_non_null(text);
  text[0] = '#';
  memset(text + 1, 'x', pad - 2);
  text[pad - 1] = '\n';
  memcpy(text + pad, line, strlen(line) + 1);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  fclose(f);
  assert_int_equal(locate_in(dir, &why), 1);
  /* A manifest of exactly 8 KiB, ending in a whole line: taken. */
  text[pad - 2] = '\n';
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, pad - 1, f), pad - 1);
  fputs("python3\t/usr/bin/python3\n", f);
  fclose(f);
  assert_int_equal(locate_in(dir, &why), 0);
  free(text);

  static const char nul[] = "python3\t/usr/bin/python3\n\0pip\tnot a manifest line\n";
  f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(nul, 1, sizeof nul - 1, f), sizeof nul - 1);
  fclose(f);
  assert_int_equal(locate_in(dir, &why), 1);
  remove_shim_dir(dir);
}

static void test_program_safe_refuses_what_every_user_can_write(void **state) {
  char dir[] = "/tmp/pl-program-safe-XXXXXX", sub[PATH_MAX], prog[PATH_MAX], culprit[PATH_MAX];
  assert_non_null(mkdtemp(dir));
  snprintf(sub, sizeof sub, "%s/lib", dir);
  snprintf(prog, sizeof prog, "%s/lib/pylock", dir);
  assert_int_equal(mkdir(sub, 0755), 0);
  int fd = open(prog, O_WRONLY | O_CREAT | O_EXCL, 0755);
  assert_true(fd >= 0);
  close(fd);
  chmod(dir, 0755);
  /* Ours all the way down (/tmp: sticky), through ".." too. */
  assert_int_equal(pl_program_safe(prog, culprit, sizeof culprit), 0);
  snprintf(culprit, sizeof culprit, "%s/lib/../lib/pylock", dir);
  assert_int_equal(pl_program_safe(culprit, culprit, sizeof culprit), 0);
  /* A directory anyone can write, sticky or not: only sticky passes. */
  chmod(sub, 0777);
  errno = 0;
  assert_int_equal(pl_program_safe(prog, culprit, sizeof culprit), -1);
  assert_int_equal(errno, EPERM);
  assert_string_equal(culprit, sub);
  chmod(sub, 01777);
  assert_int_equal(pl_program_safe(prog, culprit, sizeof culprit), 0);
  chmod(sub, 0775); /* a group's write is accepted (/usr/local on Debian) */
  assert_int_equal(pl_program_safe(prog, culprit, sizeof culprit), 0);
  chmod(prog, 0757); /* the program itself */
  assert_int_equal(pl_program_safe(prog, culprit, sizeof culprit), -1);
  assert_string_equal(culprit, prog);
  /* Missing: resolving fails, with its own errno. */
  unlink(prog);
  assert_int_equal(pl_program_safe(prog, culprit, sizeof culprit), -1);
  assert_int_equal(errno, ENOENT);
  rmdir(sub);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shim_names_are_exactly_pythons_and_pips),
      cmocka_unit_test(test_shim_manifest_round_trips),
      cmocka_unit_test(test_shim_manifest_rejects_what_it_did_not_write),
      cmocka_unit_test(test_shim_manifest_find_checks_every_line),
      cmocka_unit_test(test_program_paths_follow_the_installed_layout_whatever_the_environment),
      cmocka_unit_test(test_shim_is_pylock_knows_this_binary_through_links_and_nothing_else),
      cmocka_unit_test(test_shim_manifest_trusted_only_from_the_caller_or_root_and_nobody_else),
      cmocka_unit_test(test_shim_locate_refuses_a_writable_linked_or_odd_manifest_and_runs_nothing),
      cmocka_unit_test(test_shim_locate_refuses_a_manifest_in_a_directory_others_can_write),
      cmocka_unit_test(test_shim_locate_refuses_another_users_manifest_or_directory),
      cmocka_unit_test(test_shim_locate_takes_only_a_manifest_it_reads_whole),
      cmocka_unit_test(test_program_safe_refuses_what_every_user_can_write),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
