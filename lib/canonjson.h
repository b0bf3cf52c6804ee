/* pylock — JSON as TUF signs it: parse strictly, emit canonical form.
 *
 * Canonical form is securesystemslib's (OLPC-derived) encoding, the bytes
 * every TUF implementation signs: object keys sorted by their UTF-8 bytes, no
 * whitespace, integers only (no floats), strings raw UTF-8 escaping only `"`
 * and `\`, literals true/false/null.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CANONJSON_H
#define PYLOCK_CANONJSON_H

#include <stddef.h>

#include "dyn_jansson.h"
#include "error.h"

/* Largest JSON document pylock parses or emits. */
#define PL_JSON_MAX ((size_t)64 << 20)

/* Parse buf[0..len) (len <= PL_JSON_MAX) into a new tree; duplicate object
 * keys, NUL characters and trailing data are rejected.  `what` names the
 * document in errors.  Loads jansson. */
int pl_json_parse(const char *buf, size_t len, const char *what, json_t **out, pl_error_t *err);

/* Emit v in canonical form into a new NUL-terminated buffer.  Fails on
 * floats and on output beyond PL_JSON_MAX. */
int pl_json_canonical(const json_t *v, char **out, size_t *len, pl_error_t *err);

/* json_decref through the on-demand table (jansson's inline one would link
 * libjansson directly). */
void pl_json_decref(json_t *v);
static inline void pl_json_decrefp(json_t **v) {
  if (*v) pl_json_decref(*v);
}
#define cleanup_json __attribute__((cleanup(pl_json_decrefp)))

/* Set key to a borrowed value (jansson's json_object_set is inline too). */
int pl_json_set(json_t *obj, const char *key, json_t *value);

#endif
