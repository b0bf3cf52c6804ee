/* pylock — ed25519 keys, signatures and key files; see ed25519.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "ed25519.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "canonjson.h"
#include "cleanup.h"
#include "sha.h"
#include "dyn_crypto.h"

#define KEY_FILE_MAX 4096

static int crypto_fail(pl_error_t *err, const char *what) {
  char buf[256] = "unknown error";
  unsigned long e = ERR_get_error();
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return pl_fail(err, 0, "%s: %s", what, buf);
}

static json_t *public_json(const unsigned char pub[32]) {
  char hex[65];
  pl_hex_encode(pub, 32, hex);
  json_t *o = json_object(), *kv = json_object();
  if (o == NULL || kv == NULL) {
    pl_json_decref(o);
    pl_json_decref(kv);
    return NULL;
  }
  json_object_set_new(kv, "public", json_string(hex));
  json_object_set_new(o, "keytype", json_string("ed25519"));
  json_object_set_new(o, "scheme", json_string("ed25519"));
  json_object_set_new(o, "keyval", kv);
  return o;
}

int pl_key_compute_keyid(const unsigned char pub[32], char keyid[PL_KEYID_HEX], pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_JANSSON, err) < 0) return -1;
  cleanup_json json_t *o = public_json(pub);
  if (o == NULL) return pl_fail(err, ENOMEM, "keyid");
  cleanup_free char *c = NULL;
  size_t n;
  if (pl_json_canonical(o, &c, &n, err) < 0) return -1;
  return pl_sha256_hex(c, n, keyid, err);
}

json_t *pl_key_to_json(const struct pl_key *k) {
  return public_json(k->pub);
}

static int key_from_seed(struct pl_key *k, pl_error_t *err) {
  EVP_PKEY *p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, 32);
  if (p == NULL) return crypto_fail(err, "ed25519 private key");
  size_t n = 32;
  int ok = EVP_PKEY_get_raw_public_key(p, k->pub, &n) == 1 && n == 32;
  EVP_PKEY_free(p);
  if (!ok) return crypto_fail(err, "ed25519 public key");
  k->has_seed = true;
  return pl_key_compute_keyid(k->pub, k->keyid, err);
}

int pl_key_generate(struct pl_key *k, pl_error_t *err) {
  memset(k, 0, sizeof *k);
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  if (RAND_bytes(k->seed, 32) != 1) return crypto_fail(err, "random key");
  if (key_from_seed(k, err) < 0) {
    pl_key_wipe(k);
    return -1;
  }
  return 0;
}

int pl_key_from_public_hex(const char *hex, struct pl_key *k, pl_error_t *err) {
  memset(k, 0, sizeof *k);
  if (!pl_hex_decode(hex, k->pub, 32))
    return pl_fail(err, 0, "ed25519 public key is not 64 hex digits");
  return pl_key_compute_keyid(k->pub, k->keyid, err);
}

int pl_key_from_json(const json_t *obj, struct pl_key *k, pl_error_t *err) {
  const char *type = json_string_value(json_object_get(obj, "keytype"));
  const char *scheme = json_string_value(json_object_get(obj, "scheme"));
  const char *pub = json_string_value(json_object_get(json_object_get(obj, "keyval"), "public"));
  if (!json_is_object(obj)) return pl_fail(err, 0, "key is not a JSON object");
  if (type == NULL || strcmp(type, "ed25519") != 0 || scheme == NULL ||
      strcmp(scheme, "ed25519") != 0)
    return pl_fail(err, 0, "key type %s/%s is not supported (only ed25519/ed25519)",
                   type ? type : "?", scheme ? scheme : "?");
  return pl_key_from_public_hex(pub, k, err);
}

int pl_key_sign(const struct pl_key *k, const void *msg, size_t len,
                unsigned char sig[PL_ED25519_SIG], pl_error_t *err) {
  if (!k->has_seed) return pl_fail(err, 0, "key %.16s is public only; cannot sign", k->keyid);
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  EVP_PKEY *p = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->seed, 32);
  if (p == NULL) return crypto_fail(err, "ed25519 private key");
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t n = PL_ED25519_SIG;
  int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, p) == 1 &&
           EVP_DigestSign(ctx, sig, &n, msg, len) == 1 && n == PL_ED25519_SIG;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(p);
  return ok ? 0 : crypto_fail(err, "ed25519 sign");
}

int pl_key_verify(const unsigned char pub[32], const void *msg, size_t len,
                  const unsigned char sig[PL_ED25519_SIG], pl_error_t *err) {
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  EVP_PKEY *p = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
  if (p == NULL) return crypto_fail(err, "ed25519 public key");
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, p) == 1 &&
           EVP_DigestVerify(ctx, sig, PL_ED25519_SIG, msg, len) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(p);
  ERR_clear_error();
  return ok ? 0 : pl_fail(err, 0, "bad ed25519 signature");
}

static int write_all_fd(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int write_new_file(const char *path, const char *data, size_t n, mode_t mode,
                          pl_error_t *err) {
  cleanup_close int fd =
      open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
  if (fd < 0) {
    if (errno == EEXIST)
      return pl_fail_hint(err, EEXIST, "pylock never overwrites a key; choose another file name",
                          "create %s", path);
    return pl_fail(err, errno, "create %s", path);
  }
  if (fchmod(fd, mode) < 0 || write_all_fd(fd, data, n) < 0 || fsync(fd) < 0) {
    int e = errno;
    unlink(path);
    return pl_fail(err, e, "write %s", path);
  }
  return 0;
}

int pl_key_save(const char *path, const struct pl_key *k, pl_error_t *err) {
  if (!k->has_seed) return pl_fail(err, 0, "cannot save a public-only key as private");
  cleanup_free char *pubpath = NULL;
  if (asprintf(&pubpath, "%s.pub", path) < 0) return pl_fail(err, ENOMEM, "save key");
  if (access(path, F_OK) == 0)
    return pl_fail_hint(err, EEXIST, "pylock never overwrites a key; choose another file name",
                        "create %s", path);
  cleanup_json json_t *o = pl_key_to_json(k);
  cleanup_free char *c = NULL;
  size_t clen;
  if (o == NULL) return pl_fail(err, ENOMEM, "save key");
  if (pl_json_canonical(o, &c, &clen, err) < 0) return -1;
  c[clen] = '\n'; /* canonical output has room for its NUL: reuse it */
  if (write_new_file(pubpath, c, clen + 1, 0644, err) < 0) return -1;

  char text[sizeof PL_KEY_PRIVATE_HEADER + 1 + 64 + 2];
  char hex[65];
  pl_hex_encode(k->seed, 32, hex);
  int n = snprintf(text, sizeof text, "%s\n%s\n", PL_KEY_PRIVATE_HEADER, hex);
  int r = write_new_file(path, text, (size_t)n, 0600, err);
  OPENSSL_cleanse(hex, sizeof hex);
  OPENSSL_cleanse(text, sizeof text);
  if (r < 0) unlink(pubpath);
  return r;
}

int pl_key_load(const char *path, struct pl_key *k, pl_error_t *err) {
  memset(k, 0, sizeof *k);
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return pl_fail(err, errno, "open key %s", path);
  return pl_key_load_fd(fd, path, true, k, err);
}

int pl_key_load_fd(int fd, const char *path, bool is_file, struct pl_key *k, pl_error_t *err) {
  memset(k, 0, sizeof *k);
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0 || pl_dynlib_load(PL_LIB_JANSSON, err) < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) return pl_fail(err, errno, "stat %s", path);
  if (is_file && !S_ISREG(st.st_mode)) return pl_fail(err, 0, "key %s is not a regular file", path);
  char buf[KEY_FILE_MAX + 1];
  size_t n = 0;
  while (n < sizeof buf - 1) {
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      OPENSSL_cleanse(buf, sizeof buf);
      return pl_fail(err, errno, "read key %s", path);
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  int ret;
  size_t hl = strlen(PL_KEY_PRIVATE_HEADER);
  if (n > hl && memcmp(buf, PL_KEY_PRIVATE_HEADER, hl) == 0 && buf[hl] == '\n') {
    /* A readable secret key lets anyone sign for the registry: refuse it the
     * way ssh does, before using it. */
    if (is_file && (st.st_mode & 077)) {
      ret = pl_fail_hint(err, 0, NULL, "private key %s is readable by others (mode %04o)", path,
                         (unsigned)(st.st_mode & 07777));
      pl_error_set_hint(err, "chmod 600 %s", path);
    } else if (is_file && st.st_uid != getuid()) {
      /* Its owner can change it: a key of theirs would sign in our name. */
      ret = pl_fail(err, PL_REFUSED, "private key %s is owned by uid %u, not you", path,
                    (unsigned)st.st_uid);
    } else {
      char *hex = buf + hl + 1;
      size_t hexlen = strcspn(hex, "\n");
      hex[hexlen] = '\0';
      if (hexlen != 64 || !pl_hex_decode(hex, k->seed, 32))
        ret = pl_fail(err, 0, "private key %s: second line is not 64 hex digits", path);
      else
        ret = key_from_seed(k, err);
    }
  } else {
    json_t *o = NULL;
    ret = pl_json_parse(buf, n, path, &o, err);
    if (ret == 0) {
      ret = pl_key_from_json(o, k, err);
      if (ret < 0) pl_error_wrap(err, "public key %s", path);
      pl_json_decref(o);
    }
  }
  OPENSSL_cleanse(buf, sizeof buf);
  if (ret < 0) pl_key_wipe(k);
  return ret;
}

void pl_key_wipe(struct pl_key *k) {
  /* explicit_bzero: like OPENSSL_cleanse, never optimised away, and usable
   * even when libcrypto was never loaded. */
  explicit_bzero(k->seed, sizeof k->seed);
  k->has_seed = false;
}
