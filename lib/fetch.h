/* pylock — read files of a registry from a directory, file:// or http(s)://.
 *
 * Every read is bounded by the caller: a registry (or a man in the middle)
 * cannot make pylock read more than it expects, nor hang it: HTTP reads give
 * up when connecting takes more than PL_FETCH_CONNECT_TIMEOUT seconds or the
 * transfer stays under PL_FETCH_LOW_SPEED bytes/s for PL_FETCH_STALL_TIMEOUT
 * seconds. */
#ifndef PYLOCK_FETCH_H
#define PYLOCK_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PL_FETCH_CONNECT_TIMEOUT 10
#define PL_FETCH_STALL_TIMEOUT 10
#define PL_FETCH_LOW_SPEED 100

struct pl_fetcher;

/* Receives the data as it arrives; return -1 (err filled) to abort. */
typedef int (*pl_fetch_sink)(void *ctx, const void *data, size_t n, pl_error_t *err);

/* A fetcher for the registry at `base`: a directory path, file:///path, or
 * http(s)://host/path.  Loads libcurl only for http(s).  `ca_bundle` is the
 * CA file https is verified against (NULL: the system's store; see
 * pl_config_ca_bundle). */
int pl_fetcher_open(const char *base, const char *ca_bundle, struct pl_fetcher **out,
                    pl_error_t *err);
void pl_fetcher_free(struct pl_fetcher *f);

/* Stream base/relpath into sink.  relpath is checked (no "..", no leading
 * "/", no empty or "." segment, no control characters).  More than max bytes
 * fails with EFBIG; a missing file (ENOENT, HTTP 403/404/410) fails with
 * errno ENOENT, so the caller can tell "absent" from "broken". */
int pl_fetch(struct pl_fetcher *f, const char *relpath, uint64_t max, pl_fetch_sink sink, void *ctx,
             pl_error_t *err);

/* Whole file into a new NUL-terminated buffer, at most max bytes. */
int pl_fetch_mem(struct pl_fetcher *f, const char *relpath, size_t max, char **buf, size_t *len,
                 pl_error_t *err);

/* True if relpath is a safe relative path inside a registry. */
int pl_fetch_path_ok(const char *relpath);

#endif
