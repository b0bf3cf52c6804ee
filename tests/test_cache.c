/* Unit tests: lib/cache.c, the linking half of lib/envgen.c, lib/verify.c —
 * trees appear whole or not at all, bad bytes never become a tree, linking
 * names conflicts, and verify names every damaged file.
 * SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "cache.h"
#include "cleanup.h"
#include "envgen.h"
#include "file.h"
#include "install.h"
#include "manifest.h"
#include "parallel.h"
#include "record.h"
#include "sha.h"
#include "verify.h"

#include "install_fixtures.h"

static char *tmp, *wheels;
static struct pl_interp in;

static int setup(void **state) {
  if (access(PY312, X_OK) != 0) return 0;
  tmp = fx_mkdtemp();
  assert_true(asprintf(&wheels, "%s/wheels", tmp) > 0);
  assert_int_equal(mkdir(wheels, 0755), 0);
  fx_make_wheels(wheels);
  /* Python 3.12 with an empty prefix of its own: /opt/python3.12 ships pip,
   * whose files a wheel may not shadow (install.c). */
  char prefix[512];
  snprintf(prefix, sizeof prefix, "%s/prefix", tmp);
  assert_int_equal(mkdir(prefix, 0755), 0);
  fx_interp(PY312, prefix, &in);
  return 0;
}

static int teardown(void **state) {
  if (tmp) fx_sh("chmod -R u+w %s; rm -rf %s", tmp, tmp);
  return 0;
}

static void need_python(void) {
  if (tmp == NULL) skip();
}

static void sha_of(const char *path, char hex[PL_SHA256_HEX]) {
  cleanup_free char *buf = NULL;
  size_t len;
  pl_error_t err = NULL;
  assert_int_equal(pl_read_file_at(AT_FDCWD, path, 64u << 20, &buf, &len, &err), 0);
  assert_int_equal(pl_sha256_hex(buf, len, hex, &err), 0);
}

/* The fixtures' six wheel: its path and sha256. */
static void six_wheel(char path[1024], char hex[PL_SHA256_HEX]) {
  snprintf(path, 1024, "%s/six-1.16.0-py3-none-any.whl", wheels);
  sha_of(path, hex);
}

static void open_cache(const char *name, struct pl_cache *c) {
  char dir[512];
  pl_error_t err = NULL;
  snprintf(dir, sizeof dir, "%s/%s", tmp, name);
  if (pl_cache_open(c, dir, &err) < 0) fail_msg("%s", pl_error_string(err));
}

/* Build (or find) the tree of wheels/<name> in c. */
static int tree_of(struct pl_cache *c, const char *name, struct pl_cache_tree *t, pl_error_t *err) {
  char path[1024], hex[PL_SHA256_HEX];
  snprintf(path, sizeof path, "%s/%s", wheels, name);
  sha_of(path, hex);
  cleanup_close int fd = open(path, O_RDONLY);
  assert_true(fd >= 0);
  return pl_cache_tree_get_or_build(c, hex, fd, name, &in, t, err);
}

/* The fixtures' trees of names[0..n) ("six-1.16.0"...: pure wheels) in c. */
static void trees_of(struct pl_cache *c, const char *const *names, int n, struct pl_cache_tree *t) {
  pl_error_t err = NULL;
  for (int i = 0; i < n; i++) {
    char fn[128];
    snprintf(fn, sizeof fn, "%s-py3-none-any.whl", names[i]);
    if (tree_of(c, fn, &t[i], &err) < 0) fail_msg("%s", pl_error_string(err));
  }
}

/* A generation `name` in tmp as pl_envgen_create_at makes it: its descriptor. */
static int create_gen(const char *name) {
  pl_error_t err = NULL;
  cleanup_close int root = open(tmp, O_RDONLY | O_DIRECTORY);
  assert_int_equal(pl_envgen_create_at(root, name, &in, &err), 0);
  int g = openat(root, name, O_RDONLY | O_DIRECTORY);
  assert_true(g >= 0);
  return g;
}

static int open_gen(const char *name) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/%s", tmp, name);
  assert_int_equal(mkdir(dir, 0755), 0);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  assert_true(fd >= 0);
  return fd;
}

/* Entries of trees/ whose name starts with `prefix`. */
static int count_entries(struct pl_cache *c, const char *prefix) {
  cleanup_dir DIR *d = fdopendir(openat(c->trees_fd, ".", O_RDONLY | O_DIRECTORY));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  return n;
}

/* A process of the user racing linking (tests below): linkat, as the
 * library calls it, first does `race` to the entry it is about to link. */
enum race { RACE_NONE, RACE_WRITE, RACE_SWAP, RACE_ADD, RACE_WRITE_NO_LINK };
static enum race race;
static const char *race_name;

/* Make the entry name of sealed directory dfd writable, or back. */
static void unseal(int dfd, const char *name, bool w) {
  assert_int_equal(fchmod(dfd, w ? 0755 : 0555), 0);
  if (name) assert_int_equal(fchmodat(dfd, name, w ? 0644 : 0444, 0), 0);
}

static void do_race(int dfd, const char *name) {
  if (race == RACE_WRITE || race == RACE_WRITE_NO_LINK) { /* a byte written in place */
    unseal(dfd, name, true);
    int fd = openat(dfd, name, O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "#", 1, 0), 1);
    close(fd);
    unseal(dfd, name, false);
  } else if (race == RACE_SWAP) { /* another file renamed over it, same bytes */
    unseal(dfd, NULL, true);
    cleanup_free char *buf = NULL;
    size_t len;
    pl_error_t err = NULL;
    assert_int_equal(pl_read_file_at(dfd, name, 1u << 20, &buf, &len, &err), 0);
    assert_int_equal(pl_write_file_atomic_at(dfd, name, buf, len, 0444, &err), 0);
    unseal(dfd, NULL, false);
  } else if (race == RACE_ADD) { /* a file added beside it */
    unseal(dfd, NULL, true);
    int fd = openat(dfd, "evil_startup.pth", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    assert_true(fd >= 0);
    close(fd);
    unseal(dfd, NULL, false);
  }
}

int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags) {
  if (race != RACE_NONE && race_name && strcmp(oldpath, race_name) == 0) {
    enum race r = race;
    do_race(olddirfd, oldpath);
    race = RACE_NONE;
    if (r == RACE_WRITE_NO_LINK) { /* another filesystem: linking copies */
      errno = EXDEV;
      return -1;
    }
  }
  return (int)syscall(SYS_linkat, olddirfd, oldpath, newdirfd, newpath, flags);
}

static void test_wheel_store_refuses_bytes_that_do_not_hash_to_the_name(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("store", &c);
  char path[1024], hex[PL_SHA256_HEX];
  six_wheel(path, hex);
  cleanup_close int fd = open(path, O_RDONLY);
  pl_error_t err = NULL;
  char wrong[PL_SHA256_HEX];
  memcpy(wrong, hex, sizeof wrong);
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  assert_int_equal(pl_cache_wheel_store(&c, fd, wrong, &err), -1);
  assert_non_null(strstr(err->msg, "expected"));
  pl_error_free(&err);
  assert_int_equal(pl_cache_wheel_store(&c, fd, hex, &err), 0);
  cleanup_free char *stored = NULL;
  assert_int_equal(pl_cache_wheel_path(&c, hex, &stored, &err), 0);
  struct stat st;
  assert_int_equal(stat(stored, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0444);
  pl_cache_close(&c);
}

/* Other syncs sweep the cache while this one stores wheels, and a sweep
 * takes a temporary file it can lock for a dead writer's: a writer's file
 * must be locked from the moment it has a name (pl_tmpfile_open_locked_at).
 * Locked just after it was created, a sweep in between removed it and the
 * store failed renaming it (gc.bats, ten syncs at once).  The store stops
 * as soon as its file has a name; another pylock's sweep then runs. */
static void test_a_stores_file_is_locked_from_its_first_moment_and_survives_sweeps(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("named", &c);
  char path[1024], hex[PL_SHA256_HEX];
  six_wheel(path, hex);
  pid_t writer = fork();
  if (writer == 0) {
    setenv("PYLOCK_PAUSE_AT", "wheel-store-named", 1);
    int fd = open(path, O_RDONLY);
    pl_error_t err = NULL;
    _exit(fd >= 0 && pl_cache_wheel_store(&c, fd, hex, &err) == 0 ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(writer, &status, WUNTRACED), writer);
  assert_true(WIFSTOPPED(status));
  /* Its file, under its name: locked, so another pylock's sweep keeps it. */
  char prefix[80], name[256] = "";
  snprintf(prefix, sizeof prefix, ".%s.whl.tmp", hex);
  DIR *d = fdopendir(dup(c.wheels_fd));
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      snprintf(name, sizeof name, "%s", e->d_name);
  if (d) closedir(d);
  assert_string_not_equal(name, "");
  int probe = openat(c.wheels_fd, name, O_WRONLY | O_CLOEXEC);
  assert_true(probe >= 0);
  assert_int_equal(flock(probe, LOCK_EX | LOCK_NB), -1);
  close(probe);
  pid_t sweeper = fork();
  if (sweeper == 0) {
    struct pl_cache other;
    open_cache("named", &other);
    pl_cache_sweep(&other);
    _exit(0);
  }
  assert_int_equal(waitpid(sweeper, &status, 0), sweeper);
  assert_int_equal(faccessat(c.wheels_fd, name, F_OK, AT_SYMLINK_NOFOLLOW), 0);
  kill(writer, SIGCONT);
  assert_int_equal(waitpid(writer, &status, 0), writer);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  pl_cache_close(&c);
}

/* A pylock killed while it stored a wheel leaves ".SHA256.whl.tmpHEX",
 * mode 0200: the next sweep removes it.  A live writer's (locked) stays, as
 * do names that are not pylock's. */
static void test_sweep_removes_a_killed_stores_file_and_keeps_a_live_ones(void **state) {
  struct pl_cache c;
  open_cache("sweep", &c);
  char dead[128], live[128], fetch[64];
  const char *sha = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  snprintf(dead, sizeof dead, ".%s.whl.tmp00000000deadbeef", sha);
  snprintf(live, sizeof live, ".%s.whl.tmp00000000000a11fe", sha);
  snprintf(fetch, sizeof fetch, ".fetch.tmp0123456789abcdef");
  const char *keep[] = {".six.whl.tmp0000000000000000", ".fetch.tmpXYZ3456789abcdef", "other.tmp"};
  int wfd = c.wheels_fd;
  for (size_t i = 0; i < 3; i++)
    close(openat(wfd, keep[i], O_WRONLY | O_CREAT | O_EXCL, 0200));
  close(openat(wfd, dead, O_WRONLY | O_CREAT | O_EXCL, 0200));
  close(openat(wfd, fetch, O_WRONLY | O_CREAT | O_EXCL, 0200));
  int lfd = openat(wfd, live, O_WRONLY | O_CREAT | O_EXCL, 0200);
  assert_true(lfd >= 0);
  assert_int_equal(flock(lfd, LOCK_EX), 0);
  /* The sweep's lock is an open file description of its own: run it in a
   * child, as another pylock would. */
  pid_t pid = fork();
  if (pid == 0) {
    pl_cache_sweep(&c);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  struct stat sb;
  assert_int_equal(fstatat(wfd, dead, &sb, AT_SYMLINK_NOFOLLOW), -1);
  assert_int_equal(fstatat(wfd, fetch, &sb, AT_SYMLINK_NOFOLLOW), -1);
  assert_int_equal(fstatat(wfd, live, &sb, AT_SYMLINK_NOFOLLOW), 0);
  for (size_t i = 0; i < 3; i++)
    assert_int_equal(fstatat(wfd, keep[i], &sb, AT_SYMLINK_NOFOLLOW), 0);
  close(lfd);
  pl_cache_close(&c);
}

/* Entries of the cache's wheels/ whose name starts with `prefix`. */
static int count_wheel_entries(struct pl_cache *c, const char *prefix) {
  cleanup_dir DIR *d = fdopendir(openat(c->wheels_fd, ".", O_RDONLY | O_DIRECTORY));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  return n;
}

/* The permission bits of the first entry of wheels/ starting with `prefix`; -1 if none. */
static int wheel_entry_mode(struct pl_cache *c, const char *prefix) {
  cleanup_dir DIR *d = fdopendir(openat(c->wheels_fd, ".", O_RDONLY | O_DIRECTORY));
  struct dirent *e;
  struct stat st;
  while ((e = readdir(d)) != NULL)
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 &&
        fstatat(c->wheels_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
      return (int)(st.st_mode & 07777);
  return -1;
}

/* A pylock killed while the stored wheel is synced to disk (the slowest
 * step: the whole file) leaves nothing the next sweep cannot remove. */
static void test_store_killed_while_syncing_leaves_nothing_the_sweep_keeps(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("storekill", &c);
  char path[1024], hex[PL_SHA256_HEX];
  six_wheel(path, hex);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("PYLOCK_PAUSE_AT", "wheel-store-sync", 1);
    int fd = open(path, O_RDONLY);
    pl_error_t err = NULL;
    _exit(pl_cache_wheel_store(&c, fd, hex, &err) < 0 ? 1 : 0);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
  assert_true(WIFSTOPPED(status));
  kill(pid, SIGKILL);
  assert_int_equal(waitpid(pid, &status, 0), pid);
  char tmp_prefix[PL_SHA256_HEX + 8];
  snprintf(tmp_prefix, sizeof tmp_prefix, ".%s", hex);
  assert_int_equal(count_wheel_entries(&c, tmp_prefix), 1); /* its temporary file */
  /* Still 0200 (the sweep opens it for writing to test its lock: 0444
   * would keep it from any sweep but root's). */
  assert_int_equal(wheel_entry_mode(&c, tmp_prefix), 0200);
  pid = fork();
  if (pid == 0) {
    pl_cache_sweep(&c);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_int_equal(count_wheel_entries(&c, tmp_prefix), 0);
  assert_int_equal(count_wheel_entries(&c, hex), 0); /* and no wheel under its name */
  pl_cache_close(&c);
}

static void test_tree_is_built_once_sealed_then_found(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("once", &c);
  struct pl_cache_tree t;
  pl_error_t err = NULL;
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &t, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  assert_true(t.built);
  assert_string_equal(t.dist_info, "lib/python3.12/site-packages/six-1.16.0.dist-info");
  struct stat st;
  assert_int_equal(fstat(t.fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0555);
  assert_int_equal(fstatat(t.fd, "lib/python3.12/site-packages/six.py", &st, 0), 0);
  assert_int_equal(st.st_mode & 07777, 0444);
  assert_int_equal(fstatat(t.fd, ".complete", &st, 0), 0);
  /* No REQUESTED in the shared tree: it is per project. */
  assert_int_equal(
      faccessat(t.fd, "lib/python3.12/site-packages/six-1.16.0.dist-info/REQUESTED", F_OK, 0), -1);
  pl_cache_tree_release(&t);
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &t, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  assert_false(t.built);
  assert_int_equal(t.files, 7);
  pl_cache_tree_release(&t);
  assert_int_equal(count_entries(&c, ".tmp-"), 0);
  pl_cache_close(&c);
}

static void test_tampered_cached_wheel_is_refused_at_tree_build(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("tamper", &c);
  char path[1024], hex[PL_SHA256_HEX];
  six_wheel(path, hex);
  pl_error_t err = NULL;
  {
    cleanup_close int fd = open(path, O_RDONLY);
    assert_int_equal(pl_cache_wheel_store(&c, fd, hex, &err), 0);
  }
  cleanup_free char *stored = NULL;
  assert_int_equal(pl_cache_wheel_path(&c, hex, &stored, &err), 0);
  /* One byte flipped in the middle of the cached copy. */
  assert_int_equal(chmod(stored, 0644), 0);
  {
    cleanup_close int fd = open(stored, O_RDWR);
    unsigned char b;
    assert_int_equal(pread(fd, &b, 1, 4000), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, 4000), 1);
  }
  struct pl_cache_tree t;
  assert_int_equal(
      pl_cache_tree_get_or_build(&c, hex, -1, "six-1.16.0-py3-none-any.whl", &in, &t, &err), -1);
  assert_non_null(strstr(err->msg, "tampered"));
  pl_error_free(&err);
  assert_int_equal(count_entries(&c, hex), 0);
  assert_int_equal(count_entries(&c, ".tmp-"), 0);
  pl_cache_close(&c);
}

static void test_killed_build_leaves_no_tree_and_a_rebuild_succeeds(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("kill", &c);
  const char *name = "setuptools-66.1.1-py3-none-any.whl";
  char hex[PL_SHA256_HEX], path[1024], ik[PL_INTERP_KEY_LEN + 1];
  snprintf(path, sizeof path, "%s/%s", wheels, name);
  sha_of(path, hex);
  pl_error_t kerr = NULL;
  assert_int_equal(pl_cache_interp_key(&in, ik, &kerr), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct pl_cache_tree t;
    pl_error_t err = NULL;
    _exit(tree_of(&c, name, &t, &err) < 0 ? 1 : 0);
  }
  /* Kill the builder once its temporary tree (in its batch) holds files. */
  bool seen = false;
  for (int i = 0; i < 2000 && !seen; i++) {
    usleep(2000);
    cleanup_dir DIR *d = fdopendir(openat(c.trees_fd, ".", O_RDONLY | O_DIRECTORY));
    struct dirent *e;
    while ((e = readdir(d)) != NULL && !seen) {
      char p[600];
      struct stat st;
      snprintf(p, sizeof p, "%s/%s-%s/lib/python3.12/site-packages/setuptools", e->d_name, hex, ik);
      seen = strncmp(e->d_name, ".tmp-", 5) == 0 && fstatat(c.trees_fd, p, &st, 0) == 0;
    }
  }
  kill(pid, SIGKILL);
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(seen);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(count_entries(&c, hex), 0); /* nothing at the final name */
  assert_int_equal(count_entries(&c, ".tmp-"), 1);
  struct pl_cache_tree t;
  pl_error_t err = NULL;
  if (tree_of(&c, name, &t, &err) < 0) fail_msg("%s", pl_error_string(err));
  assert_true(t.built);
  assert_int_equal(faccessat(t.fd, ".complete", F_OK, 0), 0);
  pl_cache_tree_release(&t);
  pl_cache_close(&c);
}

/* A batch of wheels: one compiler for all, every tree sealed and in
 * place with its byte-code in RECORD and in its manifest; a second batch of
 * the same wheels loses every race to the first and leaves nothing. */
static void test_batch_builds_every_tree_with_byte_code_in_its_manifest(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("batch", &c);
  const char *names[] = {"six-1.16.0-py3-none-any.whl", "requests-2.28.1-py3-none-any.whl",
                         "six-1.16.0-py3-none-any.whl"};
  char hex[3][PL_SHA256_HEX];
  pl_error_t err = NULL;
  for (int round = 0; round < 2; round++) {
    struct pl_cache_batch b;
    pl_cache_batch_init(&b, &c, &in);
    for (int i = 0; i < 3; i++) {
      char path[1024];
      snprintf(path, sizeof path, "%s/%s", wheels, names[i]);
      sha_of(path, hex[i]);
      cleanup_close int fd = open(path, O_RDONLY);
      if (pl_cache_wheel_store(&c, fd, hex[i], &err) < 0 ||
          pl_cache_batch_add(&b, hex[i], -1, names[i], &err) < 0)
        fail_msg("%s", pl_error_string(err));
    }
    assert_int_equal(b.n, 2); /* six once */
    assert_int_equal(count_entries(&c, ".tmp-batch-"), 1);
    if (pl_cache_batch_finish(&b, &err) < 0) fail_msg("%s", pl_error_string(err));
    for (int i = 0; i < 2; i++) {
      struct pl_cache_tree t;
      if (pl_cache_batch_tree(&b, hex[i], &t, &err) < 0) fail_msg("%s", pl_error_string(err));
      assert_int_equal(t.built, round == 0);
      struct stat st;
      assert_int_equal(fstat(t.fd, &st), 0);
      assert_int_equal(st.st_mode & 07777, 0555);
      cleanup_free char *man = NULL, *record = NULL, *rpath = NULL;
      assert_int_equal(pl_read_file_at(t.fd, ".manifest", 1u << 24, &man, NULL, &err), 0);
      assert_true(asprintf(&rpath, "%s/RECORD", t.dist_info) > 0);
      assert_int_equal(pl_read_file_at(t.fd, rpath, 1u << 24, &record, NULL, &err), 0);
      const char *pyc =
          i == 0 ? "__pycache__/six.cpython-312.pyc" : "requests/__pycache__/api.cpython-312.pyc";
      assert_non_null(strstr(man, pyc));
      assert_non_null(strstr(record, pyc));
      assert_null(strstr(man, ".pylock-compile"));
      pl_cache_tree_release(&t);
    }
    pl_cache_batch_release(&b);
    assert_int_equal(count_entries(&c, ".tmp-"), 0);
  }
  pl_cache_close(&c);
}

static void test_concurrent_builders_end_with_one_tree(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("race", &c);
  pid_t pids[3];
  for (int i = 0; i < 3; i++) {
    pids[i] = fork();
    assert_true(pids[i] >= 0);
    if (pids[i] == 0) {
      struct pl_cache_tree t;
      pl_error_t err = NULL;
      _exit(tree_of(&c, "requests-2.28.1-py3-none-any.whl", &t, &err) < 0 ? 1 : 0);
    }
  }
  for (int i = 0; i < 3; i++) {
    int status;
    assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  char hex[PL_SHA256_HEX], path[1024];
  snprintf(path, sizeof path, "%s/requests-2.28.1-py3-none-any.whl", wheels);
  sha_of(path, hex);
  assert_int_equal(count_entries(&c, hex), 1);
  assert_int_equal(count_entries(&c, ".tmp-"), 0);
  pl_cache_close(&c);
}

static void test_linking_twice_or_a_clashing_file_names_both_distributions(void **state) {
  need_python();
  /* A second distribution shipping six.py. */
  assert_int_equal(
      fx_sh(
          "cd %s && python3 -c \"import zipfile,hashlib,base64\n"
          "d={'six.py':b'x=1\\n','sixclone-1.0.dist-info/METADATA':b'Metadata-Version: "
          "2.1\\nName: sixclone\\nVersion: 1.0\\n','sixclone-1.0.dist-info/WHEEL':b'Wheel-Version: "
          "1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}\n"
          "h=lambda b:'sha256='+base64.urlsafe_b64encode(hashlib.sha256(b).digest()).rstrip(b'=')."
          "decode()\n"
          "r=''.join('%%s,%%s,%%d\\n'%%(p,h(b),len(b)) for p,b in d.items())+'sixclone-1.0."
          "dist-info/RECORD,,\\n'\n"
          "z=zipfile.ZipFile('sixclone-1.0-py3-none-any.whl','w')\n"
          "[z.writestr(p,b) for p,b in d.items()]\n"
          "z.writestr('sixclone-1.0.dist-info/RECORD',r)\"",
          wheels),
      0);
  struct pl_cache c;
  open_cache("conflict", &c);
  struct pl_cache_tree six, clone;
  pl_error_t err = NULL;
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &six, &err) < 0 ||
      tree_of(&c, "sixclone-1.0-py3-none-any.whl", &clone, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  cleanup_close int g = open_gen("gen-conflict");
  struct pl_link_stats st = {0};
  assert_int_equal(pl_envgen_link_tree(g, six.fd, NULL, &st, NULL, &err), 0);
  assert_int_equal(st.hardlinked, 7);
  assert_int_equal(pl_envgen_link_tree(g, six.fd, NULL, NULL, NULL, &err), -1);
  assert_int_equal(err->errnum, EEXIST);
  print_message("# %s\n", err->msg);
  assert_non_null(strstr(err->msg, "of six-1.16.0.dist-info is in the generation already"));
  pl_error_free(&err);
  assert_int_equal(pl_envgen_link_tree(g, clone.fd, NULL, NULL, NULL, &err), -1);
  print_message("# %s\n", err->msg);
  assert_non_null(strstr(err->msg, "site-packages/"));
  assert_non_null(strstr(err->msg, "six-1.16.0.dist-info and sixclone-1.0.dist-info"));
  pl_error_free(&err);
  pl_cache_tree_release(&six);
  pl_cache_tree_release(&clone);
  pl_cache_close(&c);
}

static void test_requested_goes_into_the_generation_not_the_cache(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("requested", &c);
  struct pl_cache_tree t;
  pl_error_t err = NULL;
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &t, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  cleanup_close int g = open_gen("gen-requested");
  assert_int_equal(pl_envgen_link_tree(g, t.fd, NULL, NULL, NULL, &err), 0);
  assert_int_equal(pl_envgen_mark_requested(g, -1, t.dist_info, &err), 0);
  assert_int_equal(pl_envgen_mark_requested(g, -1, t.dist_info, &err), 0); /* idempotent */
  char rec[600];
  snprintf(rec, sizeof rec, "%s/RECORD", t.dist_info);
  cleanup_free char *gen_record = NULL, *cache_record = NULL;
  size_t len;
  assert_int_equal(pl_read_file_at(g, rec, 1 << 20, &gen_record, &len, &err), 0);
  assert_int_equal(pl_read_file_at(t.fd, rec, 1 << 20, &cache_record, &len, &err), 0);
  const char *row =
      "six-1.16.0.dist-info/REQUESTED,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,0\r\n";
  assert_non_null(strstr(gen_record, row));
  assert_null(strstr(strstr(gen_record, row) + 1, row));
  assert_null(strstr(cache_record, "REQUESTED"));
  struct pl_verify_report r;
  assert_int_equal(pl_verify_generation(g, &in, NULL, -1, NULL, &r, &err), 0);
  assert_int_equal(r.nissues, 0);
  pl_verify_report_free(&r);
  pl_cache_tree_release(&t);
  pl_cache_close(&c);
}

static bool has_issue(const struct pl_verify_report *r, enum pl_verify_kind k, const char *path) {
  for (size_t i = 0; i < r->nissues; i++)
    if (r->issues[i].kind == k && strcmp(r->issues[i].path, path) == 0) return true;
  return false;
}

static void test_verify_names_a_modified_byte_a_missing_and_an_unlisted_file(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("verify", &c);
  struct pl_cache_tree six, req;
  pl_error_t err = NULL;
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &six, &err) < 0 ||
      tree_of(&c, "requests-2.28.1-py3-none-any.whl", &req, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  cleanup_close int g = open_gen("gen-verify");
  assert_int_equal(pl_envgen_link_tree(g, six.fd, NULL, NULL, NULL, &err), 0);
  assert_int_equal(pl_envgen_link_tree(g, req.fd, NULL, NULL, NULL, &err), 0);
  struct pl_verify_report r;
  assert_int_equal(pl_verify_generation(g, &in, NULL, -1, NULL, &r, &err), 0);
  assert_int_equal(r.nissues, 0);
  assert_int_equal(r.dists, 2);
  pl_verify_report_free(&r);

  /* The files are the cache's inodes: damage copies, never the cache. */
  const char *sp = "lib/python3.12/site-packages/";
  char p1[512], p2[512], p3[512], p4[512];
  snprintf(p1, sizeof p1, "%ssix.py", sp);
  snprintf(p2, sizeof p2, "%srequests/api.py", sp);
  snprintf(p3, sizeof p3, "%srequests/evil.py", sp);
  snprintf(p4, sizeof p4, "%srequests/__pycache__/models.cpython-312.pyc", sp);
  cleanup_free char *buf = NULL;
  size_t len;
  assert_int_equal(pl_read_file_at(g, p1, 1 << 20, &buf, &len, &err), 0);
  buf[100] ^= 0x20;
  assert_int_equal(unlinkat(g, p1, 0), 0);
  assert_int_equal(pl_write_file_atomic_at(g, p1, buf, len, 0444, &err), 0);
  assert_int_equal(unlinkat(g, p2, 0), 0);
  assert_int_equal(pl_write_file_atomic_at(g, p3, "x = 1\n", 6, 0444, &err), 0);
  assert_int_equal(unlinkat(g, p4, 0), 0);
  assert_int_equal(pl_verify_generation(g, &in, NULL, -1, NULL, &r, &err), 0);
  for (size_t i = 0; i < r.nissues; i++)
    print_message("# %s %s: %s\n", pl_verify_kind_name(r.issues[i].kind), r.issues[i].path,
                  r.issues[i].detail);
  assert_int_equal(r.modified, 1);
  assert_int_equal(r.missing, 2);
  assert_int_equal(r.unlisted, 1);
  assert_true(has_issue(&r, PL_VERIFY_MODIFIED, p1));
  assert_true(has_issue(&r, PL_VERIFY_MISSING, p2));
  assert_true(has_issue(&r, PL_VERIFY_MISSING, p4));
  assert_true(has_issue(&r, PL_VERIFY_UNLISTED, p3));
  pl_verify_report_free(&r);
  /* The cache's copy is intact. */
  struct pl_cache_tree again;
  assert_int_equal(tree_of(&c, "six-1.16.0-py3-none-any.whl", &again, &err), 0);
  cleanup_close int g2 = open_gen("gen-verify-2");
  assert_int_equal(pl_envgen_link_tree(g2, again.fd, NULL, NULL, NULL, &err), 0);
  assert_int_equal(pl_verify_generation(g2, &in, NULL, -1, NULL, &r, &err), 0);
  assert_int_equal(r.nissues, 0);
  pl_verify_report_free(&r);
  pl_cache_tree_release(&again);
  pl_cache_tree_release(&six);
  pl_cache_tree_release(&req);
  pl_cache_close(&c);
}

/* The fingerprints linking gathers (no walk of their own) are the walks':
 * each tree's as sealed, and the generation's with its scheme directories
 * and a RECORD rewritten and a REQUESTED written by pylock. */
static void test_fingerprints_gathered_while_linking_equal_the_walks(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("print", &c);
  static const char *const names[] = {"six-1.16.0", "requests-2.28.1", "idna-3.3",
                                      "setuptools-66.1.1"};
  enum { N = sizeof names / sizeof names[0] };
  struct pl_cache_tree t[N];
  pl_error_t err = NULL;
  trees_of(&c, names, N, t);
  cleanup_close int g = create_gen("gen-print");
  struct pl_link_print print = {0};
  for (int i = 0; i < N; i++) {
    char now[PL_STAT_DIGEST_LEN + 1];
    print.tree = (struct pl_stat_sum){0};
    assert_int_equal(pl_envgen_link_tree(g, t[i].fd, NULL, NULL, &print, &err), 0);
    pl_stat_sum_digest(&print.tree, now);
    assert_string_equal(now, t[i].stat);
  }
  /* pylock's own files: out of the sum before, in after. */
  char path[PATH_MAX];
  struct stat st;
  snprintf(path, sizeof path, "%s/RECORD", t[0].dist_info);
  assert_int_equal(fstatat(g, path, &st, AT_SYMLINK_NOFOLLOW), 0);
  pl_stat_sum_remove(&print.gen, path, &st);
  assert_int_equal(pl_envgen_mark_requested(g, -1, t[0].dist_info, &err), 0);
  assert_int_equal(fstatat(g, path, &st, AT_SYMLINK_NOFOLLOW), 0);
  pl_stat_sum_add(&print.gen, path, &st);
  snprintf(path, sizeof path, "%s/REQUESTED", t[0].dist_info);
  assert_int_equal(fstatat(g, path, &st, AT_SYMLINK_NOFOLLOW), 0);
  pl_stat_sum_add(&print.gen, path, &st);
  char gathered[PL_STAT_DIGEST_LEN + 1], walked[PL_STAT_DIGEST_LEN + 1];
  assert_int_equal(pl_envgen_print_digest(g, &in, &print, gathered, &err), 0);
  assert_int_equal(pl_manifest_stat_digest(g, NULL, walked, &err), 0);
  assert_string_equal(gathered, walked);
  /* And it sees a change, as the walk does. */
  snprintf(path, sizeof path, "%s/REQUESTED", t[0].dist_info);
  assert_int_equal(unlinkat(g, path, 0), 0);
  assert_int_equal(pl_manifest_stat_digest(g, NULL, walked, &err), 0);
  assert_string_not_equal(gathered, walked);
  pl_link_print_free(&print);
  for (int i = 0; i < N; i++)
    pl_cache_tree_release(&t[i]);
  pl_cache_close(&c);
}

/* pylock's REQUESTED for a distribution whose directory holds one already
 * that its tree does not ship (another wheel's, linked there first): a
 * conflict, not a file to take for pylock's; written before by pylock
 * itself (pl_envgen_mark_requested without a tree), it is found and kept. */
static void test_requested_found_that_the_tree_does_not_ship_conflicts(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("requested-found", &c);
  struct pl_cache_tree t;
  pl_error_t err = NULL;
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &t, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  cleanup_close int g = open_gen("gen-requested-found");
  assert_int_equal(pl_envgen_link_tree(g, t.fd, NULL, NULL, NULL, &err), 0);
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/REQUESTED", t.dist_info);
  int fd = openat(g, path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "not pylock's\n", 13), 13);
  close(fd);
  assert_int_equal(pl_envgen_mark_requested(g, t.fd, t.dist_info, &err), -1);
  assert_int_equal(err->errnum, EEXIST);
  assert_non_null(strstr(err->msg, "conflicting files"));
  assert_non_null(strstr(err->msg, "REQUESTED"));
  pl_error_free(&err);
  /* Without a tree to hold it to: kept, as pylock's own from before. */
  assert_int_equal(pl_envgen_mark_requested(g, -1, t.dist_info, &err), 0);
  pl_cache_tree_release(&t);
  pl_cache_close(&c);
}

struct linking {
  int gen_fd;
  const struct pl_cache_tree *t;
  struct pl_link_print *prints;
  size_t n;
  atomic_size_t next;
  atomic_int failed;
};

static void link_each(void *arg) {
  struct linking *l = arg;
  for (size_t i; (i = atomic_fetch_add(&l->next, 1)) < l->n;) {
    pl_error_t err = NULL;
    if (pl_envgen_link_tree(l->gen_fd, l->t[i].fd, NULL, NULL, &l->prints[i], &err) < 0)
      atomic_fetch_add(&l->failed, 1);
    pl_error_free(&err);
  }
}

/* Trees linked by threads at once, each into a print of its own, then taken
 * into one in order (as a sync does): each tree's fingerprint is its sealed
 * one, and the whole is the walk's of the generation. */
static void test_trees_linked_side_by_side_print_as_one_after_another(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("print-parallel", &c);
  static const char *const names[] = {"six-1.16.0", "requests-2.28.1", "idna-3.3",
                                      "setuptools-66.1.1", "urllib3-1.26.12"};
  enum { N = sizeof names / sizeof names[0] };
  struct pl_cache_tree t[N];
  pl_error_t err = NULL;
  trees_of(&c, names, N, t);
  cleanup_close int g = create_gen("gen-print-parallel");
  struct pl_link_print prints[N] = {0};
  struct linking l = {.gen_fd = g, .t = t, .prints = prints, .n = N};
  atomic_init(&l.next, 0);
  atomic_init(&l.failed, 0);
  pl_parallel(3, link_each, &l);
  assert_int_equal(atomic_load(&l.failed), 0);
  struct pl_link_print print = {0};
  for (int i = 0; i < N; i++) {
    char now[PL_STAT_DIGEST_LEN + 1];
    assert_int_equal(pl_link_print_take(&print, &prints[i], &err), 0);
    assert_int_equal(prints[i].ndirs, 0); /* taken */
    pl_stat_sum_digest(&print.tree, now);
    assert_string_equal(now, t[i].stat);
  }
  char gathered[PL_STAT_DIGEST_LEN + 1], walked[PL_STAT_DIGEST_LEN + 1];
  assert_int_equal(pl_envgen_print_digest(g, &in, &print, gathered, &err), 0);
  assert_int_equal(pl_manifest_stat_digest(g, NULL, walked, &err), 0);
  assert_string_equal(gathered, walked);
  /* One file fewer, and the two differ. */
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/RECORD", t[0].dist_info);
  assert_int_equal(unlinkat(g, path, 0), 0);
  assert_int_equal(pl_manifest_stat_digest(g, NULL, walked, &err), 0);
  assert_string_not_equal(gathered, walked);
  pl_link_print_free(&print);
  for (int i = 0; i < N; i++)
    pl_cache_tree_release(&t[i]);
  pl_cache_close(&c);
}

/* A tree changed while it is linked, between the moment linking decides
 * what an entry is and the moment it links (or copies) it: the tree's
 * fingerprint gathered while linking must see it, so that nothing of it
 * reaches a generation that can become current; and the generation's must
 * be what a walk of it computes. */
static void race_while_linking(const char *name, enum race r) {
  need_python();
  struct pl_cache c;
  open_cache(name, &c);
  struct pl_cache_tree t;
  pl_error_t err = NULL;
  if (tree_of(&c, "six-1.16.0-py3-none-any.whl", &t, &err) < 0)
    fail_msg("%s", pl_error_string(err));
  char why[256];
  assert_int_equal(pl_cache_tree_check(&c, &t, true, why, sizeof why, &err), 0);
  char gen[64];
  snprintf(gen, sizeof gen, "%s-gen", name);
  cleanup_close int g = open_gen(gen);
  struct pl_link_print print = {0};
  race = r;
  race_name = "six.py";
  assert_int_equal(pl_envgen_link_tree(g, t.fd, NULL, NULL, &print, &err), 0);
  assert_int_equal(race, RACE_NONE); /* it happened */
  char now[PL_STAT_DIGEST_LEN + 1], gathered[PL_STAT_DIGEST_LEN + 1],
      walked[PL_STAT_DIGEST_LEN + 1];
  pl_stat_sum_digest(&print.tree, now);
  assert_string_not_equal(now, t.stat);
  /* A walk of the tree now agrees: it is damaged. */
  assert_int_equal(pl_cache_tree_check(&c, &t, false, why, sizeof why, &err), 1);
  print_message("# %s\n", why);
  /* Linking made no directory of its own here beyond the tree's. */
  struct pl_stat_sum sum = print.gen;
  for (size_t i = 0; i < print.ndirs; i++) {
    struct stat st;
    assert_int_equal(fstatat(g, print.dirs[i], &st, AT_SYMLINK_NOFOLLOW), 0);
    pl_stat_sum_add(&sum, print.dirs[i], &st);
  }
  pl_stat_sum_digest(&sum, gathered);
  assert_int_equal(pl_manifest_stat_digest(g, NULL, walked, &err), 0);
  assert_string_equal(gathered, walked);
  pl_link_print_free(&print);
  pl_cache_tree_release(&t);
  pl_cache_close(&c);
}

static void test_a_tree_file_written_just_before_it_is_linked_is_seen(void **state) {
  race_while_linking("race-write", RACE_WRITE);
}

static void test_a_tree_file_swapped_just_before_it_is_linked_is_seen(void **state) {
  race_while_linking("race-swap", RACE_SWAP);
}

static void test_a_file_added_to_a_tree_directory_being_linked_is_seen(void **state) {
  race_while_linking("race-add", RACE_ADD);
}

static void test_a_tree_file_written_just_before_it_is_copied_is_seen(void **state) {
  race_while_linking("race-copy", RACE_WRITE_NO_LINK);
}

/* Every fixture wheel, by distribution name and version. */
static const char *const fixture_names[] = {
    "blinker-1.5",     "certifi-2022.9.24", "chardet-5.1.0",     "charset_normalizer-3.0.1",
    "click-8.1.3",     "colorama-0.4.6",    "distro-1.8.0",      "docutils-0.19",
    "httplib2-0.20.4", "idna-3.3",          "jinja2-3.1.2",      "markupsafe-2.1.2",
    "packaging-23.0",  "pip-23.0.1",        "pygments-2.14.0",   "pyparsing-3.0.9",
    "requests-2.28.1", "roman-3.3",         "setuptools-66.1.1", "six-1.16.0",
    "toml-0.10.2",     "urllib3-1.26.12",   "wheel-0.38.4",      "xmltodict-0.13.0"};

/* Cold: a tree per fixture wheel.  Warm: all of them linked into a fresh
 * generation (the spec's goal: 1,334 files in <= 30 ms). */
static void test_warm_link_of_every_fixture_reads_no_file(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("all", &c);
  const char *const *names = fixture_names;
  enum { N = sizeof fixture_names / sizeof fixture_names[0] };
  struct pl_cache_tree t[N];
  pl_error_t err = NULL;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  uint64_t files = 0;
  for (int i = 0; i < N; i++) {
    char fn[128];
    snprintf(fn, sizeof fn, "%s-py3-none-any.whl", names[i]);
    if (tree_of(&c, fn, &t[i], &err) < 0) fail_msg("%s", pl_error_string(err));
    files += t[i].files;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  print_message("# cold: %d trees, %llu files, %.0f ms\n", N, (unsigned long long)files,
                fx_ms(&a, &b));
  for (int i = 0; i < N; i++)
    pl_cache_tree_release(&t[i]);

  cleanup_close int g = open_gen("gen-all");
  struct pl_link_stats st = {0};
  char hex[N][PL_SHA256_HEX], fn[N][128];
  for (int i = 0; i < N; i++) {
    char path[4096];
    snprintf(fn[i], sizeof fn[i], "%s-py3-none-any.whl", names[i]);
    snprintf(path, sizeof path, "%s/%s", wheels, fn[i]);
    sha_of(path, hex[i]); /* the lock file's hashes: known before a sync */
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < N; i++) {
    /* Warm: found, so the wheel is not even opened. */
    if (pl_cache_tree_get_or_build(&c, hex[i], -1, fn[i], &in, &t[i], &err) < 0)
      fail_msg("%s", pl_error_string(err));
    assert_false(t[i].built);
    assert_int_equal(pl_envgen_link_tree(g, t[i].fd, NULL, &st, NULL, &err), 0);
    pl_cache_tree_release(&t[i]);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  double ms = fx_ms(&a, &b);
  print_message("# warm: %d trees linked, %llu files (%llu hardlinked, %llu reflinked, %llu "
                "copied), %llu dirs, %.1f ms\n",
                N, (unsigned long long)(st.hardlinked + st.reflinked + st.copied),
                (unsigned long long)st.hardlinked, (unsigned long long)st.reflinked,
                (unsigned long long)st.copied, (unsigned long long)st.dirs, ms);
  assert_int_equal(st.hardlinked, files);
  struct pl_verify_report r;
  assert_int_equal(pl_verify_generation(g, &in, NULL, -1, NULL, &r, &err), 0);
  assert_int_equal(r.nissues, 0);
  pl_verify_report_free(&r);
  pl_cache_close(&c);
}

/* REQUESTED's row, inserted into a generation's RECORD without parsing it
 * (the usual case): the RECORD is byte for byte the one parsing it, adding
 * the row and rendering it sorted would write (pip's order), for every
 * fixture.  Runs after the test above: its cache holds every tree. */
static void test_requested_row_inserted_as_the_parsed_record_would_hold_it(void **state) {
  need_python();
  struct pl_cache c;
  open_cache("all", &c);
  enum { N = sizeof fixture_names / sizeof fixture_names[0] };
  pl_error_t err = NULL;
  cleanup_close int g = open_gen("gen-requested-all");
  for (int i = 0; i < N; i++) {
    char fn[128], rec[PATH_MAX];
    struct pl_cache_tree t;
    snprintf(fn, sizeof fn, "%s-py3-none-any.whl", fixture_names[i]);
    if (tree_of(&c, fn, &t, &err) < 0) fail_msg("%s", pl_error_string(err));
    assert_int_equal(pl_envgen_link_tree(g, t.fd, NULL, NULL, NULL, &err), 0);
    assert_int_equal(pl_envgen_mark_requested(g, -1, t.dist_info, &err), 0);
    snprintf(rec, sizeof rec, "%s/RECORD", t.dist_info);
    cleanup_free char *text = NULL, *again = NULL;
    size_t len, alen;
    assert_int_equal(pl_read_file_at(g, rec, 1 << 24, &text, &len, &err), 0);
    struct pl_record r = {0};
    if (pl_record_parse_installed(text, len, &r, &err) < 0) fail_msg("%s", pl_error_string(err));
    assert_int_equal(pl_record_format(&r, &again, &alen, &err), 0);
    pl_record_free(&r);
    if (alen != len || memcmp(text, again, len) != 0)
      fail_msg("%s: the RECORD with REQUESTED is not the sorted one", fn);
    pl_cache_tree_release(&t);
  }
  pl_cache_close(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wheel_store_refuses_bytes_that_do_not_hash_to_the_name),
      cmocka_unit_test(test_a_stores_file_is_locked_from_its_first_moment_and_survives_sweeps),
      cmocka_unit_test(test_sweep_removes_a_killed_stores_file_and_keeps_a_live_ones),
      cmocka_unit_test(test_store_killed_while_syncing_leaves_nothing_the_sweep_keeps),
      cmocka_unit_test(test_tree_is_built_once_sealed_then_found),
      cmocka_unit_test(test_tampered_cached_wheel_is_refused_at_tree_build),
      cmocka_unit_test(test_killed_build_leaves_no_tree_and_a_rebuild_succeeds),
      cmocka_unit_test(test_concurrent_builders_end_with_one_tree),
      cmocka_unit_test(test_batch_builds_every_tree_with_byte_code_in_its_manifest),
      cmocka_unit_test(test_linking_twice_or_a_clashing_file_names_both_distributions),
      cmocka_unit_test(test_fingerprints_gathered_while_linking_equal_the_walks),
      cmocka_unit_test(test_a_tree_file_written_just_before_it_is_linked_is_seen),
      cmocka_unit_test(test_a_tree_file_swapped_just_before_it_is_linked_is_seen),
      cmocka_unit_test(test_a_file_added_to_a_tree_directory_being_linked_is_seen),
      cmocka_unit_test(test_a_tree_file_written_just_before_it_is_copied_is_seen),
      cmocka_unit_test(test_requested_goes_into_the_generation_not_the_cache),
      cmocka_unit_test(test_trees_linked_side_by_side_print_as_one_after_another),
      cmocka_unit_test(test_requested_found_that_the_tree_does_not_ship_conflicts),
      cmocka_unit_test(test_verify_names_a_modified_byte_a_missing_and_an_unlisted_file),
      cmocka_unit_test(test_warm_link_of_every_fixture_reads_no_file),
      cmocka_unit_test(test_requested_row_inserted_as_the_parsed_record_would_hold_it),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
