/* pylock — the same work run in a few threads at once. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "parallel.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PARALLEL_MAX 16
#define FSYNC_THREADS 8 /* flushes issued together merge: more threads add little */

unsigned pl_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > PARALLEL_MAX ? PARALLEL_MAX : (unsigned)n;
}

struct job {
  void (*fn)(void *arg);
  void *arg;
};

static void *run_job(void *p) {
  const struct job *j = p;
  j->fn(j->arg);
  return NULL;
}

/* The process's threads as the kernel counts them (/proc/self/stat's 20th
 * field), or 0 when that cannot be read. */
static long kernel_threads(void) {
  char buf[1024];
  int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces, or ')' */
  for (int field = 2; p && field < 20; field++)
    p = strchr(p + 1, ' ');
  return p ? strtol(p + 1, NULL, 10) : 0;
}

/* A joined thread has woken its joiner before it leaves the thread group:
 * until it has, unshare(CLONE_NEWUSER) and setns fail with EINVAL.  Wait
 * for that (microseconds), a second at most. */
static void wait_single_threaded(void) {
  for (int i = 0; i < 20000 && kernel_threads() > 1; i++) {
    if (i < 100) {
      sched_yield();
    } else {
      struct timespec ts = {0, 50000};
      nanosleep(&ts, NULL);
    }
  }
}

void pl_parallel(unsigned threads, void (*fn)(void *arg), void *arg) {
  struct job j = {fn, arg};
  pthread_t t[PARALLEL_MAX];
  unsigned made = 0;
  if (threads > PARALLEL_MAX) threads = PARALLEL_MAX;
  if (threads > 1) {
    sigset_t all, old;
    sigfillset(&all);
    /* Threads start with their creator's mask: every signal blocked in
     * them, the caller's own mask back right after. */
    if (pthread_sigmask(SIG_SETMASK, &all, &old) == 0) {
      while (made + 1 < threads && pthread_create(&t[made], NULL, run_job, &j) == 0)
        made++;
      pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
  }
  fn(arg);
  for (unsigned i = 0; i < made; i++)
    pthread_join(t[i], NULL);
  if (made) wait_single_threaded();
}

struct fsyncs {
  const int *fds;
  size_t n;
  atomic_size_t next;
  atomic_int err;
};

static void fsync_some(void *p) {
  struct fsyncs *f = p;
  for (size_t i; (i = atomic_fetch_add(&f->next, 1)) < f->n;) {
    if (fsync(f->fds[i]) == 0) continue;
    int none = 0, e = errno;
    atomic_compare_exchange_strong(&f->err, &none, e);
  }
}

int pl_fsync_all(const int *fds, size_t n, pl_error_t *err) {
  struct fsyncs f = {.fds = fds, .n = n};
  atomic_init(&f.next, 0);
  atomic_init(&f.err, 0);
  pl_parallel(n < FSYNC_THREADS ? (unsigned)n : FSYNC_THREADS, fsync_some, &f);
  int e = atomic_load(&f.err);
  return e ? pl_fail(err, e, "fsync") : 0;
}
