/* pylock — the front end's SHA-256 of a buffer, without libcrypto (sha256_small.h). */
/* SPDX-License-Identifier: Apache-2.0 */
#include "sha.h"
#include "sha256_small.h"

/* sha.h's pl_sha256_hex for the static front end, which cannot dlopen
 * libcrypto: the same digest (tests/test_sha256_small.c). */
int pl_sha256_hex(const void *data, size_t n, char out[PL_SHA256_HEX], pl_error_t *err) {
  unsigned char md[32];
  pl_sha256_small(data, n, md);
  pl_hex_encode(md, sizeof md, out);
  return 0;
}
