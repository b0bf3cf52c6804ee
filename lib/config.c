/* pylock — configuration files; see config.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"
#include "toml.h"
#include "paths.h"
#include "state.h"

static void free_list(char **list, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

void pl_config_init(struct pl_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->keepalive = -1;
  cfg->strict = -1;
}

void pl_config_free(struct pl_config *cfg) {
  if (cfg == NULL) return;
  free(cfg->state_dir);
  free(cfg->ca_bundle);
  free_list(cfg->allow_write, cfg->nallow_write);
  free_list(cfg->safe_dirs, cfg->nsafe_dirs);
  pl_config_init(cfg);
}

/* The line (1-based) where top-level key `key` is defined, or 0 if not
 * found: the first line whose first token is the key, bare or quoted, or a
 * [key] / [[key]] header.  Good enough for the flat files this reads; the
 * TOML tree keeps no positions. */
static size_t key_line(const char *text, size_t len, const char *key, size_t klen) {
  size_t line = 1;
  for (size_t i = 0; i < len; line++) {
    size_t end = i;
    while (end < len && text[end] != '\n')
      end++;
    size_t p = i;
    while (p < end && (text[p] == ' ' || text[p] == '\t'))
      p++;
    while (p < end && text[p] == '[')
      p++;
    while (p < end && (text[p] == ' ' || text[p] == '\t'))
      p++;
    char q = p < end && (text[p] == '"' || text[p] == '\'') ? text[p] : 0;
    if (q) p++;
    if (end - p >= klen && memcmp(text + p, key, klen) == 0) {
      size_t after = p + klen;
      char c = after < end ? text[after] : '\n';
      if (q ? c == q : (c == ' ' || c == '\t' || c == '=' || c == '.' || c == ']' || c == '\n'))
        return line;
    }
    i = end + 1;
  }
  return 0;
}

/* A key as it can be shown in a message: printable ASCII, bounded. */
static void show_key(const char *key, size_t klen, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < klen && o + 4 < cap; i++)
    out[o++] = key[i] >= 0x20 && key[i] < 0x7f ? key[i] : '?';
  if (klen > 0 && o + 4 >= cap && o < klen) {
    out[o++] = '.', out[o++] = '.', out[o++] = '.';
  }
  out[o] = '\0';
}

/* "FILE, line N: " or "FILE: " for messages about key. */
static void where_key(char *buf, size_t cap, const char *what, const char *text, size_t len,
                      const char *key, size_t klen) {
  size_t line = key_line(text, len, key, klen);
  if (line)
    snprintf(buf, cap, "%s, line %zu", what, line);
  else
    snprintf(buf, cap, "%s", what);
}

static int path_value(const struct pl_toml *v, const char *where, const char *name, char **out,
                      pl_error_t *err) {
  size_t len;
  const char *s = pl_toml_as_string(v, &len);
  if (s == NULL)
    return pl_fail(err, 0, "%s: %s must be a string (an absolute path), not %s", where, name,
                   pl_toml_type_name(pl_toml_type(v)));
  if (len == 0 || s[0] != '/' || memchr(s, '\0', len) || len > PL_CONFIG_PATH_MAX)
    return pl_fail(err, 0, "%s: %s must be an absolute path", where, name);
  *out = strndup(s, len);
  return *out ? 0 : pl_fail(err, ENOMEM, "%s", where);
}

/* A list of absolute paths (or, when star_ok, the single entry "*"),
 * appended to *list. */
static int path_list(const struct pl_toml *v, const char *where, const char *name, bool star_ok,
                     char ***list, size_t *n, pl_error_t *err) {
  if (pl_toml_type(v) != PL_TOML_ARRAY)
    return pl_fail(err, 0, "%s: %s must be a list of absolute paths, not %s", where, name,
                   pl_toml_type_name(pl_toml_type(v)));
  size_t count = pl_toml_count(v);
  if (*n + count > PL_CONFIG_LIST_MAX)
    return pl_fail(err, E2BIG, "%s: %s: more than %d entries", where, name, PL_CONFIG_LIST_MAX);
  char **l = realloc(*list, (*n + count + 1) * sizeof *l);
  if (l == NULL) return pl_fail(err, ENOMEM, "%s", where);
  *list = l;
  for (size_t i = 0; i < count; i++) {
    size_t len;
    const char *s = pl_toml_as_string(pl_toml_at(v, i), &len);
    bool star = star_ok && s && len == 1 && s[0] == '*';
    if (s == NULL || len == 0 || (s[0] != '/' && !star) || memchr(s, '\0', len) ||
        len > PL_CONFIG_PATH_MAX)
      return pl_fail(err, 0, "%s: %s: entry %zu must be an absolute path%s", where, name, i + 1,
                     star_ok ? " or \"*\"" : "");
    if ((l[*n] = strndup(s, len)) == NULL) return pl_fail(err, ENOMEM, "%s", where);
    (*n)++;
  }
  return 0;
}

static bool key_is(const char *key, size_t klen, const char *name) {
  return klen == strlen(name) && memcmp(key, name, klen) == 0;
}

/* One key of a configuration file into next. */
static int parse_key(const char *key, size_t klen, const struct pl_toml *v, const char *where,
                     struct pl_config *next, pl_error_t *err) {
  if (key_is(key, klen, "keepalive")) {
    int64_t n;
    if (pl_toml_as_integer(v, &n) < 0 || n < 0 || n > PL_CONFIG_KEEPALIVE_MAX)
      return pl_fail(err, 0, "%s: keepalive must be a whole number of seconds from 0 to %d", where,
                     PL_CONFIG_KEEPALIVE_MAX);
    next->keepalive = (int)n;
  } else if (key_is(key, klen, "state-dir")) {
    free(next->state_dir);
    return path_value(v, where, "state-dir", &next->state_dir, err);
  } else if (key_is(key, klen, "ca-bundle")) {
    free(next->ca_bundle);
    return path_value(v, where, "ca-bundle", &next->ca_bundle, err);
  } else if (key_is(key, klen, "strict")) {
    bool b;
    if (pl_toml_as_bool(v, &b) < 0)
      return pl_fail(err, 0, "%s: strict must be true or false", where);
    next->strict = b;
  } else if (key_is(key, klen, "allow-write")) {
    return path_list(v, where, "allow-write", false, &next->allow_write, &next->nallow_write, err);
  } else if (key_is(key, klen, "safe-directories")) {
    return path_list(v, where, "safe-directories", true, &next->safe_dirs, &next->nsafe_dirs, err);
  } else if (key_is(key, klen, "cache-dir")) {
    return pl_fail_hint(err, 0,
                        "rename it state-dir: the cache now lives in pylock's state directory, "
                        "with everything else pylock trusts (pylock-config(5))",
                        "%s: cache-dir is no longer a setting", where);
  } else {
    /* A misspelt key must not silently do nothing. */
    char shown[80];
    show_key(key, klen, shown, sizeof shown);
    return pl_fail_hint(err, 0, "see pylock-config(5)", "%s: unknown key '%s' (known keys: %s)",
                        where, shown, PL_CONFIG_KEYS);
  }
  return 0;
}

/* Move what `from` sets into cfg: scalars replace, lists add up. */
static void merge(struct pl_config *cfg, struct pl_config *from) {
  if (from->keepalive >= 0) cfg->keepalive = from->keepalive;
  if (from->strict >= 0) cfg->strict = from->strict;
  if (from->state_dir) {
    free(cfg->state_dir);
    cfg->state_dir = steal_pointer(&from->state_dir);
  }
  if (from->ca_bundle) {
    free(cfg->ca_bundle);
    cfg->ca_bundle = steal_pointer(&from->ca_bundle);
  }
  char ***lists[2][2] = {{&cfg->allow_write, &from->allow_write},
                         {&cfg->safe_dirs, &from->safe_dirs}};
  size_t *counts[2][2] = {{&cfg->nallow_write, &from->nallow_write},
                          {&cfg->nsafe_dirs, &from->nsafe_dirs}};
  for (int i = 0; i < 2; i++) {
    size_t add = *counts[i][1];
    if (add == 0) continue;
    char **l = realloc(*lists[i][0], (*counts[i][0] + add + 1) * sizeof *l);
    if (l == NULL) continue; /* keeps from's list, freed with it */
    memcpy(l + *counts[i][0], *lists[i][1], add * sizeof *l);
    *counts[i][0] += add;
    *lists[i][0] = l;
    free(*lists[i][1]);
    *lists[i][1] = NULL;
    *counts[i][1] = 0;
  }
}

int pl_config_parse(const char *text, size_t len, const char *what, struct pl_config *cfg,
                    pl_error_t *err) {
  if (len > PL_CONFIG_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s: larger than %u bytes", what, PL_CONFIG_MAX_BYTES);
  struct pl_toml *doc = NULL;
  if (pl_toml_parse(text, len, &doc, err) < 0) return pl_error_wrap(err, "%s", what);
  /* Build the result aside: a file with an error changes nothing. */
  struct pl_config next;
  pl_config_init(&next);
  int rc = 0;
  for (size_t i = 0; i < pl_toml_count(doc) && rc == 0; i++) {
    size_t klen;
    const char *key = pl_toml_key_at(doc, i, &klen);
    char where[PL_CONFIG_PATH_MAX + 64];
    where_key(where, sizeof where, what, text, len, key, klen);
    rc = parse_key(key, klen, pl_toml_at(doc, i), where, &next, err);
  }
  if (rc == 0) merge(cfg, &next);
  pl_config_free(&next);
  pl_toml_free(doc);
  return rc;
}

int pl_config_read_file(const char *path, struct pl_config *cfg, pl_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len = 0;
  pl_error_t e = NULL;
  /* Most users have no configuration file: one lookup, not the walk of
   * the trust check, says so (a dangling link still takes the long way). */
  if (faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) return 0;
  /* A configuration someone else can write would decide what sandboxes may
   * write (allow-write) and which projects are trusted (safe-directories). */
  if (pl_path_check_trusted(path, "configuration file", &e) < 0 && e->errnum != ENOENT) {
    pl_error_free(err);
    *err = e;
    return -1;
  }
  pl_error_free(&e);
  if (pl_read_file_at(AT_FDCWD, path, PL_CONFIG_MAX_BYTES, &text, &len, &e) < 0) {
    bool missing = e && e->errnum == ENOENT;
    if (missing || err == NULL) {
      pl_error_free(&e);
      return missing ? 0 : -1;
    }
    /* Its message names the file already ("open PATH: ..."). */
    pl_error_free(err);
    *err = e;
    return pl_error_wrap(err, "configuration");
  }
  return pl_config_parse(text, len, path, cfg, err);
}

int pl_config_load(struct pl_config *cfg, pl_error_t *err) {
  pl_config_init(cfg);
  cleanup_free char *sys = NULL, *user = NULL;
  if ((sys = pl_join(pl_path_system_config(), "/", PL_CONFIG_FILE)) == NULL)
    return pl_fail(err, ENOMEM, "configuration");
  if (pl_config_read_file(sys, cfg, err) < 0) goto fail;
  /* No home and no XDG_CONFIG_HOME: there is no user file to read. */
  pl_error_t e = NULL;
  if (pl_path_user_config(PL_CONFIG_FILE, &user, &e) < 0) {
    pl_error_free(&e);
    return 0;
  }
  if (pl_config_read_file(user, cfg, err) < 0) goto fail;
  return 0;
fail:
  pl_config_free(cfg);
  return -1;
}

static struct pl_config loaded;
static bool is_loaded;

const struct pl_config *pl_config_get(pl_error_t *err) {
  if (!is_loaded) {
    if (pl_config_load(&loaded, err) < 0) return NULL;
    is_loaded = true;
  }
  return &loaded;
}

void pl_config_reset(void) {
  pl_config_free(&loaded);
  is_loaded = false;
}

int pl_config_ca_bundle(const char **out, pl_error_t *err) {
  const char *v = getenv("PYLOCK_CA_BUNDLE");
  *out = NULL;
  if (v && v[0]) {
    *out = v;
    return 0;
  }
  const struct pl_config *cfg = pl_config_get(err);
  if (cfg == NULL) return -1;
  if (cfg->ca_bundle) {
    *out = cfg->ca_bundle;
    return 0;
  }
  const char *names[] = {"SSL_CERT_FILE", "CURL_CA_BUNDLE"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    v = getenv(names[i]);
    if (v && v[0]) {
      *out = v;
      return 0;
    }
  }
  return 0;
}
