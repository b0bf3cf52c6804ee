/* pylock — heavy libraries loaded on first use.
 *
 * `pylock run` and the shim must start in well under a millisecond; linking
 * libcrypto, libarchive, libcurl and jansson costs ~8 ms of dynamic loading
 * on every exec, even when unused.  So the binary links only libc (and small
 * static libcap/libseccomp), and the code that needs a heavy library calls
 * pl_dynlib_load() first, then uses the function table through the macros of
 * the matching header (dyn_crypto.h, ...), which keep the libraries' own
 * names at call sites.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_DYNLIB_H
#define PYLOCK_DYNLIB_H

#include "error.h"

enum pl_dynlib {
  PL_LIB_CRYPTO,
  PL_LIB_ARCHIVE,
  PL_LIB_CURL,
  PL_LIB_JANSSON,
  PL_LIB_MOUNT,
  PL_LIB_COUNT
};

/* Resolve every symbol the table of `which` lists; idempotent, cheap once
 * loaded.  Fails naming the library and the package that provides it. */
int pl_dynlib_load(enum pl_dynlib which, pl_error_t *err);

/* Used by the generated tables: open `soname` and fill `n` symbols. */
int pl_dynlib_resolve(const char *soname, const char *package, const char *const *names,
                      void **slots, int n, void **handle, pl_error_t *err);

#endif

/* Table helpers for dyn_*.h: each header lists its symbols as X(name) lines
 * in a PL_<LIB>_SYMBOLS(X) macro; the build generates dyn_<lib>_defs.h, one
 * `#define name (pl_<lib>_fn.name)` per symbol, so call sites read as usual. */
#define PL_DYN_FIELD(name) __typeof__(&name) name;
#define PL_DYN_NAME(name) #name,
#define PL_DYN_COUNT(name) +1
