/* pylock — loading heavy libraries on demand; see dynlib.h. */
/* SPDX-License-Identifier: Apache-2.0 */
#include "dynlib.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

int pl_dynlib_resolve(const char *soname, const char *package, const char *const *names,
                      void **slots, int n, void **handle, pl_error_t *err) {
  if (*handle) return 0;
  void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) return pl_fail_hint(err, 0, package, "cannot load %s: %s", soname, dlerror());
  for (int i = 0; i < n; i++) {
    slots[i] = dlsym(h, names[i]);
    if (slots[i] == NULL) {
      dlclose(h);
      return pl_fail_hint(err, 0, package, "%s lacks symbol %s (too old?)", soname, names[i]);
    }
  }
  *handle = h;
  return 0;
}

/* Each dyn_*.c defines its loader; dispatch here keeps one entry point. */
int pl_dyn_crypto_load(pl_error_t *err);
int pl_dyn_archive_load(pl_error_t *err);
int pl_dyn_curl_load(pl_error_t *err);
int pl_dyn_jansson_load(pl_error_t *err);
int pl_dyn_mount_load(pl_error_t *err);

int pl_dynlib_load(enum pl_dynlib which, pl_error_t *err) {
  switch (which) {
  case PL_LIB_CRYPTO: return pl_dyn_crypto_load(err);
  case PL_LIB_ARCHIVE: return pl_dyn_archive_load(err);
  case PL_LIB_CURL: return pl_dyn_curl_load(err);
  case PL_LIB_JANSSON: return pl_dyn_jansson_load(err);
  case PL_LIB_MOUNT: return pl_dyn_mount_load(err);
  default: return pl_fail(err, EINVAL, "unknown library %d", (int)which);
  }
}
