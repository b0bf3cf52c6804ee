/* pylock — the seccomp policy, written with libseccomp.
 *
 * The policy is compiled to BPF at build time (lib/seccomp_gen.c writes
 * build/gen/seccomp_bpf.h): building it with libseccomp at run time costs
 * ~300 us, most of what `pylock run` adds to a command's start. */
#ifndef PYLOCK_SECCOMP_POLICY_H
#define PYLOCK_SECCOMP_POLICY_H

#include <seccomp.h>

/* Add the deny rules to ctx; strict adds the --strict set. 0 or -errno. */
int pl_seccomp_policy(scmp_filter_ctx ctx, int strict);

#endif
