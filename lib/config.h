/* pylock — configuration files (see pylock-config(5)).
 *
 *   system: /etc/pylock/config.toml ($PYLOCK_SYSCONFDIR replaces /etc/pylock)
 *   user:   $XDG_CONFIG_HOME/pylock/config.toml (default ~/.config/pylock/...)
 *
 * Both are TOML with top-level keys only:
 *
 *   keepalive = 30                       seconds; env PYLOCK_KEEPALIVE
 *   state-dir = "/srv/pylock-state"      absolute; env PYLOCK_STATE_DIR (state.h)
 *   ca-bundle = "/etc/ssl/internal.pem"  absolute; env PYLOCK_CA_BUNDLE
 *   strict = true                        sandboxes are --strict by default
 *   allow-write = ["/srv/data"]          also writable in default sandboxes
 *   safe-directories = ["/srv/shared"]   projects used though not the caller's
 *
 * The user file overrides the system file key by key (the two lists add up:
 * the admin's paths and the user's), and the environment variable overrides
 * both: the code that uses a value checks its variable
 * first and asks for the configuration only when it is unset.  A missing
 * file is no error; anything else wrong with one (syntax, an unknown key, a
 * wrong type or range) is, naming the file and, where it can, the line.
 *
 * The files are read lazily, once per process (pl_config_get), so commands
 * that never need a value never read them.  (`pylock run`, `shell` and `ci`
 * always need `strict` and `allow-write`, also when they join a keep-alive
 * holder.)
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CONFIG_H
#define PYLOCK_CONFIG_H

#include <stddef.h>

#include "error.h"

#define PL_CONFIG_FILE "config.toml"
#define PL_CONFIG_MAX_BYTES (64u * 1024) /* a configuration file we read */
#define PL_CONFIG_KEEPALIVE_MAX 86400    /* seconds */
#define PL_CONFIG_PATH_MAX 4096          /* bytes of a path value */

/* The keys, in the order messages list them. */
#define PL_CONFIG_KEYS "keepalive, state-dir, ca-bundle, strict, allow-write, safe-directories"
#define PL_CONFIG_LIST_MAX 256 /* entries of allow-write or safe-directories */

struct pl_config {
  int keepalive;      /* seconds, or -1 when no file sets it */
  char *state_dir;    /* absolute path, or NULL */
  char *ca_bundle;    /* absolute path, or NULL */
  int strict;         /* 1, 0, or -1 when no file sets it */
  char **allow_write; /* absolute paths, both files' */
  size_t nallow_write;
  char **safe_dirs; /* absolute paths, or "*" for every directory */
  size_t nsafe_dirs;
};

/* An empty configuration: nothing set. */
void pl_config_init(struct pl_config *cfg);
void pl_config_free(struct pl_config *cfg);

/* Parse len bytes of one configuration file over cfg: keys it sets replace
 * cfg's, others stay.  `what` (the file's path) names the file in errors.
 * On error cfg is unchanged. */
int pl_config_parse(const char *text, size_t len, const char *what, struct pl_config *cfg,
                    pl_error_t *err);

/* pl_config_parse of the file at path; a missing file (ENOENT) changes
 * nothing and is no error. */
int pl_config_read_file(const char *path, struct pl_config *cfg, pl_error_t *err);

/* The system file, then the user file over it, into a fresh cfg. */
int pl_config_load(struct pl_config *cfg, pl_error_t *err);

/* This process's configuration: loaded on the first call and kept; NULL
 * (with err) if a file is wrong.  A failed load is retried on the next call. */
const struct pl_config *pl_config_get(pl_error_t *err);

/* Forget what pl_config_get loaded (tests). */
void pl_config_reset(void);

/* The CA bundle for https registries: $PYLOCK_CA_BUNDLE, else ca-bundle,
 * else $SSL_CERT_FILE, else $CURL_CA_BUNDLE; *out NULL for the system's
 * store.  pylock's own settings first: the generic variables may be meant
 * for other programs.  -1 if a configuration file is wrong. */
int pl_config_ca_bundle(const char **out, pl_error_t *err);

#endif
