/* pylock — the sandbox: namespaces, mounts and the write allow-list.
 *
 * pl_sandbox_enter() puts the calling process in a new user namespace (its
 * own uid/gid mapped 1:1, setgroups denied) and a new mount namespace
 * (propagation private) where:
 *   - the interpreter prefix is a read-only overlay whose top layer is the
 *     project's current generation;
 *   - pylock's state root and its user configuration directory are bound
 *     read-only (created first when missing, so nothing can plant one);
 *   - the user site directory is hidden under an empty read-only tmpfs
 *     (created first when missing, so that a later one stays hidden too);
 *   - the project's .git/hooks and .git/config (or a .git file) are bound
 *     read-only: git runs them outside any sandbox;
 *   - the session bus ($XDG_RUNTIME_DIR/bus, or where its address says) and
 *     the user service manager ($XDG_RUNTIME_DIR/systemd) are out of reach,
 *     in /run/user/UID too: either would run a command outside the sandbox
 *     on request;
 *   - --strict: /tmp, /var/tmp and /dev/shm are private and empty;
 *   - without Landlock, the write allow-list is made of mounts instead:
 *     everything read-only, then the allowed places bound back writable.
 * and the working directory is entered again by name, so that a directory
 * opened before the mounts (inside the state root, say) is not kept.
 *
 * pl_sandbox_restrict() is per process (a run that joins a keep-alive
 * holder's namespaces calls it too): the Landlock allow-list of where code
 * may write (landlock.h).  Capabilities, no_new_privs and seccomp come last
 * (harden.h).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SANDBOX_H
#define PYLOCK_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct pl_sandbox {
  const char *project;    /* absolute project root: writable (default and strict) */
  const char *state_root; /* pylock's state: read-only */
  const char *config_dir; /* pylock's user configuration directory: read-only */
  const char *prefix;     /* interpreter prefix: the overlay's mount point */
  const char *layer;      /* current generation: the overlay's top layer; NULL: no overlay */
  const char *user_site;  /* ~/.local/lib/pythonX.Y: hidden, or NULL */
  const char *cwd;        /* entered by name after the mounts; NULL: "/" */
  const char *scratch;    /* the resolver's work directory: its only writable place */
  const char *cache_home; /* $XDG_CACHE_HOME: writable by default, or NULL */
  const char *const *allow_write; /* more writable paths (config, --allow-write) */
  size_t nallow_write;
  bool no_network; /* own network namespace, loopback only */
  bool strict;     /* --strict: see pylock-run(1) */
  bool sealed;     /* nothing writable at all (probing an interpreter) */
  /* pl_gen_folds_stamp of the generation when its folds were checked (0:
   * none): part of a keep-alive holder's digest (keepalive.h). */
  uint64_t folds_stamp;
};

/* Create the namespaces and mounts in the calling (single-threaded) process. */
int pl_sandbox_enter(const struct pl_sandbox *sb, pl_error_t *err);

/* The Landlock allow-list of sb for the calling process.  Without Landlock,
 * nothing (the mounts of pl_sandbox_enter hold the list). */
int pl_sandbox_restrict(const struct pl_sandbox *sb, pl_error_t *err);

/* Does this kernel enforce the allow-list with Landlock (cached)? */
bool pl_sandbox_has_landlock(void);

/* Check a mount namespace against sb before joining it: /proc/PID/mountinfo
 * text of a process in it.  The overlay must be on the prefix with
 * sb->layer over the prefix (any_generation: any generation beside it),
 * read-only, with nothing mounted inside it; the state root and the
 * configuration directory read-only, down to every mount below them; the
 * user site hidden.  0 when it is what pl_sandbox_enter makes of sb, else
 * -1 naming the first difference. */
int pl_sandbox_check_mounts(const char *mountinfo, const struct pl_sandbox *sb, bool any_generation,
                            pl_error_t *err);

/* The same check of the mount namespace of process `pid`, whose namespace
 * file is `mntns`, from the kernel's mount objects instead of the whole
 * mount table: each path that matters resolved in there (through
 * /proc/PID/root, no symbolic links) to the mount on top of it (statx),
 * that mount's type, flags and superblock options (statmount) and what is
 * mounted below it (listmount), in the namespace `mntns` names.  Mounts
 * under a mount on top of the same place, which no path reaches, are not
 * looked at.  Linux 6.11 (the mount options).  0: it is what
 * pl_sandbox_enter makes of sb (not any_generation); -1 (err): it is not,
 * or it could not be told; 1: this kernel cannot answer: read the mount
 * table instead. */
int pl_sandbox_check_ns(long pid, int mntns, const struct pl_sandbox *sb, pl_error_t *err);

/* Refuse `path` (pylock's state or configuration, as the user named it)
 * when it goes through a symbolic link in a directory sb may write: code
 * inside could point the link elsewhere.  `what` names it in the error. */
int pl_sandbox_check_links(const struct pl_sandbox *sb, const char *path, const char *what,
                           pl_error_t *err);

/* The places every default sandbox of the user may write, whichever
 * project it runs: /tmp, /var/tmp, /dev/shm, the user's cache directory and
 * the configuration's allow-write, each as it resolves now (those that do
 * not exist are left out).  Code in one project's sandbox can change what
 * lies there under every other project: nothing pylock runs for a project
 * (its interpreter) may come from there.  *places: n strings; free with
 * pl_sandbox_places_free. */
int pl_sandbox_shared_places(char ***places, size_t *n, pl_error_t *err);
void pl_sandbox_places_free(char **places, size_t n);

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

/* Are we inside a pylock sandbox already (a seccomp filter on us, and
 * PYLOCK_PROJECT set)?  Then err says so: pylock cannot nest. */
bool pl_sandbox_nested(pl_error_t *err);

/* The socket of the first "unix:path=" address of a session bus address
 * list ("unix:path=/run/user/1000/bus,guid=...;unix:abstract=..."; bytes
 * escaped as %XX), into out (cap bytes); false when there is none, or it
 * is not absolute or does not fit. */
bool pl_sandbox_bus_socket(const char *address, char *out, size_t cap);

/* Escape a path for overlayfs' lowerdir option (',' ':' '\\'). NULL on error. */
char *pl_overlay_escape(const char *path);

#endif
