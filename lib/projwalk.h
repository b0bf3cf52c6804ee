/* pylock — the upward search for pylock.toml, shared by pylock and its shims' front end.
 *
 * One walk, compiled into both programs (Makefile: FRONT_LIB_OBJ), so that
 * the front end (pylock/front/) can never disagree with pylock about whether
 * a directory lies inside a project: it execs the real interpreter itself
 * only when this walk, run without the configuration, finds no pylock.toml
 * in the working directory or any parent; pylock decides everything else
 * (project.c: the ownership checks, safe-directories).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PROJWALK_H
#define PYLOCK_PROJWALK_H

#include <stdbool.h>
#include <sys/stat.h>

/* May someone besides the owner write this file or directory? */
bool pl_project_writable_by_others(const struct stat *st);

/* Does `dir` hold a pylock.toml (any type, links not followed)?  1 yes, 0
 * no (ENOENT), -1 when that cannot be told (errno). */
int pl_project_has_lock_file(const char *dir);

/* Search upward from `cwd` (the working directory's absolute path, from
 * getcwd; cut down in place) for a pylock.toml, along the working
 * directory's real parents, which the path must keep naming:
 * 1 when found (cwd is its directory, *st its stat), 0 when not, -1 when a
 * stat fails, whether a pylock.toml is there cannot be told, or the path
 * no longer names the directory reached (errno, ESTALE then; cwd names the
 * directory).  The working directory is
 * where the user chose to be; above it, with listed_safe the search stops
 * at the first directory others can write unless listed_safe(dir) says the
 * user trusts it; with listed_safe NULL (no configuration read), it goes on
 * to / and sets *passed on crossing such a directory. */
int pl_project_walk_up(char *cwd, bool (*listed_safe)(const char *dir), bool *passed,
                       struct stat *st);

#endif
