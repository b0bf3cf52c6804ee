/* Unit tests: lib/generations.c — numbering, switching and rollback history,
 * removal, the change lock and the compile lock, in-use detection through
 * mountinfo.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "cleanup.h"
#include "file.h"
#include "generations.h"
#include "interp.h"
#include "project.h"
#include "sandbox.h"

struct fixture {
  char dir[64];
  int state_fd;
};

static int setup(void **state) {
  struct fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/pylock-gen-XXXXXX");
  if (mkdtemp(f->dir) == NULL) return -1;
  f->state_fd = open(f->dir, O_RDONLY | O_DIRECTORY);
  pl_error_t err = NULL;
  if (pl_mkdir_p_at(f->state_fd, "generations/1/lib", 0755, &err) < 0) return -1;
  if (pl_mkdir_p_at(f->state_fd, "generations/2", 0755, &err) < 0) return -1;
  if (pl_gen_switch(f->state_fd, 1, &err) < 0) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  struct fixture *f = *state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", f->dir, f->dir);
  if (system(cmd) != 0) return -1;
  close(f->state_fd);
  free(f);
  return 0;
}

static void test_gen_switch_records_previous_for_rollback(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  unsigned cur, prev;
  assert_int_equal(pl_gen_previous(f->state_fd, &prev, &err), 0);
  assert_int_equal(prev, 0); /* a first generation has nothing before it */
  assert_int_equal(pl_gen_switch(f->state_fd, 2, &err), 0);
  assert_int_equal(pl_gen_current(f->state_fd, &cur, &err), 0);
  assert_int_equal(pl_gen_previous(f->state_fd, &prev, &err), 0);
  assert_int_equal(cur, 2);
  assert_int_equal(prev, 1);
  /* rollback is a switch to previous: the two trade places */
  assert_int_equal(pl_gen_switch(f->state_fd, prev, &err), 0);
  pl_gen_current(f->state_fd, &cur, &err);
  pl_gen_previous(f->state_fd, &prev, &err);
  assert_int_equal(cur, 1);
  assert_int_equal(prev, 2);
}

/* A generation completed after the switch (its byte-code) replaces the one
 * it completes: that one does not become what rollback returns to. */
static void test_gen_replace_keeps_previous(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  unsigned cur, prev;
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/3", 0755, &err), 0);
  assert_int_equal(pl_gen_switch(f->state_fd, 2, &err), 0);
  assert_int_equal(pl_gen_replace(f->state_fd, 3, &err), 0);
  assert_int_equal(pl_gen_current(f->state_fd, &cur, &err), 0);
  assert_int_equal(pl_gen_previous(f->state_fd, &prev, &err), 0);
  assert_int_equal(cur, 3);
  assert_int_equal(prev, 1);
}

static void test_gen_next_counts_partial_generations(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  unsigned n;
  assert_int_equal(pl_gen_next(f->state_fd, &n, &err), 0);
  assert_int_equal(n, 3);
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/.7.tmp", 0755, &err), 0);
  assert_int_equal(pl_gen_next(f->state_fd, &n, &err), 0);
  assert_int_equal(n, 8); /* never reuse a number a crashed change took */
  unsigned *list = NULL;
  size_t count = 0;
  assert_int_equal(pl_gen_list(f->state_fd, &list, &count, &err), 0);
  assert_int_equal(count, 2); /* partials are not generations */
  assert_int_equal(list[0], 1);
  assert_int_equal(list[1], 2);
  free(list);
  assert_int_equal(symlinkat("generations/2", f->state_fd, ".current.tmp.4242"), 0);
  /* A manifest written, not yet renamed, when its writer died; and names
   * that only look alike, which stay. */
  static const char *const left[] = {"generations/.7.manifest.tmp0123456789abcdef",
                                     "generations/.2.meta.tmpfedcba9876543210"};
  static const char *const kept[] = {"generations/.7.manifest.tmp0123456789abcdeg",
                                     "generations/7.manifest.tmp0123456789abcdef",
                                     "generations/.keep"};
  for (size_t i = 0; i < 2; i++)
    close(openat(f->state_fd, left[i], O_CREAT | O_WRONLY, 0400));
  for (size_t i = 0; i < 3; i++)
    close(openat(f->state_fd, kept[i], O_CREAT | O_WRONLY, 0400));
  assert_int_equal(pl_gen_remove_partials(f->state_fd, &err), 0);
  assert_int_equal(faccessat(f->state_fd, "generations/.7.tmp", F_OK, 0), -1);
  assert_int_equal(faccessat(f->state_fd, ".current.tmp.4242", F_OK, AT_SYMLINK_NOFOLLOW), -1);
  for (size_t i = 0; i < 2; i++)
    assert_int_equal(faccessat(f->state_fd, left[i], F_OK, 0), -1);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(faccessat(f->state_fd, kept[i], F_OK, 0), 0);
    assert_int_equal(unlinkat(f->state_fd, kept[i], 0), 0);
  }
}

static void test_gen_current_rejects_a_link_outside_generations(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  unlinkat(f->state_fd, PL_CURRENT_LINK, 0);
  assert_int_equal(symlinkat("/etc", f->state_fd, PL_CURRENT_LINK), 0);
  unsigned cur;
  assert_int_equal(pl_gen_current(f->state_fd, &cur, &err), -1);
  assert_non_null(strstr(err->msg, "not to a generation"));
  pl_error_free(&err);
}

static void test_gen_remove_refuses_current_and_previous_and_removes_read_only_trees(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  assert_int_equal(pl_gen_switch(f->state_fd, 2, &err), 0);
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/3/lib/site", 0755, &err), 0);
  int fd = openat(f->state_fd, "generations/3/lib/site/m.py", O_CREAT | O_WRONLY, 0444);
  close(fd);
  assert_int_equal(fchmodat(f->state_fd, "generations/3/lib/site", 0555, 0), 0);
  assert_int_equal(fchmodat(f->state_fd, "generations/3/lib", 0555, 0), 0);
  assert_int_equal(pl_gen_remove(f->state_fd, "2", &err), -1);
  assert_int_equal(err->errnum, EBUSY);
  pl_error_free(&err);
  assert_int_equal(pl_gen_remove(f->state_fd, "1", &err), -1);
  pl_error_free(&err);
  assert_int_equal(pl_gen_remove(f->state_fd, "3", &err), 0);
  assert_int_equal(faccessat(f->state_fd, "generations/3", F_OK, 0), -1);
}

static void note_waiting(pid_t holder, void *ctx) {
  *(pid_t *)ctx = holder;
}

static void test_gen_lock_serializes_and_names_the_holder(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  int lock = pl_gen_lock(f->state_fd, NULL, NULL, &err);
  assert_true(lock >= 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t child = fork();
  if (child == 0) {
    close(lock); /* flock belongs to the open file: the child must not share it */
    pid_t seen = -1;
    int fd = pl_gen_lock(f->state_fd, note_waiting, &seen, NULL);
    /* report who we waited for, then that we got it */
    if (write(p[1], &seen, sizeof seen) != sizeof seen) _exit(2);
    _exit(fd >= 0 ? 0 : 1);
  }
  usleep(200 * 1000);
  pid_t seen = 0;
  /* the child must still be waiting: nothing written yet */
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  assert_int_equal(read(p[0], &seen, sizeof seen), -1);
  close(lock); /* release */
  fcntl(p[0], F_SETFL, 0);
  assert_int_equal(read(p[0], &seen, sizeof seen), sizeof seen);
  assert_int_equal(seen, getpid());
  int status;
  waitpid(child, &status, 0);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Is base/generations/1 seen in use exactly while an overlay names it? */
static void check_in_use(const char *base) {
  char layer[PATH_MAX], lower[PATH_MAX];
  snprintf(layer, sizeof layer, "%s/generations/1", base);
  snprintf(lower, sizeof lower, "%s/generations/2", base);
  assert_false(pl_gen_in_use(layer));
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion leaves no child behind */
    pl_error_t e = NULL;
    char ok = pl_sandbox_unshare(0, getuid(), getgid(), &e) == 0 &&
              pl_sandbox_mount_overlay(layer, lower, &e) == 0;
    if (write(p[1], &ok, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  char ok = 0;
  assert_int_equal(read(p[0], &ok, 1), 1);
  close(p[0]);
  close(p[1]);
  if (!ok) {
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    skip(); /* no user namespaces here: doctor's business, not this test's */
  }
  assert_true(pl_gen_in_use(layer));
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  assert_false(pl_gen_in_use(layer));
}

static void test_gen_in_use_sees_a_live_overlay_of_the_layer(void **state) {
  struct fixture *f = *state;
  check_in_use(f->dir);
}

/* mountinfo shows ',', ' ', tab, newline and '\\' escaped: a state root
 * with them in its path still has its running generations found. */
static void test_gen_in_use_sees_a_layer_whose_path_the_kernel_escapes(void **state) {
  struct fixture *f = *state;
  char base[PATH_MAX];
  pl_error_t err = NULL;
  snprintf(base, sizeof base, "%s/st a,te\\x\ty", f->dir);
  assert_int_equal(pl_mkdir_p(base, 0755, &err), 0);
  cleanup_close int fd = open(base, O_RDONLY | O_DIRECTORY);
  assert_int_equal(pl_mkdir_p_at(fd, "generations/1/lib", 0755, &err), 0);
  assert_int_equal(pl_mkdir_p_at(fd, "generations/2", 0755, &err), 0);
  check_in_use(base);
}

/* Code in a sandbox sees the state root read-only, and flock() needs no
 * write access: the lock is a file it cannot open at all, and a lock held
 * on an older pylock's `lock` stalls nothing. */
static void test_gen_lock_is_write_only_and_ignores_the_old_lock_file(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  int old = openat(f->state_fd, PL_CHANGE_LOCK_OLD, O_RDONLY | O_CREAT, 0644);
  assert_true(old >= 0);
  assert_int_equal(flock(old, LOCK_EX | LOCK_NB), 0);
  pid_t seen = -1;
  int fd = pl_gen_lock(f->state_fd, note_waiting, &seen, &err);
  assert_true(fd >= 0);
  assert_int_equal(seen, -1); /* never waited */
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0200);
  assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
  assert_int_equal(faccessat(f->state_fd, PL_CHANGE_LOCK_OLD, F_OK, 0), -1);
  assert_int_equal(pl_gen_lock_try(f->state_fd), -1); /* held: another description fails */
  close(fd);
  close(old);
  /* A mode someone loosened is put back. */
  assert_int_equal(fchmodat(f->state_fd, PL_CHANGE_LOCK, 0644, 0), 0);
  fd = pl_gen_lock_try(f->state_fd);
  assert_true(fd >= 0);
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0200);
  close(fd);
}

/* The compile lock: absent, nobody compiles; held, the holder is named,
 * another description cannot take it; released, nobody compiles again. */
static void test_gen_compiling_sees_the_compile_lock_and_its_holder(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  pid_t holder = -1;
  assert_false(pl_gen_compiling(f->state_fd, &holder));
  assert_int_equal(holder, 0);
  assert_int_equal(faccessat(f->state_fd, PL_COMPILE_LOCK, F_OK, 0), -1); /* asking made none */
  int fd = pl_gen_compile_lock(f->state_fd, &err);
  assert_true(fd >= 0);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0200);
  assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
  assert_true(pl_gen_compiling(f->state_fd, &holder));
  assert_int_equal(holder, getpid());
  /* Held by another process: seen, with its pid, while it lives; killed, nobody. */
  close(fd);
  assert_false(pl_gen_compiling(f->state_fd, &holder));
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t child = fork();
  if (child == 0) {
    int c = pl_gen_compile_lock(f->state_fd, NULL);
    char ok = c >= 0 ? 'y' : 'n';
    if (write(p[1], &ok, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  char ok = 0;
  assert_int_equal(read(p[0], &ok, 1), 1);
  assert_int_equal(ok, 'y');
  assert_true(pl_gen_compiling(f->state_fd, &holder));
  assert_int_equal(holder, child);
  kill(child, SIGKILL);
  int status;
  waitpid(child, &status, 0);
  assert_false(pl_gen_compiling(f->state_fd, &holder)); /* a killed compile: nobody */
  close(p[0]);
  close(p[1]);
}

/* Both locks inherited through fork are taken over by the child: named as
 * its own once the parent is gone, never free between (a probe from another
 * description fails throughout), and never a second holder. */
static void test_gen_lock_adopt_names_the_child_and_is_never_free(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  int change = pl_gen_lock(f->state_fd, NULL, NULL, &err);
  int compile = pl_gen_compile_lock(f->state_fd, &err);
  assert_true(change >= 0 && compile >= 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t child = fork();
  if (child == 0) {
    char ok = 'y';
    for (int i = 0; i < 200; i++) { /* adopting again and again, probed meanwhile */
      if (pl_gen_lock_adopt(change, NULL) < 0 || pl_gen_lock_adopt(compile, NULL) < 0) ok = 'n';
    }
    if (write(p[1], &ok, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  close(change);
  close(compile);
  bool taken = false;
  char ok = 0;
  for (int i = 0; i < 2000 && !taken; i++) { /* while the child converts */
    int t = pl_gen_lock_try(f->state_fd);
    if (t >= 0) {
      taken = true;
      close(t);
    }
  }
  assert_int_equal(read(p[0], &ok, 1), 1);
  assert_int_equal(ok, 'y');
  assert_false(taken);
  assert_int_equal(pl_gen_lock_try(f->state_fd), -1);
  pid_t holder = 0;
  assert_true(pl_gen_compiling(f->state_fd, &holder));
  assert_int_equal(holder, child);
  kill(child, SIGKILL);
  int status;
  waitpid(child, &status, 0);
  assert_false(pl_gen_compiling(f->state_fd, &holder));
  close(p[0]);
  close(p[1]);
}

/* A compile lock that is not a file of this user's, or a link, is never
 * taken nor believed. */
static void test_gen_compile_lock_refuses_a_link(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  assert_int_equal(symlinkat("/etc/passwd", f->state_fd, PL_COMPILE_LOCK), 0);
  assert_int_equal(pl_gen_compile_lock(f->state_fd, &err), -1);
  assert_non_null(err);
  pl_error_free(&err);
  pid_t holder = -1;
  assert_false(pl_gen_compiling(f->state_fd, &holder));
}

/* A generation's folds must read <trees>/<key>/<lib>/<name>: one that leads
 * anywhere else (where a moved or copied state was) is named; directories
 * and files at the top of a lib are no folds, nor a lib the generation lacks. */
static void test_gen_check_folds_names_a_fold_leading_elsewhere(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  const char *lib = "lib/site", *libs[2] = {lib, "lib64/none"};
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/1/lib/site/pkg", 0755, &err), 0);
  cleanup_close int g = openat(f->state_fd, "generations/1", O_RDONLY | O_DIRECTORY);
  cleanup_close int l = openat(f->state_fd, "generations/1/lib/site", O_RDONLY | O_DIRECTORY);
  assert_true(g >= 0 && l >= 0);
  close(openat(l, "mod.py", O_WRONLY | O_CREAT | O_EXCL, 0444));
  assert_int_equal(symlinkat("/st/cache/trees/k1/lib/site/a", l, "a"), 0);
  assert_int_equal(pl_gen_check_folds(g, libs, "/st/cache/trees", NULL, NULL, &err), 0);
  char target[PATH_MAX];
  const char *key;
  size_t kl;
  assert_int_equal(pl_gen_fold_read(l, lib, "a", "/st/cache/trees", target, &key, &kl), 0);
  assert_int_equal(kl, 2);
  assert_memory_equal(key, "k1", 2);
  /* The same state, moved: every fold leads to its old place. */
  assert_int_equal(pl_gen_check_folds(g, libs, "/moved/cache/trees", NULL, NULL, &err), -1);
  assert_non_null(strstr(err->msg, "lib/site/a leads to /st/cache/trees/k1/lib/site/a"));
  pl_error_free(&err);
  /* Into the cache, but not as pylock makes a fold. */
  static const char *const odd[] = {"/st/cache/trees/k1/lib/site/other", "/st/cache/trees/../x",
                                    "/st/cache/trees/.tmp-1/lib/site/b", "/st/cache/treesx/k/b",
                                    "k1/lib/site/b"};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    assert_int_equal(symlinkat(odd[i], l, "b"), 0);
    assert_int_equal(pl_gen_check_folds(g, libs, "/st/cache/trees", NULL, NULL, &err), -1);
    assert_non_null(strstr(err->msg, "lib/site/b leads to "));
    pl_error_free(&err);
    errno = 0;
    assert_int_equal(pl_gen_fold_read(l, lib, "b", "/st/cache/trees", target, &key, &kl), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(unlinkat(l, "b", 0), 0);
  }
}

/* The stamp a keep-alive holder's digest holds (launch.c): the same while
 * the lib directories are as they were, another once an entry at their top
 * is made, replaced or removed, or the generation is replaced under its
 * name; 0 for a generation that is not there. */
static void test_gen_folds_stamp_changes_with_the_top_of_the_libs(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  struct pl_interp in = {.prefix = "/p", .purelib = "/p/lib/site", .platlib = "/p/lib/plat"};
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/1/lib/site", 0755, &err), 0);
  cleanup_close int l = openat(f->state_fd, "generations/1/lib/site", O_RDONLY | O_DIRECTORY);
  assert_true(l >= 0);
  assert_int_equal(symlinkat("/st/cache/trees/k1/lib/site/a", l, "a"), 0);
  uint64_t s0 = pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in);
  assert_true(s0 != 0);
  assert_true(pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in) == s0);
  /* (A clock tick between changes: timestamps may be coarse.) */
  usleep(20000);
  assert_int_equal(unlinkat(l, "a", 0), 0);
  assert_int_equal(symlinkat("/elsewhere/cache/trees/k1/lib/site/a", l, "a"), 0);
  uint64_t s1 = pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in);
  assert_true(s1 != 0 && s1 != s0);
  usleep(20000);
  assert_int_equal(symlinkat("/st/cache/trees/k2/lib/site/b", l, "b"), 0);
  uint64_t s2 = pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in);
  assert_true(s2 != 0 && s2 != s1);
  /* The platlib, absent so far, made. */
  usleep(20000);
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/1/lib/plat", 0755, &err), 0);
  uint64_t s3 = pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in);
  assert_true(s3 != 0 && s3 != s2);
  /* Another directory under the same name, its entries alike. */
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/3/lib/site", 0755, &err), 0);
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "generations/3/lib/plat", 0755, &err), 0);
  assert_int_equal(renameat(f->state_fd, "generations/1", f->state_fd, "generations/old"), 0);
  assert_int_equal(renameat(f->state_fd, "generations/3", f->state_fd, "generations/1"), 0);
  uint64_t s4 = pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in);
  assert_true(s4 != 0 && s4 != s3);
  assert_true(pl_gen_folds_stamp(f->state_fd, "generations/9", f->dir, &in) == 0);
}

/* The cache, or its trees/, a directory at its path but a mount put there
 * (a bind of a directory in ~/.cache, say, where sandboxes write): refused
 * as a link there is.  The mount is made in a user and mount namespace. */
static void test_gen_check_folds_of_refuses_a_mounted_cache(void **state) {
  struct fixture *f = *state;
  pl_error_t err = NULL;
  struct pl_interp in = {.prefix = "/p", .purelib = "/p/lib/site", .platlib = "/p/lib/plat"};
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "cache/trees", 0700, &err), 0);
  assert_int_equal(pl_mkdir_p_at(f->state_fd, "elsewhere/trees", 0700, &err), 0);
  assert_int_equal(
      pl_gen_check_folds_of(f->state_fd, f->dir, "generations/1", f->dir, &in, NULL, NULL, &err),
      0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  pid_t child = fork();
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    char res[3] = {0, 0, 0}, src[128], at[128];
    pl_error_t e = NULL;
    const char *sub[2] = {"", "/trees"};
    if (pl_sandbox_unshare(0, getuid(), getgid(), &e) == 0) {
      res[0] = 1;
      for (int i = 0; i < 2; i++) {
        snprintf(src, sizeof src, "%s/elsewhere%s", f->dir, sub[i]);
        snprintf(at, sizeof at, "%s/cache%s", f->dir, sub[i]);
        uint64_t before = pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in);
        if (mount(src, at, NULL, MS_BIND, NULL) < 0) _exit(3);
        pl_error_t ce = NULL;
        res[1 + i] = pl_gen_check_folds_of(f->state_fd, f->dir, "generations/1", f->dir, &in, NULL,
                                           NULL, &ce) < 0 &&
                     strstr(ce->msg, "is a mount point") != NULL &&
                     pl_gen_folds_stamp(f->state_fd, "generations/1", f->dir, &in) != before;
        pl_error_free(&ce);
        if (umount2(at, MNT_DETACH) < 0) _exit(4);
      }
    }
    pl_error_free(&e);
    _exit(write(p[1], res, 3) == 3 ? 0 : 2);
  }
  close(p[1]);
  char res[3] = {0, 0, 0};
  ssize_t got = read(p[0], res, 3);
  close(p[0]);
  int status = 0;
  waitpid(child, &status, 0);
  assert_int_equal(got, 3);
  if (!res[0]) skip(); /* no user namespaces here */
  assert_true(res[1]); /* cache a mount point */
  assert_true(res[2]); /* trees/ a mount point */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_gen_switch_records_previous_for_rollback, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gen_replace_keeps_previous, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_next_counts_partial_generations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_current_rejects_a_link_outside_generations, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(
          test_gen_remove_refuses_current_and_previous_and_removes_read_only_trees, setup,
          teardown),
      cmocka_unit_test_setup_teardown(test_gen_lock_serializes_and_names_the_holder, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gen_in_use_sees_a_live_overlay_of_the_layer, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gen_in_use_sees_a_layer_whose_path_the_kernel_escapes,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_lock_is_write_only_and_ignores_the_old_lock_file,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_compiling_sees_the_compile_lock_and_its_holder,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_compile_lock_refuses_a_link, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gen_folds_stamp_changes_with_the_top_of_the_libs, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gen_check_folds_names_a_fold_leading_elsewhere, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gen_check_folds_of_refuses_a_mounted_cache, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_gen_lock_adopt_names_the_child_and_is_never_free, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
