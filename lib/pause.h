/* pylock — pause points, for crash tests.
 *
 * PYLOCK_PAUSE_AT=STEP makes pylock stop itself (SIGSTOP) the first time it
 * reaches the named step of a change, so that a test can kill it exactly
 * there, or race another command against it, rather than wherever a timer
 * happens to land.  Steps: fetched, unpacked, linked, built, switch (sync),
 * staged, recorded, committed, switched (install, remove), resolved (lock),
 * rollback; tree-made (a cache tree's directory made, not yet locked),
 * scratch-made (the same for a scratch directory) and orphan (gc about to
 * remove an orphan project's state, holding its change lock).  Stopping oneself gives
 * nothing away: anyone who can set the variable can send SIGSTOP. */
#ifndef PYLOCK_PAUSE_H
#define PYLOCK_PAUSE_H

void pl_pause(const char *step);

#endif
