/* pylock — member digests; see digest.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "digest.h"

#include <errno.h>
#include <string.h>

#include "dyn_crypto.h"

static const EVP_MD *algo_md(enum pl_hash_algo algo) {
  switch (algo) {
  case PL_HASH_SHA256: return EVP_sha256();
  case PL_HASH_SHA384: return EVP_sha384();
  case PL_HASH_SHA512: return EVP_sha512();
  default: return NULL;
  }
}

int pl_digest_init(struct pl_digest *d, enum pl_hash_algo algo, pl_error_t *err) {
  memset(d, 0, sizeof *d);
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  const EVP_MD *md = algo_md(algo);
  if (md == NULL) return pl_fail(err, 0, "no digest for hash algorithm %d", (int)algo);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
    EVP_MD_CTX_free(ctx);
    return pl_fail(err, ENOMEM, "cannot start a %s digest", pl_hash_algo_name(algo));
  }
  d->ctx = ctx;
  d->algo = algo;
  return 0;
}

int pl_digest_update(struct pl_digest *d, const void *buf, size_t len, pl_error_t *err) {
  if (EVP_DigestUpdate(d->ctx, buf, len) != 1)
    return pl_fail(err, EIO, "%s digest update failed", pl_hash_algo_name(d->algo));
  d->size += len;
  return 0;
}

int pl_digest_final(struct pl_digest *d, unsigned char *out, size_t *len, pl_error_t *err) {
  unsigned n = 0;
  int ok = EVP_DigestFinal_ex(d->ctx, out, &n);
  pl_digest_release(d);
  if (ok != 1 || n > PL_HASH_MAX) return pl_fail(err, EIO, "digest finalization failed");
  *len = n;
  return 0;
}

int pl_digest_check(struct pl_digest *d, const struct pl_record_entry *want, pl_error_t *err) {
  unsigned char got[PL_HASH_MAX];
  size_t glen;
  uint64_t size = d->size;
  enum pl_hash_algo algo = d->algo;
  if (pl_digest_final(d, got, &glen, err) < 0) return -1;
  if (want->has_size && size != want->size)
    return pl_fail(err, 0, "size mismatch: RECORD says %llu bytes, got %llu",
                   (unsigned long long)want->size, (unsigned long long)size);
  if (algo != want->algo || glen != want->digest_len || memcmp(got, want->digest, glen) != 0) {
    char w[2 * PL_HASH_MAX], g[2 * PL_HASH_MAX];
    pl_record_b64(w, sizeof w, want->digest, want->digest_len);
    pl_record_b64(g, sizeof g, got, glen);
    return pl_fail(err, 0, "hash mismatch: RECORD says %s=%s, got %s=%s",
                   pl_hash_algo_name(want->algo), w, pl_hash_algo_name(algo), g);
  }
  return 0;
}

void pl_digest_release(struct pl_digest *d) {
  if (d->ctx) EVP_MD_CTX_free(d->ctx);
  d->ctx = NULL;
}

int pl_digest_buffer(enum pl_hash_algo algo, const void *buf, size_t len, unsigned char *out,
                     size_t *outlen, pl_error_t *err) {
  struct pl_digest d;
  if (pl_digest_init(&d, algo, err) < 0) return -1;
  if (pl_digest_update(&d, buf, len, err) < 0) {
    pl_digest_release(&d);
    return -1;
  }
  return pl_digest_final(&d, out, outlen, err);
}
