/* pylock — where a private signing key may live.
 *
 * A registry's private keys are what every client trusts, so a key file is
 * held to what pylock holds its interpreters to (interp.h): code pylock runs
 * must not be able to replace it, nor have written it.  Every sandbox writes
 * its own project and the places all of them share (/tmp, /var/tmp,
 * /dev/shm, ~/.cache, allow-write), and reads the rest of the user's files;
 * only the keys directory ($XDG_CONFIG_HOME/pylock/keys) is hidden from every
 * sandbox (sandbox.c), so it is where keys belong.
 *
 *   - a key argument without a '/' names a file in the keys directory
 *     (".key" added when it has no ".key" or ".pub" ending); "./FILE" names
 *     one in the working directory;
 *   - "-" is standard input (the key never sits in a file: CI secrets);
 *   - a key file pylock reads, or the directory it writes a new one in, must
 *     be reached only through names root or the user alone can change, none
 *     in a project (a directory holding a pylock.toml) nor in a place every
 *     sandbox writes (pl_path_check_unchangeable);
 *   - a key outside the keys directory is read, with a warning: code pylock
 *     runs can read it there.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_KEYPLACE_H
#define PYLOCK_KEYPLACE_H

#include <stdbool.h>

#include "ed25519.h"
#include "error.h"

/* The keys directory (not created); newly allocated. */
int pl_keys_dir(char **out, pl_error_t *err);

/* The absolute path a key argument names (see above); "-" stays "-".
 * Newly allocated. */
int pl_key_resolve(const char *arg, char **out, pl_error_t *err);

/* Refuse the private key file `abs` (resolved) unless no sandbox and no one
 * else can change it or what leads to it; for_write: the directory a new
 * key is about to be written in instead. */
int pl_key_check_place(const char *abs, bool for_write, pl_error_t *err);

/* Is `abs` inside the keys directory (as both resolve now)? */
bool pl_key_in_keys_dir(const char *abs);

/* Read a private key from standard input (at most once per process). */
int pl_key_load_stdin(struct pl_key *k, pl_error_t *err);

/* Load the private key a resolved argument names: "-" from standard
 * input, else the file, checked with pl_key_check_place first.  *outside:
 * a file outside the keys directory (the caller warns). */
int pl_key_load_private(const char *abs, struct pl_key *k, bool *outside, pl_error_t *err);

#endif
