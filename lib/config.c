/* pylock — configuration files; see config.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "file.h"
#include "toml.h"
#include "truststore.h"

void pl_config_init(struct pl_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->keepalive = -1;
}

void pl_config_free(struct pl_config *cfg) {
  if (cfg == NULL) return;
  free(cfg->cache_dir);
  free(cfg->ca_bundle);
  pl_config_init(cfg);
}

const char *pl_sysconf_dir(void) {
  const char *s = getenv("PYLOCK_SYSCONFDIR");
  return s && s[0] ? s : "/etc/pylock";
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
    return pl_fail(err, EINVAL, "%s: %s must be a string (an absolute path), not %s", where, name,
                   pl_toml_type_name(pl_toml_type(v)));
  if (len == 0 || s[0] != '/' || memchr(s, '\0', len) || len > PL_CONFIG_PATH_MAX)
    return pl_fail(err, EINVAL, "%s: %s must be an absolute path", where, name);
  *out = strndup(s, len);
  return *out ? 0 : pl_fail(err, ENOMEM, "%s", where);
}

int pl_config_parse(const char *text, size_t len, const char *what, struct pl_config *cfg,
                    pl_error_t *err) {
  if (len > PL_CONFIG_MAX_BYTES)
    return pl_fail(err, EFBIG, "%s: larger than %u bytes", what, PL_CONFIG_MAX_BYTES);
  struct pl_toml *doc = NULL;
  if (pl_toml_parse(text, len, &doc, err) < 0) return pl_error_wrap(err, "%s", what);
  /* Build the result aside: a file with an error changes nothing. */
  struct pl_config next = {.keepalive = cfg->keepalive};
  int rc = -1;
  for (size_t i = 0; i < pl_toml_count(doc); i++) {
    size_t klen;
    const char *key = pl_toml_key_at(doc, i, &klen);
    const struct pl_toml *v = pl_toml_at(doc, i);
    char where[PL_CONFIG_PATH_MAX + 64], shown[80];
    where_key(where, sizeof where, what, text, len, key, klen);
    if (klen == 9 && memcmp(key, "keepalive", 9) == 0) {
      int64_t n;
      if (pl_toml_as_integer(v, &n) < 0 || n < 0 || n > PL_CONFIG_KEEPALIVE_MAX) {
        pl_fail(err, EINVAL, "%s: keepalive must be a whole number of seconds from 0 to %d", where,
                PL_CONFIG_KEEPALIVE_MAX);
        goto out;
      }
      next.keepalive = (int)n;
    } else if (klen == 9 && memcmp(key, "cache-dir", 9) == 0) {
      if (path_value(v, where, "cache-dir", &next.cache_dir, err) < 0) goto out;
    } else if (klen == 9 && memcmp(key, "ca-bundle", 9) == 0) {
      if (path_value(v, where, "ca-bundle", &next.ca_bundle, err) < 0) goto out;
    } else {
      /* A misspelt key must not silently do nothing. */
      show_key(key, klen, shown, sizeof shown);
      pl_fail_hint(err, EINVAL, "see pylock-config(5)", "%s: unknown key '%s' (known keys: %s)",
                   where, shown, PL_CONFIG_KEYS);
      goto out;
    }
  }
  cfg->keepalive = next.keepalive;
  if (next.cache_dir) {
    free(cfg->cache_dir);
    cfg->cache_dir = steal_pointer(&next.cache_dir);
  }
  if (next.ca_bundle) {
    free(cfg->ca_bundle);
    cfg->ca_bundle = steal_pointer(&next.ca_bundle);
  }
  rc = 0;
out:
  free(next.cache_dir);
  free(next.ca_bundle);
  pl_toml_free(doc);
  return rc;
}

int pl_config_read_file(const char *path, struct pl_config *cfg, pl_error_t *err) {
  cleanup_free char *text = NULL;
  size_t len = 0;
  pl_error_t e = NULL;
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
  if (asprintf(&sys, "%s/%s", pl_sysconf_dir(), PL_CONFIG_FILE) < 0) {
    sys = NULL;
    return pl_fail(err, ENOMEM, "configuration");
  }
  if (pl_config_read_file(sys, cfg, err) < 0) goto fail;
  /* No home and no XDG_CONFIG_HOME: there is no user file to read. */
  pl_error_t e = NULL;
  if (pl_config_path(PL_CONFIG_FILE, &user, &e) < 0) {
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
