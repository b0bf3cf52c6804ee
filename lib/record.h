/* pylock — a wheel's RECORD (CSV: path,algo=urlsafe-b64-nopad-digest,size). */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_RECORD_H
#define PYLOCK_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PL_RECORD_MAX_BYTES (64u << 20) /* RECORD file size */
#define PL_RECORD_MAX_ROWS 200000u      /* same as the wheel's entry cap */
#define PL_HASH_MAX 64                  /* bytes of the largest digest (sha512) */

enum pl_hash_algo { PL_HASH_NONE, PL_HASH_SHA256, PL_HASH_SHA384, PL_HASH_SHA512 };

struct pl_record_entry {
  char *path;             /* as listed, a checked relative path */
  enum pl_hash_algo algo; /* PL_HASH_NONE only for RECORD itself */
  unsigned char digest[PL_HASH_MAX];
  size_t digest_len;
  uint64_t size;
  bool has_size;   /* false only for RECORD itself */
  bool executable; /* set by pl_wheel_verify from the archive entry's mode */
};

struct pl_record {
  struct pl_record_entry *entries; /* sorted by path (bytewise) */
  size_t n;
};

/* Parse RECORD text.  `record_path` is the RECORD's own member name: its row
 * (and only its row) may leave hash and size empty.  Rejects malformed CSV,
 * unsafe paths, duplicate paths, hashes weaker than sha256 and bad digests. */
int pl_record_parse(const char *buf, size_t len, const char *record_path, struct pl_record *out,
                    pl_error_t *err);

/* Parse the RECORD of an installed distribution, as pip (and pylock) write
 * it: paths are relative to the directory holding the .dist-info and may
 * start with "../" components (scripts, data files); a row may leave both
 * hash and size empty (RECORD itself, byte-code, files pip generated). */
int pl_record_parse_installed(const char *buf, size_t len, struct pl_record *out, pl_error_t *err);

/* Render rows as pip writes an installed RECORD: sorted by path (bytewise,
 * as Python sorts str), CSV with minimal quoting, "\r\n" line ends; an
 * entry with PL_HASH_NONE has empty hash and size.  Sorts rec->entries. */
int pl_record_format(struct pl_record *rec, char **out, size_t *len, pl_error_t *err);

/* Join an installed RECORD path to `base` (the directory holding the
 * .dist-info, relative to the prefix) and fold its ".." components: the
 * file's path relative to the prefix, in out.  False when it would leave
 * the prefix or does not fit. */
bool pl_record_resolve(const char *base, const char *path, char *out, size_t cap);

/* The row for `path`, or NULL. */
const struct pl_record_entry *pl_record_find(const struct pl_record *rec, const char *path);

void pl_record_free(struct pl_record *rec);

const char *pl_hash_algo_name(enum pl_hash_algo algo);
size_t pl_hash_algo_len(enum pl_hash_algo algo);

/* Render a digest as urlsafe base64 without padding (RECORD's form). */
void pl_record_b64(char *dst, size_t cap, const unsigned char *digest, size_t len);

#endif
