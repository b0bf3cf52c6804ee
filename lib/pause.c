/* pylock — pause points for crash tests; see pause.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "pause.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void pl_pause(const char *step) {
  static bool paused;
  const char *want = getenv("PYLOCK_PAUSE_AT");
  if (paused || want == NULL || strcmp(want, step) != 0) return;
  paused = true;
  raise(SIGSTOP);
}
