/* pylock — read files of a registry from a directory, file:// or http(s)://.
 *
 * Every read is bounded by the caller: a registry (or a man in the middle)
 * cannot make pylock read more than it expects, nor hang it: HTTP reads give
 * up when connecting takes more than PL_FETCH_CONNECT_TIMEOUT seconds, when
 * the transfer stays under PL_FETCH_LOW_SPEED bytes/s for
 * PL_FETCH_STALL_TIMEOUT seconds, and when the whole of it (connection
 * included) outlasts its deadline: PL_FETCH_DEADLINE_FLOOR seconds plus the
 * bytes it may be long at PL_FETCH_DEADLINE_RATE bytes/s.  The stall check
 * alone lets a server trickling just above 100 bytes/s hold a 32 MiB
 * targets.json for four days; the deadline holds it for 9 minutes.
 *
 * The floor covers connecting (at most 10 s), the TLS handshake and the
 * first byte from a distant or busy server, with room to spare for the
 * small files (timestamp, snapshot) that are most of a sync's requests.
 * The rate, 64 KiB/s (512 kbit/s), is that of a poor mobile or satellite
 * link: any network pylock is meant to work over is faster, so a transfer
 * that has not ended by then is being held back, not slowed down; and it
 * still bounds the worst a trickling server can do to a 100 MiB wheel at
 * 27 minutes.  The length is the signed one (TUF lengths of metadata and
 * targets), or the cap of metadata whose length nothing lists (root:
 * 38 s, timestamp: 31 s).  Local reads have no deadline: they are bounded
 * by their length and the local file system.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_FETCH_H
#define PYLOCK_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define PL_FETCH_CONNECT_TIMEOUT 10
#define PL_FETCH_STALL_TIMEOUT 10
#define PL_FETCH_LOW_SPEED 100
#define PL_FETCH_DEADLINE_FLOOR 30         /* seconds */
#define PL_FETCH_DEADLINE_RATE (64 * 1024) /* bytes/s */
/* A test knob: PYLOCK_FETCH_DEADLINE_FLOOR=N (1..PL_FETCH_DEADLINE_FLOOR)
 * shortens the floor to N seconds; it can never lengthen a deadline. */
#define PL_FETCH_DEADLINE_FLOOR_ENV "PYLOCK_FETCH_DEADLINE_FLOOR"

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

/* At most this many transfers of pl_fetch_many at once (connections to
 * the registry's host). */
#define PL_FETCH_PARALLEL 6

/* One file for pl_fetch_many: as pl_fetch's arguments. */
struct pl_fetch_job {
  const char *relpath;
  uint64_t max;
  pl_fetch_sink sink;
  void *ctx;
};

/* Stream each job's file into its sink, as pl_fetch does one: over HTTP
 * up to PL_FETCH_PARALLEL at once, each bounded and with its own deadline
 * from when it starts; from a directory, one after the other.  The first
 * failure ends every other transfer: -1, with *failed the index of the job
 * that failed (what the others' sinks received is partial). */
int pl_fetch_many(struct pl_fetcher *f, const struct pl_fetch_job *jobs, size_t n, size_t *failed,
                  pl_error_t *err);

/* Whole file into a new NUL-terminated buffer, at most max bytes. */
int pl_fetch_mem(struct pl_fetcher *f, const char *relpath, size_t max, char **buf, size_t *len,
                 pl_error_t *err);

/* The deadline of an HTTP transfer of at most `length` bytes, in
 * milliseconds, with a floor of `floor_s` seconds. */
uint64_t pl_fetch_deadline_ms(uint64_t length, unsigned floor_s);

/* The floor in force: PL_FETCH_DEADLINE_FLOOR, or the shorter one the test
 * knob PL_FETCH_DEADLINE_FLOOR_ENV names. */
unsigned pl_fetch_deadline_floor(void);

/* True if relpath is a safe relative path inside a registry. */
int pl_fetch_path_ok(const char *relpath);

#endif
