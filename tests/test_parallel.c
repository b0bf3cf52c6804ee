/* Unit tests: lib/parallel.c — work in a few threads at once. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "error.h"
#include "parallel.h"

struct seen {
  atomic_int calls, blocked, ran_here;
  pthread_t caller;
  atomic_int inside, most; /* calls running at once, and their peak */
};

static void note(void *arg) {
  struct seen *s = arg;
  atomic_fetch_add(&s->calls, 1);
  int now = atomic_fetch_add(&s->inside, 1) + 1;
  for (int most = atomic_load(&s->most); now > most;)
    if (atomic_compare_exchange_weak(&s->most, &most, now)) break;
  sigset_t mask;
  pthread_sigmask(SIG_SETMASK, NULL, &mask);
  if (pthread_equal(pthread_self(), s->caller))
    atomic_fetch_add(&s->ran_here, 1);
  else if (sigismember(&mask, SIGINT) && sigismember(&mask, SIGTERM))
    atomic_fetch_add(&s->blocked, 1);
  /* Long enough for every thread to be in here at once. */
  for (int i = 0; i < 200 && atomic_load(&s->most) < 4; i++)
    usleep(1000);
  atomic_fetch_sub(&s->inside, 1);
}

/* fn runs once in each of the threads, the caller's among them, all at
 * once; the others with signals blocked, the caller's mask as it was. */
static void test_parallel_runs_fn_in_each_thread_signals_blocked_but_the_callers(void **state) {
  struct seen s = {.caller = pthread_self()};
  sigset_t before, after;
  pthread_sigmask(SIG_SETMASK, NULL, &before);
  pl_parallel(4, note, &s);
  pthread_sigmask(SIG_SETMASK, NULL, &after);
  assert_int_equal(atomic_load(&s.calls), 4);
  assert_int_equal(atomic_load(&s.ran_here), 1);
  assert_int_equal(atomic_load(&s.blocked), 3);
  assert_int_equal(atomic_load(&s.most), 4);
  assert_int_equal(atomic_load(&s.inside), 0); /* every one returned */
  assert_int_equal(sigismember(&after, SIGINT), sigismember(&before, SIGINT));
  /* One thread, or none asked: the caller's alone. */
  struct seen one = {.caller = pthread_self()};
  pl_parallel(1, note, &one);
  pl_parallel(0, note, &one);
  assert_int_equal(atomic_load(&one.calls), 2);
  assert_int_equal(atomic_load(&one.ran_here), 2);
}

/* Every descriptor synced; a bad one among them reported, the rest still
 * synced (each file's data on disk is not observable here: the calls are). */
static void test_fsync_all_syncs_each_and_reports_a_failure(void **state) {
  char dir[] = "/tmp/pylock-test-parallel.XXXXXX";
  assert_non_null(mkdtemp(dir));
  int fds[12];
  for (int i = 0; i < 12; i++) {
    char p[64];
    snprintf(p, sizeof p, "%s/f%d", dir, i);
    fds[i] = open(p, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fds[i] >= 0);
    assert_int_equal(write(fds[i], "x", 1), 1);
  }
  pl_error_t err = NULL;
  assert_int_equal(pl_fsync_all(fds, 12, &err), 0);
  assert_null(err);
  assert_int_equal(pl_fsync_all(fds, 0, &err), 0);
  int bad = fds[7];
  fds[7] = -1; /* not open */
  assert_int_equal(pl_fsync_all(fds, 12, &err), -1);
  assert_non_null(err);
  assert_int_equal(err->errnum, EBADF);
  pl_error_free(&err);
  fds[7] = bad;
  for (int i = 0; i < 12; i++) {
    char p[64];
    snprintf(p, sizeof p, "%s/f%d", dir, i);
    close(fds[i]);
    unlink(p);
  }
  rmdir(dir);
}

static void nothing(void *arg) {
  (void)arg;
}

/* Single-threaded again on return, as the kernel counts: a thread joined
 * has not always left the process yet, and unshare(CLONE_NEWUSER) (the
 * sandbox a run enters) or setns fails with EINVAL while one is there. */
static void test_parallel_returns_single_threaded_for_unshare(void **state) {
  pid_t probe = fork();
  assert_true(probe >= 0);
  if (probe == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  int st;
  assert_int_equal(waitpid(probe, &st, 0), probe);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) skip(); /* no user namespaces here */
  int failed = 0;
  for (int i = 0; i < 1500; i++) {
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
      pl_parallel(4, nothing, NULL);
      _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(p, &st, 0), p);
    failed += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
  }
  assert_int_equal(failed, 0);
}

static void test_cpus_is_at_least_one(void **state) {
  unsigned n = pl_cpus();
  assert_true(n >= 1);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  assert_true(online < 1 || n <= (unsigned)online);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parallel_runs_fn_in_each_thread_signals_blocked_but_the_callers),
      cmocka_unit_test(test_fsync_all_syncs_each_and_reports_a_failure),
      cmocka_unit_test(test_parallel_returns_single_threaded_for_unshare),
      cmocka_unit_test(test_cpus_is_at_least_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
