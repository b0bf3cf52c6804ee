/* pylock — the base interpreter a project is built on. */
/* SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_INTERP_H
#define PYLOCK_INTERP_H

#include <stdbool.h>

#include "error.h"

/* What pylock needs to know of a base interpreter; all paths absolute. */
struct pl_interp {
  char *python;        /* the executable as the user named it, made absolute */
  char *version;       /* "3.12.1" */
  char *short_version; /* "3.12" */
  char *prefix;        /* sys.prefix: the overlay's mount point */
  char *purelib, *platlib, *scripts, *include, *data; /* sysconfig scheme paths */
  char *cache_tag;                                    /* "cpython-312" */
  /* PEP 508 marker values, as packaging's default_environment() gives them
   * (platform_release and platform_version are the kernel's, as of the probe) */
  char *implementation_name, *implementation_version, *os_name, *platform_machine,
      *platform_python_implementation, *platform_release, *platform_system, *platform_version,
      *python_full_version, *sys_platform;
  /* Compatibility tags, as packaging.tags derives them: "cp", "cp312", "1"
   * when abi3 applies, "linux_x86_64", "glibc 2.36" (or "") */
  char *tag_impl, *tag_abi, *tag_abi3, *tag_platform, *libc;
};

/* The marker and tag fields, in struct order (NULL in a record written
 * before they were probed: pl_interp_has_env). */
#define PL_INTERP_ENV_FIELDS(X)                                                                    \
  X(implementation_name)                                                                           \
  X(implementation_version)                                                                        \
  X(os_name)                                                                                       \
  X(platform_machine)                                                                              \
  X(platform_python_implementation)                                                                \
  X(platform_release)                                                                              \
  X(platform_system)                                                                               \
  X(platform_version)                                                                              \
  X(python_full_version)                                                                           \
  X(sys_platform)                                                                                  \
  X(tag_impl)                                                                                      \
  X(tag_abi)                                                                                       \
  X(tag_abi3)                                                                                      \
  X(tag_platform)                                                                                  \
  X(libc)

/* Does the record hold the marker and tag fields (a probe by this pylock)? */
bool pl_interp_has_env(const struct pl_interp *in);

/* The scheme directories pylock installs into, in struct order. */
#define PL_SCHEME_DIRS(X) X(purelib) X(platlib) X(scripts) X(include) X(data)

/* Default interpreter: python3.12 on PATH, else python3. */
int pl_interp_default(char **python, pl_error_t *err);

/* Resolve a name ("python3", "3.12") or path to an absolute executable path. */
int pl_interp_resolve(const char *name, char **python, pl_error_t *err);

/* Is `python` an interpreter pylock may run for a project: an absolute path
 * whose every name on the way -- each directory, each symbolic link and
 * what it points to, the file -- only root or the caller can change, none
 * of them in `project` (code in the project's sandboxes can write there;
 * NULL: no project), in another project, or in a place any sandbox of the
 * user writes (/tmp, ~/.cache...: pl_sandbox_shared_places), the file
 * regular and writable by no one else.  What is
 * checked is then what runs: nobody else can swap it in between. */
int pl_interp_check_path(const char *python, const char *project, pl_error_t *err);

/* The same walk for any file pylock trusts (`what` names it in errors: a
 * private signing key): `path` absolute, every name on the way to it only
 * root or the caller can change, none in a project (a directory holding a
 * pylock.toml) nor in a place any sandbox of the user writes; the last a
 * regular file (want_dir: a directory) writable by no one else. */
int pl_path_check_unchangeable(const char *what, const char *path, bool want_dir, pl_error_t *err);

/* Refuse a path (absolute) that is reached through a symbolic link lying
 * where code in a sandbox of the user can write (a project, /tmp,
 * ~/.cache...): it could point the link anywhere before the path is next
 * resolved.  The path itself may lie in such a place: an allow-write entry.
 * *resolved (if resolved): the path as checked, its links followed, without
 * `.` nor `..`; NULL when a name on the way does not exist.  Use it, not
 * realpath(), which a run still going could lead elsewhere a moment later;
 * mount it with no link followed (sandbox.c). */
int pl_path_check_links(const char *what, const char *path, char **resolved, pl_error_t *err);

/* Is the prefix of the interpreter `python` (a directory: the stdlib, the
 * lower layer of every run's overlay) out of reach of code in any sandbox
 * of the user?  Not in `project`, nor in a place every sandbox writes
 * (/tmp, ~/.cache...: pl_sandbox_shared_places), nor in any other project,
 * as it resolves now.  pl_interp_check_path refuses the same for the path
 * to the interpreter itself. */
int pl_interp_check_prefix(const char *python, const char *prefix, const char *project,
                           pl_error_t *err);

/* Run the interpreter once to learn its version, prefix and scheme paths.
 * Refuses a virtual environment's interpreter and scheme paths outside the
 * prefix.  cache_fd: the state root's probe cache (STATE/interp), or -1. */
int pl_interp_probe(const char *python, int cache_fd, struct pl_interp *out, pl_error_t *err);

/* Serialize to / parse from the key=value form kept in .pylock/interp. */
char *pl_interp_format(const struct pl_interp *in);
int pl_interp_parse(const char *buf, struct pl_interp *out, pl_error_t *err);

/* Path of scheme dir `abs` relative to the prefix ("lib/python3.12/site-packages");
 * "" for the prefix itself; NULL if outside it. Points into abs. */
const char *pl_interp_relative(const struct pl_interp *in, const char *abs);

/* purelib and platlib relative to the prefix into libs; libs[1] NULL when
 * they are one directory.  -1 when either is outside the prefix. */
int pl_interp_libs(const struct pl_interp *in, const char *libs[2]);

void pl_interp_free(struct pl_interp *in);

#endif
