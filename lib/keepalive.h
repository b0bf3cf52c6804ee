/* pylock — keeping a project's namespaces warm between runs.
 *
 * Building namespaces and an overlay costs ~1.5 ms per run, and a fresh
 * overlay starts with a cold dentry cache, so the interpreter's start-up
 * lookups are slower too.  The first `pylock run` of a generation therefore
 * leaves a small detached process (the holder) sitting in the namespaces it
 * built; later runs join them with setns(2) instead, which costs a few
 * microseconds.  Its record, .pylock/run/keepalive-<uid>, names the holder's
 * pid, the inode numbers of its user and mount namespaces, the generation
 * and a digest of the sandbox's configuration; a run joins only when all of
 * them match and the record is the caller's own.  The holder leaves after
 * PYLOCK_KEEPALIVE seconds (else `keepalive` of pylock-config(5), default 30)
 * without a run, or as soon as the generation changes; 0 turns it off. */
#ifndef PYLOCK_KEEPALIVE_H
#define PYLOCK_KEEPALIVE_H

#include <stdint.h>

#include "error.h"
#include "sandbox.h"

#define PL_KEEPALIVE_DEFAULT_TTL 30

/* Put the calling process in the sandbox `sb` describes: join a matching
 * holder, or create the namespaces (and a holder for the next run). */
int pl_keepalive_enter(const struct pl_sandbox *sb, int state_fd, const char *gen, pl_error_t *err);

/* Digest of everything that shapes the mount namespace. */
uint64_t pl_keepalive_digest(const struct pl_sandbox *sb, const char *gen);

/* The record's text form, and its parser (0 on success, -1 if malformed). */
struct pl_keepalive_record {
  long pid;
  unsigned long long userns_ino, mntns_ino;
  uint64_t digest;
  char gen[64];
};
int pl_keepalive_format(const struct pl_keepalive_record *r, char *buf, size_t size);
int pl_keepalive_parse(const char *text, struct pl_keepalive_record *r);

/* Seconds a holder waits for the next run: PYLOCK_KEEPALIVE, else keepalive
 * from the configuration files (read only then), else the default; -1 if a
 * configuration file is wrong. */
int pl_keepalive_ttl(pl_error_t *err);

#endif
