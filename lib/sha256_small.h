/* pylock — SHA-256 of a buffer in plain C, without libcrypto. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SHA256_SMALL_H
#define PYLOCK_SHA256_SMALL_H

#include <stddef.h>
#include <stdint.h>

/* The static front end (pylock/front/) cannot dlopen libcrypto, and hashes
 * only small things (a lock file, a state key): this is its SHA-256.  The
 * full pylock uses OpenSSL's (sha.h); tests/test_sha256_small.c checks that
 * both agree. */
void pl_sha256_small(const void *data, size_t n, unsigned char out[32]);

#endif
