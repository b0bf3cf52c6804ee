/* pylock — detail and progress through the CLI's hooks; see log.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static struct pl_log_hooks hooks;

void pl_log_set(const struct pl_log_hooks *h) {
  struct pl_log_hooks none = {0};
  hooks = h ? *h : none;
}

bool pl_log_on(int level) {
  return hooks.line != NULL && level <= hooks.level;
}

void pl_log(int level, const char *fmt, ...) {
  if (!pl_log_on(level)) return;
  char buf[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  hooks.line(hooks.ctx, level, buf);
}

double pl_log_clock_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

void pl_log_phase(double *mark, const char *what) {
  double now = pl_log_clock_ms();
  pl_log(PL_LOG_VERBOSE, "time: %s: %.0f ms", what, now - *mark);
  *mark = now;
}

bool pl_progress_on(void) {
  return hooks.progress != NULL;
}

/* The hook, with fmt's rendering (NULL fmt: no text). */
static void send(enum pl_progress_event ev, size_t done, size_t total, const char *fmt,
                 va_list ap) {
  char buf[512] = "";
  if (fmt) vsnprintf(buf, sizeof buf, fmt, ap);
  hooks.progress(hooks.ctx, ev, buf, done, total);
}

void pl_progress_begin(const char *fmt, ...) {
  if (hooks.progress == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  send(PL_PROGRESS_BEGIN, 0, 0, fmt, ap);
  va_end(ap);
}

void pl_progress_item(size_t done, size_t total, const char *fmt, ...) {
  if (hooks.progress == NULL) return;
  va_list ap;
  va_start(ap, fmt);
  send(PL_PROGRESS_ITEM, done, total, fmt, ap);
  va_end(ap);
}

void pl_progress_tick(void) {
  if (hooks.progress) hooks.progress(hooks.ctx, PL_PROGRESS_TICK, "", 0, 0);
}

void pl_progress_end(void) {
  if (hooks.progress) hooks.progress(hooks.ctx, PL_PROGRESS_END, "", 0, 0);
}
