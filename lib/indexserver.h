/* pylock — the resolver's index server: pip's HTTP requests, answered in
 * pylock's process with verified bytes only.
 *
 * pip runs once per resolution (resolve.h) in a sandbox with a network
 * namespace of its own, where nothing but loopback exists.  The sandbox's
 * first process, before it hardens itself and execs pip, makes a TCP
 * listener on 127.0.0.1:PL_INDEXSERVER_PORT in that namespace
 * (pl_indexserver_listen, as pl_child_opts.in_sandbox) and hands it to
 * pylock over a socket pair, keeping no copy of it or of pylock's ends.
 * A thread of pylock accepts pip's connections on it and answers, one
 * request per connection (HTTP/1.1, "Connection: close"), GET and HEAD of
 * the paths simpleindex.h lists; each file is fetched from the registry
 * (or the cache) and checked against its signed length and sha256 when pip
 * asks for it, before a byte of it is sent.  Nothing else is served: a
 * path that is not a signed target's is 404, and a file that fails its
 * check is 502, its reason kept for the resolver to report in place of
 * pip's words.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_INDEXSERVER_H
#define PYLOCK_INDEXSERVER_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "simpleindex.h"

/* Any port: the namespace is new and holds no other listener. */
#define PL_INDEXSERVER_PORT 8658
#define PL_INDEXSERVER_URL "http://127.0.0.1:8658/simple/"
#define PL_INDEXSERVER_REQUEST_MAX 8192 /* request line and headers */
#define PL_INDEXSERVER_IO_TIMEOUT_S 60  /* a client silent this long is dropped */

struct pl_indexserver;

struct pl_indexserver_stats {
  unsigned requests, pages, metadata, wheels; /* answered with 200 */
  uint64_t bytes;                             /* bodies sent */
  double serve_s; /* wall time spent answering (fetching, checking, sending) */
  double fetch_s; /* of which fetching and checking (the registry's cost, pip's reading apart) */
  double fetch_cpu_s; /* the CPU time of that */
};

/* Start serving ix (which must outlive the server) in a thread of this
 * process; it waits for pl_indexserver_listen's listener. */
int pl_indexserver_start(struct pl_simpleindex *ix, struct pl_indexserver **out, pl_error_t *err);

/* In the sandboxed child (ctx: the server), in its network namespace:
 * make the listener and hand it over. */
int pl_indexserver_listen(void *ctx, pl_error_t *err);

/* Stop serving and free the server; *stats receives what it served and
 * *refused (when not NULL) the first error of a file it could not serve
 * (a check that failed, a fetch that did), else NULL. */
void pl_indexserver_stop(struct pl_indexserver *s, struct pl_indexserver_stats *stats,
                         pl_error_t *refused);

/* Parse an HTTP request head (buf, len bytes, ending "\r\n\r\n"): the
 * method (GET or HEAD; else -1 with EINVAL) and the path, percent-decoded
 * without its query, into path (cap bytes); a decoded NUL fails. */
int pl_indexserver_parse_request(const char *buf, size_t len, bool *head, char *path, size_t cap,
                                 pl_error_t *err);

#endif
