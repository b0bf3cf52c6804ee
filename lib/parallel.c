/* pylock — the same work run in a few threads at once. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "parallel.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
