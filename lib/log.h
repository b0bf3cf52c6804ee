/* pylock — what lib/ has to say besides errors: -v detail and progress.
 *
 * lib/ never prints.  It says what each step does through pl_log() and
 * how far a long step has got through pl_progress_*(); the CLI sets the
 * hooks (pl_log_set) that decide what reaches the user, like crun's output
 * handler.  Without hooks, everything here is silent and costs a test of a
 * pointer.  Text passed here may carry outside words (names, URLs): the
 * hooks escape it, as every line pylock prints is escaped.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_LOG_H
#define PYLOCK_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum pl_log_level {
  PL_LOG_VERBOSE = 1, /* -v: what each step does (the registry's versions, the resolver's
                         command line, each wheel's checks, the mounts made) */
  PL_LOG_DEBUG = 2,   /* -vv: more (each cached tree's reuse, the write allow-list) */
};

enum pl_progress_event {
  PL_PROGRESS_BEGIN, /* a step begins: what */
  PL_PROGRESS_ITEM,  /* item `done` of `total` of the step: what */
  PL_PROGRESS_TICK,  /* time passes in a wait: a spinner may turn */
  PL_PROGRESS_END,   /* the step is over */
};

struct pl_log_hooks {
  int level; /* the most detailed level wanted (0: none of pl_log) */
  void (*line)(void *ctx, int level, const char *msg);
  /* NULL: no progress wanted (not a terminal, -q) */
  void (*progress)(void *ctx, enum pl_progress_event ev, const char *what, size_t done,
                   size_t total);
  void *ctx;
};

/* Set the hooks (copied); NULL silences everything. */
void pl_log_set(const struct pl_log_hooks *h);

/* Is `level` wanted?  (So that costly detail is built only then.) */
bool pl_log_on(int level);

/* One line of detail at `level`. */
void pl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A monotonic clock in milliseconds, for pl_log_phase. */
double pl_log_clock_ms(void);

/* -v: "time: WHAT: N ms" for the phase that began at *mark (a
 * pl_log_clock_ms() reading), then *mark = now for the next one. */
void pl_log_phase(double *mark, const char *what);

/* Is anyone drawing progress?  (Wait loops then wake up to tick.) */
bool pl_progress_on(void);
void pl_progress_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void pl_progress_item(size_t done, size_t total, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pl_progress_tick(void);
void pl_progress_end(void);

#endif
