/* pylock — per-user and system locations; see paths.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "paths.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

/* An environment variable's value when it is an absolute path, else NULL. */
static const char *abs_env(const char *name) {
  const char *v = getenv(name);
  return v && v[0] == '/' ? v : NULL;
}

int pl_path_home(char **out, pl_error_t *err) {
  const char *home = abs_env("HOME");
  if (home == NULL) {
    struct passwd *pw = getpwuid(getuid());
    home = pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
  }
  if (home == NULL)
    return pl_fail_hint(err, ENOENT, "set HOME to your home directory",
                        "cannot find the home directory");
  *out = strdup(home);
  return *out ? 0 : pl_fail(err, ENOMEM, "home");
}

const char *pl_path_system_config(void) {
  const char *s = getenv("PYLOCK_SYSCONFDIR");
  return s && s[0] ? s : "/etc/pylock";
}

/* $XDG_<var> when set, else ~/<fallback>; then /<leaf>/<sub> as given. */
static int xdg(const char *var, const char *fallback, const char *leaf, const char *sub, char **out,
               pl_error_t *err) {
  const char *base = abs_env(var);
  const char *s1 = leaf[0] ? "/" : "", *s2 = sub[0] ? "/" : "";
  if (base) {
    *out = pl_join(base, s1, leaf, s2, sub);
  } else {
    char *home = NULL;
    if (pl_path_home(&home, err) < 0)
      return pl_error_set_hint(err, "set HOME or %s to an absolute path", var);
    *out = pl_join(home, "/", fallback, s1, leaf, s2, sub);
    free(home);
  }
  return *out ? 0 : pl_fail(err, ENOMEM, "path");
}

int pl_path_user_config(const char *sub, char **out, pl_error_t *err) {
  return xdg("XDG_CONFIG_HOME", ".config", "pylock", sub ? sub : "", out, err);
}

int pl_path_state_default(char **out, pl_error_t *err) {
  return xdg("XDG_STATE_HOME", ".local/state", "pylock", "", out, err);
}

int pl_path_cache_home(char **out, pl_error_t *err) {
  return xdg("XDG_CACHE_HOME", ".cache", "", "", out, err);
}

int pl_path_user_site(const char *short_version, char **out, pl_error_t *err) {
  /* PYTHONUSERBASE moves it, but pylock scrubs that variable in sandboxes. */
  char *home = NULL;
  if (pl_path_home(&home, err) < 0) return -1;
  *out = pl_join(home, "/.local/lib/python", short_version);
  free(home);
  return *out ? 0 : pl_fail(err, ENOMEM, "user site");
}

const char *pl_path_runtime_dir(void) {
  return abs_env("XDG_RUNTIME_DIR");
}
