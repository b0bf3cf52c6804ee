/* pylock — the seccomp policy, written with libseccomp.
 *
 * The policy is compiled to BPF at build time (lib/seccomp_gen.c writes
 * build/gen/seccomp_bpf.h): building it with libseccomp at run time costs
 * ~300 us, most of what `pylock run` adds to a command's start.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SECCOMP_POLICY_H
#define PYLOCK_SECCOMP_POLICY_H

#include <seccomp.h>

#define PL_SECCOMP_NO_PTRACE 1 /* no ptrace, process_vm_*: without Landlock, or --strict */
#define PL_SECCOMP_STRICT 2    /* --strict: also no io_uring, no unix sockets */

/* Add the deny rules to ctx, with the PL_SECCOMP_* flags. 0 or -errno. */
int pl_seccomp_policy(scmp_filter_ctx ctx, int flags);

#endif
