/* pylock — SHA-256/SHA-512 and hex; see sha.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "sha.h"

#include <errno.h>
#include <string.h>

#include "digest.h"
#include "dyn_crypto.h"

int pl_sha_init(struct pl_sha *d, pl_error_t *err) {
  memset(d, 0, sizeof *d);
  if (pl_dynlib_load(PL_LIB_CRYPTO, err) < 0) return -1;
  d->sha256 = EVP_MD_CTX_new();
  d->sha512 = EVP_MD_CTX_new();
  if (d->sha256 == NULL || d->sha512 == NULL ||
      EVP_DigestInit_ex(d->sha256, EVP_sha256(), NULL) != 1 ||
      EVP_DigestInit_ex(d->sha512, EVP_sha512(), NULL) != 1) {
    pl_sha_free(d);
    return pl_fail(err, ENOMEM, "cannot start a SHA-256/SHA-512 digest");
  }
  return 0;
}

int pl_sha_update(struct pl_sha *d, const void *data, size_t n, pl_error_t *err) {
  if (EVP_DigestUpdate(d->sha256, data, n) != 1 || EVP_DigestUpdate(d->sha512, data, n) != 1)
    return pl_fail(err, EIO, "digest update failed");
  d->length += n;
  return 0;
}

int pl_sha_final(struct pl_sha *d, char sha256[PL_SHA256_HEX], char sha512[PL_SHA512_HEX],
                 pl_error_t *err) {
  unsigned char md256[32], md512[64];
  unsigned int l256 = 0, l512 = 0;
  int ok = EVP_DigestFinal_ex(d->sha256, md256, &l256) == 1 &&
           EVP_DigestFinal_ex(d->sha512, md512, &l512) == 1 && l256 == 32 && l512 == 64;
  pl_sha_free(d);
  if (!ok) return pl_fail(err, EIO, "digest final failed");
  if (sha256) pl_hex_encode(md256, 32, sha256);
  if (sha512) pl_hex_encode(md512, 64, sha512);
  return 0;
}

void pl_sha_free(struct pl_sha *d) {
  if (d->sha256) EVP_MD_CTX_free(d->sha256);
  if (d->sha512) EVP_MD_CTX_free(d->sha512);
  d->sha256 = d->sha512 = NULL;
}

int pl_sha256_hex(const void *data, size_t n, char out[PL_SHA256_HEX], pl_error_t *err) {
  /* SHA-256 alone: pl_sha_init's SHA-512 beside it doubled the cost of
   * every manifest a warm sync checks. */
  unsigned char md[64];
  size_t len = 0;
  if (pl_digest_buffer(PL_HASH_SHA256, data, n, md, &len, err) < 0) return -1;
  if (len != 32) return pl_fail(err, EIO, "digest final failed");
  pl_hex_encode(md, 32, out);
  return 0;
}
