/* pylock — the python3/python/pip shims.
 *
 * A shim is a symlink to the pylock binary named python3, python, python3.X,
 * pip or pip3, in a directory early on PATH.  pylock's main() sees the name
 * and acts as the interpreter: inside a project (nearest pylock.toml upward)
 * it runs the project's environment as `pylock run` would; elsewhere it
 * execs the real program the shim was made for, recorded at install time in
 * the directory's manifest, DIR/.pylock-shims:
 *
 *     # pylock shims: made by pylock shim install; do not edit
 *     python3<TAB>/usr/bin/python3.11
 *     pip<TAB>/usr/bin/python3.11<TAB>-m pip
 *
 * The links point to pylock-shim, a small static front end installed beside
 * pylock (pylock/front/), when there is one: it execs the real program
 * itself when no pylock.toml lies upward (projwalk.h) and pylock, with the
 * same argv, in every other case; older links to pylock itself still work.
 *
 * The real program is never a pylock binary (checked by inode against this
 * binary and the pylock and pylock-shim beside it), so a shim cannot find
 * itself again, whatever PATH holds.
 *
 * The manifest chooses the program that runs as whoever uses the shim, so it
 * is trusted as git trusts a repository (safe.directory): only a regular
 * file, not reached through a symbolic link, owned by the caller or root and
 * writable by nobody else, in a directory owned by the caller or root that
 * nobody else can write (a sticky one like /tmp included).  Any other
 * manifest is refused and nothing runs: no fallback to PATH.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef PYLOCK_SHIM_H
#define PYLOCK_SHIM_H

#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

#define PL_SHIM_MANIFEST ".pylock-shims"
#define PL_SHIM_MAX 8
/* The longest manifest the shims read, in bytes: a longer one is no manifest. */
#define PL_SHIM_MANIFEST_MAX 8192
#define PL_SHIM_FULL "pylock"       /* the full program's name (PREFIX/lib/pylock/pylock) */
#define PL_SHIM_FRONT "pylock-shim" /* the front end the links point to */

/* pylock's programs, as installed: the full one, PREFIX/lib/pylock/pylock;
 * the command's front end, PREFIX/bin/pylock; the shims', PREFIX/bin/pylock-shim. */
enum pl_program { PL_PROGRAM_FULL, PL_PROGRAM_CMD, PL_PROGRAM_SHIM };

struct pl_shim_entry {
  char name[32];
  char real[PATH_MAX];
  bool module_pip; /* run as `real -m pip`, the cwd not on sys.path */
};

/* Is `name` (a basename) one a shim can have: python, python3, python3.N,
 * pip, pip3, pip3.N?  *is_pip tells which kind. */
bool pl_shim_name(const char *name, bool *is_pip);

/* Parse a manifest of size bytes (a NUL among them makes it malformed);
 * returns the number of entries (at most max) or -1. */
int pl_shim_manifest_parse(const char *text, size_t size, struct pl_shim_entry *out, int max);

/* The entry of a manifest named name, the whole manifest checked as
 * pl_shim_manifest_parse does (at most PL_SHIM_MAX entries): 0 (*entry
 * filled), 1 when none is, -1 when the manifest is malformed; *entry is
 * written only when 0. */
int pl_shim_manifest_find(const char *text, size_t size, const char *name,
                          struct pl_shim_entry *entry);

/* Text of a manifest for the given entries. */
char *pl_shim_manifest_format(const struct pl_shim_entry *e, int n);

/* A manifest pl_shim_locate would not use, and what it saw of it. */
struct pl_shim_refusal {
  char path[PATH_MAX + 32]; /* the manifest, or the directory that holds it */
  bool is_dir;              /* path is the directory: its owner or mode */
  bool is_link;             /* the manifest is a symbolic link */
  int errnum;               /* it could not be opened or checked (errno), else 0 */
  struct stat st;           /* path's owner and mode, when errnum is 0 */
};

/* What is wrong with a manifest (file) in its directory (dir), for the
 * user `me`: PL_SHIM_TRUSTED, PL_SHIM_BAD_DIR or PL_SHIM_BAD_FILE. */
enum pl_shim_trust { PL_SHIM_TRUSTED, PL_SHIM_BAD_DIR, PL_SHIM_BAD_FILE };
enum pl_shim_trust pl_shim_manifest_trust(const struct stat *dir, const struct stat *file,
                                          uid_t me);

/* May a manifest be written in (and trusted from) a directory with this
 * stat, for the user `me`: the caller's or root's, writable by nobody else? */
bool pl_shim_dir_trusted(const struct stat *dir, uid_t me);

/* Where the running shim lives: from argv[0] (a path, following symlinks to
 * a directory whose manifest lists it) or, for a bare name, the first PATH
 * entry whose file is this very binary.  0: dir and its entry for the name
 * are filled; 1: no manifest claims it; -1: a manifest on the way cannot be
 * trusted (*why says which and why): run nothing. */
int pl_shim_locate(const char *argv0, const char *name, char *dir, size_t cap,
                   struct pl_shim_entry *entry, struct pl_shim_refusal *why);

/* The first `name` on PATH that is not this binary (by device and inode)
 * and not in skip_dir (may be NULL): out receives its path. */
int pl_shim_find_real(const char *name, const char *skip_dir, char *out, size_t cap);

/* dev/ino of this running binary, cached. */
int pl_self_identity(dev_t *dev, ino_t *ino);

/* out = the path of pylock's program `which`, from where this one is
 * (/proc/self/exe, never PATH or the environment): from a front end in DIR,
 * DIR/pylock, DIR/pylock-shim and DIR/../lib/pylock/pylock; from the full
 * program in PREFIX/lib/pylock, PREFIX/bin/pylock, PREFIX/bin/pylock-shim and
 * itself.  -1 (errno) if it cannot be read or fit. */
int pl_program_path(enum pl_program which, char *out, size_t cap);

/* 0 if no user but root, the caller and this program's owner could have put
 * the program at `path` (followed) there: the file and every directory on
 * its real path owned by them and not writable by every user.  Else -1:
 * EPERM with culprit = the first file or directory that fails, or the
 * errno of resolving the path. */
int pl_program_safe(const char *path, char *culprit, size_t cap);

/* Is `path` (followed) one of pylock's own programs: this binary, or one of
 * pl_program_path's? */
bool pl_shim_is_pylock(const char *path);

/* Exec the real program e names, as if the shim were not there: argv[0]
 * becomes its path (sys.executable is the real interpreter), and a pip
 * entry runs `REAL -m pip ARGS`.  Returns only on failure, errno set. */
void pl_shim_exec_real(const struct pl_shim_entry *e, char **argv);

#endif
