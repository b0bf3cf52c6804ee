/* pylock — project names (PEP 503/508) and versions as they appear in wheel
 * filenames, dist-info directories and METADATA.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DISTNAME_H
#define PYLOCK_DISTNAME_H

#include <stdbool.h>
#include <stddef.h>

#define PL_DISTNAME_MAX 200 /* bytes; PyPI's longest names are under 100 */
#define PL_VERSION_MAX 128

/* A valid PEP 508 project name: [A-Za-z0-9] at both ends, [-_.A-Za-z0-9] within. */
bool pl_distname_valid(const char *name, size_t len);

/* PEP 503 form: lowercased, each run of '-', '_', '.' as one '-'.  Writes at
 * most cap-1 bytes plus NUL; returns the length, or -1 if it did not fit. */
int pl_distname_normalize(const char *name, size_t len, char *out, size_t cap);

/* Equal after PEP 503 normalization. */
bool pl_distname_equal(const char *a, size_t alen, const char *b, size_t blen);

/* A version string of PEP 440's alphabet (normalized or not). */
bool pl_version_valid(const char *v, size_t len);

/* Does METADATA's version match the one a filename carries?  The filename
 * spelling replaces '-' with '_'; PEP 440 versions are case-insensitive. */
bool pl_version_matches_filename(const char *metadata_version, const char *file_version,
                                 size_t file_len);

#endif
