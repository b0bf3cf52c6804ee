/* pylock — names of the members of a wheel (archive entries and RECORD rows). */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_ARCHIVE_PATH_H
#define PYLOCK_ARCHIVE_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PL_PATH_MAX 4096          /* whole name, bytes (Linux PATH_MAX) */
#define PL_PATH_COMPONENT_MAX 255 /* one component, bytes (NAME_MAX) */
#define PL_PATH_DEPTH_MAX 64      /* components */

/* Accept `name` only if it is a safe relative path: non-empty, valid UTF-8,
 * no leading '/', no backslash, no control character, no empty, "." or ".."
 * component, bounded length and depth.  A directory (is_dir) may end in one
 * '/'.  *len receives the length without that '/'. */
int pl_archive_path_check(const char *name, bool is_dir, size_t *len, pl_error_t *err);

/* Render untrusted bytes for an error message by the one escaping rule
 * (escape.h, text mode), cut between characters with "..." to fit `cap` (>= 8). */
const char *pl_path_quote(char *dst, size_t cap, const char *src, size_t len);

#define PL_QUOTE_CAP 200

#endif
