/* pylock — hashing a member's bytes and checking them against its RECORD
 * row; used while reading a wheel and by `pylock verify` on installed files.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DIGEST_H
#define PYLOCK_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "record.h"

struct pl_digest {
  void *ctx; /* EVP_MD_CTX */
  enum pl_hash_algo algo;
  uint64_t size; /* bytes fed so far */
};

int pl_digest_init(struct pl_digest *d, enum pl_hash_algo algo, pl_error_t *err);
int pl_digest_update(struct pl_digest *d, const void *buf, size_t len, pl_error_t *err);

/* Finish into out[PL_HASH_MAX]; *len receives the digest length. */
int pl_digest_final(struct pl_digest *d, unsigned char *out, size_t *len, pl_error_t *err);

/* Finish and compare size, then digest, with `want`.  Fails with
 * "size mismatch: RECORD says N bytes, got M" or "hash mismatch: RECORD says
 * sha256=..., got sha256=...". */
int pl_digest_check(struct pl_digest *d, const struct pl_record_entry *want, pl_error_t *err);

void pl_digest_release(struct pl_digest *d);

/* Hash a whole buffer in one call. */
int pl_digest_buffer(enum pl_hash_algo algo, const void *buf, size_t len, unsigned char *out,
                     size_t *outlen, pl_error_t *err);

#endif
