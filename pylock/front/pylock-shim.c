/* pylock-shim — the shims' static front end: real program outside projects, else pylock. */
/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "projwalk.h"
#include "shim.h"

/* Why this program exists: python3 outside any project should cost about
 * what python3 costs.  pylock is a large dynamically linked binary; this one
 * is linked statically, reads no configuration, no locale and no user
 * database, and decides only the one case that needs none of that.
 *
 * The security decision, all of it here:
 *   - It execs the real program itself only when PYLOCK_SHIM=off, or when
 *     PYLOCK_PROJECT is unset (not inside a pylock sandbox, where pylock
 *     runs the environment's interpreter) and the walk pylock itself makes
 *     first (projwalk.h, shared code, no configuration) finds no
 *     pylock.toml in the working directory or any parent.  That is exactly
 *     when pylock would exec the real program too, so it never runs the
 *     interpreter unsandboxed where pylock would have run a project's
 *     environment or refused one.
 *   - The real program comes from the manifest beside the link, found and
 *     trusted as pylock finds and trusts it (lib/shim.c: the caller's or
 *     root's, writable by nobody else, in such a directory, no symbolic
 *     link), and is never pylock or this front end (by inode): no loop.
 *   - In every other case (a pylock.toml anywhere upward, no manifest, a
 *     manifest it does not trust, any error) it execs pylock with the same
 *     argv, so pylock acts as that shim exactly as before.  pylock is the
 *     full program, ../lib/pylock/pylock from this one's directory, found
 *     through /proc/self/exe (pl_program_path): never through PATH or the
 *     environment, which could name a program of someone else's choosing.
 *   - Setuid or setgid, it refuses to run, as pylock does. */

#define LINE_MAX_BYTES (3 * PATH_MAX)

/* One line of text being composed; every piece is escaped (lib/escape.h):
 * paths come from the filesystem and may hold anything. */
struct line {
  char buf[LINE_MAX_BYTES];
  size_t len;
};

/* Append s, escaped, to l (cut at a unit when it does not fit). */
static void line_put(struct line *l, const char *s) {
  size_t room = sizeof l->buf - 1 - l->len;
  pl_escape(PL_ESCAPE_TEXT, s, strlen(s), l->buf + l->len, room + 1);
  l->len += strlen(l->buf + l->len);
}

/* "pylock (NAME shim): PIECES..." and a newline on stderr, in one write. */
static void say(const char *name, const char *const *pieces) {
  struct line l = {.len = 0};
  line_put(&l, "pylock (");
  line_put(&l, name);
  line_put(&l, " shim): ");
  for (size_t i = 0; pieces[i]; i++)
    line_put(&l, pieces[i]);
  l.buf[l.len++] = '\n';
  ssize_t w = write(STDERR_FILENO, l.buf, l.len);
  (void)w; /* nothing else to tell it to */
}

/* errno's English description, never from a locale or a message catalog:
 * glibc's strerror may read one (gettext), strerrordesc_np does not; musl's
 * strerror reads none unless setlocale was called. */
static const char *pl_errdesc(int e) {
#ifdef __GLIBC__
  const char *d = strerrordesc_np(e);
  return d ? d : "unknown error";
#else
  return strerror(e);
#endif
}

#define SAY(name, ...) say(name, (const char *const[]){__VA_ARGS__, NULL})

/* Setuid or setgid: refuse, as pylock does (pylock/main.c). */
static bool setid(void) {
  struct stat st;
  if (getauxval(AT_SECURE) != 0 || getuid() != geteuid() || getgid() != getegid()) return true;
  return stat("/proc/self/exe", &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID));
}

/* No pylock.toml in the working directory or any parent, by pylock's own
 * first walk (projwalk.h)?  Any failure is doubt: false. */
static bool outside_any_project(void) {
  char cwd[PATH_MAX];
  struct stat st;
  bool passed = false;
  if (getcwd(cwd, sizeof cwd) == NULL || cwd[0] != '/') return false;
  return pl_project_walk_up(cwd, NULL, &passed, &st) == 0;
}

/* Exec the real program the manifest names (pl_shim_exec_real, as pylock's
 * own shim does), never pylock or this front end. */
static int exec_real(const char *name, struct pl_shim_entry *e, char **argv) {
  if (pl_shim_is_pylock(e->real)) {
    SAY(name, "the shim's manifest names pylock itself (", e->real, "); reinstall the shims");
    return 1;
  }
  pl_shim_exec_real(e, argv);
  int err = errno;
  SAY(name, e->real, ": ", pl_errdesc(err));
  return err == ENOENT ? 127 : 126;
}

/* Exec the full pylock (PREFIX/lib/pylock/pylock, pl_program_path), argv
 * unchanged: it acts as the shim named argv[0], exactly as a link straight
 * to it would. */
static int exec_pylock(const char *name, char **argv) {
  char path[PATH_MAX];
  if (pl_program_path(PL_PROGRAM_FULL, path, sizeof path) < 0) {
    SAY(name, "cannot find the full pylock (/proc/self/exe: ", pl_errdesc(errno),
        "); is /proc mounted?");
    return 1;
  }
  struct stat st, self;
  if (stat(path, &st) == 0 && stat("/proc/self/exe", &self) == 0 && st.st_dev == self.st_dev &&
      st.st_ino == self.st_ino) {
    SAY(name, path, " is this front end, not pylock; reinstall pylock");
    return 1;
  }
  char culprit[PATH_MAX];
  if (pl_program_safe(path, culprit, sizeof culprit) < 0 && errno == EPERM) {
    SAY(name, "not running ", path, ": ", culprit,
        " is writable by other users (owned by another, or by anyone); install pylock where "
        "only you or root can write");
    return 126;
  }
  execv(path, argv);
  int err = errno;
  SAY(name, "cannot run ", path, ": ", pl_errdesc(err),
      err == ENOENT
          ? " (the shims need the full pylock in lib/pylock/ beside bin/; reinstall pylock)"
          : "");
  return err == ENOENT ? 127 : 126;
}

int main(int argc, char **argv) {
  if (argc < 1 || argv[0] == NULL) return 2;
  const char *name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  if (setid()) {
    SAY(name, "refusing to run: pylock-shim is setuid or setgid; it needs no privilege: "
              "chmod ug-s it");
    return 1;
  }
  bool is_pip;
  if (!pl_shim_name(name, &is_pip)) {
    SAY(name, "pylock-shim runs as python3, python, python3.X, pip or pip3 (a link made by "
              "'pylock shim install'); see pylock-shim(1)");
    return 2;
  }
  /* PYLOCK_PROJECT: perhaps inside a pylock sandbox, where the shim runs
   * the environment's interpreter wherever the working directory is; only
   * pylock can tell (from the kernel), so it decides. */
  const char *off = getenv("PYLOCK_SHIM");
  if ((off && strcmp(off, "off") == 0) ||
      (getenv("PYLOCK_PROJECT") == NULL && outside_any_project())) {
    struct pl_shim_entry e;
    struct pl_shim_refusal why;
    char dir[PATH_MAX];
    if (pl_shim_locate(argv[0], name, dir, sizeof dir, &e, &why) == 0)
      return exec_real(name, &e, argv);
    /* No manifest claims this link (a hand-made one): pylock looks on PATH.
     * A manifest that cannot be trusted: pylock refuses it, saying whose it
     * is (this program reads no user database), and runs nothing. */
  }
  return exec_pylock(name, argv);
}
