/* pylock — jansson, loaded on first use; see dynlib.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DYN_JANSSON_H
#define PYLOCK_DYN_JANSSON_H
#include <jansson.h>
#include "dynlib.h"

#define PL_JANSSON_SYMBOLS(X)                                                                      \
  X(json_loadb)                                                                                    \
  X(json_dumps)                                                                                    \
  X(json_delete)                                                                                   \
  X(json_object)                                                                                   \
  X(json_array)                                                                                    \
  X(json_string)                                                                                   \
  X(json_integer)                                                                                  \
  X(json_object_get)                                                                               \
  X(json_object_set_new)                                                                           \
  X(json_array_append_new)                                                                         \
  X(json_array_size)                                                                               \
  X(json_array_get)                                                                                \
  X(json_string_value)                                                                             \
  X(json_integer_value)                                                                            \
  X(json_object_size)                                                                              \
  X(json_object_iter)                                                                              \
  X(json_object_iter_next)                                                                         \
  X(json_object_iter_key)                                                                          \
  X(json_object_iter_value)                                                                        \
  X(json_object_key_to_iter)                                                                       \
  X(json_object_del)                                                                               \
  X(json_string_length)                                                                            \
  X(json_stringn)                                                                                  \
  X(json_true)                                                                                     \
  X(json_false)                                                                                    \
  X(json_null)                                                                                     \
  X(json_deep_copy)                                                                                \
  X(json_array_remove)

struct pl_jansson_table {
  PL_JANSSON_SYMBOLS(PL_DYN_FIELD)
};
extern struct pl_jansson_table pl_jansson_fn;
#include "dyn_jansson_defs.h"
#endif
