/* Unit tests: lib/state.c and the project state of lib/project.c — where
 * pylock keeps what it trusts, and who must own it.
 * SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "config.h"
#include "file.h"
#include "project.h"
#include "state.h"

#define NOBODY 65534

struct fx {
  char dir[64], state[200];
  pl_error_t err;
};

static int setup(void **state) {
  struct fx *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pl-test-state-XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  chmod(f->dir, 0755);
  snprintf(f->state, sizeof f->state, "%s/state", f->dir);
  setenv("PYLOCK_STATE_DIR", f->state, 1);
  char cfg[128];
  snprintf(cfg, sizeof cfg, "%s/cfg", f->dir);
  setenv("XDG_CONFIG_HOME", cfg, 1);
  setenv("PYLOCK_SYSCONFDIR", cfg, 1);
  pl_config_reset();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fx *f = *state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", f->dir, f->dir);
  assert_int_equal(system(cmd), 0);
  pl_error_free(&f->err);
  unsetenv("PYLOCK_STATE_DIR");
  free(f);
  return 0;
}

static void test_state_root_is_created_private(void **state) {
  struct fx *f = *state;
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  struct stat st;
  assert_int_equal(fstat(s.fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0700);
  assert_int_equal(st.st_uid, getuid());
  assert_string_equal(s.path, f->state);
  pl_state_close(&s);
}

static void test_state_root_writable_by_others_is_refused(void **state) {
  struct fx *f = *state;
  assert_int_equal(mkdir(f->state, 0777), 0);
  assert_int_equal(chmod(f->state, 0777), 0);
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "mode 0777"));
  assert_non_null(strstr(f->err->hint, "PYLOCK_STATE_DIR"));
  pl_state_close(&s);
}

static void test_state_root_of_another_user_is_refused(void **state) {
  struct fx *f = *state;
  if (getuid() != 0) skip(); /* needs to make a directory someone else's */
  assert_int_equal(mkdir(f->state, 0700), 0);
  assert_int_equal(chown(f->state, NOBODY, NOBODY), 0);
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "owned by uid 65534"));
  pl_state_close(&s);
}

static void test_state_root_below_a_directory_others_can_write_is_refused(void **state) {
  struct fx *f = *state;
  char mid[160];
  snprintf(mid, sizeof mid, "%s/shared", f->dir);
  assert_int_equal(mkdir(mid, 0777), 0);
  assert_int_equal(chmod(mid, 0777), 0); /* not sticky: others can rename our entry away */
  snprintf(f->state, sizeof f->state, "%s/shared/state", f->dir);
  setenv("PYLOCK_STATE_DIR", f->state, 1);
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "another user could replace"));
  pl_state_close(&s);
  pl_error_free(&f->err);
  /* Refused before anything was made there: not even the state directory,
   * nor the missing directories of a deeper path. */
  struct stat st;
  assert_int_equal(stat(f->state, &st), -1);
  snprintf(f->state, sizeof f->state, "%s/shared/a/b/state", f->dir);
  setenv("PYLOCK_STATE_DIR", f->state, 1);
  assert_int_equal(pl_state_open(&s, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "another user could replace"));
  pl_state_close(&s);
  pl_error_free(&f->err);
  char made[200];
  snprintf(made, sizeof made, "%s/shared/a", f->dir);
  assert_int_equal(stat(made, &st), -1);
  /* Sticky, as /tmp is: fine. */
  assert_int_equal(chmod(mid, 01777), 0);
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  pl_state_close(&s);
}

static void test_state_subdir_of_another_owner_is_refused(void **state) {
  struct fx *f = *state;
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  int fd = pl_state_subdir(&s, "cache", true, &f->err);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(fchmodat(s.fd, "cache", 0770, 0), 0);
  assert_int_equal(pl_state_subdir(&s, "cache", true, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "mode 0770"));
  pl_state_close(&s);
}

static void test_state_registry_path_is_per_url(void **state) {
  struct fx *f = *state;
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  cleanup_free char *a = NULL, *b = NULL;
  assert_int_equal(pl_state_registry_path(&s, "https://a.example/reg", &a, &f->err), 0);
  assert_int_equal(pl_state_registry_path(&s, "https://b.example/reg", &b, &f->err), 0);
  char want[256];
  snprintf(want, sizeof want, "%s/registries/", f->state);
  assert_int_equal(strncmp(a, want, strlen(want)), 0);
  assert_int_equal(strlen(a), strlen(want) + 32);
  assert_string_not_equal(a, b);
  struct stat st;
  assert_int_equal(stat(a, &st), 0);
  pl_state_close(&s);
}

static void test_project_id_is_readable_and_per_path(void **state) {
  char a[PL_PROJECT_ID_MAX], b[PL_PROJECT_ID_MAX], c[PL_PROJECT_ID_MAX];
  pl_project_id("/home/u/my app", a);
  pl_project_id("/home/v/my app", b);
  pl_project_id("/", c);
  assert_int_equal(strncmp(a, "my_app-", 7), 0);
  assert_int_equal(strlen(a), 7 + 16);
  assert_string_not_equal(a, b);
  assert_int_equal(strncmp(c, "root-", 5), 0);
}

static void test_project_state_is_created_with_its_path_and_checked(void **state) {
  struct fx *f = *state;
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  assert_int_equal(pl_project_state_open(&s, "/p/one", false, NULL, &f->err), -1);
  assert_int_equal(f->err->errnum, ENOENT);
  assert_non_null(strstr(f->err->hint, "pylock sync"));
  pl_error_free(&f->err);
  cleanup_free char *path = NULL;
  int fd = pl_project_state_open(&s, "/p/one", true, &path, &f->err);
  assert_true(fd >= 0);
  cleanup_free char *text = NULL;
  assert_int_equal(pl_read_file_at(fd, PL_PROJECT_PATH_FILE, 4096, &text, NULL, &f->err), 0);
  assert_string_equal(text, "/p/one\n");
  /* Its `path` rewritten for another project: the state is not that project's. */
  assert_int_equal(pl_write_file_atomic_at(fd, PL_PROJECT_PATH_FILE, "/p/two\n", 7, 0600, &f->err),
                   0);
  close(fd);
  assert_int_equal(pl_project_state_open(&s, "/p/one", false, NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "belongs to another project"));
  pl_state_close(&s);
}

static void test_project_state_names_the_old_layout(void **state) {
  struct fx *f = *state;
  char proj[160], old[200];
  snprintf(proj, sizeof proj, "%s/proj", f->dir);
  snprintf(old, sizeof old, "%s/.pylock", proj);
  assert_int_equal(mkdir(proj, 0755), 0);
  assert_int_equal(mkdir(old, 0755), 0);
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  assert_int_equal(pl_project_state_open(&s, proj, false, NULL, &f->err), -1);
  assert_non_null(strstr(f->err->msg, "old layout"));
  assert_non_null(strstr(f->err->hint, "pylock sync"));
  pl_state_close(&s);
}

/* A directory made for use is locked before it has its name: nobody can
 * lock it first (code in a sandbox watching the parent), and its stage can
 * be neither listed nor watched. */
static void test_a_new_directory_is_locked_before_it_is_seen(void **state) {
  struct fx *f = *state;
  cleanup_close int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
  cleanup_close int a = pl_dir_make_locked_at(dfd, "a", 0700, &f->err);
  assert_true(a >= 0);
  struct stat st;
  assert_int_equal(fstatat(dfd, "a", &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0700);
  /* Held: another locker (a sweeper) cannot take it. */
  cleanup_close int other = openat(dfd, "a", O_RDONLY | O_DIRECTORY);
  assert_int_equal(flock(other, LOCK_EX | LOCK_NB), -1);
  /* Its stage is gone once it is named; a killed maker's is swept when old. */
  DIR *d = opendir(f->dir);
  assert_non_null(d);
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += strncmp(e->d_name, PL_DIR_STAGE_PREFIX, strlen(PL_DIR_STAGE_PREFIX)) == 0;
  closedir(d);
  assert_int_equal(n, 0);
  assert_int_equal(mkdirat(dfd, PL_DIR_STAGE_PREFIX "0123456789abcdef", 0300), 0);
  assert_int_equal(mkdirat(dfd, PL_DIR_STAGE_PREFIX "0123456789abcdef/x", 0700), 0);
  assert_true(pl_dir_sweep_stage(dfd, PL_DIR_STAGE_PREFIX "0123456789abcdef", 60));
  assert_int_equal(fstatat(dfd, PL_DIR_STAGE_PREFIX "0123456789abcdef", &st, 0), 0); /* young */
  assert_true(pl_dir_sweep_stage(dfd, PL_DIR_STAGE_PREFIX "0123456789abcdef", 0));
  assert_int_equal(fstatat(dfd, PL_DIR_STAGE_PREFIX "0123456789abcdef", &st, 0), -1);
  assert_false(pl_dir_sweep_stage(dfd, "a", 0));
  assert_int_equal(fstatat(dfd, "a", &st, 0), 0);
  /* A name that exists is never replaced, and no stage is left. */
  assert_int_equal(pl_dir_make_locked_at(dfd, "a", 0700, &f->err), -1);
  assert_int_equal(f->err->errnum, EEXIST);
  pl_error_free(&f->err);
  d = opendir(f->dir);
  n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  assert_int_equal(n, 1);
}

/* The sweep removes a scratch directory whose maker is gone, never one its
 * maker still holds. */
static void test_sweep_takes_only_scratch_whose_maker_is_gone(void **state) {
  struct fx *f = *state;
  struct pl_state s;
  assert_int_equal(pl_state_open(&s, &f->err), 0);
  cleanup_free char *live = NULL, *dead = NULL;
  int live_fd = -1, dead_fd = -1;
  assert_int_equal(pl_state_scratch(&s, "lock", &live, &live_fd, &f->err), 0);
  assert_int_equal(pl_state_scratch(&s, "lock", &dead, &dead_fd, &f->err), 0);
  close(dead_fd);
  pl_state_sweep_scratch(&s);
  struct stat st;
  assert_int_equal(stat(live, &st), 0);
  assert_int_equal(stat(dead, &st), -1);
  close(live_fd);
  pl_state_close(&s);
}

/* As an ordinary user (root reads everything): a tree holding a directory
 * of mode 000, with a file in it, is removed whole. */
static void test_a_tree_with_an_unreadable_directory_is_removed(void **state) {
  struct fx *f = *state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (getuid() == 0 &&
        (chown(f->dir, NOBODY, NOBODY) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0))
      _exit(2);
    char p[256];
    snprintf(p, sizeof p, "%s/t/locked/deep", f->dir);
    pl_error_t err = NULL;
    if (pl_mkdir_p(p, 0755, &err) < 0) _exit(3);
    snprintf(p, sizeof p, "%s/t/locked/deep/file", f->dir);
    int fd = open(p, O_WRONLY | O_CREAT, 0);
    if (fd < 0) _exit(4);
    close(fd);
    snprintf(p, sizeof p, "%s/t/locked/deep", f->dir);
    if (chmod(p, 0) < 0) _exit(5);
    snprintf(p, sizeof p, "%s/t/locked", f->dir);
    if (chmod(p, 0) < 0) _exit(5);
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY);
    if (pl_remove_tree_at(dfd, "t", &err) < 0) _exit(6);
    struct stat st;
    snprintf(p, sizeof p, "%s/t", f->dir);
    _exit(lstat(p, &st) == 0 ? 7 : 0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* The ancestors are judged as they are in the path, never through a link
 * (a realpath has none: one there was swapped in since). */
static void test_an_ancestor_that_is_a_symbolic_link_is_refused(void **state) {
  struct fx *f = *state;
  char real[128], link[128], below[160];
  snprintf(real, sizeof real, "%s/real", f->dir);
  snprintf(link, sizeof link, "%s/link", f->dir);
  snprintf(below, sizeof below, "%s/state", link);
  assert_int_equal(mkdir(real, 0755), 0);
  assert_int_equal(symlink(real, link), 0);
  assert_int_equal(pl_path_check_ancestors(below, "test", &f->err), -1);
  assert_int_equal(f->err->errnum, PL_REFUSED);
  snprintf(below, sizeof below, "%s/state", real);
  assert_int_equal(pl_path_check_ancestors(below, "test", &f->err), 0);
}

/* pl_dirents reads what readdir reads, over several getdents64 calls (more
 * names than its buffer holds), without "." and "..", with each type. */
static void test_dirents_read_every_entry_readdir_reads(void **state) {
  struct fx *f = *state;
  char d[128];
  snprintf(d, sizeof d, "%s/many", f->dir);
  assert_int_equal(mkdir(d, 0755), 0);
  int dfd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(dfd >= 0);
  enum { N = 600 }; /* 600 names of ~40 bytes: about three buffers */
  for (int i = 0; i < N; i++) {
    char name[64];
    snprintf(name, sizeof name, "entry-number-%04d-with-a-long-enough-name", i);
    if (i % 100 == 0)
      assert_int_equal(mkdirat(dfd, name, 0755), 0);
    else
      close(openat(dfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  }
  static char seen[N];
  memset(seen, 0, sizeof seen);
  struct pl_dirents *rd = malloc(sizeof *rd);
  pl_dirents_init(rd, dfd);
  const char *name;
  unsigned type;
  int n = 0, r;
  while ((r = pl_dirents_next(rd, &name, &type)) > 0) {
    int i;
    assert_int_equal(sscanf(name, "entry-number-%04d-", &i), 1);
    assert_true(i >= 0 && i < N && !seen[i]);
    seen[i] = 1;
    assert_int_equal(type, i % 100 == 0 ? DT_DIR : DT_REG);
    n++;
  }
  assert_int_equal(r, 0);
  assert_int_equal(n, N);
  /* The same count as readdir's, "." and ".." aside. */
  DIR *dir = opendir(d);
  int m = 0;
  for (struct dirent *e; (e = readdir(dir)) != NULL;)
    m += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(dir);
  assert_int_equal(m, N);
  /* Not a directory: an error, not an end. */
  int file = openat(dfd, "entry-number-0001-with-a-long-enough-name", O_RDONLY | O_CLOEXEC);
  pl_dirents_init(rd, file);
  errno = 0;
  assert_int_equal(pl_dirents_next(rd, &name, &type), -1);
  assert_int_equal(errno, ENOTDIR);
  close(file);
  free(rd);
  close(dfd);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_state_root_is_created_private),
      T(test_state_root_writable_by_others_is_refused),
      T(test_state_root_of_another_user_is_refused),
      T(test_state_root_below_a_directory_others_can_write_is_refused),
      T(test_state_subdir_of_another_owner_is_refused),
      T(test_state_registry_path_is_per_url),
      T(test_project_id_is_readable_and_per_path),
      T(test_project_state_is_created_with_its_path_and_checked),
      T(test_project_state_names_the_old_layout),
      T(test_a_new_directory_is_locked_before_it_is_seen),
      T(test_sweep_takes_only_scratch_whose_maker_is_gone),
      T(test_a_tree_with_an_unreadable_directory_is_removed),
      T(test_an_ancestor_that_is_a_symbolic_link_is_refused),
      T(test_dirents_read_every_entry_readdir_reads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
