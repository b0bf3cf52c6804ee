/* pylock — the tables of on-demand libraries; see dynlib.h.
 * This file sees the real declarations only (no *_defs.h macros).
 * SPDX-License-Identifier: Apache-2.0 */
#define PL_DYN_NO_DEFS
#include "dyn_archive.h"
#include "dyn_crypto.h"
#include "dyn_curl.h"
#include "dyn_jansson.h"
#include "dyn_mount.h"

#define PL_DYN_LOADER(lib, soname, package, LIST)                                                  \
  struct pl_##lib##_table pl_##lib##_fn;                                                           \
  int pl_dyn_##lib##_load(pl_error_t *err);                                                        \
  int pl_dyn_##lib##_load(pl_error_t *err) {                                                       \
    static void *handle;                                                                           \
    static const char *const names[] = {LIST(PL_DYN_NAME)};                                        \
    _Static_assert(sizeof(pl_##lib##_fn) == sizeof(void *) * (0 LIST(PL_DYN_COUNT)), "");          \
    return pl_dynlib_resolve(soname, package, names, (void **)&pl_##lib##_fn,                      \
                             (int)(sizeof names / sizeof names[0]), &handle, err);                 \
  }

PL_DYN_LOADER(crypto, "libcrypto.so.3", "install OpenSSL 3 (Debian: apt install libssl3)",
              PL_CRYPTO_SYMBOLS)
PL_DYN_LOADER(archive, "libarchive.so.13", "install libarchive (Debian: apt install libarchive13)",
              PL_ARCHIVE_SYMBOLS)
PL_DYN_LOADER(curl, "libcurl.so.4", "install libcurl (Debian: apt install libcurl4)",
              PL_CURL_SYMBOLS)
PL_DYN_LOADER(jansson, "libjansson.so.4", "install jansson (Debian: apt install libjansson4)",
              PL_JANSSON_SYMBOLS)
PL_DYN_LOADER(mount, "libmount.so.1", "install libmount (Debian: apt install libmount1)",
              PL_MOUNT_SYMBOLS)
