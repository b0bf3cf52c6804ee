/* pylock — resolution: pip's resolver, run where it can reach nothing but
 * verified bytes, and its report turned into locked packages.
 *
 * pl_resolve() forks a child that enters a sandbox like the project's
 * (sandbox.h) with its own, empty network namespace (loopback only), where
 * it may write its work directory and nothing else (pylock's state, the
 * home, the project: all read-only), scrubs the environment, drops every
 * capability, sets no_new_privs and the seccomp filter, and execs, once,
 *   python -I -c DRIVER -m pip install --dry-run --report FILE --ignore-installed
 *     --only-binary :all: --no-cache-dir --disable-pip-version-check
 *     --isolated --no-input --index-url http://127.0.0.1:PORT/simple/ REQ...
 * (--isolated: no pip configuration or PIP_* variable is read).  The index
 * at that address is pylock's own (indexserver.h): it answers from the
 * registry's verified targets, fetching each page's wheels' metadata and
 * each wheel as pip asks for it, so one pip run resolves whatever the cache
 * holds.  When the base interpreter has no pip, the newest pip wheel of the
 * registry is fetched (verified) and run as
 * `python -I -c DRIVER WORK/files/pip-X.whl/pip ...`.  DRIVER (resolve.c)
 * runs pip so that it resolves from .metadata without downloading wheels.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_RESOLVE_H
#define PYLOCK_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "lockfile.h"
#include "tuf.h"

#define PL_REPORT_MAX ((size_t)32 << 20)          /* pip's JSON report */
#define PL_RESOLVE_OUTPUT_MAX ((size_t)256 << 10) /* pip's output kept for errors */
#define PL_RESOLVE_TIMEOUT_S 1800                 /* the pip run */
#define PL_RESOLVE_PIP_TIMEOUT "600"              /* pip's socket timeout, s */

/* What one resolution did. */
struct pl_resolve_stats {
  unsigned pip_runs;                /* always 1 when pip ran */
  unsigned pages, metadata, wheels; /* files pip asked for and got */
  unsigned long long bytes;         /* bytes served to pip */
  double pip_s;                     /* pip's run, wall clock */
  double serve_s;                   /* of which pylock spent answering pip */
  double fetch_s;                   /* of which fetching and checking files */
  double fetch_cpu_s;               /* the CPU time of that */
};

struct pl_resolve_opts {
  const char *python;     /* base interpreter (absolute) */
  const char *prefix;     /* its sys.prefix: the overlay's mount point */
  const char *project;    /* project root (absolute) */
  const char *state_root; /* pylock's state root, bound read-only (work_dir stays writable) */
  const char *layer;      /* the overlay's top layer: the current generation */
  const char *user_site;  /* hidden in the sandbox, or NULL */
  const char *work_dir;   /* existing empty private directory (absolute) in the state root */
  const char *cache_dir;  /* the shared cache's root (lib/cache.h), or NULL */
  const char *registry;   /* URL recorded as each package's index */
  const char *const *requirements; /* PEP 508 strings, as given */
  size_t nrequirements;
  bool registry_pip; /* use the registry's pip even if the base has one */
  /* Locked versions to keep ("name==version", valid name and version):
   * given to pip as constraints; if pip finds no resolution with them, it
   * runs again without, and *dropped_preferences (may be NULL) says so. */
  const char *const *preferences;
  size_t npreferences;
  bool *dropped_preferences;
  struct pl_resolve_stats *stats; /* filled when not NULL */
};

/* Resolve the requirements; *pkgs (sorted as the lock writes them) and *n
 * receive the locked packages. */
int pl_resolve(struct pl_tuf *t, const struct pl_resolve_opts *o, struct pl_lock_package **pkgs,
               size_t *n, pl_error_t *err);

/* Turn pip's installation report (format version 1) into locked packages:
 * for each `install` item, name, version, requested, requires_python, and
 * one wheel whose filename is the last segment of download_info.url, whose
 * size and sha256 are those the registry signed for that target (targets:
 * sorted by name, as pl_tuf_target_at() lists them), and whose url is
 * REGISTRY/targets/FILE.  A wheel that is not a signed target, or whose
 * report hash differs from the signed one, is refused. */
int pl_resolve_parse_report(const char *buf, size_t len, const struct pl_tuf_target *targets,
                            size_t ntargets, const char *registry, struct pl_lock_package **pkgs,
                            size_t *n, pl_error_t *err);

/* The URL of target `name` in the registry at `registry` (a path,
 * file:// or http(s)://); newly allocated. */
char *pl_resolve_target_url(const char *registry, const char *name);

/* Explain pip's failure from its output: its ERROR lines, quoted, with a hint. */
int pl_resolve_pip_error(const char *output, int status, pl_error_t *err);

#endif
