/* pylock — pause points for crash tests; see pause.h. */
#include "pause.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void pl_pause(const char *step) {
  const char *want = getenv("PYLOCK_PAUSE_AT");
  if (want && strcmp(want, step) == 0) raise(SIGSTOP);
}
