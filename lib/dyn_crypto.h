/* pylock — libcrypto (OpenSSL 3), loaded on first use; see dynlib.h.
 * Add a symbol: one X(name) line here; call it by its own name.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DYN_CRYPTO_H
#define PYLOCK_DYN_CRYPTO_H
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include "dynlib.h"

#define PL_CRYPTO_SYMBOLS(X)                                                                       \
  X(EVP_MD_CTX_new)                                                                                \
  X(EVP_MD_CTX_free)                                                                               \
  X(EVP_sha256)                                                                                    \
  X(EVP_sha384)                                                                                    \
  X(EVP_sha512)                                                                                    \
  X(EVP_DigestInit_ex)                                                                             \
  X(EVP_DigestUpdate)                                                                              \
  X(EVP_DigestFinal_ex)                                                                            \
  X(EVP_DigestSignInit)                                                                            \
  X(EVP_DigestSign)                                                                                \
  X(EVP_DigestVerifyInit)                                                                          \
  X(EVP_DigestVerify)                                                                              \
  X(EVP_PKEY_new_raw_private_key)                                                                  \
  X(EVP_PKEY_new_raw_public_key)                                                                   \
  X(EVP_PKEY_get_raw_private_key)                                                                  \
  X(EVP_PKEY_get_raw_public_key)                                                                   \
  X(EVP_PKEY_free)                                                                                 \
  X(RAND_bytes)                                                                                    \
  X(OPENSSL_cleanse)                                                                               \
  X(ERR_get_error)                                                                                 \
  X(ERR_error_string_n)                                                                            \
  X(ERR_clear_error)

struct pl_crypto_table {
  PL_CRYPTO_SYMBOLS(PL_DYN_FIELD)
};
extern struct pl_crypto_table pl_crypto_fn;
#include "dyn_crypto_defs.h"
#endif
