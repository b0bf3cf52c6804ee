/* pylock — ed25519 keys as TUF uses them: raw 32-byte keys, hex on the wire.
 *
 * Private key file (written 0600, never overwritten), two lines of text:
 *
 *     pylock-ed25519-private-key-v1
 *     <64 lowercase hex digits: the 32-byte ed25519 seed>
 *
 * Public key file (FILE.pub beside it): the TUF key object in canonical JSON
 * and a newline: {"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}
 * The keyid is the sha256 hex of exactly that canonical JSON.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ED25519_H
#define PYLOCK_ED25519_H

#include <stdbool.h>
#include <stddef.h>

#include "dyn_jansson.h"
#include "error.h"

#define PL_ED25519_SIG 64
#define PL_KEYID_HEX 65 /* 64 hex digits and NUL */
#define PL_KEY_PRIVATE_HEADER "pylock-ed25519-private-key-v1"

struct pl_key {
  unsigned char pub[32];
  unsigned char seed[32]; /* secret; valid when has_seed; wiped by pl_key_wipe */
  bool has_seed;
  char keyid[PL_KEYID_HEX];
};

/* A new random key. */
int pl_key_generate(struct pl_key *k, pl_error_t *err);
/* A public-only key from 64 hex digits. */
int pl_key_from_public_hex(const char *hex, struct pl_key *k, pl_error_t *err);
/* The TUF key object {"keytype","scheme","keyval":{"public"}} (new reference). */
json_t *pl_key_to_json(const struct pl_key *k);
/* A public-only key from a TUF key object; fails on other key types. */
int pl_key_from_json(const json_t *obj, struct pl_key *k, pl_error_t *err);
/* keyid = sha256 hex of the canonical JSON of the public key object. */
int pl_key_compute_keyid(const unsigned char pub[32], char keyid[PL_KEYID_HEX], pl_error_t *err);

/* Sign msg with a private key: 64-byte signature into sig. */
int pl_key_sign(const struct pl_key *k, const void *msg, size_t len,
                unsigned char sig[PL_ED25519_SIG], pl_error_t *err);
/* 0 if sig is a valid signature of msg by pub, -1 (err filled) otherwise. */
int pl_key_verify(const unsigned char pub[32], const void *msg, size_t len,
                  const unsigned char sig[PL_ED25519_SIG], pl_error_t *err);

/* Write the private key to path (O_CREAT|O_EXCL|O_NOFOLLOW, 0600) and the
 * public one to path.pub (0644).  Refuses to replace an existing file. */
int pl_key_save(const char *path, const struct pl_key *k, pl_error_t *err);
/* Load a private key file, or a public key file (has_seed false). */
int pl_key_load(const char *path, struct pl_key *k, pl_error_t *err);

/* The same from an open descriptor; `path` names it in errors.  is_file:
 * it must be a regular file and, holding a private key, the caller's and
 * readable by no one else (standard input, say, is not checked so). */
int pl_key_load_fd(int fd, const char *path, bool is_file, struct pl_key *k, pl_error_t *err);

/* Wipe the secret part from memory. */
void pl_key_wipe(struct pl_key *k);

#endif
