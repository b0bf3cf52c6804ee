/* pylock — where a private signing key may live; see keyplace.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "keyplace.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "interp.h"
#include "paths.h"

int pl_keys_dir(char **out, pl_error_t *err) {
  return pl_path_user_config("keys", out, err);
}

static bool has_suffix(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

int pl_key_resolve(const char *arg, char **out, pl_error_t *err) {
  int w;
  if (arg[0] == '\0') return pl_fail(err, EINVAL, "empty key name");
  if (strcmp(arg, "-") == 0) {
    w = asprintf(out, "-");
  } else if (strchr(arg, '/') == NULL) {
    if (strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0)
      return pl_fail(err, EINVAL, "key name %s: not a file name", arg);
    cleanup_free char *dir = NULL;
    if (pl_keys_dir(&dir, err) < 0) return -1;
    bool bare = !has_suffix(arg, ".key") && !has_suffix(arg, ".pub");
    w = asprintf(out, "%s/%s%s", dir, arg, bare ? ".key" : "");
  } else if (arg[0] == '/') {
    w = asprintf(out, "%s", arg);
  } else {
    while (arg[0] == '.' && arg[1] == '/')
      for (arg += 2; *arg == '/'; arg++)
        ;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) return pl_fail(err, errno, "working directory");
    w = asprintf(out, "%s/%s", cwd, arg);
  }
  if (w < 0) return pl_fail(err, ENOMEM, "key path");
  return 0;
}

int pl_key_check_place(const char *abs, bool for_write, pl_error_t *err) {
  int r;
  if (for_write) {
    cleanup_free char *dir = strdup(abs);
    if (dir == NULL) return pl_fail(err, ENOMEM, "key path");
    char *slash = strrchr(dir, '/');
    if (slash == dir)
      slash[1] = '\0';
    else if (slash)
      *slash = '\0';
    r = pl_path_check_unchangeable("private key directory", dir, true, err);
  } else {
    r = pl_path_check_unchangeable("private key", abs, false, err);
  }
  if (r < 0) {
    cleanup_free char *keys = NULL;
    pl_error_t e = NULL;
    if (pl_keys_dir(&keys, &e) < 0) pl_error_free(&e);
    pl_error_set_hint(err,
                      "keep private keys in %s (%s), with no directory on the way writable by "
                      "anyone but you",
                      keys ? keys : "~/.config/pylock/keys",
                      for_write ? "pylock key generate -o NAME"
                                : "pylock key import FILE, after checking its keyid: code "
                                  "pylock runs may have replaced it");
  }
  return r;
}

bool pl_key_in_keys_dir(const char *abs) {
  cleanup_free char *dir = NULL;
  pl_error_t e = NULL;
  if (pl_keys_dir(&dir, &e) < 0) {
    pl_error_free(&e);
    return false;
  }
  cleanup_free char *rdir = realpath(dir, NULL), *rkey = realpath(abs, NULL);
  if (rdir == NULL || rkey == NULL) return false;
  size_t n = strlen(rdir);
  return strncmp(rkey, rdir, n) == 0 && rkey[n] == '/';
}

int pl_key_load_stdin(struct pl_key *k, pl_error_t *err) {
  static bool used;
  memset(k, 0, sizeof *k);
  if (used) return pl_fail(err, EINVAL, "standard input (-) gives only one key");
  used = true;
  if (pl_key_load_fd(STDIN_FILENO, "from standard input", false, k, err) < 0) return -1;
  if (!k->has_seed) {
    pl_key_wipe(k);
    return pl_fail(err, EINVAL, "standard input holds a public key; signing needs the private key");
  }
  return 0;
}

int pl_key_load_private(const char *abs, struct pl_key *k, bool *outside, pl_error_t *err) {
  *outside = false;
  memset(k, 0, sizeof *k);
  if (strcmp(abs, "-") == 0) return pl_key_load_stdin(k, err);
  struct stat st;
  if (lstat(abs, &st) < 0) return pl_fail(err, errno, "open key %s", abs);
  if (pl_key_check_place(abs, false, err) < 0 || pl_key_load(abs, k, err) < 0) return -1;
  *outside = !pl_key_in_keys_dir(abs);
  return 0;
}
