/* pylock — Landlock: where code in a sandbox may write.
 *
 * Landlock (Linux 5.13+, unprivileged) restricts the calling process and
 * everything it starts, for good.  pylock hands it an allow-list of
 * directories (and files) where writing stays possible; every other write,
 * create, rename, link or remove fails with EACCES, on paths that exist now
 * and on paths that do not exist yet.  Reads and execution are not
 * restricted: the policy protects integrity, not confidentiality.
 *
 * A Landlock domain also fences the process off from everything outside
 * it: it can neither ptrace nor open /proc/PID/{root,cwd,fd,mem} of a process
 * outside its domain (the user's shell, another sandbox, the keep-alive
 * holder), which would otherwise be a way around every read-only mount; and
 * with ABI 6, neither signal such a process nor connect to its abstract
 * unix sockets.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_LANDLOCK_H
#define PYLOCK_LANDLOCK_H

#include <stddef.h>

#include "error.h"

/* The Landlock ABI version this kernel offers; 0 when it has none (too old,
 * not enabled among the LSMs, or blocked) or PYLOCK_LANDLOCK=off turns it
 * off (the read-only mounts of sandbox.h then hold the allow-list), with
 * *why saying which. */
int pl_landlock_abi(const char **why);

/* Restrict the calling process: writes only beneath the paths listed
 * (missing paths are skipped; a file allows writing that file).  With
 * ABI >= 6, signals and abstract unix sockets are scoped to the domain.
 * ENOSYS/EOPNOTSUPP when the kernel has no Landlock (the caller decides). */
int pl_landlock_restrict(const char *const *writable, size_t n, pl_error_t *err);

#endif
