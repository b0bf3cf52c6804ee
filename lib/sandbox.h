/* pylock — entering a project's namespaces.
 *
 * After pl_sandbox_enter() the calling process is in a new user namespace
 * (its own uid/gid mapped 1:1, setgroups denied) and a new mount namespace
 * (propagation private) where the interpreter prefix is a read-only overlay
 * whose top layer is the project's current generation, .pylock/ is
 * read-only, and the user site directory is hidden.  Capabilities, no_new_privs
 * and seccomp are separate (harden.h): the caller still needs its namespace
 * capabilities to finish setting up. */
#ifndef PYLOCK_SANDBOX_H
#define PYLOCK_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

struct pl_sandbox {
  const char *project;   /* absolute project root */
  const char *state_dir; /* absolute root/.pylock, bound read-only */
  const char *prefix;    /* interpreter prefix: the overlay's mount point */
  const char *layer;     /* current generation: the overlay's top layer */
  const char *user_site; /* ~/.local/lib/pythonX.Y to hide, or NULL */
  bool no_network;       /* own network namespace, loopback only */
};

/* Create the namespaces and mounts in the calling (single-threaded) process. */
int pl_sandbox_enter(const struct pl_sandbox *sb, pl_error_t *err);

/* Namespaces only: user (+mount, +net as flags ask); used by doctor too. */
int pl_sandbox_unshare(int extra_flags, uid_t uid, gid_t gid, pl_error_t *err);

/* Mount the read-only overlay: lowerdirs `layer` over `prefix`, onto `prefix`. */
int pl_sandbox_mount_overlay(const char *layer, const char *prefix, pl_error_t *err);

/* New network namespace with the loopback interface up. */
int pl_sandbox_isolate_network(pl_error_t *err);

/* Explain why creating a user namespace failed with `errnum`: the sysctl,
 * AppArmor or seccomp cause found on this machine, and how to fix it.
 * Fills err and returns -1. */
int pl_userns_diagnose(int errnum, pl_error_t *err);

/* Escape a path for overlayfs' lowerdir option (',' ':' '\\'). NULL on error. */
char *pl_overlay_escape(const char *path);

#endif
