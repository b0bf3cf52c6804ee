/* pylock — registry writer; see registry.h. */
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "sha.h"
#include "file.h"
#include "pep508.h"
#include "tuf.h"
#include "tuf_meta.h"
#include "wheel.h"

struct reg {
  const char *dir;
  int fd;
  const struct pl_registry_opts *o;
  time_t now;
  json_t *body[PL_TUF_NROLES];
};

static void reg_close(struct reg *r) {
  for (int i = 0; i < PL_TUF_NROLES; i++)
    pl_json_decref(r->body[i]);
  if (r->fd >= 0) close(r->fd);
}

static time_t expiry(const struct reg *r, bool root) {
  unsigned d = r->o->expires_days ? r->o->expires_days : PL_REGISTRY_EXPIRES_DAYS;
  if (root && d < PL_REGISTRY_ROOT_EXPIRES_DAYS) d = PL_REGISTRY_ROOT_EXPIRES_DAYS;
  return r->now + (time_t)d * 86400;
}

/* The registry's own files: the maintainer's directory, read back to be
 * extended; the keys that sign the result are what clients check. */
static int reg_open(struct reg *r, const char *dir, const struct pl_registry_opts *o,
                    pl_error_t *err) {
  memset(r, 0, sizeof *r);
  r->dir = dir;
  r->o = o;
  r->now = o->now ? o->now : time(NULL);
  r->fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (r->fd < 0) return pl_fail(err, errno, "open registry %s", dir);
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s.json", pl_tuf_role_names[i]);
    cleanup_free char *raw = NULL;
    size_t len;
    json_t *doc = NULL;
    if (pl_read_file_at(r->fd, name, PL_TUF_TARGETS_MAX, &raw, &len, err) < 0 ||
        pl_json_parse(raw, len, name, &doc, err) < 0) {
      if (i == PL_TUF_ROOT && (*err)->errnum == ENOENT)
        pl_error_set_hint(err, "create it first: pylock registry init %s --key FILE", dir);
      return pl_error_wrap(err, "registry %s", dir);
    }
    json_t *body = json_object_get(doc, "signed");
    const char *type = json_string_value(json_object_get(body, "_type"));
    if (type == NULL || strcmp(type, pl_tuf_role_names[i]) != 0) {
      pl_json_decref(doc);
      return pl_fail(err, 0, "registry %s: %s is not TUF %s metadata", dir, name,
                     pl_tuf_role_names[i]);
    }
    r->body[i] = json_incref(body);
    pl_json_decref(doc);
  }
  return 0;
}

/* Signed files, rendered in memory and written only once every one of them
 * could be signed: a key missing for one role leaves the registry as it was. */
struct pending {
  char name[40];
  char *data;
  size_t len;
};
struct batch {
  struct pending f[6];
  int n;
};

static void batch_free(struct batch *b) {
  for (int i = 0; i < b->n; i++)
    free(b->f[i].data);
  b->n = 0;
}

static int batch_write(struct reg *r, struct batch *b, pl_error_t *err) {
  for (int i = 0; i < b->n; i++)
    if (pl_write_file_atomic_at(r->fd, b->f[i].name, b->f[i].data, b->f[i].len, 0644, err) < 0)
      return pl_error_wrap(err, "registry %s", r->dir);
  return 0;
}

/* Sign body for role with every given key the root(s) list for it, after
 * checking they reach each root's threshold; queue it as name. */
static int sign_body(struct reg *r, struct batch *b, const char *name, const json_t *body,
                     const char *role, const json_t *root, const json_t *old_root,
                     pl_error_t *err) {
  size_t n = r->o->nkeys + r->o->nadd_root_keys, k = 0;
  cleanup_free const struct pl_key **keys = calloc(n ? n : 1, sizeof *keys);
  if (keys == NULL) return pl_fail(err, ENOMEM, "sign %s", name);
  int64_t have_new = 0, have_old = 0;
  for (size_t i = 0; i < n; i++) {
    const struct pl_key *key =
        i < r->o->nkeys ? &r->o->keys[i] : &r->o->add_root_keys[i - r->o->nkeys];
    bool dup = false;
    for (size_t j = 0; j < k; j++)
      dup = dup || strcmp(keys[j]->keyid, key->keyid) == 0;
    bool in_new = pl_tuf_root_has_key(root, role, key->keyid);
    bool in_old = old_root && pl_tuf_root_has_key(old_root, role, key->keyid);
    if (dup || !(in_new || in_old)) continue;
    keys[k++] = key;
    have_new += in_new;
    have_old += in_old;
  }
  int64_t need = pl_tuf_root_threshold(root, role);
  if (have_new < need)
    return pl_fail_hint(err, 0, "pass the private key(s) of that role with --key FILE",
                        "cannot sign %s: the %s role needs %" PRId64 " signature(s), and %" PRId64
                        " of the given keys hold it",
                        name, role, need, have_new);
  if (old_root && have_old < pl_tuf_root_threshold(old_root, role))
    return pl_fail_hint(err, 0, "a new root must be signed by the current root keys too",
                        "cannot sign %s: the current root role needs %" PRId64
                        " signature(s), and %" PRId64 " of the given keys hold it",
                        name, pl_tuf_root_threshold(old_root, role), have_old);
  struct pending *p = &b->f[b->n];
  snprintf(p->name, sizeof p->name, "%s", name);
  if (pl_tuf_sign(body, keys, k, &p->data, &p->len, err) < 0) return -1;
  b->n++;
  return 0;
}

/* targets -> snapshot -> timestamp, each one version up. */
static int resign_tail(struct reg *r, struct batch *b, pl_error_t *err) {
  json_t *root = r->body[PL_TUF_ROOT];
  json_t *tg = r->body[PL_TUF_TARGETS];
  pl_tuf_set_version(tg, pl_tuf_get_version(tg) + 1);
  pl_tuf_set_expires(tg, expiry(r, false));
  if (sign_body(r, b, "targets.json", tg, "targets", root, NULL, err) < 0) return -1;

  int64_t snapv = pl_tuf_get_version(r->body[PL_TUF_SNAPSHOT]) + 1;
  cleanup_json json_t *snap = pl_tuf_new_snapshot(snapv, expiry(r, false), pl_tuf_get_version(tg));
  if (snap == NULL) return pl_fail(err, ENOMEM, "snapshot");
  if (sign_body(r, b, "snapshot.json", snap, "snapshot", root, NULL, err) < 0) return -1;

  const struct pending *sp = &b->f[b->n - 1];
  int64_t tsv = pl_tuf_get_version(r->body[PL_TUF_TIMESTAMP]) + 1;
  cleanup_json json_t *ts =
      pl_tuf_new_timestamp(tsv, expiry(r, false), snapv, sp->data, sp->len, err);
  if (ts == NULL) return -1;
  return sign_body(r, b, "timestamp.json", ts, "timestamp", root, NULL, err);
}

/* N.root.json, then root.json with the same bytes. */
static int sign_root(struct reg *r, struct batch *b, const json_t *root, const json_t *old_root,
                     pl_error_t *err) {
  char name[40];
  snprintf(name, sizeof name, "%" PRId64 ".root.json", pl_tuf_get_version(root));
  if (sign_body(r, b, name, root, "root", root, old_root, err) < 0) return -1;
  struct pending *p = &b->f[b->n];
  snprintf(p->name, sizeof p->name, "root.json");
  p->data = malloc(b->f[b->n - 1].len);
  if (p->data == NULL) return pl_fail(err, ENOMEM, "root");
  memcpy(p->data, b->f[b->n - 1].data, b->f[b->n - 1].len);
  p->len = b->f[b->n - 1].len;
  b->n++;
  return 0;
}

/* Fail before touching anything if the keys cannot sign the roles that
 * every change re-signs. */
static int check_can_sign(struct reg *r, pl_error_t *err) {
  struct batch b = {0};
  static const char *const roles[] = {"targets", "snapshot", "timestamp"};
  int ret = 0;
  for (int i = 0; i < 3 && ret == 0; i++) {
    char name[32];
    snprintf(name, sizeof name, "%s.json", roles[i]);
    ret =
        sign_body(r, &b, name, r->body[PL_TUF_TARGETS], roles[i], r->body[PL_TUF_ROOT], NULL, err);
    batch_free(&b);
  }
  return ret;
}

int pl_registry_init(const char *dir, const struct pl_registry_opts *o, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  unsigned threshold = o->threshold ? o->threshold : 1;
  if (o->nkeys == 0) return pl_fail(err, 0, "no signing key");
  if (threshold > o->nkeys)
    return pl_fail(err, 0, "threshold %u needs at least %u keys, got %zu", threshold, threshold,
                   o->nkeys);
  if (pl_mkdir_p(dir, 0755, err) < 0) return -1;
  struct reg r = {.dir = dir, .o = o, .now = o->now ? o->now : time(NULL)};
  r.fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (r.fd < 0) return pl_fail(err, errno, "open %s", dir);
  int ret = -1;
  if (faccessat(r.fd, "root.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
    pl_fail_hint(err, EEXIST, "use 'pylock registry sign' to renew or rotate keys",
                 "%s already holds a registry (root.json)", dir);
    goto out;
  }
  if (mkdirat(r.fd, "targets", 0755) < 0 && errno != EEXIST) {
    pl_fail(err, errno, "mkdir %s/targets", dir);
    goto out;
  }
  r.body[PL_TUF_ROOT] = pl_tuf_new_root(1, expiry(&r, true));
  /* Versions 0 so that resign_tail publishes version 1 of each. */
  r.body[PL_TUF_TARGETS] = pl_tuf_new_targets(0, 0);
  r.body[PL_TUF_SNAPSHOT] = pl_tuf_new_snapshot(0, 0, 0);
  r.body[PL_TUF_TIMESTAMP] = pl_tuf_new_timestamp(0, 0, 0, NULL, 0, err);
  for (int i = 0; i < PL_TUF_NROLES; i++)
    if (r.body[i] == NULL) {
      pl_fail(err, ENOMEM, "registry init");
      goto out;
    }
  for (int i = 0; i < PL_TUF_NROLES; i++) {
    for (size_t k = 0; k < o->nkeys; k++)
      if (pl_tuf_root_add_key(r.body[PL_TUF_ROOT], pl_tuf_role_names[i], &o->keys[k], err) < 0)
        goto out;
    pl_tuf_root_set_threshold(r.body[PL_TUF_ROOT], pl_tuf_role_names[i], threshold);
  }
  struct batch b = {0};
  if (sign_root(&r, &b, r.body[PL_TUF_ROOT], NULL, err) == 0 && resign_tail(&r, &b, err) == 0 &&
      batch_write(&r, &b, err) == 0)
    ret = 0;
  batch_free(&b);
out:
  reg_close(&r);
  return ret;
}

/* ---- wheels ---- */

/* Wheel file names become target names and URLs: keep them boring, and
 * well-formed, so that every client can parse what it is offered. */
static int check_wheel_name(const char *base, pl_error_t *err) {
  size_t n = strlen(base);
  if (n < 5 || n > 255 || strcmp(base + n - 4, ".whl") != 0 || base[0] == '.')
    return pl_fail(err, 0, "%s: not a wheel file name (NAME-VERSION-...-TAG.whl)", base);
  for (const char *c = base; *c; c++)
    if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
          strchr("._-+!", *c)))
      return pl_fail(err, 0, "%s: unexpected character '%c' in a wheel file name", base, *c);
  struct pl_wheel_filename fn;
  if (pl_wheel_filename_parse(base, &fn, err) < 0) return -1;
  pl_wheel_filename_free(&fn);
  return 0;
}

/* A wheel of this add, copied into DIR/targets/ under a temporary name and
 * verified there, waiting until every wheel of the add has passed. */
struct staged {
  const char *base;
  char *tmp; /* "targets/.<base>.tmpXXXX", or NULL once renamed or dropped */
  uint64_t length;
  char sha256[PL_SHA256_HEX];
  char *metadata; /* its METADATA, to publish as <base>.metadata */
  size_t metadata_len;
  bool publish; /* false: the registry already holds these very bytes */
};

static void staged_free(struct reg *r, struct staged *s, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (s[i].tmp) unlinkat(r->fd, s[i].tmp, 0);
    free(s[i].tmp);
    free(s[i].metadata);
  }
  free(s);
}

/* Copy src beside DIR/targets/<base>, hashing as it goes, then verify the
 * copy: what is checked is what will be published, whatever happens to src
 * meanwhile.  A wheel a client would refuse is never signed. */
static int stage_wheel(struct reg *r, const char *src, struct staged *s, pl_error_t *err) {
  cleanup_close int in = open(src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (in < 0) return pl_fail(err, errno, "open %s", src);
  struct stat st;
  if (fstat(in, &st) < 0) return pl_fail(err, errno, "stat %s", src);
  if (!S_ISREG(st.st_mode)) return pl_fail(err, 0, "%s: not a regular file", src);
  cleanup_free char *target = NULL;
  if (asprintf(&target, "targets/%s", s->base) < 0) {
    target = NULL;
    return pl_fail(err, ENOMEM, "add %s", s->base);
  }
  cleanup_close int out = pl_tmpfile_open_at(r->fd, target, 0644, &s->tmp, err);
  if (out < 0) return pl_error_wrap(err, "registry %s", r->dir);
  struct pl_sha d;
  if (pl_sha_init(&d, err) < 0) return -1;
  char buf[65536];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      pl_sha_free(&d);
      return pl_fail(err, errno, "read %s", src);
    }
    if (n == 0) break;
    if (d.length + (uint64_t)n > PL_REGISTRY_WHEEL_MAX) {
      pl_sha_free(&d);
      return pl_fail(err, EFBIG, "%s: larger than %" PRIu64 " bytes", src, PL_REGISTRY_WHEEL_MAX);
    }
    if (pl_sha_update(&d, buf, (size_t)n, err) < 0) {
      pl_sha_free(&d);
      return -1;
    }
    if (pl_write_all(out, buf, (size_t)n) < 0) {
      pl_sha_free(&d);
      return pl_fail(err, errno, "write %s/%s", r->dir, s->tmp);
    }
  }
  s->length = d.length;
  if (pl_sha_final(&d, s->sha256, NULL, err) < 0) return -1;
  struct pl_wheel_info info = {0};
  if (pl_wheel_verify(out, s->base, NULL, &info, err) < 0 ||
      pl_requires_dist_check(info.metadata, info.metadata_len, s->base, err) < 0) {
    pl_wheel_info_free(&info);
    return pl_error_set_hint(err,
                             "a client would refuse it: fix or rebuild the wheel, then add it");
  }
  s->metadata = steal_pointer(&info.metadata);
  s->metadata_len = info.metadata_len;
  pl_wheel_info_free(&info);
  if (fsync(out) < 0) return pl_fail(err, errno, "write %s/%s", r->dir, s->tmp);
  return 0;
}

/* A published name must keep its bytes forever: clients and caches key on it. */
static int add_target(struct reg *r, const char *name, uint64_t length, const char *sha256,
                      pl_error_t *err) {
  json_t *tg = r->body[PL_TUF_TARGETS];
  json_t *old = json_object_get(json_object_get(tg, "targets"), name);
  const char *old_sha =
      json_string_value(json_object_get(json_object_get(old, "hashes"), "sha256"));
  if (old && (old_sha == NULL || strcmp(old_sha, sha256) != 0))
    return pl_fail_hint(err, EEXIST, "a published file never changes: build a new version",
                        "%s is already in the registry with different content", name);
  return pl_tuf_targets_add(tg, name, length, sha256, err);
}

/* Every wheel is named, copied and verified before anything is published:
 * one bad wheel leaves the registry as it was. */
static int stage_all(struct reg *r, const char *const *wheels, size_t nwheels, struct staged *st,
                     pl_error_t *err) {
  json_t *published = json_object_get(r->body[PL_TUF_TARGETS], "targets");
  for (size_t i = 0; i < nwheels; i++) {
    struct staged *s = &st[i];
    const char *base = strrchr(wheels[i], '/');
    s->base = base ? base + 1 : wheels[i];
    if (check_wheel_name(s->base, err) < 0 || stage_wheel(r, wheels[i], s, err) < 0) return -1;
    s->publish = true;
    const char *old_sha = json_string_value(
        json_object_get(json_object_get(json_object_get(published, s->base), "hashes"), "sha256"));
    if (json_object_get(published, s->base) && (old_sha == NULL || strcmp(old_sha, s->sha256)))
      return pl_fail_hint(err, EEXIST, "a published file never changes: build a new version",
                          "%s is already in the registry with different content", s->base);
    for (size_t j = 0; j < i && s->publish; j++)
      if (strcmp(st[j].base, s->base) == 0) {
        if (strcmp(st[j].sha256, s->sha256) != 0)
          return pl_fail(err, EEXIST, "%s is given twice, with different content", s->base);
        s->publish = false;
      }
    if (old_sha) s->publish = false;
    if (!s->publish) {
      unlinkat(r->fd, s->tmp, 0);
      free(steal_pointer(&s->tmp));
    }
  }
  return 0;
}

int pl_registry_add(const char *dir, const struct pl_registry_opts *o, const char *const *wheels,
                    size_t nwheels, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  struct reg r;
  int ret = -1;
  struct staged *st = NULL;
  if (reg_open(&r, dir, o, err) < 0 || check_can_sign(&r, err) < 0) goto out;
  st = calloc(nwheels ? nwheels : 1, sizeof *st);
  if (st == NULL) {
    pl_fail(err, ENOMEM, "registry add");
    goto out;
  }
  if (stage_all(&r, wheels, nwheels, st, err) < 0) goto out;
  /* Targets before the metadata that lists them. */
  for (size_t i = 0; i < nwheels; i++) {
    struct staged *s = &st[i];
    if (!s->publish) continue;
    cleanup_free char *target = NULL, *mdname = NULL;
    char mdsha[PL_SHA256_HEX];
    if (asprintf(&target, "targets/%s", s->base) < 0 ||
        asprintf(&mdname, "targets/%s.metadata", s->base) < 0) {
      pl_fail(err, ENOMEM, "add %s", s->base);
      goto out;
    }
    if (renameat(r.fd, s->tmp, r.fd, target) < 0) {
      pl_fail(err, errno, "registry %s: write %s", dir, target);
      goto out;
    }
    free(steal_pointer(&s->tmp));
    if (pl_sha256_hex(s->metadata, s->metadata_len, mdsha, err) < 0 ||
        pl_write_file_atomic_at(r.fd, mdname, s->metadata, s->metadata_len, 0644, err) < 0 ||
        add_target(&r, s->base, s->length, s->sha256, err) < 0 ||
        add_target(&r, mdname + strlen("targets/"), s->metadata_len, mdsha, err) < 0)
      goto out;
  }
  struct batch b = {0};
  if (resign_tail(&r, &b, err) == 0 && batch_write(&r, &b, err) == 0) ret = 0;
  batch_free(&b);
out:
  if (st) staged_free(&r, st, nwheels);
  reg_close(&r);
  return ret;
}

int pl_registry_sign(const char *dir, const struct pl_registry_opts *o, pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0 || pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  struct reg r;
  struct batch b = {0};
  int ret = -1;
  if (reg_open(&r, dir, o, err) < 0) goto out;
  json_t *old = r.body[PL_TUF_ROOT];
  time_t root_exp = 0;
  pl_tuf_parse_time(json_string_value(json_object_get(old, "expires")), &root_exp);
  bool rotate = o->nadd_root_keys || o->nremove_root_keyids;
  if (rotate || o->renew_root || root_exp <= expiry(&r, false)) {
    cleanup_json json_t *root = json_deep_copy(old);
    if (root == NULL) {
      pl_fail(err, ENOMEM, "sign");
      goto out;
    }
    for (size_t i = 0; i < o->nadd_root_keys; i++)
      if (pl_tuf_root_add_key(root, "root", &o->add_root_keys[i], err) < 0) goto out;
    for (size_t i = 0; i < o->nremove_root_keyids; i++) {
      if (!pl_tuf_root_has_key(root, "root", o->remove_root_keyids[i])) {
        pl_fail(err, ENOENT, "key %s is not a root key of %s", o->remove_root_keyids[i], dir);
        goto out;
      }
      pl_tuf_root_remove_key(root, "root", o->remove_root_keyids[i]);
    }
    json_t *ids =
        json_object_get(json_object_get(json_object_get(root, "roles"), "root"), "keyids");
    if ((int64_t)json_array_size(ids) < pl_tuf_root_threshold(root, "root")) {
      pl_fail(err, 0, "the new root would list %zu root key(s), fewer than its threshold %" PRId64,
              json_array_size(ids), pl_tuf_root_threshold(root, "root"));
      goto out;
    }
    pl_tuf_set_version(root, pl_tuf_get_version(old) + 1);
    pl_tuf_set_expires(root, expiry(&r, true));
    if (sign_root(&r, &b, root, old, err) < 0) goto out;
    pl_json_decref(r.body[PL_TUF_ROOT]);
    r.body[PL_TUF_ROOT] = steal_pointer(&root);
  }
  if (resign_tail(&r, &b, err) == 0 && batch_write(&r, &b, err) == 0) ret = 0;
out:
  batch_free(&b);
  reg_close(&r);
  return ret;
}
