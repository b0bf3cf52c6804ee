/* pylock — where trusted registry roots live.
 *
 *   user:   $XDG_CONFIG_HOME/pylock/trust.d/NAME.json (default ~/.config/...)
 *   system: /etc/pylock/trust.d/NAME.json, read-only to pylock;
 *           $PYLOCK_SYSCONFDIR replaces /etc/pylock (tests, relocated installs)
 * A user root shadows a system root of the same NAME.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TRUSTSTORE_H
#define PYLOCK_TRUSTSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "error.h"

#define PL_TRUST_NAME_MAX 64

/* The system trust directory, newly allocated. */
char *pl_trust_system_dir(void);

/* NAME: 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool pl_trust_name_ok(const char *name);

/* Validate root_file (a TUF root signed by its own root keys) and store it
 * as a user root.  name NULL derives one from the file name (or from the
 * first root keyid); *name_out (if not NULL) receives the name used. */
int pl_trust_add(const char *root_file, const char *name, char **name_out, pl_error_t *err);
/* Remove a user root; system roots cannot be removed by pylock. */
int pl_trust_remove(const char *name, pl_error_t *err);
/* Path of the root for NAME (user first, then system). */
int pl_trust_find(const char *name, char **path, pl_error_t *err);

struct pl_trust_entry {
  char *name, *path;
  bool system;
  bool shadowed; /* a system root hidden by a user root of the same name */
  bool valid;    /* parses and is self-signed */
  int64_t version;
  time_t expires;
  char *problem; /* why not valid, or NULL */
};
/* Every root, user ones first, each sorted by name. */
int pl_trust_list(struct pl_trust_entry **out, size_t *n, pl_error_t *err);
void pl_trust_list_free(struct pl_trust_entry *list, size_t n);

#endif
