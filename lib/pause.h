/* pylock — pause points, for crash tests.
 *
 * PYLOCK_PAUSE_AT=STEP makes pylock stop itself (SIGSTOP) the first time it
 * reaches the named step of a change, so that a test can kill it exactly
 * there, or race another command against it, rather than wherever a timer
 * happens to land.  Steps: fetched, compiled (the new trees byte-compiled,
 * not yet sealed), unpacked, linked, quarantine (a tree found damaged
 * while linked, about to be quarantined), built, switch (sync),
 * staged, recorded, committed, switched (install, remove), resolved (lock),
 * rollback; tree-made (a cache batch's directory made),
 * scratch-made (a scratch directory made) and orphan (gc about to
 * remove an orphan project's state, holding its change lock).  Stopping oneself gives
 * nothing away: anyone who can set the variable can send SIGSTOP.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PAUSE_H
#define PYLOCK_PAUSE_H

void pl_pause(const char *step);

#endif
