/* pylock — interruptions noticed; see interrupt.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "interrupt.h"

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t noticed;

void pl_interrupt_note(int sig) {
  noticed = sig;
}

int pl_interrupted(void) {
  return noticed;
}

int pl_interrupt_check(pl_error_t *err) {
  int sig = noticed;
  if (sig == 0) return 0;
  return pl_fail(err, -EINTR, "interrupted (%s)", sig == SIGINT ? "Ctrl-C" : strsignal(sig));
}
