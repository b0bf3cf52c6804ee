/* pylock — libcurl, loaded on first use; see dynlib.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DYN_CURL_H
#define PYLOCK_DYN_CURL_H
#include <curl/curl.h>
#include "dynlib.h"

#define PL_CURL_SYMBOLS(X)                                                                         \
  X(curl_global_init)                                                                              \
  X(curl_easy_init)                                                                                \
  X(curl_easy_cleanup)                                                                             \
  X(curl_easy_setopt)                                                                              \
  X(curl_easy_perform)                                                                             \
  X(curl_easy_getinfo)                                                                             \
  X(curl_easy_strerror)                                                                            \
  X(curl_easy_reset)                                                                               \
  X(curl_multi_init)                                                                               \
  X(curl_multi_cleanup)                                                                            \
  X(curl_multi_setopt)                                                                             \
  X(curl_multi_add_handle)                                                                         \
  X(curl_multi_remove_handle)                                                                      \
  X(curl_multi_perform)                                                                            \
  X(curl_multi_wait)                                                                               \
  X(curl_multi_info_read)

struct pl_curl_table {
  PL_CURL_SYMBOLS(PL_DYN_FIELD)
};
extern struct pl_curl_table pl_curl_fn;
/* curl.h wraps these in checking macros; the table entries replace them. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#include "dyn_curl_defs.h"
#endif
