/* pylock — where things live: every per-user and system location, in one place.
 *
 * A leaf: it reads only the environment and the password database, never a
 * configuration file (lib/config.c asks it where those are).  Relative XDG
 * values are ignored, as the XDG base directory specification says.
 *
 *   system configuration   $PYLOCK_SYSCONFDIR, else /etc/pylock
 *   user configuration     $XDG_CONFIG_HOME/pylock, else ~/.config/pylock
 *   state root (default)   $XDG_STATE_HOME/pylock, else ~/.local/state/pylock
 *                          ($PYLOCK_STATE_DIR and `state-dir` move it: lib/state.h)
 *   user cache home        $XDG_CACHE_HOME, else ~/.cache (writable in sandboxes)
 *   user site              ~/.local/lib/pythonX.Y (hidden in sandboxes)
 *   runtime directory      $XDG_RUNTIME_DIR (its session sockets are hidden)
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_PATHS_H
#define PYLOCK_PATHS_H

#include "error.h"

/* The home directory: $HOME when absolute, else the password database's. */
int pl_path_home(char **out, pl_error_t *err);

/* The system configuration directory; not allocated. */
const char *pl_path_system_config(void);

/* The user configuration directory, and `sub` inside it ("" for the
 * directory itself); newly allocated. */
int pl_path_user_config(const char *sub, char **out, pl_error_t *err);

/* The default state root (not created); newly allocated. */
int pl_path_state_default(char **out, pl_error_t *err);

/* The user's cache home ($XDG_CACHE_HOME or ~/.cache); newly allocated. */
int pl_path_cache_home(char **out, pl_error_t *err);

/* The user site directory of Python X.Y (`short_version`); newly allocated. */
int pl_path_user_site(const char *short_version, char **out, pl_error_t *err);

/* $XDG_RUNTIME_DIR when absolute, else NULL; not allocated. */
const char *pl_path_runtime_dir(void);

#endif
