/* pylock — SHA-256/SHA-512 of bytes and streams, and hex. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SHA_H
#define PYLOCK_SHA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PL_SHA256_HEX 65 /* 64 hex digits and NUL */
#define PL_SHA512_HEX 129

/* Both digests of one stream, computed in a single pass. */
struct pl_sha {
  void *sha256, *sha512; /* EVP_MD_CTX */
  uint64_t length;
};

/* Start; loads libcrypto. */
int pl_sha_init(struct pl_sha *d, pl_error_t *err);
int pl_sha_update(struct pl_sha *d, const void *data, size_t n, pl_error_t *err);
/* Finish into hex strings (either may be NULL) and release the contexts. */
int pl_sha_final(struct pl_sha *d, char sha256[PL_SHA256_HEX], char sha512[PL_SHA512_HEX],
                 pl_error_t *err);
/* Release without a result (safe after final, or on a zeroed struct). */
void pl_sha_free(struct pl_sha *d);

/* sha256 of a buffer, as lowercase hex. */
int pl_sha256_hex(const void *data, size_t n, char out[PL_SHA256_HEX], pl_error_t *err);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void pl_hex_encode(const unsigned char *in, size_t n, char *out);
/* Exactly 2n hex digits (either case) into n bytes; false otherwise. */
bool pl_hex_decode(const char *hex, unsigned char *out, size_t n);

#endif
