/* pylock — running a helper program (an interpreter probe, pip, compileall):
 * one child runner for the whole library.
 *
 * The child gets /dev/null as stdin and a pipe as stdout and stderr, whose
 * output is kept (bounded); it runs in a process group of its own and dies
 * with pylock (PR_SET_PDEATHSIG, checked after fork for the race), so a
 * Ctrl-C or a kill of pylock never leaves it running.  With a sandbox, it
 * runs in that sandbox (sandbox.h: namespaces, mounts, Landlock, seccomp,
 * no capabilities) as the first process of a PID namespace of its own: when
 * it ends, or is killed with pylock, the kernel ends every process it
 * started too (compileall's workers, say).  A deadline kills it.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_CHILD_H
#define PYLOCK_CHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "sandbox.h"

struct pl_child_opts {
  char *const *argv;                /* argv[0]: an absolute path */
  const char *const *envp;          /* NULL: pylock's environment (scrubbed in a sandbox) */
  const struct pl_sandbox *sandbox; /* or NULL: not sandboxed */
  int timeout_s;                    /* 0: none */
  size_t output_max;                /* bytes of output kept */
  bool keep_tail;                   /* on overflow keep the newest bytes (else fail: EFBIG) */
  /* With a sandbox: called in the child once its namespaces exist, before
   * the hardening and exec (the resolver's loopback listener is made in
   * the child's network namespace and handed back to pylock); -1 fails
   * the child with err's words.  NULL: nothing. */
  int (*in_sandbox)(void *ctx, pl_error_t *err);
  void *in_sandbox_ctx;
};

struct pl_child_result {
  int status;   /* wait status */
  char *output; /* stdout and stderr, NUL-terminated */
  size_t len;
};

/* Run the child to its end.  -1 with err when it could not be started or
 * made ready (the sandbox, exec: the child's own words), timed out or
 * printed too much; else 0 with r filled (caller frees r->output). */
int pl_child_run(const struct pl_child_opts *o, struct pl_child_result *r, pl_error_t *err);

#endif
