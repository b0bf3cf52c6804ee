/* pylock — keeping a project's namespaces warm between runs.
 *
 * Building namespaces and an overlay costs ~1.5 ms per run, and a fresh
 * overlay starts with a cold dentry cache, so the interpreter's start-up
 * lookups are slower too.  The first `pylock run` of a generation therefore
 * leaves a small detached process (the holder, "pylock-keep") sitting in the
 * namespaces it built; later runs join them with setns(2) instead.
 *
 * The holder holds nothing a run could use.  It is pylock itself, exec'ed
 * inside the new user namespace, so that its memory belongs to that
 * namespace: made non-dumpable, it can be inspected (its /proc/PID/ns files
 * opened) by the user outside, who owns the namespace, but not by anything
 * inside, which has no capability there: no ptrace, no /proc/PID/fd.  It
 * keeps no descriptor of the host's mounts, has every capability dropped,
 * no_new_privs, a Landlock domain that writes nothing, and the same
 * seccomp filter as the command.
 *
 * Its record, STATE/projects/<id>/run/keepalive (keepalive-strict for
 * --strict runs), names the holder's pid and start time, the inode numbers
 * of its user and mount namespaces, the generation and a digest of the
 * sandbox's configuration.  The kernel gives a pid, and a namespace's inode
 * number, to others once the holder and its namespaces are gone (code in
 * another sandbox of the user, whose namespaces got the lowest free
 * numbers, can fork until it has the pid): the start time, read through the
 * same /proc/PID directory as the namespaces, says the process is the one
 * the record was written for.  pylock writes it from outside the sandbox (the state root
 * is read-only inside), and a run reads it only as a hint: before joining
 * it checks against the kernel that the user namespace is a child of its
 * own and owned by it, that the mount namespace has the overlay of this
 * generation on the prefix and pylock's state and configuration read-only
 * (pl_sandbox_check_ns on the kernel's mount objects, or
 * pl_sandbox_check_mounts on the holder's mountinfo), and that its working
 * directory, pylock's state and its configuration are the same directories
 * in there.  Any doubt: a fresh sandbox.
 *
 * The holder leaves after PYLOCK_KEEPALIVE seconds (else `keepalive` of
 * pylock-config(5), default 30) without a run, as soon as the generation
 * changes, or when its record names another holder; 0 turns it off.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_KEEPALIVE_H
#define PYLOCK_KEEPALIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "sandbox.h"

#define PL_KEEPALIVE_DEFAULT_TTL 30
#define PL_KEEPALIVE_HOLDER_NAME "pylock-keep" /* argv[0] of the holder */

/* Put the calling process in the sandbox `sb` describes: join a matching
 * holder, or create the namespaces (and a holder for the next run).
 * `run_fd` is the project state's run/ directory, opened on the host;
 * `state_path` the project state's absolute path; `gen` the current
 * generation ("generations/N"). */
int pl_keepalive_enter(const struct pl_sandbox *sb, int run_fd, const char *state_path,
                       const char *gen, pl_error_t *err);

/* Join a holder of this generation whose namespaces the kernel confirms
 * (the first half of pl_keepalive_enter).  1: joined (in the sandbox's
 * namespaces, network isolated when asked); 0: nothing to join, and this
 * process is exactly where it was; -1 (err) on a failure after which it no
 * longer is. */
int pl_keepalive_join(const struct pl_sandbox *sb, int run_fd, const char *gen, pl_error_t *err);

/* Keep the overlay's merged directories' listings built, for every run that
 * joins.  overlayfs lists a directory present in both layers (the prefix,
 * lib, lib/pythonX.Y, site-packages, bin...) by reading and merging both
 * into a cache that lives only while a descriptor of that directory is
 * open, so every python start-up that lists them (the importers of the
 * standard library and site-packages, site's .pth scan) rebuilt it: ~0.17
 * ms a run with 14 packages here.  The holder opens and reads each once,
 * read-only, and keeps it open (the overlay is read-only: a listing never
 * goes stale).  A merged directory reports one link (overlayfs does not
 * count a merged directory's subdirectories).  At most 64, best effort: a
 * failure only costs speed.  `prefix` is the overlay's mount point,
 * `layer` the generation under it; returns how many are kept open. */
int pl_keepalive_warm(const char *prefix, const char *layer);

/* The holder's main (argv[0] is PL_KEEPALIVE_HOLDER_NAME); never returns. */
int pl_keepalive_holder_main(int argc, char **argv) __attribute__((noreturn));

/* Digest of everything that shapes the mount namespace. */
uint64_t pl_keepalive_digest(const struct pl_sandbox *sb, const char *gen);

/* The record's text form, and its parser (0 on success, -1 if malformed). */
struct pl_keepalive_record {
  long pid;
  unsigned long long start; /* the holder's start time (/proc/PID/stat), never 0 */
  unsigned long long userns_ino, mntns_ino;
  uint64_t digest;
  char gen[64];
};
int pl_keepalive_format(const struct pl_keepalive_record *r, char *buf, size_t size);
int pl_keepalive_parse(const char *text, struct pl_keepalive_record *r);

/* Is the user namespace open at nsfd a child of the caller's own, owned by
 * the caller?  (A holder's must be: not a grandchild, not another user's.) */
bool pl_keepalive_userns_is_our_child(int nsfd);

/* Seconds a holder waits for the next run: PYLOCK_KEEPALIVE, else keepalive
 * from the configuration files (read only then), else the default; -1 if a
 * configuration file is wrong. */
int pl_keepalive_ttl(pl_error_t *err);

#endif
