/* pylock — TOML 1.0 reader and writer (for pylock.toml, PEP 751).
 *
 * A document is a tree of nodes owned by its root.  Tables keep their keys in
 * the order they were defined; the writer uses that order, so output is
 * deterministic.  Every node belongs to exactly one parent: the builder
 * functions create children in place, never detached.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_TOML_H
#define PYLOCK_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Hard caps on what grows from input. */
#define PL_TOML_MAX_DOCUMENT (16u << 20) /* bytes of TOML accepted by the reader */
#define PL_TOML_MAX_NODES (1u << 20)     /* values in one document */
#define PL_TOML_MAX_DEPTH 128            /* tables/arrays nested in one another */
#define PL_TOML_MAX_OUTPUT (64u << 20)   /* bytes the writer and the dump produce */

enum pl_toml_type {
  PL_TOML_TABLE,
  PL_TOML_ARRAY,
  PL_TOML_STRING,
  PL_TOML_INTEGER,
  PL_TOML_FLOAT,
  PL_TOML_BOOL,
  PL_TOML_DATETIME,       /* offset date-time: 1979-05-27T07:32:00Z */
  PL_TOML_DATETIME_LOCAL, /* 1979-05-27T07:32:00 */
  PL_TOML_DATE_LOCAL,     /* 1979-05-27 */
  PL_TOML_TIME_LOCAL,     /* 07:32:00 */
};

/* How a table or an array is written. */
enum pl_toml_style {
  PL_TOML_SECTION, /* a [table] section, or [[array.of.tables]] */
  PL_TOML_INLINE,  /* an {inline = "table"}, or an [array, of, values] */
};

struct pl_toml_datetime {
  int year, month, day;     /* all 0 for a local time */
  int hour, minute, second; /* all 0 for a local date */
  int nanosecond;
  int offset_minutes; /* east of UTC; only meaningful for PL_TOML_DATETIME */
};

struct pl_toml;

/* --- reading ------------------------------------------------------------ */

/* Parse len bytes of TOML 1.0 (need not be NUL-terminated) into a new
 * document.  Errors say "line L, column C: what was expected". */
int pl_toml_parse(const char *buf, size_t len, struct pl_toml **out, pl_error_t *err);

/* Free a document (the root); NULL is fine. */
void pl_toml_free(struct pl_toml *doc);

/* node must not be NULL. */
enum pl_toml_type pl_toml_type(const struct pl_toml *node);
const char *pl_toml_type_name(enum pl_toml_type type);

/* The node at a dotted path written in TOML key syntax, e.g.
 * "tool.pylock.python" or 'tool."odd.key"', or NULL. */
struct pl_toml *pl_toml_get(const struct pl_toml *table, const char *path);
/* The value of one literal key (no dots interpreted), or NULL. */
struct pl_toml *pl_toml_get_key(const struct pl_toml *table, const char *key, size_t key_len);

/* Typed accessors on a node; -1 (NULL) when the node has another type. */
const char *pl_toml_as_string(const struct pl_toml *node, size_t *len);
int pl_toml_as_integer(const struct pl_toml *node, int64_t *out);
int pl_toml_as_float(const struct pl_toml *node, double *out);
int pl_toml_as_bool(const struct pl_toml *node, bool *out);
/* Any of the four date/time types. */
int pl_toml_as_datetime(const struct pl_toml *node, struct pl_toml_datetime *out);

/* Typed lookups by dotted path that explain a missing key or a wrong type. */
int pl_toml_get_string(const struct pl_toml *table, const char *path, const char **out,
                       pl_error_t *err);
int pl_toml_get_integer(const struct pl_toml *table, const char *path, int64_t *out,
                        pl_error_t *err);
int pl_toml_get_bool(const struct pl_toml *table, const char *path, bool *out, pl_error_t *err);
/* A table or an array at path. */
int pl_toml_get_table(const struct pl_toml *table, const char *path, struct pl_toml **out,
                      pl_error_t *err);
int pl_toml_get_array(const struct pl_toml *table, const char *path, struct pl_toml **out,
                      pl_error_t *err);

/* Iteration: entries of a table (in definition order) or elements of an
 * array; 0 / NULL for scalars and out-of-range indices. */
size_t pl_toml_count(const struct pl_toml *node);
struct pl_toml *pl_toml_at(const struct pl_toml *node, size_t index);
const char *pl_toml_key_at(const struct pl_toml *table, size_t index, size_t *len);

/* Tables are compared as unordered maps, arrays in order; NaN equals NaN. */
bool pl_toml_equal(const struct pl_toml *a, const struct pl_toml *b);

/* Canonical text of a date/time node ("1979-05-27T07:32:00.5-07:00"). */
int pl_toml_datetime_text(const struct pl_toml *node, char *buf, size_t size);

/* --- building ----------------------------------------------------------- */

/* A new empty document (its root table), or NULL when out of memory. */
struct pl_toml *pl_toml_new(void);

/* Add key to a table (which must not have it yet) or, with key NULL, append
 * to an array.  Strings must be valid UTF-8; len may be (size_t)-1 for a
 * NUL-terminated value.  Containers are returned for filling in. */
int pl_toml_add_string(struct pl_toml *parent, const char *key, const char *value, size_t len,
                       pl_error_t *err);
int pl_toml_add_integer(struct pl_toml *parent, const char *key, int64_t value, pl_error_t *err);
int pl_toml_add_float(struct pl_toml *parent, const char *key, double value, pl_error_t *err);
int pl_toml_add_bool(struct pl_toml *parent, const char *key, bool value, pl_error_t *err);
/* text in TOML syntax, e.g. "2025-01-25T11:30:10.164985+00:00"; its form
 * decides which of the four date/time types the value gets. */
int pl_toml_add_datetime(struct pl_toml *parent, const char *key, const char *text,
                         pl_error_t *err);
/* A table: a [section] or {inline}.  Inside an inline table or a value
 * array every table is inline whatever the style asked. */
struct pl_toml *pl_toml_add_table(struct pl_toml *parent, const char *key, enum pl_toml_style style,
                                  pl_error_t *err);
/* An array: SECTION makes an array of tables written as [[key]] (append to it
 * with pl_toml_add_table(array, NULL, ...)); INLINE a [value, ...] array. */
struct pl_toml *pl_toml_add_array(struct pl_toml *parent, const char *key, enum pl_toml_style style,
                                  pl_error_t *err);

/* --- writing ------------------------------------------------------------ */

/* Serialize a document: scalar keys first, then [sections] and
 * [[arrays of tables]] in definition order; same tree, same bytes.
 * *out is NUL-terminated and owned by the caller. */
int pl_toml_write(const struct pl_toml *doc, char **out, size_t *len, pl_error_t *err);

/* The toml-test JSON encoding of a document ({"type":"integer","value":"1"}
 * for scalars), as used by the toml-test decoder interface. */
int pl_toml_dump_json(const struct pl_toml *doc, char **out, size_t *len, pl_error_t *err);

#endif
