/* pylock — trusted roots on disk; see truststore.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "truststore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "sha.h"
#include "cleanup.h"
#include "paths.h"
#include "state.h"
#include "file.h"
#include "tuf.h"

char *pl_trust_system_dir(void) {
  char *out = NULL;
  if (asprintf(&out, "%s/trust.d", pl_path_system_config()) < 0) return NULL;
  return out;
}

bool pl_trust_name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > PL_TRUST_NAME_MAX || name[0] == '.' || name[0] == '-') return false;
  for (const char *c = name; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
          *c == '.' || *c == '_' || *c == '-'))
      return false;
  return true;
}

static char *derive_name(const char *file, const char *raw, size_t len) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".json") == 0) n -= 5;
  while (n && *base >= '0' && *base <= '9')
    base++, n--; /* "3.root" -> ".root" */
  while (n && *base == '.')
    base++, n--;
  char *name = strndup(base, n);
  if (name && pl_trust_name_ok(name) && strcmp(name, "root") != 0) return name;
  free(name);
  /* Fall back to the first root keyid: stable for the registry. */
  json_t *doc = NULL;
  pl_error_t e = NULL;
  char *out = NULL;
  if (pl_json_parse(raw, len, file, &doc, &e) == 0) {
    json_t *ids = json_object_get(
        json_object_get(json_object_get(json_object_get(doc, "signed"), "roles"), "root"),
        "keyids");
    const char *id = json_string_value(json_array_get(ids, 0));
    if (id && asprintf(&out, "root-%.16s", id) < 0) out = NULL;
    if (out && !pl_trust_name_ok(out)) {
      free(out);
      out = NULL;
    }
    pl_json_decref(doc);
  }
  pl_error_free(&e);
  return out ? out : strdup("registry");
}

int pl_trust_add(const char *root_file, const char *name, char **name_out, pl_error_t *err) {
  if (name && !pl_trust_name_ok(name))
    return pl_fail(err, 0, "invalid name \"%s\": use 1-%d letters, digits, '.', '_', '-'", name,
                   PL_TRUST_NAME_MAX);
  cleanup_free char *raw = NULL;
  size_t len;
  if (pl_read_file_at(AT_FDCWD, root_file, PL_TUF_ROOT_MAX, &raw, &len, err) < 0) return -1;
  if (pl_tuf_check_root(raw, len, root_file, NULL, NULL, err) < 0)
    return pl_error_set_hint(err, "give the registry's root.json, as its maintainer published it");
  cleanup_free char *chosen = name ? strdup(name) : derive_name(root_file, raw, len);
  cleanup_free char *dir = NULL, *file = NULL;
  if (chosen == NULL || pl_path_user_config("trust.d", &dir, err) < 0) return -1;
  if (pl_mkdir_p(dir, 0700, err) < 0) return -1;
  cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return pl_fail(err, errno, "open %s", dir);
  if (asprintf(&file, "%s.json", chosen) < 0) return pl_fail(err, ENOMEM, "trust add");
  if (faccessat(dfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return pl_fail_hint(err, EEXIST, "pick another --name, or 'pylock trust remove' it first",
                        "a root named %s is already trusted (%s/%s)", chosen, dir, file);
  if (pl_write_file_atomic_at(dfd, file, raw, len, 0644, err) < 0) return -1;
  if (name_out) *name_out = steal_pointer(&chosen);
  return 0;
}

int pl_trust_remove(const char *name, pl_error_t *err) {
  if (!pl_trust_name_ok(name)) return pl_fail(err, 0, "invalid name \"%s\"", name);
  cleanup_free char *dir = NULL, *path = NULL;
  if (pl_path_user_config("trust.d", &dir, err) < 0) return -1;
  if (asprintf(&path, "%s/%s.json", dir, name) < 0) return pl_fail(err, ENOMEM, "trust remove");
  if (unlink(path) == 0) return 0;
  int e = errno;
  cleanup_free char *sys = pl_trust_system_dir(), *syspath = NULL;
  if (e == ENOENT && sys && asprintf(&syspath, "%s/%s.json", sys, name) >= 0 &&
      access(syspath, F_OK) == 0)
    return pl_fail_hint(err, 0, "system roots are managed by the administrator (or package)",
                        "%s is a system root (%s); pylock does not remove it", name, syspath);
  return pl_fail(err, e, "remove %s", path);
}

int pl_trust_find(const char *name, char **path, pl_error_t *err) {
  if (!pl_trust_name_ok(name)) return pl_fail(err, 0, "invalid trusted root name \"%s\"", name);
  cleanup_free char *dir = NULL, *sys = pl_trust_system_dir();
  char *p = NULL;
  /* A root someone else could have put there is no root of trust. */
  if (pl_path_user_config("trust.d", &dir, NULL) == 0 &&
      asprintf(&p, "%s/%s.json", dir, name) >= 0) {
    if (access(p, F_OK) == 0) {
      if (pl_path_check_trusted(p, "trusted root", err) < 0) {
        free(p);
        return -1;
      }
      *path = p;
      return 0;
    }
    free(p);
    p = NULL;
  }
  if (sys && asprintf(&p, "%s/%s.json", sys, name) >= 0) {
    if (access(p, F_OK) == 0) {
      if (pl_path_check_trusted(p, "trusted root", err) < 0) {
        free(p);
        return -1;
      }
      *path = p;
      return 0;
    }
    free(p);
  }
  return pl_fail_hint(err, ENOENT, "see 'pylock trust list', or add it with 'pylock trust add'",
                      "no trusted root named %s", name);
}

static int cmp_entry(const void *a, const void *b) {
  const struct pl_trust_entry *x = a, *y = b;
  if (x->system != y->system) return x->system - y->system;
  return strcmp(x->name, y->name);
}

static int scan(const char *dir, bool system, struct pl_trust_entry **list, size_t *n, size_t *cap,
                pl_error_t *err) {
  cleanup_dir DIR *d = opendir(dir);
  if (d == NULL) return errno == ENOENT ? 0 : pl_fail(err, errno, "open %s", dir);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (l <= 5 || strcmp(de->d_name + l - 5, ".json") != 0) continue;
    char *name = strndup(de->d_name, l - 5);
    if (name == NULL) return pl_fail(err, ENOMEM, "trust list");
    if (!pl_trust_name_ok(name)) {
      free(name);
      continue;
    }
    if (*n == *cap) {
      size_t nc = *cap ? *cap * 2 : 8;
      struct pl_trust_entry *nl = realloc(*list, nc * sizeof *nl);
      if (nl == NULL) {
        free(name);
        return pl_fail(err, ENOMEM, "trust list");
      }
      *list = nl;
      *cap = nc;
    }
    struct pl_trust_entry *e = &(*list)[(*n)++];
    memset(e, 0, sizeof *e);
    e->name = name;
    e->system = system;
    if (asprintf(&e->path, "%s/%s", dir, de->d_name) < 0) e->path = NULL;
    cleanup_free char *raw = NULL;
    size_t len;
    pl_error_t pe = NULL;
    if (e->path && pl_path_check_trusted(e->path, "trusted root", &pe) == 0 &&
        pl_read_file_at(AT_FDCWD, e->path, PL_TUF_ROOT_MAX, &raw, &len, &pe) == 0 &&
        pl_tuf_check_root(raw, len, e->path, &e->version, &e->expires, &pe) == 0)
      e->valid = true;
    else
      e->problem = pe ? pl_error_string(pe) : strdup("out of memory");
    pl_error_free(&pe);
  }
  return 0;
}

int pl_trust_list(struct pl_trust_entry **out, size_t *n, pl_error_t *err) {
  struct pl_trust_entry *list = NULL;
  size_t cnt = 0, cap = 0;
  cleanup_free char *user = NULL, *sys = pl_trust_system_dir();
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0) return -1;
  if ((pl_path_user_config("trust.d", &user, NULL) == 0 &&
       scan(user, false, &list, &cnt, &cap, err) < 0) ||
      (sys && scan(sys, true, &list, &cnt, &cap, err) < 0)) {
    pl_trust_list_free(list, cnt);
    return -1;
  }
  if (cnt) qsort(list, cnt, sizeof *list, cmp_entry);
  for (size_t i = 0; i < cnt; i++)
    for (size_t j = 0; j < cnt && list[i].system; j++)
      if (!list[j].system && strcmp(list[i].name, list[j].name) == 0) list[i].shadowed = true;
  *out = list;
  *n = cnt;
  return 0;
}

void pl_trust_list_free(struct pl_trust_entry *list, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(list[i].name);
    free(list[i].path);
    free(list[i].problem);
  }
  free(list);
}
